/**
 * Admission: the `io.use` middleware every connection passes. It rate-limits attempts (per
 * address without a valid token, per identity with one), verifies the token, charges a
 * resume's size to its identity, and refuses with a `connect_error` whose `data` holds the
 * code and reason.
 */
import { AuthError, type Principal } from "../../src/auth.ts";
import { clientAddress } from "../../src/net_address.ts";
import { AttemptLimiter, rate } from "../../src/rate_limit.ts";
import { resumeCost } from "../../src/resume.ts";
import type { SocketDeps } from "./deps.ts";
import type { ChatSocket } from "./schemas.ts";

/** `auth.last_seq` (or the `last_seq` query parameter): where a resuming client left off. */
export function resumeCursor(socket: ChatSocket): number | undefined {
  const raw = socket.handshake.auth?.last_seq ?? socket.handshake.query?.last_seq;
  const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** The identity a connection rate and a socket limit count by. */
export function identityOf(p: Pick<Principal, "companyId" | "userId">): string {
  return JSON.stringify([p.companyId, p.userId]);
}

type Next = (error?: Error) => void;

/** The middleware that admits a socket or refuses it; `window` is the resume window. */
export function admission(
  deps: SocketDeps,
  window: number,
): (socket: ChatSocket, next: Next) => Promise<void> {
  const connects = new AttemptLimiter(rate(deps.connectRate, deps.share), deps.clock);
  const admit = admitWith(deps, window, connects);
  // Socket.IO does not catch a middleware's rejection: an unexpected failure here would end
  // the process, so it is logged and the socket refused instead.
  return (socket, next) =>
    admit(socket, next).catch((error) => {
      deps.log.error("socket.admission_failed", { error: String(error) });
      next(connectError("unavailable", "unavailable: could not admit the connection; try again"));
    });
}

function admitWith(
  deps: SocketDeps,
  window: number,
  connects: AttemptLimiter,
): (socket: ChatSocket, next: Next) => Promise<void> {
  return async (socket, next) => {
    const { auth, query, headers } = socket.handshake;
    const forwarded = headers["x-forwarded-for"];
    const address = clientAddress(
      socket.handshake.address,
      Array.isArray(forwarded) ? forwarded.join(",") : forwarded,
      deps.trustProxy ?? 0,
    );
    const raw = typeof auth?.token === "string" ? auth.token : query?.token;
    const token = typeof raw === "string" ? raw : undefined;
    // Without a token, refused before any token work, so a flood of bad connections stays
    // cheap; and it cannot use up the attempts of users who hold good tokens.
    const admitted = await connects.admit(address, token, async (token) => {
      const principal = await deps.verifier.verify(token);
      if (principal.role === "bot") {
        throw new AuthError("invalid_claim", "bot tokens are for the HTTP API, not for sockets");
      }
      return principal;
    }, identityOf);
    if (admitted.limited) {
      return next(
        connectError("rate_limited", "rate_limited: too many connection attempts, slow down"),
      );
    }
    if (admitted.verified.status === "rejected") {
      const error = admitted.verified.reason;
      const why = error instanceof AuthError
        ? error
        : new AuthError("malformed_token", "unreadable");
      return next(connectError("unauthorized", why.message, why.reason));
    }
    const principal = admitted.verified.value;
    socket.data.principal = principal;
    // A resume's work counts against the identity's connection rate by its size.
    const lastSeq = resumeCursor(socket);
    if (lastSeq !== undefined && deps.connectRate) {
      // A company whose log cannot be read now is charged nothing here: its join fails and says so.
      const version = await deps.system.actor(principal.companyId).current().then(
        (state) => state.version,
        () => lastSeq,
      );
      const cost = resumeCost(version - lastSeq, window);
      if (cost > 0 && !connects.charge(identityOf(principal), cost)) {
        return next(connectError(
          "rate_limited",
          `rate_limited: a resume of ${
            version - lastSeq
          } events is over this identity's connection rate, slow down`,
        ));
      }
    }
    next();
  };
}

/** The one `connect_error`: its message, and `data` with the code and the reason. */
function connectError(
  code: "rate_limited" | "unauthorized" | "unavailable",
  message: string,
  reason: string = code,
) {
  return Object.assign(new Error(message), { data: { code, reason } });
}
