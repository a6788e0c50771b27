/** A bench client's socket: WebSocket only, no automatic reconnection, its own connection. */
import { io, type Socket } from "socket.io-client";

/** Connects to `url` with `auth`; resolves once connected, rejects on `connect_error`. */
export async function openSocket(url: string, auth: Record<string, unknown>): Promise<Socket> {
  const socket = io(url, { transports: ["websocket"], auth, reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  return socket;
}
