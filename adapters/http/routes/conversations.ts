/** A user's history: the bot posts its transcript from before the handoff; callers read it. */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { MAX_HISTORY_PAGE, readHistory } from "../../../src/history.ts";
import { Id } from "../../schemas.ts";
import { AttachmentView } from "./attachments.ts";
import type { HttpDeps, HttpEnv } from "../deps.ts";
import { accepted, fromStore, refuse } from "../errors.ts";
import { authenticate, jsonBody, pathFirst, requireRole, sized } from "../middleware.ts";
import { apiRoute, json } from "../openapi.ts";
import { queryNumber } from "./_query.ts";

/** The path's user, checked by the same id rule as a body's. */
const UserPath = z.object({ user_id: Id });

/** `?before=SEQ&limit=N`; an empty value means "not given". */
export const HistoryQuery = z.object({
  before: queryNumber(z.number().int().min(1)),
  limit: queryNumber(z.number().int().min(1).max(MAX_HISTORY_PAGE)),
});

/** The bot's transcript from before the handoff. */
export const TranscriptBody = z.object({
  messages: z.array(
    z.object({
      role: z.enum(["user", "bot"]),
      content: z.string().trim().min(1, "must not be empty").max(8000),
    }),
  ).min(1, "must hold at least one message").max(200, "must hold at most 200 messages"),
});

const Message = z.object({
  from: z.string(),
  content: z.string(),
  timestamp: z.number().int().openapi({ description: "Unix seconds" }),
  id: z.string(),
  seq: z.number().int(),
  conversation_id: z.string(),
  user_id: z.string(),
  role: z.enum(["user", "agent", "bot"]),
  attachments: z.array(AttachmentView).optional().openapi({
    description: "Files sent with it: GET /api/v1/attachments/{id}",
  }),
}).openapi("Message");

const Note = z.object({
  kind: z.literal("note"),
  id: z.string(),
  seq: z.number().int(),
  conversation_id: z.string(),
  user_id: z.string(),
  agent_id: z.string(),
  content: z.string(),
  timestamp: z.number().int().openapi({ description: "Unix seconds" }),
  to_agent_id: z.string().optional().openapi({ description: "A transfer's note: to whom" }),
}).openapi("Note");

const Rating = z.object({
  kind: z.literal("rating"),
  seq: z.number().int(),
  conversation_id: z.string(),
  user_id: z.string(),
  agent_id: z.string(),
  score: z.number().int().min(1).max(5),
  comment: z.string().nullable(),
  timestamp: z.number().int().openapi({ description: "Unix seconds" }),
}).openapi("Rating");

const HistoryPage = z.object({
  messages: z.array(z.union([Message, Note, Rating])).openapi({
    description: "Messages; for an agent token also private notes and ratings, by `kind`",
  }),
  has_more: z.boolean(),
});

const Recorded = z.object({
  ok: z.literal(true),
  messages: z.array(z.object({ id: z.string(), seq: z.number().int() })),
});

/** `GET` and `POST /api/v1/conversations/{user_id}/messages`. */
export function conversationRoutes(deps: HttpDeps) {
  const read = apiRoute({
    method: "get",
    path: "/api/v1/conversations/{user_id}/messages",
    summary: "A user's history, oldest first, paginated by seq (bot, agent, or that user); " +
      "agents also read the private notes and ratings",
    middleware: [
      authenticate(deps),
      pathFirst(UserPath, (caller, { user_id }) => {
        if (caller.role === "user" && caller.userId !== user_id) {
          refuse("forbidden", "A user can only read their own history");
        }
      }),
    ] as const,
    request: { params: UserPath, query: HistoryQuery },
    responses: { 200: json(HistoryPage) },
  });
  const post = apiRoute({
    method: "post",
    path: "/api/v1/conversations/{user_id}/messages",
    summary: "Record the bot's transcript from before the handoff (bot token)",
    middleware: [
      sized(256 * 1024),
      authenticate(deps),
      requireRole("bot", "Only a bot token can post a transcript"),
      pathFirst(UserPath),
      jsonBody,
    ] as const,
    request: {
      params: UserPath,
      body: { required: true, content: { "application/json": { schema: TranscriptBody } } },
    },
    responses: { 201: json(Recorded, "Recorded") },
  });
  return new OpenAPIHono<HttpEnv>()
    .openapi(read, async (c) => {
      const { user_id } = c.req.valid("param");
      const caller = c.get("principal");
      // Agents read the conversation's private notes and ratings too; nobody else does.
      const side = caller.role === "agent" ? "agent" : "user";
      const page = await fromStore(() =>
        readHistory(deps.store, caller.companyId, user_id, { ...c.req.valid("query"), side })
      );
      // The domain's payload is typed loosely (any JSON); `Message` is its documented shape.
      return c.json(page as z.output<typeof HistoryPage>, 200);
    })
    .openapi(post, async (c) => {
      const caller = c.get("principal");
      const lines = c.req.valid("json").messages.map((m) => ({
        role: m.role,
        text: m.content,
        messageId: deps.ids.next(),
      }));
      const outcome = accepted(
        await deps.system.dispatch(caller.companyId, {
          type: "PostTranscript",
          data: {
            botId: caller.userId,
            userId: c.req.valid("param").user_id,
            lines,
            conversationId: deps.ids.next(),
            at: deps.clock.now(),
          },
        }),
      );
      const sent = outcome.events.flatMap((e) =>
        e.type === "MessageSent" ? [{ id: e.data.messageId, seq: e.seq }] : []
      );
      return c.json({ ok: true as const, messages: sent }, 201);
    });
}
