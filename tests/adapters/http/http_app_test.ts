import assert from "node:assert/strict";
import { createHttpApp } from "../../../adapters/http/mod.ts";
import { MemoryEventStore } from "../../../adapters/store/mod.ts";
import { createJwtVerifier } from "../../../src/auth.ts";
import { ActorSystem } from "../../../src/company_actor.ts";
import { silentLogger } from "../../../src/log.ts";
import { FakeClock, RecordingPublisher, sequentialIds } from "../../_fakes.ts";
import { SECRET, token, tokenFor, unsignedToken } from "../../_tokens.ts";

function setup(options: { webhookAllowPrivate?: boolean } = {}) {
  const publisher = new RecordingPublisher();
  const store = new MemoryEventStore();
  const clock = new FakeClock();
  const system = new ActorSystem({ store, publisher, clock });
  const app = createHttpApp({
    system,
    store,
    verifier: createJwtVerifier(SECRET),
    clock,
    ids: sequentialIds("conv"),
    log: silentLogger,
    ...options,
  });
  return { app, publisher, store };
}

async function post(
  app: ReturnType<typeof setup>["app"],
  body: unknown,
  bearer?: string,
  raw = false,
) {
  const res = await app.request("/transfer_to_agent", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
    },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const handoff = { user_id: "alice", company_id: "acme", context: "User asked for a refund twice" };

Deno.test("POST /transfer_to_agent with the company's bot token hands the user over", async () => {
  const { app, publisher, store } = setup();
  const { status, json } = await post(app, handoff, await tokenFor("acme", "chatbot", "bot"));
  assert.equal(status, 200);
  assert.deepEqual(json, { ok: true, user_id: "alice", conversation_id: "conv-1", seq: 2 });
  assert.equal(await store.version("acme"), 3); // opened, handed off, queued
  assert.deepEqual(publisher.published.filter((p) => p.delivery.event === "chatbot_context"), [
    {
      companyId: "acme",
      delivery: {
        to: { kind: "user", userId: "alice" },
        event: "chatbot_context",
        payload: { context: "User asked for a refund twice" },
      },
    },
    {
      companyId: "acme",
      delivery: {
        to: { kind: "agents" },
        event: "chatbot_context",
        payload: { context: "User asked for a refund twice", user_id: "alice" },
      },
    },
  ]);
});

Deno.test("POST /transfer_to_agent accepts a structured or missing context", async () => {
  const { app } = setup();
  const bot = await tokenFor("acme", "chatbot", "bot");
  assert.equal(
    (await post(app, { ...handoff, context: { turns: ["hi", "refund?"] } }, bot)).status,
    200,
  );
  assert.equal((await post(app, { user_id: "bob", company_id: "acme" }, bot)).status, 200);
});

Deno.test("POST /transfer_to_agent without a valid token is 401", async () => {
  const { app, store } = setup();
  const cases = [
    undefined,
    "not-a-jwt",
    unsignedToken({ company_id: "acme", user_id: "bot", role: "bot" }),
    await token({ company_id: "acme", user_id: "bot", role: "bot", exp: 1 }),
    await token(
      { company_id: "acme", user_id: "bot", role: "bot" },
      new TextEncoder().encode("wrong-secret-wrong-secret"),
    ),
  ];
  for (const bearer of cases) {
    const { status, json } = await post(app, handoff, bearer);
    assert.equal(status, 401, String(bearer));
    assert.equal(json.error.code, "unauthorized");
    assert.equal(typeof json.error.message, "string");
  }
  assert.equal(await store.version("acme"), 0);
});

Deno.test("POST /transfer_to_agent with another company's or a non-bot token is 403", async () => {
  const { app, store } = setup();
  for (
    const bearer of [
      await tokenFor("globex", "chatbot", "bot"),
      await tokenFor("acme", "alice", "user"),
      await tokenFor("acme", "bob", "admin"),
    ]
  ) {
    const { status, json } = await post(app, handoff, bearer);
    assert.equal(status, 403);
    assert.equal(json.error.code, "forbidden");
  }
  assert.equal(await store.version("acme"), 0);
  assert.equal(await store.version("globex"), 0);
});

Deno.test("POST /transfer_to_agent with a malformed body is 400, an oversize one 413", async () => {
  const { app, store } = setup();
  const bot = await tokenFor("acme", "chatbot", "bot");
  const bad = [
    "{not json",
    "",
    JSON.stringify([1, 2]),
    JSON.stringify({ company_id: "acme", context: "x" }),
    JSON.stringify({ user_id: "alice", context: "x" }),
    JSON.stringify({ user_id: 42, company_id: "acme" }),
    JSON.stringify({ user_id: "alice", company_id: ["acme"] }),
    JSON.stringify({ user_id: "", company_id: "acme" }),
    JSON.stringify({ ...handoff, context: 12 }),
  ];
  for (const body of bad) {
    const { status, json } = await post(app, body, bot, true);
    assert.equal(status, 400, body);
    assert.equal(json.error.code, "invalid_payload");
  }
  const huge = await post(app, { ...handoff, context: "x".repeat(40_000) }, bot);
  assert.equal(huge.status, 413);
  assert.equal(huge.json.error.code, "too_large");
  assert.equal(await store.version("acme"), 0);
});

Deno.test("GET /healthz answers ok, and unknown routes a JSON 404", async () => {
  const { app } = setup();
  const res = await app.request("/healthz");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });
  const missing = await app.request("/nope/nothing");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "not_found");
});

Deno.test("the pages are served with security headers, and paths cannot escape static/", async () => {
  const { app } = setup();
  for (const page of ["/user.html", "/admin.html"]) {
    const res = await app.request(page);
    assert.equal(res.status, 200, page);
    assert.match(res.headers.get("content-type")!, /text\/html/);
    assert.match(res.headers.get("content-security-policy")!, /script-src 'self'/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    await res.body?.cancel();
  }
  for (const path of ["/..%2Fdeno.json", "/%2e%2e%2fmain.ts", "/deno.json"]) {
    const res = await app.request(path);
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
  }
});

async function call(
  app: ReturnType<typeof setup>["app"],
  method: string,
  path: string,
  bearer: string,
  body?: unknown,
) {
  const res = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

Deno.test("PUT /api/v1/settings refuses a webhook_url on loopback, private, link-local or metadata addresses unless allowed", async () => {
  const { app, store } = setup();
  const bot = await tokenFor("acme", "chatbot", "bot");
  const internal = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:9/",
    "http://localhost:8080/hooks",
    "http://api.localhost/hooks",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://10.1.2.3/hooks",
    "http://172.20.0.1/hooks",
    "http://192.168.1.1/hooks",
    "http://100.64.0.1/hooks",
    "http://0.0.0.0:8080/",
    "http://[::1]/hooks",
    "http://[::]/hooks",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1]/hooks",
    "http://[::ffff:169.254.169.254]/",
    "http://2130706433/", // 127.0.0.1 as one number
    "http://0x7f.1/",
  ];
  for (const webhook_url of internal) {
    const res = await call(app, "PUT", "/api/v1/settings", bot, { webhook_url });
    assert.equal(res.status, 400, webhook_url);
    assert.equal(res.json.error.code, "invalid_payload");
    assert.match(res.json.error.message, /^'webhook_url' points at a loopback, private/);
  }
  assert.equal(await store.version("acme"), 0, "nothing was recorded");
  const external = await call(app, "PUT", "/api/v1/settings", bot, {
    webhook_url: "https://93.184.215.14/hooks",
  });
  assert.equal(external.status, 200);

  const allowed = setup({ webhookAllowPrivate: true });
  for (const webhook_url of ["http://127.0.0.1:9/", "http://169.254.169.254/"]) {
    const res = await call(allowed.app, "PUT", "/api/v1/settings", bot, { webhook_url });
    assert.equal(res.status, 200, webhook_url);
    assert.equal(res.json.webhook_url, webhook_url);
  }
});

Deno.test("GET/PUT /api/v1/settings: the bot reads and changes its company's settings; the secret is never echoed", async () => {
  const { app, store } = setup();
  const bot = await tokenFor("acme", "chatbot", "bot");
  const initial = await call(app, "GET", "/api/v1/settings", bot);
  assert.deepEqual(initial, {
    status: 200,
    json: {
      assignment: "auto",
      max_chats_per_agent: 5,
      agent_grace_seconds: 60,
      webhook_url: null,
      webhook_secret_set: false,
    },
  });
  const put = await call(app, "PUT", "/api/v1/settings", bot, {
    assignment: "manual",
    max_chats_per_agent: 3,
    webhook_url: "https://bot.example/hooks",
    webhook_secret: "s3cret-value",
  });
  assert.equal(put.status, 200);
  assert.deepEqual(put.json, {
    assignment: "manual",
    max_chats_per_agent: 3,
    agent_grace_seconds: 60,
    webhook_url: "https://bot.example/hooks",
    webhook_secret_set: true,
  });
  assert.equal(JSON.stringify(put.json).includes("s3cret"), false);
  assert.deepEqual(
    (await call(app, "GET", "/api/v1/settings", await tokenFor("acme", "other-bot", "bot"))).json,
    put.json,
  );
  assert.equal(
    (await call(app, "GET", "/api/v1/settings", await tokenFor("globex", "chatbot", "bot"))).json
      .assignment,
    "auto",
  );
  const version = await store.version("acme");
  for (
    const bad of [
      { assignment: "random" },
      { max_chats_per_agent: 0 },
      { max_chats_per_agent: "3" },
      { agent_grace_seconds: -1 },
      { webhook_url: "ftp://x" },
      { webhook_url: "not a url" },
      { surprise: true },
      "[",
    ]
  ) {
    const res = await call(app, "PUT", "/api/v1/settings", bot, bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal(res.json.error.code, "invalid_payload");
  }
  assert.equal(await store.version("acme"), version, "bad input changes nothing");
  assert.equal(
    (await call(app, "PUT", "/api/v1/settings", await tokenFor("acme", "bob", "admin"), {
      assignment: "auto",
    })).status,
    403,
  );
  assert.equal((await call(app, "GET", "/api/v1/settings", "garbage")).status, 401);
});

Deno.test("POST /api/v1/conversations/:user_id/messages records the bot's transcript; GET reads it back", async () => {
  const { app } = setup();
  const bot = await tokenFor("acme", "chatbot", "bot");
  const posted = await call(app, "POST", "/api/v1/conversations/alice/messages", bot, {
    messages: [{ role: "user", content: "hi bot" }, { role: "bot", content: "hello, human" }],
  });
  assert.equal(posted.status, 201);
  assert.deepEqual(posted.json.messages.map((m: { seq: number }) => m.seq), [2, 3]);
  const read = await call(app, "GET", "/api/v1/conversations/alice/messages", bot);
  assert.equal(read.status, 200);
  assert.deepEqual(
    read.json.messages.map((
      m: { content: string; role: string; from: string },
    ) => [m.role, m.from, m.content]),
    [
      ["user", "alice", "hi bot"],
      ["bot", "chatbot", "hello, human"],
    ],
  );
  assert.equal(read.json.has_more, false);
  for (
    const bad of [{}, { messages: [] }, { messages: [{ role: "agent", content: "x" }] }, {
      messages: [{ role: "bot", content: "  " }],
    }]
  ) {
    assert.equal(
      (await call(app, "POST", "/api/v1/conversations/alice/messages", bot, bad)).status,
      400,
    );
  }
  assert.equal(
    (await call(
      app,
      "POST",
      "/api/v1/conversations/alice/messages",
      await tokenFor("acme", "alice", "user"),
      { messages: [{ role: "user", content: "x" }] },
    )).status,
    403,
  );
  assert.equal(
    (await call(app, "GET", "/api/v1/conversations/alice/messages?before=&limit=", bot)).status,
    200,
  );
  assert.equal(
    (await call(app, "GET", "/api/v1/conversations/alice/messages?limit=0", bot)).status,
    400,
  );
  assert.equal(
    (await call(app, "GET", "/api/v1/conversations/alice/messages?before=abc", bot)).status,
    400,
  );
  assert.equal(
    (await call(
      app,
      "GET",
      "/api/v1/conversations/alice/messages",
      await tokenFor("acme", "carol", "user"),
    )).status,
    403,
  );
  assert.equal(
    (await call(
      app,
      "GET",
      "/api/v1/conversations/alice/messages",
      await tokenFor("acme", "alice", "user"),
    )).status,
    200,
  );
});

Deno.test("a bug in a handler answers 500 'internal' with no stack; a failing store answers 503 'unavailable'", async () => {
  const { app: healthy, store } = setup();
  const deps = {
    store,
    verifier: createJwtVerifier(SECRET),
    clock: new FakeClock(),
    ids: sequentialIds("conv"),
    log: silentLogger,
  };
  const buggy = createHttpApp({
    ...deps,
    system: {
      dispatch: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'secret')");
      },
      actor: () => {
        throw new TypeError("boom");
      },
    },
  });
  const bot = await tokenFor("acme", "chatbot", "bot");
  const bug = await post(buggy, handoff, bot);
  assert.equal(bug.status, 500);
  assert.equal(bug.json.error.code, "internal");
  const text = JSON.stringify(bug.json);
  assert.doesNotMatch(text, /secret|TypeError|\bat |\.ts:/, "nothing of the error leaks");

  const failing = createHttpApp({
    ...deps,
    system: new ActorSystem({ store, publisher: new RecordingPublisher(), clock: deps.clock }),
    store: Object.assign(Object.create(store), {
      readHistory: () => Promise.reject(new Error("KV: connection reset")),
    }),
  });
  const history = await call(failing, "GET", "/api/v1/conversations/alice/messages", bot);
  assert.deepEqual(history, {
    status: 503,
    json: {
      error: { code: "unavailable", message: "The server could not complete the request" },
    },
  });
  assert.equal((await healthy.request("/healthz")).status, 200);
});

Deno.test("X-Request-Id: the caller's is echoed (cut to 64 characters), on answers and refusals alike; otherwise one is made", async () => {
  const { app } = setup();
  const echo = async (path: string, id?: string) =>
    (await app.request(path, { headers: id === undefined ? {} : { "x-request-id": id } }))
      .headers.get("x-request-id");
  assert.equal(await echo("/healthz", "abc-123"), "abc-123");
  assert.equal(await echo("/nope", "a b/c"), "a b/c");
  assert.equal(await echo("/api/v1/settings", "x".repeat(100)), "x".repeat(64));
  assert.match((await echo("/healthz"))!, /^[0-9a-f-]{36}$/);
});
