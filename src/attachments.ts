/**
 * Attachments: which files may be stored, who may send and read them, and how they are served.
 * The bytes live in a `BlobStore`; the log records what each message carried. A file is never
 * rendered by the server's origin as a page: only images of a few plain raster types are
 * shown inline, anything else is a download, and the content must be what its type says.
 */
import type { Attachment, Rejection, SocketRole } from "../domain/mod.ts";
import type { BlobInfo, BlobStore } from "./ports.ts";

/** `MAX_ATTACHMENT_BYTES`' default: 10 MiB. */
export const DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;

/** The most files one message carries. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

/** The longest file name, in characters. */
export const MAX_FILE_NAME = 255;

/** What a file's first bytes must be for its type (any of the given prefixes, at `offset`). */
interface Kind {
  /** Shown in the page (an image), not downloaded. */
  readonly inline: boolean;
  readonly check: (bytes: Uint8Array) => boolean;
}

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const startsWith = (bytes: Uint8Array, prefix: Uint8Array, offset = 0) =>
  bytes.length >= offset + prefix.length && prefix.every((b, i) => bytes[offset + i] === b);
const magic = (...prefixes: Uint8Array[]) => (bytes: Uint8Array) =>
  prefixes.some((p) => startsWith(bytes, p));

const PNG = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const JPEG = Uint8Array.of(0xff, 0xd8, 0xff);
const ZIP = magic(ascii("PK\x03\x04"), ascii("PK\x05\x06"));

/** UTF-8 text without a NUL byte (a NUL says it is binary, whatever it is labelled). */
function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * The allow-list: media types accepted, and how each is checked and served. No SVG, HTML,
 * XML or script type is on it: those could run in the server's origin if ever rendered.
 */
const KINDS: Readonly<Record<string, Kind>> = {
  "image/png": { inline: true, check: magic(PNG) },
  "image/jpeg": { inline: true, check: magic(JPEG) },
  "image/gif": { inline: true, check: magic(ascii("GIF87a"), ascii("GIF89a")) },
  "image/webp": {
    inline: true,
    check: (b) => startsWith(b, ascii("RIFF")) && startsWith(b, ascii("WEBP"), 8),
  },
  "application/pdf": { inline: false, check: magic(ascii("%PDF-")) },
  "text/plain": { inline: false, check: isText },
  "text/csv": { inline: false, check: isText },
  "application/zip": { inline: false, check: ZIP },
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
    inline: false,
    check: ZIP,
  },
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
    inline: false,
    check: ZIP,
  },
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": {
    inline: false,
    check: ZIP,
  },
  "application/vnd.oasis.opendocument.text": { inline: false, check: ZIP },
  "application/vnd.oasis.opendocument.spreadsheet": { inline: false, check: ZIP },
};

/** The media types accepted, in the order the README lists them. */
export const ALLOWED_TYPES: readonly string[] = Object.keys(KINDS);

/** The media type of a `Content-Type` header, lower-cased, without its parameters. */
export function mediaType(header: string | undefined | null): string {
  return (header ?? "").split(";")[0].trim().toLowerCase();
}

/** Why files of `type` may not be stored (it is not on the allow-list), or null if they may. */
export function typeProblem(type: string): string | null {
  if (Object.hasOwn(KINDS, type)) return null;
  return `Files of type '${type.slice(0, 100) || "(none)"}' are not accepted; ` +
    `send one of: ${ALLOWED_TYPES.join(", ")}`;
}

/** Why a file of `type` with these bytes may not be stored, or null if it may. */
export function uploadProblem(type: string, bytes: Uint8Array): string | null {
  const problem = typeProblem(type);
  if (problem) return problem;
  if (bytes.length === 0) return "The file is empty";
  if (!KINDS[type].check(bytes)) return `The file's content is not ${type}`;
  return null;
}

/** Why a file name may not be used, or null if it may. */
export function fileNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > MAX_FILE_NAME) {
    return `'name' must be 1–${MAX_FILE_NAME} characters`;
  }
  if (!name.isWellFormed()) return "'name' must be well-formed Unicode";
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return "'name' must hold no control character";
  if (name.trim() !== name) return "'name' must not start or end with white space";
  return null;
}

/** Whether a file of this type is shown in the page rather than downloaded. */
export function isInline(type: string): boolean {
  return Object.hasOwn(KINDS, type) && KINDS[type].inline;
}

/**
 * The `Content-Disposition` of a file: `inline` for an image of the allow-list, `attachment`
 * for anything else; the name both as plain ASCII and, exactly, as RFC 8187 UTF-8.
 */
export function contentDisposition(type: string, name: string): string {
  const plain = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const exact = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${
    isInline(type) ? "inline" : "attachment"
  }; filename="${plain}"; filename*=UTF-8''${exact}`;
}

/** Who reads or sends a file: an end user or an agent of the file's company. */
export interface Reader {
  readonly role: SocketRole;
  readonly userId: string;
}

/** Whether `who` may read the file: any agent of its company, or its conversation's user. */
export function mayRead(info: BlobInfo, who: Reader): boolean {
  return who.role === "agent" || info.userId === who.userId;
}

/**
 * The attachments of a message `sender` writes in `userId`'s conversation, by id: each must be
 * a file of the company that conversation may hold (the user's own, or an agent's not yet sent
 * to anyone else, which is then put into it). A file that may not be sent is answered as not
 * found, so nobody learns of another's files.
 */
export async function attachmentsFor(
  blobs: BlobStore,
  companyId: string,
  sender: Reader,
  userId: string,
  ids: readonly string[],
): Promise<{ ok: true; attachments: Attachment[] } | { ok: false; rejection: Rejection }> {
  if (new Set(ids).size !== ids.length) {
    return {
      ok: false,
      rejection: { code: "invalid_payload", message: "An attachment is named twice" },
    };
  }
  const attachments: Attachment[] = [];
  for (const id of ids) {
    let info = await blobs.info(companyId, id);
    const agentsFile = info?.userId === null && info.uploader.role === "agent" &&
      sender.role === "agent";
    if (info && agentsFile) info = await blobs.assign(companyId, id, userId);
    if (!info || info.userId !== userId) {
      return { ok: false, rejection: { code: "not_found", message: `No attachment '${id}'` } };
    }
    attachments.push({ id, name: info.name, size: info.size, contentType: info.contentType });
  }
  return { ok: true, attachments };
}
