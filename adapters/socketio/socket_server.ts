/**
 * The Socket.IO server, put together: admission at connect, then for each socket its join
 * (presence, resume, rooms), its handlers, and its token's expiry. The parts are in
 * `admission.ts`, `join.ts`, `handlers.ts`; the protocol's types are in `schemas.ts`.
 */
import type { Server as HttpServer } from "node:http";
import { Server } from "socket.io";
import { RESUME_RATE, RESUME_WINDOW } from "../../src/resume.ts";
import { DEFAULT_MAX_SOCKETS, Presence } from "../../src/presence.ts";
import type { CancelTimer, Clock } from "../../src/ports.ts";
import { coalesceWrites } from "./_coalesce.ts";
import { admission, resumeCursor } from "./admission.ts";
import { KeyedLimiter, rate } from "../../src/rate_limit.ts";
import type { SocketDeps } from "./deps.ts";
import { endSocket } from "./errors.ts";
import { handleEvents } from "./handlers.ts";
import { callerOf, type Joining, openSocket } from "./join.ts";
import type {
  ChatServer,
  ChatSocket,
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  SocketData,
} from "./schemas.ts";

/** Creates the Socket.IO server on `httpServer` and wires every event. */
export function attachSocketServer(httpServer: HttpServer, deps: SocketDeps): ChatServer {
  const origins = deps.corsOrigins ?? "*";
  const io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(
    httpServer,
    {
      cors: { origin: origins === "*" ? "*" : [...origins] },
      // CORS headers do not bind WebSockets: a browser handshake from an origin not on the
      // list is refused here. Clients that send no Origin (servers, tests) are not browsers.
      allowRequest: (req, callback) => {
        const origin = req.headers.origin;
        callback(null, origins === "*" || origin === undefined || origins.includes(origin));
      },
      maxHttpBufferSize: 64 * 1024,
      serveClient: true,
    },
  );
  deps.publisher.bind(io, deps.log);
  coalesceWrites(io, (problem) => deps.log.error("socket.coalescing_disabled", { problem }));
  deps.metrics?.gauge("chat_connected_sockets", "Connected sockets, by role.", () => {
    const count = { user: 0, agent: 0 };
    for (const socket of io.of("/").sockets.values()) {
      count[socket.data.principal.role === "agent" ? "agent" : "user"]++;
    }
    return [[{ role: "user" }, count.user], [{ role: "agent" }, count.agent]];
  });

  const window = deps.resumeWindow ?? RESUME_WINDOW;
  const maxSockets = deps.maxSocketsPerUser || DEFAULT_MAX_SOCKETS;
  const joining: Joining = {
    deps,
    io,
    window,
    maxSockets,
    presence: new Presence({
      dispatch: (companyId, command) => deps.system.dispatch(companyId, command),
      clock: deps.clock,
      maxSockets,
      retryMs: deps.presenceRetryMs,
      ...deps.presenceTiming,
      shared: deps.sharedPresence,
      onSharedError: (error) => deps.log.warn("presence.shared_failed", { error: String(error) }),
    }),
    replays: new KeyedLimiter(rate(deps.resumeRate ?? RESUME_RATE, deps.share), deps.clock),
  };
  deps.onSharedPresenceLost?.(() => {
    deps.log.warn("presence.shared_lost", {});
    joining.presence.reshare();
  });
  // Closing the server: sockets that close now are recorded gone at once, none deferred.
  const closeIo = io.close.bind(io);
  io.close = (fn) => {
    joining.presence.stop();
    return closeIo(fn);
  };

  io.use(admission(deps, window));
  io.on("connection", (socket) => {
    const caller = callerOf(socket.data.principal);
    openSocket(joining, socket, caller, resumeCursor(socket));
    const cancelExpiry = expireAt(socket, socket.data.principal.expiresAt, deps.clock);
    handleEvents(deps, socket, caller);
    socket.on("disconnect", () => {
      deps.publisher.release(socket.id);
      cancelExpiry();
      joining.presence.close(caller, socket.id);
    });
  });
  return io;
}

/** Ends the connection when its token expires (docs/design.md §4); returns a cancel function. */
function expireAt(socket: ChatSocket, expiresAt: number, clock: Clock): () => void {
  let cancel: CancelTimer;
  const arm = () => {
    // A timer holds at most ~24.8 days; a longer-lived token re-arms when that fires.
    cancel = clock.setTimer(() => {
      if (clock.now() < expiresAt) return arm();
      // `reason` as a refused connect says it, so a page treats both alike: get a new token.
      endSocket(socket, {
        code: "unauthorized",
        reason: "expired",
        message: "expired: the token has expired",
      });
    }, expiresAt - clock.now());
  };
  arm();
  return () => cancel();
}
