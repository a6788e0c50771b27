/**
 * Fewer writes: engine.io hands a WebSocket transport every packet waiting for a socket at
 * once, and the transport writes them one frame (one system call) each. Corking the TCP
 * socket around that hand-over sends them in one write. A delivery batch gives each agent
 * two frames per message (`message` and `conversation`), so this halves the writes at least.
 */
import type { Server } from "socket.io";

/** The parts of engine.io's WebSocket transport this touches (not in its public types). */
interface WsTransport {
  readonly name: string;
  send(packets: unknown[]): void;
  readonly socket?: { readonly _socket?: { cork(): void; uncork(): void } };
}

/** Makes every WebSocket transport of `io` write each flush of packets at once. */
export function coalesceWrites(io: Server): void {
  io.engine.on("connection", (conn: { transport: WsTransport; on: Server["engine"]["on"] }) => {
    corkEachSend(conn.transport);
    conn.on("upgrade", (transport: WsTransport) => corkEachSend(transport));
  });
}

function corkEachSend(transport: WsTransport): void {
  const tcp = transport.socket?._socket;
  if (transport.name !== "websocket" || typeof tcp?.cork !== "function") return;
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
