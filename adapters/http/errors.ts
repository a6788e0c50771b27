/**
 * How the HTTP edge refuses: routes and middleware throw, and `answerError` (the app's one
 * `onError`) maps what was thrown to `{ error: { code, message } }` with the code's status.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ErrorCode } from "../../domain/mod.ts";
import type { Logger } from "../../src/log.ts";
import { Refusal, Unavailable } from "../refusal.ts";

export { accepted, fromStore, Refusal, refuse, Unavailable } from "../refusal.ts";

/** The HTTP status of each error code. */
export const STATUS = {
  invalid_payload: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const satisfies Record<ErrorCode, number>;

const CODE_OF_STATUS = new Map<number, ErrorCode>(
  Object.entries(STATUS).map(([code, status]) => [status, code as ErrorCode]),
);

/** The one error answer; a bug is `internal` and its stack stays in the log. */
export function answerError(error: Error, c: Context, log: Logger): Response {
  let code: ErrorCode;
  let message: string;
  if (error instanceof Refusal) {
    ({ code, message } = error);
  } else if (error instanceof Unavailable) {
    code = "unavailable";
    message = error.message;
    log.error("http.error", { path: c.req.path, error: String(error.cause) });
  } else if (error instanceof HTTPException && CODE_OF_STATUS.has(error.status)) {
    // Hono's own middleware refusing (a validator's malformed input, say).
    code = CODE_OF_STATUS.get(error.status)!;
    message = error.message;
  } else {
    code = "internal";
    message = "The server met an unexpected error; nothing more is said here";
    log.error("http.bug", { path: c.req.path, error: String(error), stack: error.stack });
  }
  return c.json({ error: { code, message } }, STATUS[code]);
}
