/**
 * The Socket.IO edge: authenticates at connect, joins the rooms of the caller's company,
 * validates each event and turns it into a command; the publisher maps audiences to rooms.
 */
import type { Server as HttpServer } from "node:http";
import { Server, type Socket } from "socket.io";
import { z } from "zod";
import type { Audience, Delivery, ErrorCode } from "../../domain/mod.ts";
import type { ActorSystem, Outcome } from "../../src/company_actor.ts";
import { AuthError, type JwtVerifier, type Principal } from "../../src/auth.ts";
import type { Logger } from "../../src/log.ts";
import type { Clock, Ids, Publisher } from "../../src/ports.ts";
import { describe } from "../http/http_app.ts";

/** What the socket server needs. */
export interface SocketDeps {
  readonly system: Pick<ActorSystem, "dispatch">;
  readonly publisher: SocketIoPublisher;
  readonly verifier: JwtVerifier;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly log: Logger;
  readonly corsOrigins?: readonly string[] | "*";
  /** The longest message content, in characters (default 4000). */
  readonly maxMessageLength?: number;
}

type Ack = (answer: unknown) => void;

/** The room of an audience inside a company; ids are encoded so no two rooms collide. */
export function roomOf(companyId: string, to: Audience): string {
  const company = encodeURIComponent(companyId);
  switch (to.kind) {
    case "socket":
      return to.socketId;
    case "user":
      return `u:${company}:${encodeURIComponent(to.userId)}`;
    case "agent":
      return `a:${company}:${encodeURIComponent(to.userId)}`;
    case "agents":
      return `agents:${company}`;
    default: {
      const _exhaustive: never = to;
      return _exhaustive;
    }
  }
}

/** Emits deliveries to Socket.IO rooms; bound to its server by `attachSocketServer`. */
export class SocketIoPublisher implements Publisher {
  #io: Server | null = null;

  bind(io: Server): void {
    this.#io = io;
  }

  publish(companyId: string, deliveries: readonly Delivery[]): void {
    const io = this.#io;
    if (!io) return;
    for (const { to, except, event, payload } of deliveries) {
      const target = io.to(roomOf(companyId, to));
      (except === undefined ? target : target.except(except)).emit(event, payload);
    }
  }
}

const text = z.string();
const UserMessage = z.object({ to: z.enum(["admin", "agent"]).optional(), content: text });
const AgentMessage = z.object({
  to: z.literal("user").optional(),
  user_id: z.string().trim().min(1, "must name the user").max(256),
  content: text,
});

/** Creates the Socket.IO server on `httpServer` and wires every event. */
export function attachSocketServer(httpServer: HttpServer, deps: SocketDeps): Server {
  const origins = deps.corsOrigins ?? "*";
  const io = new Server(httpServer, {
    cors: { origin: origins === "*" ? "*" : [...origins] },
    maxHttpBufferSize: 64 * 1024,
    serveClient: true,
  });
  deps.publisher.bind(io);
  const maxLength = deps.maxMessageLength ?? 4000;

  io.use(async (socket, next) => {
    const { auth, query } = socket.handshake;
    const token = typeof auth?.token === "string" ? auth.token : query?.token;
    try {
      const principal = await deps.verifier.verify(typeof token === "string" ? token : undefined);
      if (principal.role === "bot") {
        throw new AuthError("invalid_claim", "bot tokens are for the HTTP API, not for sockets");
      }
      socket.data.principal = principal;
      next();
    } catch (error) {
      const refusal = error instanceof AuthError
        ? error
        : new AuthError("malformed_token", "unreadable");
      next(
        Object.assign(new Error(refusal.message), {
          data: { code: "unauthorized", reason: refusal.reason },
        }),
      );
    }
  });

  io.on("connection", (socket: Socket) => {
    const principal: Principal = socket.data.principal;
    const { companyId, userId } = principal;
    const role = principal.role === "agent" ? "agent" : "user";
    socket.join(roomOf(companyId, { kind: role, userId }));
    if (role === "agent") socket.join(roomOf(companyId, { kind: "agents" }));

    const dispatch = (command: Parameters<SocketDeps["system"]["dispatch"]>[1]) =>
      deps.system.dispatch(companyId, command);
    const presence = { userId, role, socketId: socket.id } as const;

    dispatch({ type: "Connect", data: { ...presence, at: deps.clock.now() } }).then((outcome) => {
      if (outcome.ok) return;
      socket.emit("error", { code: outcome.error.code, message: outcome.error.message });
      socket.disconnect(true);
    });
    const cancelExpiry = expireAt(socket, principal.expiresAt, deps.clock);

    socket.on("message", async (payload: unknown, ack?: Ack) => {
      const reply = typeof ack === "function" ? ack : undefined;
      const parsed = (role === "agent" ? AgentMessage : UserMessage).safeParse(payload);
      if (!parsed.success) return answer(reply, error("invalid_payload", describe(parsed.error)));
      const content = parsed.data.content;
      if (content.length > maxLength) {
        return answer(reply, error("too_large", `A message holds at most ${maxLength} characters`));
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
          at: deps.clock.now(),
        },
      });
      answer(reply, messageAck(outcome));
    });

    socket.onAny((event: string, ...args: unknown[]) => {
      if (event === "message") return;
      const reply = args.at(-1);
      if (typeof reply === "function") {
        reply(error("invalid_payload", `Unknown event '${String(event).slice(0, 64)}'`));
      }
    });

    socket.on("disconnect", () => {
      cancelExpiry();
      dispatch({ type: "Disconnect", data: { ...presence, at: deps.clock.now() } });
    });
  });

  return io;
}

function messageAck(outcome: Outcome): unknown {
  if (!outcome.ok) return { ok: false, error: outcome.error };
  const sent = outcome.events.find((e) => e.type === "MessageSent");
  if (!sent || sent.type !== "MessageSent") return { ok: true };
  return {
    ok: true,
    id: sent.data.messageId,
    seq: sent.seq,
    conversation_id: sent.data.conversationId,
  };
}

function error(code: ErrorCode, message: string) {
  return { ok: false, error: { code, message } };
}

function answer(ack: Ack | undefined, value: unknown): void {
  ack?.(value);
}

/** Ends the connection when its token expires (DESIGN §4); returns a cancel function. */
function expireAt(socket: Socket, expiresAt: number, clock: Clock): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    // setTimeout holds at most ~24.8 days; a longer-lived token re-arms when that fires.
    const delay = Math.min(Math.max(expiresAt - clock.now(), 0), 2 ** 31 - 1);
    timer = setTimeout(() => {
      if (clock.now() < expiresAt) return arm();
      socket.emit("error", { code: "unauthorized", message: "expired: the token has expired" });
      socket.disconnect(true);
    }, delay);
  };
  arm();
  return () => clearTimeout(timer);
}
