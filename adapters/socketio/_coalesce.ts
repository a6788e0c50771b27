/**
 * Fewer writes. engine.io hands a WebSocket transport every packet waiting for a socket at
 * once, and the transport writes them one frame (one system call) each: corking the TCP
 * socket around that hand-over sends them in one write. And a delivery batch gives each agent
 * two frames per message at least (`message` and `conversation`): holding the recipients'
 * transports while the batch is emitted makes it one hand-over, so one write per socket.
 */
import type { ChatServer } from "./schemas.ts";

/** The parts of engine.io's WebSocket transport this touches (not in its public types). */
interface WsTransport {
  readonly name: string;
  writable: boolean;
  send(packets: unknown[]): void;
  readonly socket?: { readonly _socket?: { cork(): void; uncork(): void } };
}

/**
 * Makes every WebSocket transport of `io` write each flush of packets at once. When an
 * engine.io connection lacks an internal this relies on (an upgrade changed it), nothing is
 * patched and `onMissing` is told what is missing, once per server: writes still work, one by one.
 */
export function coalesceWrites(io: ChatServer, onMissing: (problem: string) => void): void {
  let told = false;
  const patch = (conn: unknown, transport: unknown) => {
    const problem = missingInternals(conn, transport);
    if (problem !== null) {
      if (!told) onMissing(problem);
      told = true;
    } else if ((transport as WsTransport).name === "websocket") {
      corkEachSend(transport as WsTransport);
    }
  };
  io.engine.on("connection", (conn: EngineSocket & { on: ChatServer["engine"]["on"] }) => {
    patch(conn, conn.transport);
    conn.on("upgrade", (transport: unknown) => patch(conn, transport));
  });
}

/**
 * What coalescing needs of an engine.io connection and its transport but does not find there,
 * or null when all is there (or the transport is not a WebSocket, which is left alone).
 */
export function missingInternals(conn: unknown, transport: unknown): string | null {
  const t = transport as Partial<WsTransport> | undefined;
  if (t?.name !== "websocket") return null;
  if (typeof (conn as Partial<EngineSocket>)?.flush !== "function") {
    return "engine.io's socket has no flush(): held writes cannot be let go";
  }
  if (typeof t.send !== "function" || typeof t.writable !== "boolean") {
    return "engine.io's WebSocket transport has no send(packets) or writable flag to hold";
  }
  const tcp = t.socket?._socket;
  if (typeof tcp?.cork !== "function" || typeof tcp.uncork !== "function") {
    return "engine.io's WebSocket transport has no TCP socket at socket._socket to cork";
  }
  return null;
}

function corkEachSend(transport: WsTransport): void {
  const tcp = transport.socket!._socket!;
  const send = transport.send;
  transport.send = function (packets) {
    if (packets.length < 2) return send.call(this, packets);
    tcp.cork();
    try {
      send.call(this, packets);
    } finally {
      tcp.uncork();
    }
  };
}

/** The engine.io socket under a Socket.IO socket: its transport and its packet buffer. */
interface EngineSocket {
  readonly transport: WsTransport;
  flush(): void;
}

/**
 * Holds the idle WebSocket transports of the sockets in `rooms`: what is emitted to them
 * waits in engine.io's buffer. The returned function lets each go, which writes its buffer.
 * Emits are synchronous, so hold, emit and release run in one turn.
 */
export function holdWrites(io: ChatServer, rooms: Iterable<string>): () => void {
  const nsp = io.of("/");
  const held: EngineSocket[] = [];
  for (const room of rooms) {
    for (const id of nsp.adapter.rooms.get(room) ?? []) {
      const conn = nsp.sockets.get(id)?.conn as EngineSocket | undefined;
      const transport = conn?.transport;
      // Only an idle one: a transport mid-write already buffers until its drain.
      if (!transport || transport.name !== "websocket" || !transport.writable) continue;
      transport.writable = false;
      held.push(conn!);
    }
  }
  return () => {
    let failure: unknown;
    for (const conn of held) {
      conn.transport.writable = true;
      try {
        conn.flush();
      } catch (error) {
        failure ??= error; // the others are still let go
      }
    }
    if (failure !== undefined) throw failure;
  };
}
