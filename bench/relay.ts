/**
 * The ceiling: a bare Socket.IO relay on the same runtime and the same wiring as the engine
 * (node:http + socket.io, same rooms), with no auth, no validation and no storage.
 * Prints `listening <port>` on stdout.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";

const http = createServer();
http.on("connection", (socket) => socket.setNoDelay(true));
const io = new Server(http, { serveClient: false, maxHttpBufferSize: 64 * 1024 });
io.on("connection", (socket) => {
  const { company, user, role } = socket.handshake.auth as Record<string, string>;
  socket.join(role === "agent" ? `agents:${company}` : `u:${company}:${user}`);
  socket.on(
    "message",
    (payload: { content: string; user_id?: string }, ack?: (a: unknown) => void) => {
      const message = {
        from: user,
        content: payload.content,
        timestamp: Math.floor(Date.now() / 1000),
      };
      if (role === "agent") io.to(`u:${company}:${payload.user_id}`).emit("message", message);
      else io.to(`agents:${company}`).emit("message", message);
      ack?.({ ok: true });
    },
  );
});
http.listen(Number(Deno.env.get("PORT") ?? 0), "127.0.0.1", () => {
  console.log(`listening ${(http.address() as AddressInfo).port}`);
});
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
