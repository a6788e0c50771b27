/**
 * `POST /api/v1/attachments` and `GET /api/v1/attachments/{id}`: files users and agents send
 * with messages. An upload is checked whole (size, type, content) before anything is stored;
 * a download is for the conversation's user and the company's agents, and is never rendered
 * as a page of this origin (`nosniff`, a sandbox CSP, `attachment` unless a plain image).
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { isBlobId, MemoryBlobStore } from "../../blob/mod.ts";
import {
  ALLOWED_TYPES,
  contentDisposition,
  DEFAULT_MAX_ATTACHMENT_BYTES,
  fileNameProblem,
  mayRead,
  mediaType,
  typeProblem,
  uploadProblem,
} from "../../../src/attachments.ts";
import type { Principal } from "../../../src/auth.ts";
import type { BlobInfo } from "../../../src/ports.ts";
import type { HttpDeps, HttpEnv } from "../deps.ts";
import { fromStore, refuse } from "../errors.ts";
import { authenticate, sized } from "../middleware.ts";
import { apiRoute, errors, json } from "../openapi.ts";

/** `{ id, name, size, content_type }`: a stored file, as uploads answer and messages list it. */
export const AttachmentView = z.object({
  id: z.string(),
  name: z.string(),
  size: z.number().int(),
  content_type: z.string(),
}).openapi("Attachment");

const UploadQuery = z.object({
  name: z.string().openapi({ description: "The file name (1–255 characters)" }),
});

const IdPath = z.object({ id: z.string() });

const binary = { schema: z.string().openapi({ format: "binary" }) };

/** The caller as a file's reader or uploader: users and agents only (a bot sends no files). */
function reader(caller: Principal): { role: "user" | "agent"; userId: string } {
  if (caller.role !== "user" && caller.role !== "agent") {
    refuse("forbidden", "Attachments are for the conversation's user and the company's agents");
  }
  return { role: caller.role, userId: caller.userId };
}

/** The attachment routes. */
export function attachmentRoutes(deps: HttpDeps) {
  const blobs = deps.blobs ?? new MemoryBlobStore();
  const maxBytes = deps.maxAttachmentBytes ?? DEFAULT_MAX_ATTACHMENT_BYTES;
  const upload = apiRoute({
    method: "post",
    path: "/api/v1/attachments",
    summary: `Upload a file to send with a message (user or agent token); the raw file is the ` +
      `body, its type the Content-Type (one of ${ALLOWED_TYPES.join(", ")})`,
    middleware: [sized(maxBytes), authenticate(deps)] as const,
    request: {
      query: UploadQuery,
      body: {
        required: true,
        content: Object.fromEntries(ALLOWED_TYPES.map((type) => [type, binary])),
      },
    },
    responses: { 201: json(AttachmentView, "Stored") },
  });
  const download = apiRoute({
    method: "get",
    path: "/api/v1/attachments/{id}",
    summary: "A file sent in a conversation (that conversation's user, or an agent of the company)",
    middleware: [authenticate(deps)] as const,
    request: { params: IdPath },
    responses: {
      200: {
        description: "The file, with its type; `attachment` unless an image shown inline",
        content: Object.fromEntries(ALLOWED_TYPES.map((type) => [type, binary])),
      },
      ...errors(404),
    },
  });
  return new OpenAPIHono<HttpEnv>()
    .openapi(upload, async (c) => {
      const caller = c.get("principal");
      const uploader = reader(caller);
      const { name } = c.req.valid("query");
      const problem = fileNameProblem(name);
      if (problem) refuse("invalid_payload", problem);
      const type = mediaType(c.req.header("content-type"));
      // The type first, so a refused one is not even read.
      const wrongType = typeProblem(type);
      if (wrongType) refuse("invalid_payload", wrongType);
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      const refused = uploadProblem(type, bytes);
      if (refused) refuse("invalid_payload", refused);
      const info: BlobInfo = {
        id: deps.ids.next(),
        name,
        size: bytes.length,
        contentType: type,
        uploader,
        // A user's file is in their own conversation; an agent's, in the first it is sent to.
        userId: uploader.role === "user" ? uploader.userId : null,
        at: deps.clock.now(),
      };
      await fromStore(() => blobs.put(caller.companyId, info, bytes));
      return c.json({ id: info.id, name, size: info.size, content_type: type }, 201);
    })
    .openapi(download, async (c) => {
      const caller = c.get("principal");
      const who = reader(caller);
      const { id } = c.req.valid("param");
      const missing = () => refuse("not_found", `No attachment '${id.slice(0, 128)}'`);
      if (!isBlobId(id)) missing();
      const info = await fromStore(() => blobs.info(caller.companyId, id));
      // Another user's file is answered as missing: nobody learns which files exist.
      if (!info || !mayRead(info, who)) return missing();
      const body = await fromStore(() => blobs.open(caller.companyId, id));
      if (!body) return missing();
      const type = info.contentType.startsWith("text/")
        ? `${info.contentType}; charset=utf-8`
        : info.contentType;
      return c.body(body, 200, {
        "content-type": type,
        "content-length": String(info.size),
        "content-disposition": contentDisposition(info.contentType, info.name),
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox; default-src 'none'",
        // A file never changes under its id, and is only for who may read it.
        "cache-control": "private, max-age=31536000, immutable",
      });
    });
}
