/**
 * The HTTP edge (Hono): the chatbot's handoff route, health, and the static pages.
 * Handlers parse, build a command, dispatch it and map the outcome; no rule lives here.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { AttemptLimiter } from "../../src/rate_limit.ts";
import { clientAddress as forwardedClient, type TrustProxy } from "../../src/net_address.ts";
import type { Metrics } from "../../src/metrics.ts";
import { exportLine } from "../../src/replay.ts";
import { decode } from "../../src/codec.ts";
import { openApiDocument } from "./openapi.ts";
import { Digits, Id, jsonProblem } from "../schemas.ts";
import { z } from "zod";
import type { ErrorCode, JsonValue, Settings } from "../../domain/mod.ts";
import type { ActorSystem } from "../../src/company_actor.ts";
import { AuthError, type JwtVerifier, type Principal } from "../../src/auth.ts";
import type { Logger } from "../../src/log.ts";
import type { CheckpointStore, Clock, EventLog, HistoryIndex, Ids } from "../../src/ports.ts";
import type { StoreHealth } from "../../src/store_health.ts";
import { MAX_HISTORY_PAGE, readHistory } from "../../src/history.ts";
import { webhookTargetProblem } from "../../src/webhooks.ts";

/** What the HTTP app needs. */
export interface HttpDeps {
  readonly system: Pick<ActorSystem, "dispatch" | "actor">;
  readonly store: EventLog & HistoryIndex & CheckpointStore;
  readonly verifier: JwtVerifier;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly log: Logger;
  /** Origins allowed by CORS: `*` or a list. */
  readonly corsOrigins?: readonly string[] | "*";
  /** The folder of the pages; `static/` beside the project root by default. */
  readonly staticDir?: string;
  /** The largest request body, in bytes (default 32 KiB). */
  readonly maxBodyBytes?: number;
  /**
   * API requests per second per client address without a valid token, and per identity with
   * one (0 or unset: unlimited).
   */
  readonly httpRate?: number;
  /** Which peers' `X-Forwarded-For` names the client (0 or unset: nobody's). */
  readonly trustProxy?: TrustProxy;
  readonly metrics?: Metrics;
  /** Whether the store takes writes; `/readyz` answers 503 while it does not. */
  readonly health?: StoreHealth;
  /** Accepts webhook URLs on loopback and private addresses (tests, local development). */
  readonly webhookAllowPrivate?: boolean;
  /**
   * Mints demo tokens; given only when the server runs on its generated development secret,
   * so a configured deployment never hands out tokens.
   */
  readonly demo?: (
    claims: { company_id: string; user_id: string; role: string },
  ) => Promise<string>;
}

const STATUS: Record<ErrorCode, 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503> = {
  invalid_payload: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

const json: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(json),
    z.record(z.string(), json),
  ])
);

/** `POST /transfer_to_agent` (DESIGN §5.1); `context` is optional, as the predecessor's was. */
export const TransferBody = z.object({
  user_id: Id,
  company_id: Id,
  context: z.union([z.string(), z.array(json), z.record(z.string(), json), z.null()]).optional(),
});

/** `POST /api/v1/conversations/:user_id/messages`: the bot's transcript before the handoff. */
export const TranscriptBody = z.object({
  messages: z.array(
    z.object({
      role: z.enum(["user", "bot"]),
      content: z.string().trim().min(1, "must not be empty").max(8000),
    }),
  ).min(1, "must hold at least one message").max(200, "must hold at most 200 messages"),
});

/** `PUT /api/v1/settings`: every field optional. */
export const SettingsBody = z.object({
  assignment: z.enum(["manual", "auto"]).optional(),
  max_chats_per_agent: z.number().int().min(1).max(100).optional(),
  agent_grace_seconds: z.number().int().min(0).max(86_400).optional(),
  webhook_url: z.url({ protocol: /^https?$/ }).max(2048).nullable().optional(),
  webhook_secret: z.string().min(8).max(256).nullable().optional(),
}).strict();

const EventsQuery = z.object({
  after: Digits.pipe(z.number().int().min(0)).optional(),
  limit: Digits.pipe(z.number().int().min(1).max(5000)).optional(),
});

const HistoryQuery = z.object({
  before: Digits.pipe(z.number().int().min(1)).optional(),
  limit: Digits.pipe(z.number().int().min(1).max(MAX_HISTORY_PAGE)).optional(),
});

/** A path's id, checked by the same rule as a body's. */
const PathUser = z.object({ user_id: Id });
const PathCompany = z.object({ company_id: Id });

const PAGE = /^[a-z0-9_-]+\.(html|js|css|svg)$/;
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** Builds the Hono app. */
export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  const staticDir = deps.staticDir ?? new URL("../../static/", import.meta.url).pathname;
  const origins = deps.corsOrigins ?? "*";
  app.use("*", cors({ origin: origins === "*" ? "*" : [...origins] }));
  app.use("*", async (c, next) => {
    // A request id for the logs (the caller's, if it sent one); tokens are never logged.
    const id = (c.req.header("x-request-id") ?? "").slice(0, 64) || crypto.randomUUID();
    const started = performance.now();
    await next();
    c.res.headers.set("x-request-id", id);
    const route = c.req.routePath;
    deps.metrics?.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    deps.log.debug("http.request", {
      request_id: id,
      address: clientAddress(c, deps.trustProxy),
      method: c.req.method,
      route,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });

  app.onError((error, c) => {
    deps.log.error("http.error", { path: c.req.path, error: String(error) });
    return fail(c, "unavailable", "The server could not complete the request");
  });
  app.notFound((c) => fail(c, "not_found", `No route for ${c.req.method} ${c.req.path}`));

  app.get("/healthz", (c) => c.json({ ok: true }));

  app.get("/readyz", async (c) => {
    try {
      await within(2000, deps.store.version("\u0000readyz"));
    } catch (error) {
      deps.log.warn("readyz.store_unhealthy", { error: String(error) });
      return c.json({
        ok: false,
        reason: "store_unreachable",
        error: { code: "unavailable", message: "The event store does not answer" },
      }, 503);
    }
    const health = deps.health;
    if (health) {
      // One small write tells whether the store takes writes (a full disk still reads).
      try {
        await within(2000, deps.store.saveCheckpoint("\u0000readyz", deps.clock.now()));
        health.succeeded();
      } catch (error) {
        health.failed(error, deps.clock.now());
        const since = new Date(health.since).toISOString();
        return c.json({
          ok: false,
          reason: "store_refuses_writes",
          error: {
            code: "unavailable",
            message: `The event store refuses writes since ${since} (${health.reason}): ` +
              "connects and reads work, whatever records an event answers 'unavailable'",
          },
        }, 503);
      }
    }
    return c.json({ ok: true });
  });

  app.get("/metrics", (c) => {
    if (!deps.metrics) return fail(c, "not_found", "Metrics are off");
    return c.body(deps.metrics.render(), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });

  const document = openApiDocument({
    transfer: TransferBody,
    settings: SettingsBody,
    transcript: TranscriptBody,
    history: HistoryQuery,
    events: EventsQuery,
  });
  app.get("/openapi.json", (c) => c.json(document));

  // Before every API route, the demo's token minting included.
  const limiter = new AttemptLimiter(
    { perSecond: deps.httpRate ?? 0, burst: (deps.httpRate ?? 0) * 2 },
    deps.clock,
  );
  const limited = createMiddleware(async (c, next) => {
    const admission = await limiter.admit(
      clientAddress(c, deps.trustProxy),
      bearerToken(c),
      () => verifyRequest(c, deps.verifier),
      (p) => JSON.stringify([p.companyId, p.userId]),
    );
    if (admission.limited) return fail(c, "rate_limited", "Too many requests: slow down");
    await next();
  });
  app.use("/transfer_to_agent", limited);
  app.use("/api/*", limited);

  app.get("/api/v1/demo", (c) => c.json({ enabled: deps.demo !== undefined }));
  app.post("/api/v1/demo/tokens", async (c) => {
    const mint = deps.demo;
    if (!mint) {
      return fail(c, "not_found", "The demo is off: the server runs with a configured secret");
    }
    // Each demo is a company of its own, so abandoned demos never fill anyone's capacity.
    const session = crypto.randomUUID().slice(0, 8);
    const visitor = `visitor-${session}`;
    const company = `demo-${session}`;
    return c.json({
      company_id: company,
      user_id: visitor,
      agent_id: "agent-demo",
      user: await mint({ company_id: company, user_id: visitor, role: "user" }),
      agent: await mint({ company_id: company, user_id: "agent-demo", role: "admin" }),
      bot: await mint({ company_id: company, user_id: "demo-bot", role: "bot" }),
    });
  });
  app.get("/docs", (c) => c.redirect("/docs.html"));

  app.post(
    "/transfer_to_agent",
    bodyLimit({
      maxSize: deps.maxBodyBytes ?? 32 * 1024,
      onError: (c) => fail(c, "too_large", "The request body is too large"),
    }),
    async (c) => {
      const caller = await authenticate(c, deps.verifier);
      if (caller instanceof Response) return caller;
      if (caller.role !== "bot") {
        return fail(c, "forbidden", "Only a bot token can hand users over");
      }
      const body = await readJson(c);
      if (body instanceof Response) return body;
      const parsed = TransferBody.safeParse(body);
      if (!parsed.success) return fail(c, "invalid_payload", describe(parsed.error));
      const { user_id, company_id, context } = parsed.data;
      if (company_id !== caller.companyId) {
        return fail(c, "forbidden", "The token does not belong to this company");
      }
      const outcome = await deps.system.dispatch(company_id, {
        type: "TransferToAgent",
        data: {
          userId: user_id,
          context: context ?? "",
          conversationId: deps.ids.next(),
          at: deps.clock.now(),
        },
      });
      if (!outcome.ok) return fail(c, outcome.error.code, outcome.error.message);
      const handedOff = outcome.events.find((e) => e.type === "HandedOff");
      return c.json({
        ok: true,
        user_id,
        conversation_id: handedOff?.data.conversationId,
        seq: handedOff?.seq,
      });
    },
  );

  app.get("/api/v1/conversations/:user_id/messages", async (c) => {
    const caller = await authenticate(c, deps.verifier);
    if (caller instanceof Response) return caller;
    const path = PathUser.safeParse(c.req.param());
    if (!path.success) return fail(c, "invalid_payload", describe(path.error));
    const userId = path.data.user_id;
    if (caller.role === "user" && caller.userId !== userId) {
      return fail(c, "forbidden", "A user can only read their own history");
    }
    // `?before=&limit=` (empty values) means "not given".
    const given = Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v !== ""));
    const query = HistoryQuery.safeParse(given);
    if (!query.success) return fail(c, "invalid_payload", describe(query.error));
    return c.json(await readHistory(deps.store, caller.companyId, userId, query.data));
  });

  app.post(
    "/api/v1/conversations/:user_id/messages",
    bodyLimit({
      maxSize: 256 * 1024,
      onError: (c) => fail(c, "too_large", "The request body is too large"),
    }),
    async (c) => {
      const caller = await authenticate(c, deps.verifier);
      if (caller instanceof Response) return caller;
      if (caller.role !== "bot") {
        return fail(c, "forbidden", "Only a bot token can post a transcript");
      }
      const path = PathUser.safeParse(c.req.param());
      if (!path.success) return fail(c, "invalid_payload", describe(path.error));
      const body = await readJson(c);
      if (body instanceof Response) return body;
      const parsed = TranscriptBody.safeParse(body);
      if (!parsed.success) return fail(c, "invalid_payload", describe(parsed.error));
      const lines = parsed.data.messages.map((m) => ({
        role: m.role,
        text: m.content,
        messageId: deps.ids.next(),
      }));
      const outcome = await deps.system.dispatch(caller.companyId, {
        type: "PostTranscript",
        data: {
          botId: caller.userId,
          userId: path.data.user_id,
          lines,
          conversationId: deps.ids.next(),
          at: deps.clock.now(),
        },
      });
      if (!outcome.ok) return fail(c, outcome.error.code, outcome.error.message);
      const sent = outcome.events.flatMap((e) =>
        e.type === "MessageSent" ? [{ id: e.data.messageId, seq: e.seq }] : []
      );
      return c.json({ ok: true, messages: sent }, 201);
    },
  );

  app.get("/api/v1/companies/:company_id/events", async (c) => {
    const caller = await authenticate(c, deps.verifier);
    if (caller instanceof Response) return caller;
    if (caller.role !== "agent") {
      return fail(c, "forbidden", "The log is for the company's admins (agents)");
    }
    const path = PathCompany.safeParse(c.req.param());
    if (!path.success) return fail(c, "invalid_payload", describe(path.error));
    if (caller.companyId !== path.data.company_id) {
      return fail(c, "forbidden", "The token does not belong to this company");
    }
    const given = Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v !== ""));
    const query = EventsQuery.safeParse(given);
    if (!query.success) return fail(c, "invalid_payload", describe(query.error));
    const { after = 0, limit = 1000 } = query.data;
    const lines: string[] = [];
    let last = after;
    for await (const e of deps.store.read(caller.companyId, { after, limit })) {
      lines.push(exportLine(decode(e)));
      last = e.seq;
    }
    return c.body(lines.length ? `${lines.join("\n")}\n` : "", 200, {
      "content-type": "application/x-ndjson; charset=utf-8",
      "x-next-after": String(last),
    });
  });

  app.get("/api/v1/settings", async (c) => {
    const caller = await authenticate(c, deps.verifier);
    if (caller instanceof Response) return caller;
    if (caller.role !== "bot") return fail(c, "forbidden", "Settings need the company's bot token");
    const state = await deps.system.actor(caller.companyId).current();
    return c.json(settingsView(state.settings));
  });

  app.put(
    "/api/v1/settings",
    bodyLimit({
      maxSize: 8 * 1024,
      onError: (c) => fail(c, "too_large", "The request body is too large"),
    }),
    async (c) => {
      const caller = await authenticate(c, deps.verifier);
      if (caller instanceof Response) return caller;
      if (caller.role !== "bot") {
        return fail(c, "forbidden", "Settings need the company's bot token");
      }
      const body = await readJson(c);
      if (body instanceof Response) return body;
      const parsed = SettingsBody.safeParse(body);
      if (!parsed.success) return fail(c, "invalid_payload", describe(parsed.error));
      const p = parsed.data;
      const target = p.webhook_url && !deps.webhookAllowPrivate
        ? webhookTargetProblem(p.webhook_url)
        : null;
      if (target) return fail(c, "invalid_payload", `'webhook_url' ${target}`);
      const changes: Partial<Settings> = {
        ...(p.assignment === undefined ? {} : { assignment: p.assignment }),
        ...(p.max_chats_per_agent === undefined ? {} : { maxChatsPerAgent: p.max_chats_per_agent }),
        ...(p.agent_grace_seconds === undefined
          ? {}
          : { agentGraceSeconds: p.agent_grace_seconds }),
        ...(p.webhook_url === undefined ? {} : { webhookUrl: p.webhook_url }),
        ...(p.webhook_secret === undefined ? {} : { webhookSecret: p.webhook_secret }),
      };
      const outcome = await deps.system.dispatch(caller.companyId, {
        type: "ChangeSettings",
        data: { changes, at: deps.clock.now() },
      });
      if (!outcome.ok) return fail(c, outcome.error.code, outcome.error.message);
      if (outcome.result?.kind !== "settings") {
        throw new Error("ChangeSettings answers its settings");
      }
      return c.json(settingsView(outcome.result.settings));
    },
  );

  app.get("/", (c) => c.redirect("/index.html"));
  app.get("/:file", async (c) => {
    const file = c.req.param("file");
    if (!PAGE.test(file)) return fail(c, "not_found", `No route for GET ${c.req.path}`);
    let body: Uint8Array;
    try {
      body = await Deno.readFile(`${staticDir}${file}`);
    } catch {
      return fail(c, "not_found", `No page named ${file}`);
    }
    return c.body(body as Uint8Array<ArrayBuffer>, 200, {
      "content-type": TYPES[file.split(".").pop()!],
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "x-frame-options": "SAMEORIGIN",
      "content-security-policy":
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'self'",
      "cache-control": "no-cache",
    });
  });

  return app;
}

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

/** Settings as the API shows them; the webhook secret is never echoed back. */
function settingsView(s: Settings) {
  return {
    assignment: s.assignment,
    max_chats_per_agent: s.maxChatsPerAgent,
    agent_grace_seconds: s.agentGraceSeconds,
    webhook_url: s.webhookUrl,
    webhook_secret_set: s.webhookSecret !== null,
  };
}

/** The `{ error: { code, message } }` answer with the code's status. */
function fail(c: Context, code: ErrorCode, message: string): Response {
  return c.json({ error: { code, message } }, STATUS[code]);
}

/** `promise`, or a rejection after `ms`. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The bearer token of the `Authorization` header, if there is one. */
function bearerToken(c: Context): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
}

// One verification per request: the rate limiter's, reused by the handler.
const verifications = new WeakMap<Request, Promise<Principal>>();

function verifyRequest(c: Context, verifier: JwtVerifier): Promise<Principal> {
  let verified = verifications.get(c.req.raw);
  if (!verified) {
    verified = verifier.verify(bearerToken(c));
    verifications.set(c.req.raw, verified);
  }
  return verified;
}

async function authenticate(c: Context, verifier: JwtVerifier): Promise<Principal | Response> {
  if (bearerToken(c) === undefined) {
    return fail(c, "unauthorized", "Send a token as 'Authorization: Bearer <token>'");
  }
  try {
    return await verifyRequest(c, verifier);
  } catch (error) {
    if (error instanceof AuthError) return fail(c, "unauthorized", error.message);
    throw error;
  }
}

/** The body as JSON, or the 400 answer: not JSON, or nested too deep for the schemas to walk. */
async function readJson(c: Context): Promise<unknown> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return fail(c, "invalid_payload", "The body must be JSON");
  }
  const problem = jsonProblem(body);
  return problem ? fail(c, "invalid_payload", `The body ${problem}`) : body;
}

/** One line naming each wrong field. */
export function describe(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length ? `'${i.path.join(".")}' ${i.message}` : i.message))
    .join("; ");
}
