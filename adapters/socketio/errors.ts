/**
 * How the socket edge refuses, in one place each way: `answerError` turns whatever a client
 * event's handling threw into its ack, and `endSocket` tells a socket why before closing it.
 */
import type { Logger } from "../../src/log.ts";
import { Refusal, Unavailable } from "../refusal.ts";
import type { Answer, ChatSocket, SocketEnd } from "./schemas.ts";

/** Where a client event was handled, for the log. */
export interface EventSite {
  readonly company: string;
  readonly event: string;
}

/**
 * The one refusal ack, `{ ok: false, error: { code, message } }`, for what was thrown: a
 * `Refusal` says its own code; a store failure is `unavailable`; anything else is a bug,
 * logged with its company and event, and answered `internal` without its details.
 */
export function answerError(thrown: unknown, site: EventSite, log: Logger): Answer {
  if (thrown instanceof Refusal) {
    return { ok: false, error: { code: thrown.code, message: thrown.message } };
  }
  if (thrown instanceof Unavailable) {
    log.error("socket.handler_failed", { ...site, error: String(thrown.cause) });
    return { ok: false, error: { code: "unavailable", message: thrown.message } };
  }
  log.error("socket.bug", {
    ...site,
    error: String(thrown),
    stack: thrown instanceof Error ? thrown.stack : undefined,
  });
  return {
    ok: false,
    error: {
      code: "internal",
      message: "The server met an unexpected error; nothing more is said here",
    },
  };
}

/** Sends the socket its `error` event with why, then closes it: the one way a socket is ended. */
export function endSocket(socket: ChatSocket, why: SocketEnd): void {
  socket.emit("error", why);
  socket.disconnect(true);
}
