/**
 * JWT verification (docs/design.md §4). HS256 with a shared secret; the algorithm is pinned so a
 * token cannot pick its own (`none`, or HS/RS confusion).
 */
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  importSPKI,
  jwtVerify,
  type JWTVerifyGetKey,
  SignJWT,
} from "jose";
import { idProblem, type Role } from "../domain/mod.ts";

/** An authenticated caller. */
export interface Principal {
  readonly companyId: string;
  readonly userId: string;
  readonly role: Role;
  /** When the token expires, Unix ms. */
  readonly expiresAt: number;
}

/** Why a token was refused. */
export type AuthFailure =
  | "missing_token"
  | "malformed_token"
  | "bad_signature"
  | "unsupported_algorithm"
  | "expired"
  | "missing_claim"
  | "invalid_claim"
  | "unknown_role";

/** A refused token; `message` names the reason and says why in words. */
export class AuthError extends Error {
  override name = "AuthError";
  constructor(readonly reason: AuthFailure, detail: string) {
    super(`${reason}: ${detail}`);
  }
}

/** Verifies bearer tokens. */
export interface JwtVerifier {
  verify(token: string | null | undefined): Promise<Principal>;
}

const ROLES: Record<string, Role> = { user: "user", admin: "agent", agent: "agent", bot: "bot" };

/** How tokens are checked: an HS256 secret, or an asymmetric key (PEM or JWKS). */
export interface VerifierOptions {
  readonly secret?: Uint8Array;
  readonly publicKeyPem?: string;
  readonly jwksUrl?: string;
  /** The asymmetric algorithms accepted (default RS256). HS256 goes with `secret` only. */
  readonly algorithms?: readonly string[];
  readonly issuer?: string;
  readonly audience?: string;
  /** The clock tokens expire by, Unix ms (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * A verifier. The algorithm list is fixed by the configuration, never by the token, so a
 * token cannot choose `none` or turn a public key into an HMAC secret (HS/RS confusion).
 */
export function createJwtVerifier(options: Uint8Array | VerifierOptions): JwtVerifier {
  const o: VerifierOptions = options instanceof Uint8Array ? { secret: options } : options;
  const asymmetric = o.publicKeyPem !== undefined || o.jwksUrl !== undefined;
  const algorithms = asymmetric ? [...(o.algorithms ?? ["RS256"])] : ["HS256"];
  type Key = Awaited<ReturnType<typeof importSPKI>> | Uint8Array | JWTVerifyGetKey;
  let key: Promise<Key>;
  if (o.jwksUrl) key = Promise.resolve(createRemoteJWKSet(new URL(o.jwksUrl)));
  else if (o.publicKeyPem) key = importSPKI(o.publicKeyPem, algorithms[0]);
  else if (o.secret) key = Promise.resolve(o.secret);
  else throw new Error("Cannot verify tokens without a secret, a public key or a JWKS URL");
  const claims = {
    algorithms,
    ...(o.issuer ? { issuer: o.issuer } : {}),
    ...(o.audience ? { audience: o.audience } : {}),
  };
  // A key set can drop a key before its tokens expire, so only a fixed key's answers are kept.
  const verified = o.jwksUrl ? undefined : new VerifiedTokens();
  return {
    async verify(token) {
      if (typeof token !== "string" || token.trim() === "") {
        throw new AuthError("missing_token", "no token was presented");
      }
      const now = o.now?.() ?? Date.now();
      const known = verified?.get(token.trim(), now);
      if (known) return known;
      let payload: Record<string, unknown>;
      try {
        const k = await key;
        const at = { ...claims, currentDate: new Date(now) };
        ({ payload } = typeof k === "function"
          ? await jwtVerify(token.trim(), k, at)
          : await jwtVerify(token.trim(), k, at));
      } catch (error) {
        throw toAuthError(error, algorithms, token.trim());
      }
      const principal = principalOf(payload);
      verified?.set(token.trim(), principal);
      return principal;
    },
  };
}

/** Tokens kept after verification (at most this many, the oldest dropped first). */
export const VERIFIED_TOKENS_KEPT = 4096;

/**
 * Tokens already verified against a fixed key, by their exact text (signature included), so a
 * client that sends the same token with every request (a bot's handoffs) costs one signature
 * check, not one per request. A kept token still expires at its `exp`.
 */
class VerifiedTokens {
  readonly #kept = new Map<string, Principal>();

  get(token: string, now: number): Principal | undefined {
    const principal = this.#kept.get(token);
    if (principal && principal.expiresAt <= now) {
      this.#kept.delete(token);
      return undefined;
    }
    return principal;
  }

  set(token: string, principal: Principal): void {
    if (this.#kept.size >= VERIFIED_TOKENS_KEPT) {
      this.#kept.delete(this.#kept.keys().next().value!);
    }
    this.#kept.set(token, principal);
  }
}

/** Signs a token (development tokens, the demo and tests). `ttlSeconds` defaults to one hour. */
export function signToken(
  secret: Uint8Array,
  claims: { company_id: string; user_id: string; role: string },
  ttlSeconds = 3600,
): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(secret);
}

function principalOf(payload: Record<string, unknown>): Principal {
  const companyId = idClaim(payload, "company_id");
  const userId = idClaim(payload, "user_id");
  if (payload.role === undefined) throw new AuthError("missing_claim", "the token has no 'role'");
  const role = typeof payload.role === "string" && Object.hasOwn(ROLES, payload.role)
    ? ROLES[payload.role]
    : undefined;
  if (!role) {
    throw new AuthError("unknown_role", "'role' must be one of user, admin, agent, bot");
  }
  if (typeof payload.exp !== "number") {
    throw new AuthError("missing_claim", "the token has no numeric 'exp'");
  }
  return { companyId, userId, role, expiresAt: payload.exp * 1000 };
}

function idClaim(payload: Record<string, unknown>, name: string): string {
  const value = payload[name];
  if (value === undefined || value === null || value === "") {
    throw new AuthError("missing_claim", `the token has no '${name}'`);
  }
  // PyJWT-era tokens sometimes carry numeric ids; they name the same identity as a string.
  const id = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
  // The edges' one id rule: an id that is not one is refused, never trimmed or repaired.
  const problem = idProblem(id);
  if (problem !== null) throw new AuthError("invalid_claim", `'${name}' ${problem}`);
  return id as string;
}

function toAuthError(error: unknown, algorithms: readonly string[], token: string): AuthError {
  if (error instanceof errors.JWTExpired) return new AuthError("expired", "the token has expired");
  // A `crit` header names extensions the token needs understood; this server understands none
  // (RFC 7515 §4.1.11: such a JWS is invalid), whatever its algorithm: not a token we can read.
  if (error instanceof errors.JOSENotSupported && hasCrit(token)) {
    return new AuthError(
      "malformed_token",
      "the token's 'crit' header names an extension this server does not support",
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new AuthError(
      "unsupported_algorithm",
      `only ${algorithms.join(", ")} tokens are accepted`,
    );
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new AuthError("bad_signature", "no key of the key set matches the token");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new AuthError("bad_signature", "the token's signature does not match");
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new AuthError("invalid_claim", error.message);
  }
  return new AuthError("malformed_token", "the token is not a well-formed JWT");
}

function hasCrit(token: string): boolean {
  try {
    return decodeProtectedHeader(token).crit !== undefined;
  } catch {
    return false;
  }
}
