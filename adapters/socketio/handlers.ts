/**
 * Client events: each is rate-limited, checked against the caller's role and its payload's
 * schema, turned into a command (or a history read), and acked. A handler returns only its
 * success; every refusal is thrown and answered in one place (`answerError`).
 */
import type { z } from "zod";
import type { CompanyCommand } from "../../domain/mod.ts";
import type { Outcome } from "../../src/company_actor.ts";
import { attachmentsFor } from "../../src/attachments.ts";
import { readHistory } from "../../src/history.ts";
import { TokenBucket } from "../../src/rate_limit.ts";
import { accepted, fromStore, refuse } from "../refusal.ts";
import { describe, jsonProblem } from "../schemas.ts";
import { rate } from "../../src/rate_limit.ts";
import type { SocketDeps } from "./deps.ts";
import { answerError } from "./errors.ts";
import type { Caller } from "./join.ts";
import {
  AGENT_ONLY,
  AgentMessage,
  type Answer,
  type ChatSocket,
  type ClientEvent,
  ForUser,
  History,
  Note,
  Rate,
  Read,
  Resolve,
  Status,
  Transfer,
  Typing,
  USER_ONLY,
  UserMessage,
} from "./schemas.ts";

type Handler = (payload: unknown) => Promise<Answer>;

/** Answers every event the socket sends, through its handler, with the ack if it asked one. */
export function handleEvents(deps: SocketDeps, socket: ChatSocket, caller: Caller): void {
  const handlers = handlersFor(deps, socket, caller);
  const bucket = new TokenBucket(rate(deps.socketRate), deps.clock);
  socket.onAny(async (event: string, ...args: unknown[]) => {
    const ack = typeof args.at(-1) === "function"
      ? (args.at(-1) as (answer: Answer) => void)
      : undefined;
    const payload = ack ? args.slice(0, -1)[0] : args[0];
    let answer: Answer;
    try {
      answer = await handle(event, payload);
    } catch (thrown) {
      answer = answerError(thrown, { company: caller.companyId, event }, deps.log);
    }
    ack?.(answer);
  });

  function handle(event: string, payload: unknown): Promise<Answer> {
    if (!bucket.take()) refuse("rate_limited", "Too many events: slow down");
    if (!Object.hasOwn(handlers, event)) {
      refuse("invalid_payload", `Unknown event '${String(event).slice(0, 64)}'`);
    }
    if (caller.role !== "agent" && AGENT_ONLY.has(event)) {
      refuse("forbidden", `Only agents can send '${event}'`);
    }
    if (caller.role !== "user" && USER_ONLY.has(event)) {
      refuse("forbidden", `Only users can send '${event}'`);
    }
    // No event takes free JSON today; none should ever walk a hostile nesting either.
    const problem = jsonProblem(payload);
    if (problem !== null) refuse("invalid_payload", `The payload ${problem}`);
    return handlers[event as ClientEvent](payload);
  }
}

/** The handler of each client event, for one socket. */
function handlersFor(
  deps: SocketDeps,
  socket: ChatSocket,
  caller: Caller,
): Record<ClientEvent, Handler> {
  const { companyId, role, userId } = caller;
  const maxLength = deps.maxMessageLength ?? 4000;
  const now = () => deps.clock.now();
  const run = async (command: CompanyCommand) =>
    accepted(await deps.system.dispatch(companyId, command));
  /** Runs a lifecycle command and answers with the conversation as agents see it after it. */
  const lifecycle = async (command: CompanyCommand): Promise<Answer> => {
    const result = (await run(command)).result;
    return { ok: true, conversation: result?.kind === "conversation" ? result.conversation : null };
  };
  /** A lifecycle event's handler: the agent acts on the conversation of the user it names. */
  const acting = <T>(schema: z.ZodType<T>, command: (p: T) => CompanyCommand): Handler => {
    return (payload) => lifecycle(command(parse(schema, payload)));
  };
  /** The files a message names, checked as this sender's to send into `target`'s conversation. */
  const attached = async (target: string, ids: readonly string[]) => {
    if (!deps.blobs) return refuse("not_found", `No attachment '${ids[0]}'`);
    const blobs = deps.blobs;
    const found = await fromStore(() =>
      attachmentsFor(blobs, companyId, { role, userId }, target, ids)
    );
    return found.ok ? found.attachments : refuse(found.rejection.code, found.rejection.message);
  };
  /** Who acts, on which conversation, when. */
  const by = (p: { user_id: string }) => ({ agentId: userId, userId: p.user_id, at: now() });
  /** The conversation an event names: an agent names it, a user's defaults to their own. */
  const conversation = (named: string | undefined, ownByDefault: boolean): string => {
    const target = role === "user" && ownByDefault ? named ?? userId : named;
    return target || refuse("invalid_payload", "'user_id' names the conversation");
  };

  return {
    message: async (payload) => {
      const p = parse<z.output<typeof AgentMessage> | z.output<typeof UserMessage>>(
        role === "agent" ? AgentMessage : UserMessage,
        payload,
      );
      if (p.content.length > maxLength) {
        refuse("too_large", `A message holds at most ${maxLength} characters`);
      }
      const target = "user_id" in p ? p.user_id : userId;
      const files = p.attachments?.length ? await attached(target, p.attachments) : [];
      return messageAck(
        await run({
          type: "SendMessage",
          data: {
            sender: { userId, role },
            userId: target,
            text: p.content,
            messageId: deps.ids.next(),
            conversationId: deps.ids.next(),
            socketId: socket.id,
            ...(p.client_id === undefined ? {} : { clientId: p.client_id }),
            ...(files.length ? { attachments: files } : {}),
            at: now(),
          },
        }),
      );
    },
    note: async (payload) => {
      const p = parse(Note, payload);
      if (p.content.length > maxLength) {
        refuse("too_large", `A note holds at most ${maxLength} characters`);
      }
      const noteId = deps.ids.next();
      const { events } = await run({
        type: "AddNote",
        data: { agentId: userId, userId: p.user_id, noteId, text: p.content, at: now() },
      });
      return { ok: true, id: noteId, seq: events.find((e) => e.type === "NoteAdded")?.seq };
    },
    rate: async (payload) => {
      const p = parse(Rate, payload);
      const { events } = await run({
        type: "Rate",
        data: { userId, score: p.score, comment: p.comment ?? null, at: now() },
      });
      return { ok: true, seq: events.find((e) => e.type === "ConversationRated")?.seq };
    },
    claim: acting(ForUser, (p) => ({ type: "Claim", data: by(p) })),
    release: acting(ForUser, (p) => ({ type: "Release", data: by(p) })),
    transfer: acting(Transfer, (p) => ({
      type: "Transfer",
      // A note given is also recorded as a private note, under this id.
      data: { ...by(p), toAgentId: p.agent_id, note: p.note ?? "", noteId: deps.ids.next() },
    })),
    resolve: acting(Resolve, (p) => ({
      type: "Resolve",
      data: { ...by(p), returnToBot: p.return_to_bot ?? true },
    })),
    status: async (payload) => {
      const { status } = parse(Status, payload);
      await run({ type: "SetAgentStatus", data: { agentId: userId, status, at: now() } });
      return { ok: true, status };
    },
    typing: async (payload) => {
      const p = parse(Typing, payload);
      // A user types in their own conversation, whatever it names.
      const target = role === "user" ? userId : conversation(p.user_id, false);
      await run({
        type: "Typing",
        data: { sender: { userId, role }, userId: target, typing: p.typing, socketId: socket.id },
      });
      return { ok: true };
    },
    read: async (payload) => {
      const p = parse(Read, payload);
      const target = conversation(p.user_id, true);
      const { result } = await run({
        type: "MarkRead",
        data: { reader: { userId, role }, userId: target, seq: p.seq, at: now() },
      });
      // A read mark never runs ahead of the log: the ack says what was recorded.
      return { ok: true, seq: result?.kind === "read" ? result.seq : null };
    },
    history: async (payload) => {
      const p = parse(History, payload ?? {});
      const target = conversation(p.user_id, true);
      if (role === "user" && target !== userId) {
        refuse("forbidden", "A user can only read their own history");
      }
      // Agents read the private notes and ratings too; a user never does.
      const page = await fromStore(() =>
        readHistory(deps.store, companyId, target, { ...p, side: role })
      );
      return { ok: true, ...page };
    },
  };
}

/** The ack of a sent message: its id and seq, or the first send's for a resent `client_id`. */
function messageAck(outcome: Extract<Outcome, { ok: true }>): Answer {
  if (outcome.duplicateOf) {
    const { messageId, seq, conversationId } = outcome.duplicateOf;
    return { ok: true, id: messageId, seq, conversation_id: conversationId, duplicate: true };
  }
  const sent = outcome.events.find((e) => e.type === "MessageSent");
  if (!sent || sent.type !== "MessageSent") return { ok: true };
  return {
    ok: true,
    id: sent.data.messageId,
    seq: sent.seq,
    conversation_id: sent.data.conversationId,
  };
}

/** The payload as `schema` reads it; one it refuses is `invalid_payload`, naming each field. */
function parse<T>(schema: z.ZodType<T>, payload: unknown): T {
  const parsed = schema.safeParse(payload);
  return parsed.success ? parsed.data : refuse("invalid_payload", describe(parsed.error));
}
