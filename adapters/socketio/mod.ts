/**
 * The Socket.IO edge: `attachSocketServer(httpServer, deps)` serves the socket protocol on the
 * HTTP server, and `SocketIoPublisher` emits the domain's deliveries to its rooms.
 */
export { attachSocketServer } from "./socket_server.ts";
export { roomOf, SocketIoPublisher } from "./publisher.ts";
export type { SocketDeps } from "./deps.ts";
export type {
  Answer,
  ChatServer,
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  SocketData,
} from "./schemas.ts";
