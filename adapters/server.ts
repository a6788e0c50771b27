/**
 * One port for both edges: a `node:http` server running the Hono app, with Socket.IO
 * attached to it. There is no Socket.IO server for `Deno.serve` (docs/field_notes.md §Hono and
 * Socket.IO in one Deno process), and Nagle's algorithm is off (same section).
 */
import { createAdaptorServer } from "@hono/node-server";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Server as IoServer } from "socket.io";
import { createHttpApp, type HttpDeps } from "./http/mod.ts";
import { attachSocketServer, type SocketDeps } from "./socketio/mod.ts";

/** A listening engine. */
export interface RunningServer {
  readonly port: number;
  readonly http: HttpServer;
  readonly io: IoServer;
  /** Stops accepting, closes every socket, and resolves when the port is released. */
  close(): Promise<void>;
}

/** Starts HTTP and Socket.IO on one port (`0` picks a free one). */
export function startServer(
  deps: HttpDeps & SocketDeps,
  options: { port: number; hostname?: string },
): Promise<RunningServer> {
  const app = createHttpApp(deps);
  const http = createAdaptorServer({ fetch: app.fetch }) as HttpServer;
  // Chat is many small writes: do not let Nagle's algorithm hold them back.
  http.on("connection", (socket) => socket.setNoDelay(true));
  const io = attachSocketServer(http, deps);
  return new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port, options.hostname ?? "0.0.0.0", () => {
      const port = (http.address() as AddressInfo).port;
      resolve({
        port,
        http,
        io,
        close: () =>
          new Promise<void>((done) => {
            io.close(() => done());
            http.closeAllConnections?.();
          }),
      });
    });
  });
}
