/**
 * The socket protocol as types: each client event's payload schema, and the event maps that
 * type the server (`Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents,
 * SocketData>`). The client events' payload types are the schemas' inputs.
 */
import type { Server, Socket } from "socket.io";
import { z } from "zod";
import {
  type ClientEventName,
  type Delivery,
  type ErrorCode,
  MAX_SCORE,
  MIN_SCORE,
  type Rejection,
} from "../../domain/mod.ts";
import { MAX_ATTACHMENTS_PER_MESSAGE } from "../../src/attachments.ts";
import type { Principal } from "../../src/auth.ts";
import { MAX_HISTORY_PAGE } from "../../src/history.ts";
import { Id } from "../schemas.ts";

const clientId = z.string().min(1).max(128).optional();
/** Ids of files uploaded with `POST /api/v1/attachments`, sent with a message. */
const attachments = z.array(z.string().min(1).max(128)).max(MAX_ATTACHMENTS_PER_MESSAGE)
  .optional();

/** A user's `message`. */
export const UserMessage = z.object({
  to: z.enum(["admin", "agent"]).optional(),
  content: z.string(),
  client_id: clientId,
  attachments,
});
/** An agent's `message`: to the user it names. */
export const AgentMessage = z.object({
  to: z.literal("user").optional(),
  user_id: Id,
  content: z.string(),
  client_id: clientId,
  attachments,
});
/** `note`: an agent's private note on the conversation of the user it names. */
export const Note = z.object({ user_id: Id, content: z.string() });
/** `rate`: the user's rating of their conversation, once an agent resolved it. */
export const Rate = z.object({
  score: z.number().int().min(MIN_SCORE).max(MAX_SCORE),
  comment: z.string().max(1000).nullable().optional(),
});
/** `claim` and `release`: the conversation of a user. */
export const ForUser = z.object({ user_id: Id });
/** `transfer`. */
export const Transfer = z.object({
  user_id: Id,
  agent_id: Id,
  note: z.string().max(1000).optional(),
});
/** `resolve`. */
export const Resolve = z.object({ user_id: Id, return_to_bot: z.boolean().optional() });
/** `status`: an agent's own availability. */
export const Status = z.object({ status: z.enum(["available", "away"]) });
/** `typing`: an agent names the conversation, a user's is their own. */
export const Typing = z.object({ user_id: Id.optional(), typing: z.boolean() });
/** `read`: the seq read up to. */
export const Read = z.object({ user_id: Id.optional(), seq: z.number().int().min(0) });
/** `history`: a page back from `before`. */
export const History = z.object({
  user_id: Id.optional(),
  before: z.number().int().min(1).optional(),
  limit: z.number().int().min(1).max(MAX_HISTORY_PAGE).optional(),
});

/** Each client event's payload, as a client sends it (the schemas' inputs). */
interface ClientPayloads {
  message: z.input<typeof UserMessage> | z.input<typeof AgentMessage>;
  claim: z.input<typeof ForUser>;
  transfer: z.input<typeof Transfer>;
  release: z.input<typeof ForUser>;
  resolve: z.input<typeof Resolve>;
  status: z.input<typeof Status>;
  typing: z.input<typeof Typing>;
  read: z.input<typeof Read>;
  history: z.input<typeof History> | undefined;
  note: z.input<typeof Note>;
  rate: z.input<typeof Rate>;
}

/** The client events the server handles. */
export type ClientEvent = keyof ClientPayloads;

/** The client events only agents may send. */
export const AGENT_ONLY: ReadonlySet<string> = new Set<ClientEvent>([
  "claim",
  "transfer",
  "release",
  "resolve",
  "status",
  "note",
]);

/** The client events only users may send. */
export const USER_ONLY: ReadonlySet<string> = new Set<ClientEvent>(["rate"]);

/** The ack of a client event: `{ ok: true, … }` or `{ ok: false, error: { code, message } }`. */
export type Answer = { ok: true; [key: string]: unknown } | { ok: false; error: Rejection };

/** What a client sends: each event with its payload and an optional ack. */
export type ClientToServerEvents = {
  [E in ClientEvent]: (payload: ClientPayloads[E], ack?: (answer: Answer) => void) => void;
};

/** Why the server ends a socket, sent as its `error` event just before it does. */
export interface SocketEnd {
  readonly code: ErrorCode;
  readonly reason?: string;
  readonly message: string;
}

/** What the server sends: the domain's deliveries, plus the edge's own two events. */
export type ServerToClientEvents =
  & { [E in ClientEventName]: (payload: Delivery["payload"]) => void }
  & {
    error: (end: SocketEnd) => void;
    resync_required: (gap: { from_seq: number; to_seq: number }) => void;
  };

/** One node, no adapter between servers: nothing is sent between them. */
export type InterServerEvents = Record<never, never>;

/** What a socket carries from its admission: who it is. */
export interface SocketData {
  principal: Principal;
}

/** The typed Socket.IO server. */
export type ChatServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/** One typed socket of it. */
export type ChatSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
