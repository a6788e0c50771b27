/**
 * Attachments as files under a folder (`$DATA_DIR/attachments` by default): one folder per
 * company, named by the SHA-256 of its id (any id, of any length, makes a safe name), and per
 * file its bytes (`<id>.bin`) and its info (`<id>.json`). Both are written to a temporary name,
 * synced, then renamed, the info last: a file is found only once all of it is on disk, and a
 * crash mid-upload leaves at most a temporary file nobody reads.
 *
 * One process owns the folder: an assignment is serialised per file within the process. A
 * cluster needs a store every node reaches (PostgreSQL, to come with `DATABASE_URL`).
 */
import { join } from "node:path";
import type { BlobInfo, BlobStore } from "../../src/ports.ts";
import { isBlobId } from "./_ids.ts";

/** Stores each company's files in its own folder under `root`. */
export class FileBlobStore implements BlobStore {
  /** Assignments under way, by file: the next one waits for the last. */
  readonly #assigning = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {}

  async put(companyId: string, info: BlobInfo, bytes: Uint8Array): Promise<void> {
    const at = await this.#paths(companyId, info.id);
    if (!at) throw new Error(`Cannot store a blob with the id ${JSON.stringify(info.id)}`);
    await Deno.mkdir(at.folder, { recursive: true });
    await writeAtomically(at.bytes, bytes);
    await writeAtomically(at.info, new TextEncoder().encode(JSON.stringify(info)));
  }

  async info(companyId: string, id: string): Promise<BlobInfo | null> {
    const at = await this.#paths(companyId, id);
    if (!at) return null;
    try {
      return JSON.parse(await Deno.readTextFile(at.info)) as BlobInfo;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
  }

  async open(companyId: string, id: string): Promise<ReadableStream<Uint8Array> | null> {
    const at = await this.#paths(companyId, id);
    // A file is there once its info is: the bytes were renamed into place before it.
    if (!at || (await this.info(companyId, id)) === null) return null;
    try {
      return (await Deno.open(at.bytes, { read: true })).readable;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
  }

  assign(companyId: string, id: string, userId: string): Promise<BlobInfo | null> {
    const key = JSON.stringify([companyId, id]);
    const previous = this.#assigning.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(async () => {
      const info = await this.info(companyId, id);
      if (!info || (info.userId !== null && info.userId !== userId)) return null;
      if (info.userId === userId) return info;
      const assigned = { ...info, userId };
      const at = (await this.#paths(companyId, id))!;
      await writeAtomically(at.info, new TextEncoder().encode(JSON.stringify(assigned)));
      return assigned;
    });
    this.#assigning.set(key, next);
    next.finally(() => {
      if (this.#assigning.get(key) === next) this.#assigning.delete(key);
    }).catch(() => {});
    return next;
  }

  /** Where a file's parts are, or null for an id no file can have. */
  async #paths(companyId: string, id: string) {
    if (!isBlobId(id)) return null;
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(companyId));
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    const folder = join(this.root, hex);
    return { folder, bytes: join(folder, `${id}.bin`), info: join(folder, `${id}.json`) };
  }
}

/** Writes `path` whole or not at all: a synced temporary file renamed over it. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(temporary, { write: true, createNew: true });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}
