/**
 * The Socket.IO edge: authenticates at connect, joins the rooms of the caller's company,
 * validates each event and turns it into a command; the publisher maps audiences to rooms.
 */
import type { Server as HttpServer } from "node:http";
import { Server, type Socket } from "socket.io";
import { z } from "zod";
import {
  type Audience,
  type CompanyCommand,
  type Delivery,
  type ErrorCode,
  reaches,
  type Rejection,
  type SocketRole,
} from "../../domain/mod.ts";
import type { ActorSystem, Outcome } from "../../src/company_actor.ts";
import { MAX_HISTORY_PAGE, readHistory } from "../../src/history.ts";
import {
  planResume,
  type ReplayPages,
  RESUME_RATE,
  RESUME_WINDOW,
  resumeCost,
} from "../../src/resume.ts";
import { AttemptLimiter, KeyedLimiter, type Rate, TokenBucket } from "../../src/rate_limit.ts";
import { clientAddress, type TrustProxy } from "../../src/net_address.ts";
import { DEFAULT_MAX_SOCKETS, Presence, type Timers } from "../../src/presence.ts";
import type { Metrics } from "../../src/metrics.ts";
import { AuthError, type JwtVerifier, type Principal } from "../../src/auth.ts";
import { type Logger, silentLogger } from "../../src/log.ts";
import type {
  CancelTimer,
  Clock,
  EventLog,
  HistoryIndex,
  Ids,
  Publisher,
} from "../../src/ports.ts";
import { describe, Id, jsonProblem } from "../schemas.ts";
import { coalesceWrites, holdWrites } from "./_coalesce.ts";

/** What the socket server needs. */
export interface SocketDeps {
  readonly system: Pick<ActorSystem, "dispatch" | "actor">;
  readonly store: EventLog & HistoryIndex;
  readonly publisher: SocketIoPublisher;
  readonly verifier: JwtVerifier;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly log: Logger;
  readonly corsOrigins?: readonly string[] | "*";
  /** The longest message content, in characters (default 4000). */
  readonly maxMessageLength?: number;
  /**
   * Client events per second per socket; connection attempts per second per client address
   * without a valid token, and per user with one.
   */
  readonly socketRate?: number;
  readonly connectRate?: number;
  /** Which peers' `X-Forwarded-For` names the client (0 or unset: nobody's). */
  readonly trustProxy?: TrustProxy;
  /** The first wait before recording again a presence the store refused (default 1000 ms). */
  readonly presenceRetryMs?: number;
  readonly metrics?: Metrics;
  /** Sockets per user (or agent) per company; one more closes the oldest (default 10). */
  readonly maxSocketsPerUser?: number;
  /** The most events a resume replays (default `RESUME_WINDOW`); past it, `resync_required`. */
  readonly resumeWindow?: number;
  /** Replayed events per second per company (default `RESUME_RATE`); past it, a resync. */
  readonly resumeRate?: number;
  /** Presence's timers and delays (tests). */
  readonly presenceTiming?: { timers?: Timers; flapWindowMs?: number; offlineDelayMs?: number };
}

type Ack = (answer: unknown) => void;

/**
 * The room of an audience inside a company: the JSON of its kind, company and id. It never
 * throws (JSON escapes a lone surrogate, where `encodeURIComponent` threw), no two audiences
 * share a room whatever their ids, and none looks like a socket's own room (an engine.io id).
 */
export function roomOf(companyId: string, to: Audience): string {
  switch (to.kind) {
    case "socket":
      return to.socketId;
    case "user":
      return JSON.stringify(["u", companyId, to.userId]);
    case "agent":
      return JSON.stringify(["a", companyId, to.userId]);
    case "agents":
      return JSON.stringify(["agents", companyId]);
    default: {
      const _exhaustive: never = to;
      return _exhaustive;
    }
  }
}

/** Emits deliveries to Socket.IO rooms; bound to its server by `attachSocketServer`. */
export class SocketIoPublisher implements Publisher {
  #io: Server | null = null;
  /** Sockets being resumed: their live deliveries wait until the replay is out. */
  readonly #held = new Map<
    string,
    { companyId: string; role: SocketRole; userId: string; buffer: Delivery[] }
  >();

  #log: Logger = silentLogger;

  bind(io: Server, log: Logger = silentLogger): void {
    this.#io = io;
    this.#log = log;
  }

  /** Emits each delivery; one that fails is logged and skipped, and never reaches the caller. */
  publish(companyId: string, deliveries: readonly Delivery[]): void {
    const io = this.#io;
    if (!io || deliveries.length === 0) return;
    const rooms = deliveries.map((d) => roomOf(companyId, d.to));
    let release: (() => void) | undefined;
    try {
      release = deliveries.length > 1 ? holdWrites(io, new Set(rooms)) : undefined;
    } catch (error) {
      this.#failed(companyId, "hold", error);
    }
    this.#emit(io, companyId, deliveries, rooms);
    try {
      release?.();
    } catch (error) {
      this.#failed(companyId, "flush", error);
    }
  }

  #emit(io: Server, companyId: string, deliveries: readonly Delivery[], rooms: string[]): void {
    const members = io.of("/").adapter.rooms;
    for (const [i, delivery] of deliveries.entries()) {
      const { to, except, event, payload } = delivery;
      try {
        const target = io.to(rooms[i]);
        if (except === undefined) target.emit(event, payload);
        // A copy for the sender's other tabs costs nothing when the sender has none.
        else if (!onlyMember(members.get(rooms[i]), except)) {
          target.except(except).emit(event, payload);
        }
        if (this.#held.size === 0) continue;
        for (const [socketId, held] of this.#held) {
          if (
            held.companyId === companyId && except !== socketId &&
            reaches(to, { role: held.role, userId: held.userId, socketId })
          ) {
            held.buffer.push(delivery);
          }
        }
      } catch (error) {
        this.#failed(companyId, event, error);
      }
    }
  }

  #failed(company: string, event: string, error: unknown): void {
    this.#log.error("publish.delivery_failed", { company, event, error: String(error) });
  }

  /** Starts keeping what would reach a socket that is not yet in its rooms. */
  hold(socketId: string, companyId: string, role: SocketRole, userId: string): void {
    this.#held.set(socketId, { companyId, role, userId, buffer: [] });
  }

  /** Stops keeping, and returns what was kept, in order. */
  release(socketId: string): Delivery[] {
    const held = this.#held.get(socketId);
    this.#held.delete(socketId);
    return held?.buffer ?? [];
  }
}

function onlyMember(room: ReadonlySet<string> | undefined, socketId: string): boolean {
  return room === undefined || (room.size === 1 && room.has(socketId));
}

const clientId = z.string().min(1).max(128).optional();
const UserMessage = z.object({
  to: z.enum(["admin", "agent"]).optional(),
  content: z.string(),
  client_id: clientId,
});
const AgentMessage = z.object({
  to: z.literal("user").optional(),
  user_id: Id,
  content: z.string(),
  client_id: clientId,
});
const ForUser = z.object({ user_id: Id });
const Transfer = z.object({ user_id: Id, agent_id: Id, note: z.string().max(1000).optional() });
const Resolve = z.object({ user_id: Id, return_to_bot: z.boolean().optional() });
const Status = z.object({ status: z.enum(["available", "away"]) });
const Typing = z.object({ user_id: Id.optional(), typing: z.boolean() });
const Read = z.object({ user_id: Id.optional(), seq: z.number().int().min(0) });
const History = z.object({
  user_id: Id.optional(),
  before: z.number().int().min(1).optional(),
  limit: z.number().int().min(1).max(MAX_HISTORY_PAGE).optional(),
});

/** The answer of a handled event. */
type Answer = { ok: true; [key: string]: unknown } | { ok: false; error: Rejection };

/** The client events a socket may send, besides `message`. */
const AGENT_ONLY = new Set(["claim", "transfer", "release", "resolve", "status"]);

/** Creates the Socket.IO server on `httpServer` and wires every event. */
export function attachSocketServer(httpServer: HttpServer, deps: SocketDeps): Server {
  const origins = deps.corsOrigins ?? "*";
  const io = new Server(httpServer, {
    cors: { origin: origins === "*" ? "*" : [...origins] },
    // CORS headers do not bind WebSockets: a browser handshake from an origin not on the
    // list is refused here. Clients that send no Origin (servers, tests) are not browsers.
    allowRequest: (req, callback) => {
      const origin = req.headers.origin;
      callback(null, origins === "*" || origin === undefined || origins.includes(origin));
    },
    maxHttpBufferSize: 64 * 1024,
    serveClient: true,
  });
  deps.publisher.bind(io, deps.log);
  coalesceWrites(io);
  deps.metrics?.gauge("chat_connected_sockets", "Connected sockets, by role.", () => {
    const count = { user: 0, agent: 0 };
    for (const socket of io.of("/").sockets.values()) {
      count[(socket.data.principal as Principal).role === "agent" ? "agent" : "user"]++;
    }
    return [[{ role: "user" }, count.user], [{ role: "agent" }, count.agent]];
  });
  const maxLength = deps.maxMessageLength ?? 4000;

  // Presence the store refused, to record again; the server's close ends the retries.
  let closed = false;
  const retries = new Set<CancelTimer>();
  const retry = (delay: number, run: () => Promise<void>) => {
    if (closed) return;
    // Jittered, so the sockets of a company do not all come back at once.
    const cancel = deps.clock.setTimer(() => {
      retries.delete(cancel);
      run().catch((cause) =>
        deps.log.error("socket.presence_retry_failed", { error: String(cause) })
      );
    }, delay * (0.5 + Math.random() / 2));
    retries.add(cancel);
  };
  httpServer.once("close", () => {
    closed = true;
    for (const cancel of retries) cancel();
    retries.clear();
  });

  const connects = new AttemptLimiter(rate(deps.connectRate), deps.clock);
  const window = deps.resumeWindow ?? RESUME_WINDOW;
  const replays = new KeyedLimiter(rate(deps.resumeRate ?? RESUME_RATE), deps.clock);
  const maxSockets = deps.maxSocketsPerUser || DEFAULT_MAX_SOCKETS;
  const presence = new Presence({
    dispatch: (companyId, command) => deps.system.dispatch(companyId, command),
    clock: deps.clock,
    maxSockets,
    retryMs: deps.presenceRetryMs,
    ...deps.presenceTiming,
  });
  // Closing the server: sockets that close now are recorded gone at once, none deferred.
  const closeIo = io.close.bind(io);
  io.close = (fn) => {
    presence.stop();
    return closeIo(fn);
  };
  io.use(async (socket, next) => {
    const { auth, query, headers } = socket.handshake;
    const forwarded = headers["x-forwarded-for"];
    const address = clientAddress(
      socket.handshake.address,
      Array.isArray(forwarded) ? forwarded.join(",") : forwarded,
      deps.trustProxy ?? 0,
    );
    const raw = typeof auth?.token === "string" ? auth.token : query?.token;
    const token = typeof raw === "string" ? raw : undefined;
    // Without a token, refused before any token work, so a flood of bad connections stays
    // cheap; and it cannot use up the attempts of users who hold good tokens.
    const admission = await connects.admit(
      address,
      token,
      async (token) => {
        const principal = await deps.verifier.verify(token);
        if (principal.role === "bot") {
          throw new AuthError("invalid_claim", "bot tokens are for the HTTP API, not for sockets");
        }
        return principal;
      },
      (p) => JSON.stringify([p.companyId, p.userId]),
    );
    if (admission.limited) {
      return next(
        Object.assign(new Error("rate_limited: too many connection attempts, slow down"), {
          data: { code: "rate_limited", reason: "rate_limited" },
        }),
      );
    }
    if (admission.verified.status === "fulfilled") {
      const principal = admission.verified.value;
      socket.data.principal = principal;
      // A resume's work counts against the identity's connection rate by its size.
      const lastSeq = resumeCursor(socket);
      if (lastSeq !== undefined && deps.connectRate) {
        const version = (await deps.system.actor(principal.companyId).current()).version;
        const cost = resumeCost(version - lastSeq, window);
        const identity = JSON.stringify([principal.companyId, principal.userId]);
        if (cost > 0 && !connects.charge(identity, cost)) {
          return next(
            Object.assign(
              new Error(
                `rate_limited: a resume of ${
                  version - lastSeq
                } events is over this identity's connection rate, slow down`,
              ),
              { data: { code: "rate_limited", reason: "rate_limited" } },
            ),
          );
        }
      }
      return next();
    }
    const error = admission.verified.reason;
    const refusal = error instanceof AuthError
      ? error
      : new AuthError("malformed_token", "unreadable");
    next(
      Object.assign(new Error(refusal.message), {
        data: { code: "unauthorized", reason: refusal.reason },
      }),
    );
  });

  io.on("connection", (socket: Socket) => {
    const principal: Principal = socket.data.principal;
    const { companyId, userId } = principal;
    const role = principal.role === "agent" ? "agent" : "user";
    const rooms = [roomOf(companyId, { kind: role, userId })];
    if (role === "agent") rooms.push(roomOf(companyId, { kind: "agents" }));

    const dispatch = (command: Parameters<SocketDeps["system"]["dispatch"]>[1]) =>
      deps.system.dispatch(companyId, command);
    const holder = { companyId, role, userId } as const;
    const refuse = (outcome: Outcome) => {
      if (outcome.ok) return;
      socket.emit("error", { code: outcome.error.code, message: outcome.error.message });
      socket.disconnect(true);
    };

    // One socket more than the limit: the identity's oldest is told why, then closed.
    for (const oldest of presence.open(holder, socket.id)) {
      const old = io.of("/").sockets.get(oldest);
      old?.emit("error", {
        code: "conflict",
        reason: "too_many_sockets",
        message:
          `Too many connections for this identity (at most ${maxSockets}): the oldest was closed`,
      });
      old?.disconnect(true);
    }

    join(resumeCursor(socket)).catch((cause) => {
      deps.log.error("socket.join_failed", { error: String(cause) });
      deps.publisher.release(socket.id);
      socket.emit("error", { code: "unavailable", message: "Could not connect; try again" });
      socket.disconnect(true);
    });

    /**
     * Brings the socket in step with its company: deliveries meant for it are kept from the
     * moment it is held until the actor has recorded its Connect; a resuming socket first
     * gets what it missed after `lastSeq` from the log, a page at a time, or `resync_required`
     * past the window. Then the kept deliveries go out and the socket joins its rooms, in one
     * turn: in seq order, nothing missed, nothing twice.
     */
    async function join(lastSeq: number | undefined): Promise<void> {
      const actor = deps.system.actor(companyId);
      const resumed = lastSeq !== undefined;
      if (resumed) await actor.current(); // loaded, so its version is what has been published
      // Same turn: everything up to `upTo` was published before the hold, the rest is kept.
      // The socket also leaves the room of its own id, so what is addressed to it is kept too.
      socket.leave(socket.id);
      deps.publisher.hold(socket.id, companyId, role, userId);
      const upTo = actor.state.version;
      // Null when the socket closed during its join: nothing is recorded for it.
      const connected = presence.connect(holder, socket.id, resumed);
      if (!connected) return void deps.publisher.release(socket.id);
      let pages: ReplayPages | undefined;
      let resync: { from_seq: number; to_seq: number } | undefined;
      if (resumed && upTo > lastSeq) {
        const plan = planResume(
          deps.store,
          companyId,
          { role, userId },
          lastSeq,
          upTo,
          window,
        );
        if (plan.kind === "replay" && replays.take(companyId, plan.events)) pages = plan.pages;
        else resync = { from_seq: lastSeq, to_seq: upTo };
      }
      const sent = new Set<unknown>();
      const emit = ({ event, payload }: Omit<Delivery, "to">) => {
        // A message kept for an absent side may also have been kept live while this socket was held.
        if (event === "message") {
          if (sent.has(payload.id)) return;
          sent.add(payload.id);
        }
        socket.emit(event, payload);
      };
      for await (const page of pages ?? []) {
        if (!socket.connected) break;
        page.forEach(emit);
      }
      if (resync) socket.emit("resync_required", resync);
      const outcome = await connected;
      // The store refusing writes (a full disk) is no reason to refuse the socket: it reads.
      const unrecorded = !outcome.ok && outcome.error.code === "unavailable";
      if ((!outcome.ok && !unrecorded) || !socket.connected) {
        deps.publisher.release(socket.id);
        return refuse(outcome);
      }
      deps.publisher.release(socket.id).forEach(emit);
      socket.join([socket.id, ...rooms]);
      if (unrecorded) recordPresence(resumed);
    }

    /**
     * The store refused the Connect: the socket stays in its rooms and is told nothing about
     * presence (no `user_list`, nobody told it came online) until a retry records it, with
     * backoff, while it stays connected. The recorded Connect's deliveries then go out as usual.
     */
    function recordPresence(resumed: boolean, delay = deps.presenceRetryMs ?? 1000): void {
      retry(delay, async () => {
        if (!socket.connected) return;
        const outcome = await dispatch({
          type: "Connect",
          data: {
            userId,
            role,
            socketId: socket.id,
            at: deps.clock.now(),
            ...(resumed ? { resumed } : {}),
          },
        });
        if (!outcome.ok && outcome.error.code === "unavailable" && socket.connected) {
          recordPresence(resumed, Math.min(delay * 2, 30_000));
        }
      });
    }

    const cancelExpiry = expireAt(socket, principal.expiresAt, deps.clock);

    const handlers: Record<string, (payload: unknown) => Promise<Answer>> = {
      message: async (payload) => {
        const parsed = (role === "agent" ? AgentMessage : UserMessage).safeParse(payload);
        if (!parsed.success) return error("invalid_payload", describe(parsed.error));
        const content = parsed.data.content;
        if (content.length > maxLength) {
          return error("too_large", `A message holds at most ${maxLength} characters`);
        }
        const outcome = await dispatch({
          type: "SendMessage",
          data: {
            sender: { userId, role },
            userId: "user_id" in parsed.data ? parsed.data.user_id : userId,
            text: content,
            messageId: deps.ids.next(),
            conversationId: deps.ids.next(),
            socketId: socket.id,
            ...(parsed.data.client_id === undefined ? {} : { clientId: parsed.data.client_id }),
            at: deps.clock.now(),
          },
        });
        return messageAck(outcome);
      },
      claim: (payload) =>
        parse(
          ForUser,
          payload,
          (p) =>
            lifecycle({
              type: "Claim",
              data: { agentId: userId, userId: p.user_id, at: deps.clock.now() },
            }),
        ),
      transfer: (payload) =>
        parse(Transfer, payload, (p) =>
          lifecycle({
            type: "Transfer",
            data: {
              agentId: userId,
              userId: p.user_id,
              toAgentId: p.agent_id,
              note: p.note ?? "",
              at: deps.clock.now(),
            },
          })),
      release: (payload) =>
        parse(
          ForUser,
          payload,
          (p) =>
            lifecycle({
              type: "Release",
              data: { agentId: userId, userId: p.user_id, at: deps.clock.now() },
            }),
        ),
      resolve: (payload) =>
        parse(Resolve, payload, (p) =>
          lifecycle({
            type: "Resolve",
            data: {
              agentId: userId,
              userId: p.user_id,
              returnToBot: p.return_to_bot ?? true,
              at: deps.clock.now(),
            },
          })),
      status: (payload) =>
        parse(Status, payload, async (p) => {
          const outcome = await dispatch({
            type: "SetAgentStatus",
            data: { agentId: userId, status: p.status, at: deps.clock.now() },
          });
          return outcome.ok ? { ok: true, status: p.status } : { ok: false, error: outcome.error };
        }),
      typing: (payload) =>
        parse(Typing, payload, async (p) => {
          const target = role === "user" ? userId : p.user_id;
          if (!target) return error("invalid_payload", "'user_id' names the conversation");
          const outcome = await dispatch({
            type: "Typing",
            data: {
              sender: { userId, role },
              userId: target,
              typing: p.typing,
              socketId: socket.id,
            },
          });
          return outcome.ok ? { ok: true } : { ok: false, error: outcome.error };
        }),
      read: (payload) =>
        parse(Read, payload, async (p) => {
          const target = role === "user" ? p.user_id ?? userId : p.user_id;
          if (!target) return error("invalid_payload", "'user_id' names the conversation");
          const outcome = await dispatch({
            type: "MarkRead",
            data: { reader: { userId, role }, userId: target, seq: p.seq, at: deps.clock.now() },
          });
          if (!outcome.ok) return { ok: false, error: outcome.error };
          // A read mark never runs ahead of the log: the ack says what was recorded.
          return { ok: true, seq: outcome.result?.kind === "read" ? outcome.result.seq : null };
        }),
      history: (payload) =>
        parse(History, payload ?? {}, async (p) => {
          const target = role === "user" ? p.user_id ?? userId : p.user_id;
          if (!target) return error("invalid_payload", "'user_id' names the conversation");
          if (role === "user" && target !== userId) {
            return error("forbidden", "A user can only read their own history");
          }
          const page = await readHistory(deps.store, companyId, target, p);
          return { ok: true, ...page };
        }),
    };

    /** Runs a lifecycle command and answers with the conversation as agents see it after it. */
    const lifecycle = async (command: CompanyCommand): Promise<Answer> => {
      const outcome = await dispatch(command);
      if (!outcome.ok) return { ok: false, error: outcome.error };
      const result = outcome.result;
      return {
        ok: true,
        conversation: result?.kind === "conversation" ? result.conversation : null,
      };
    };

    const bucket = new TokenBucket(rate(deps.socketRate), deps.clock);
    socket.onAny(async (event: string, ...args: unknown[]) => {
      const ack = typeof args.at(-1) === "function" ? (args.at(-1) as Ack) : undefined;
      const handler = Object.hasOwn(handlers, event) ? handlers[event] : undefined;
      const payload = ack ? args.slice(0, -1)[0] : args[0];
      let result: Answer;
      if (!bucket.take()) {
        result = error("rate_limited", "Too many events: slow down");
      } else if (!handler) {
        result = error("invalid_payload", `Unknown event '${String(event).slice(0, 64)}'`);
      } else if (role !== "agent" && AGENT_ONLY.has(event)) {
        result = error("forbidden", `Only agents can send '${event}'`);
      } else if (jsonProblem(payload) !== null) {
        // No event takes free JSON today; none should ever walk a hostile nesting either.
        result = error("invalid_payload", `The payload ${jsonProblem(payload)}`);
      } else {
        try {
          result = await handler(payload);
        } catch (cause) {
          deps.log.error("socket.handler_failed", {
            company: companyId,
            event,
            error: String(cause),
          });
          result = error("unavailable", "The server could not complete the request");
        }
      }
      ack?.(result);
    });

    socket.on("disconnect", () => {
      deps.publisher.release(socket.id);
      cancelExpiry();
      presence.close(holder, socket.id);
    });
  });

  return io;
}

function messageAck(outcome: Outcome): Answer {
  if (!outcome.ok) return { ok: false, error: outcome.error };
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

function error(code: ErrorCode, message: string): Answer {
  return { ok: false, error: { code, message } };
}

/** Validates a payload, then runs `then` with it; a bad payload gets `invalid_payload`. */
function parse<T>(
  schema: z.ZodType<T>,
  payload: unknown,
  then: (p: T) => Promise<Answer>,
): Promise<Answer> {
  const parsed = schema.safeParse(payload);
  return parsed.success
    ? then(parsed.data)
    : Promise.resolve(error("invalid_payload", describe(parsed.error)));
}

/** A rate of `perSecond` (0: unlimited) with bursts of twice that. */
export function rate(perSecond = 0): Rate {
  return { perSecond, burst: perSecond * 2 };
}

/** `auth.last_seq` (or the `last_seq` query parameter): where a resuming client left off. */
function resumeCursor(socket: Socket): number | undefined {
  const raw = socket.handshake.auth?.last_seq ?? socket.handshake.query?.last_seq;
  const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Ends the connection when its token expires (docs/design.md §4); returns a cancel function. */
function expireAt(socket: Socket, expiresAt: number, clock: Clock): () => void {
  let cancel: CancelTimer;
  const arm = () => {
    // A timer holds at most ~24.8 days; a longer-lived token re-arms when that fires.
    cancel = clock.setTimer(() => {
      if (clock.now() < expiresAt) return arm();
      socket.emit("error", { code: "unauthorized", message: "expired: the token has expired" });
      socket.disconnect(true);
    }, expiresAt - clock.now());
  };
  arm();
  return () => cancel();
}
