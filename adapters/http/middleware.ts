/**
 * The middleware the routes share: request logs and metrics, the rate limit, the body limit,
 * the caller (a typed `principal`), and the reads that must come before the validators.
 */
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { z } from "zod";
import type { Role } from "../../domain/mod.ts";
import { AuthError, type Principal } from "../../src/auth.ts";
import { clientAddress as forwardedClient, type TrustProxy } from "../../src/net_address.ts";
import { AttemptLimiter, rate } from "../../src/rate_limit.ts";
import { describe, jsonProblem } from "../schemas.ts";
import type { HttpDeps, HttpEnv } from "./deps.ts";
import { refuse, Unavailable } from "./errors.ts";

/** Counts and logs each request with its id; tokens are never logged. */
export function requestLog(deps: Pick<HttpDeps, "log" | "metrics" | "trustProxy">) {
  return createMiddleware<HttpEnv>(async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath;
    deps.metrics?.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    deps.log.debug("http.request", {
      request_id: c.get("requestId"),
      address: clientAddress(c, deps.trustProxy),
      method: c.req.method,
      route,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
}

/** Refuses with 429 past `httpRate` a second per address (no valid token) or per identity. */
export function rateLimit(
  deps: Pick<HttpDeps, "httpRate" | "clock" | "trustProxy" | "verifier" | "share">,
) {
  const limiter = new AttemptLimiter(rate(deps.httpRate, deps.share), deps.clock);
  return createMiddleware<HttpEnv>(async (c, next) => {
    const admission = await limiter.admit(
      clientAddress(c, deps.trustProxy),
      bearerToken(c),
      (token) => verification(c, () => deps.verifier.verify(token)),
      (p) => JSON.stringify([p.companyId, p.userId]),
    );
    if (admission.limited) refuse("rate_limited", "Too many requests: slow down");
    await next();
  });
}

/** Refuses a body over `maxSize` bytes with 413 `too_large`, before anything reads it. */
export function sized(maxSize: number) {
  return bodyLimit({
    maxSize,
    onError: () => refuse("too_large", "The request body is too large"),
  });
}

/** Sets `principal` from the bearer token, or refuses with 401 `unauthorized`. */
export function authenticate(deps: Pick<HttpDeps, "verifier">) {
  return createMiddleware<HttpEnv>(async (c, next) => {
    const token = bearerToken(c);
    if (token === undefined) {
      refuse("unauthorized", "Send a token as 'Authorization: Bearer <token>'");
    }
    try {
      c.set("principal", await verification(c, () => deps.verifier.verify(token)));
    } catch (error) {
      if (error instanceof AuthError) refuse("unauthorized", error.message);
      // The verifier could not answer (a key set out of reach), which is no bug here.
      throw new Unavailable(error);
    }
    await next();
  });
}

/** Refuses with 403 `forbidden` a caller of another role. */
export function requireRole(role: Role, message: string) {
  return createMiddleware<HttpEnv>(async (c, next) => {
    if (c.get("principal").role !== role) refuse("forbidden", message);
    await next();
  });
}

/**
 * Checks the path (and, with `allow`, that the caller may use it) before the validators read
 * the query or the body, so a request wrong in several ways is told the same first thing as
 * before the routes were declared with `createRoute`.
 */
export function pathFirst<P extends z.ZodType<Record<string, string>>>(
  schema: P,
  allow?: (caller: Principal, path: z.output<P>) => void,
) {
  return createMiddleware<HttpEnv>(async (c, next) => {
    const path = schema.safeParse(c.req.param());
    if (!path.success) refuse("invalid_payload", describe(path.error));
    allow?.(c.get("principal"), path.data);
    await next();
  });
}

/**
 * Reads the body as JSON whatever its `Content-Type` (clients such as `curl -d` send
 * `application/x-www-form-urlencoded`, and always could), refuses what is not JSON or nests
 * too deep for the schemas to walk, then labels the request JSON: the validators of
 * `@hono/zod-openapi` would otherwise answer 415 or validate `{}` in its place.
 */
export const jsonBody = createMiddleware<HttpEnv>(async (c, next) => {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    refuse("invalid_payload", "The body must be JSON");
  }
  const problem = jsonProblem(body);
  if (problem) refuse("invalid_payload", `The body ${problem}`);
  if (c.req.header("content-type") !== "application/json") {
    // The parsed body stays cached on `c.req`, where the validator reads it.
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", "application/json");
    c.req.raw = new Request(c.req.url, { method: c.req.method, headers });
  }
  await next();
});

/**
 * The client's address: the peer's when served by `node:http` (@hono/node-server), or the
 * one its trusted proxy names; a shared key when there is no peer (`app.request`).
 */
function clientAddress(c: Context, trust: TrustProxy = 0): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
    ?.incoming;
  const peer = incoming?.socket?.remoteAddress;
  return peer === undefined
    ? "local"
    : forwardedClient(peer, c.req.header("x-forwarded-for"), trust);
}

/** The bearer token of the `Authorization` header, if there is one. */
function bearerToken(c: Context): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
}

/** One verification per request: the rate limiter's, reused by `authenticate`. */
function verification(c: Context<HttpEnv>, verify: () => Promise<Principal>): Promise<Principal> {
  let verified = c.get("verification");
  if (!verified) {
    verified = verify();
    c.set("verification", verified);
  }
  return verified;
}
