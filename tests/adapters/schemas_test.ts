/**
 * The edges' one id rule, query numbers and JSON limits: what was trimmed, coerced or walked
 * into a stack overflow is now refused with `invalid_payload` (or `invalid_claim` for a token).
 */
import assert from "node:assert/strict";
import { createHttpApp } from "../../adapters/http/mod.ts";
import { Digits, Id, jsonProblem, MAX_JSON_DEPTH } from "../../adapters/schemas.ts";
import { MemoryEventStore } from "../../adapters/store/mod.ts";
import { createJwtVerifier } from "../../src/auth.ts";
import { ActorSystem } from "../../src/company_actor.ts";
import { silentLogger } from "../../src/log.ts";
import { FakeClock, RecordingPublisher, sequentialIds } from "../_fakes.ts";
import { SECRET, tokenFor } from "../_tokens.ts";
import { startEngine } from "./socketio/_harness.ts";

function setup() {
  const store = new MemoryEventStore();
  const system = new ActorSystem({
    store,
    publisher: new RecordingPublisher(),
    clock: new FakeClock(),
  });
  const app = createHttpApp({
    system,
    store,
    verifier: createJwtVerifier(SECRET),
    clock: new FakeClock(),
    ids: sequentialIds("conv"),
    log: silentLogger,
  });
  return { app, store };
}

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
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : text };
}

/** A value nested `depth` levels deep (arrays and objects in turn). */
function nested(depth: number): unknown {
  let v: unknown = "x";
  for (let i = 1; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return depth > 0 ? [v] : v;
}

Deno.test("Id refuses what it once trimmed, and says why; Digits reads only plain decimal digits", () => {
  assert.equal(Id.safeParse(" alice").success, false);
  assert.match(Id.safeParse("alice ").error!.issues[0].message, /white space/);
  assert.match(Id.safeParse("x\ud800").error!.issues[0].message, /well-formed/);
  assert.equal(Id.parse("Jane Doe"), "Jane Doe");
  for (const bad of ["0x10", "1e1", " 16", "16 ", "+16", "-1", "16.0", "", "0b1", "1_0"]) {
    assert.equal(Digits.safeParse(bad).success, false, bad);
  }
  assert.equal(Digits.parse("16"), 16);
  assert.equal(Digits.parse("007"), 7);
});

Deno.test("jsonProblem() measures depth and size without recursion, past any stack", () => {
  assert.equal(jsonProblem(nested(MAX_JSON_DEPTH)), null);
  assert.match(jsonProblem(nested(MAX_JSON_DEPTH + 1))!, /at most 32 levels/);
  assert.match(jsonProblem(nested(200_000))!, /at most 32 levels/);
  assert.match(jsonProblem(Array.from({ length: 20_000 }, () => 0))!, /at most 10000 values/);
  assert.equal(jsonProblem({ a: [1, "two", null, { b: true }] }), null);
});

Deno.test("HTTP: ids are refused, not trimmed, in bodies, paths and tokens; a bot of company 'C ' gets invalid_claim, not a 403 forever", async () => {
  const { app, store } = setup();
  const bot = await tokenFor("acme", "chatbot", "bot");
  const handoff = { user_id: "alice", company_id: "acme" };
  for (const body of [{ ...handoff, user_id: " alice" }, { ...handoff, company_id: "acme " }]) {
    const res = await call(app, "POST", "/transfer_to_agent", bot, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.json.error.code, "invalid_payload");
  }
  // History read " alice" as another user (the socket read it as "alice"): both refuse now.
  const history = await call(app, "GET", "/api/v1/conversations/%20alice/messages", bot);
  assert.equal(history.status, 400);
  assert.match(history.json.error.message, /'user_id' must not start or end with white space/);
  const spaced = await tokenFor("C ", "chatbot", "bot");
  const refused = await call(app, "POST", "/transfer_to_agent", spaced, {
    ...handoff,
    company_id: "C ",
  });
  assert.equal(refused.status, 401);
  assert.match(refused.json.error.message, /^invalid_claim: 'company_id' must not start or end/);
  const blank = await call(app, "GET", "/api/v1/settings", await tokenFor(" ", "bob", "bot"));
  assert.equal(blank.status, 401, "a white-space company is no company");
  const agent = await tokenFor("acme", "bob", "admin");
  assert.equal((await call(app, "GET", "/api/v1/companies/acme%20/events", agent)).status, 400);
  assert.equal(await store.version("acme"), 0, "nothing refused was recorded");
});

Deno.test("HTTP: a transcript for a 3,000-character user id is refused 400, so no index entry can outgrow a key", async () => {
  const { app, store } = setup();
  const bot = await tokenFor("acme", "chatbot", "bot");
  const res = await call(app, "POST", `/api/v1/conversations/${"u".repeat(3000)}/messages`, bot, {
    messages: [{ role: "user", content: "hi" }],
  });
  assert.equal(res.status, 400);
  assert.match(res.json.error.message, /at most 256 characters/);
  assert.equal(await store.version("acme"), 0);
});

Deno.test("HTTP: a context nested thousands deep is 400 invalid_payload, not 503; 32 levels of body pass", async () => {
  const { app, store } = setup();
  const bot = await tokenFor("acme", "chatbot", "bot");
  const handoff = { user_id: "alice", company_id: "acme" };
  const deep = await call(app, "POST", "/transfer_to_agent", bot, {
    ...handoff,
    context: nested(4000),
  });
  assert.equal(deep.status, 400);
  assert.equal(deep.json.error.code, "invalid_payload");
  assert.match(deep.json.error.message, /nest at most 32 levels/);
  const settings = await call(app, "PUT", "/api/v1/settings", bot, { assignment: nested(40) });
  assert.equal(settings.status, 400);
  assert.equal(await store.version("acme"), 0);
  // The body is level 1, so its context may nest 31 more.
  const ok = await call(app, "POST", "/transfer_to_agent", bot, {
    ...handoff,
    context: nested(MAX_JSON_DEPTH - 1),
  });
  assert.equal(ok.status, 200);
});

Deno.test("HTTP: ?before=0x10 and other non-decimal numbers are 400, never read as 16", async () => {
  const { app } = setup();
  const bot = await tokenFor("acme", "chatbot", "bot");
  const agent = await tokenFor("acme", "bob", "admin");
  for (const q of ["before=0x10", "before=1e1", "before=%2016", "limit=0x10", "before=16.0"]) {
    const res = await call(app, "GET", `/api/v1/conversations/alice/messages?${q}`, bot);
    assert.equal(res.status, 400, q);
    assert.match(res.json.error.message, /decimal digits/, q);
  }
  for (const q of ["after=0x10", "limit=1e3", "after=-0"]) {
    assert.equal((await call(app, "GET", `/api/v1/companies/acme/events?${q}`, agent)).status, 400);
  }
  assert.equal(
    (await call(app, "GET", "/api/v1/conversations/alice/messages?before=16", bot)).status,
    200,
  );
  assert.equal(
    (await call(app, "GET", "/api/v1/companies/acme/events?after=0&limit=10", agent)).status,
    200,
  );
});

Deno.test("socket: an id with white space at an end is refused at every event; ' alice' never reaches or moves 'alice'", async () => {
  const engine = await startEngine();
  try {
    const alice = await engine.connect("acme", "alice", "user");
    const bob = await engine.connect("acme", "bob", "admin");
    await engine.connect("acme", "carol", "admin");
    assert.equal((await alice.request("message", { to: "admin", content: "help" })).ok, true);
    const version = await engine.store.version("acme");
    const requests: [string, Record<string, unknown>][] = [
      ["message", { to: "user", user_id: " alice", content: "for alice?" }],
      ["claim", { user_id: " alice" }],
      ["transfer", { user_id: "alice", agent_id: "carol " }],
      ["release", { user_id: "alice\t" }],
      ["resolve", { user_id: " alice", return_to_bot: false }],
      ["typing", { user_id: "alice ", typing: true }],
      ["read", { user_id: " alice", seq: 1 }],
      ["history", { user_id: " alice" }],
      ["note", { user_id: "alice ", content: "private" }],
    ];
    for (const [event, payload] of requests) {
      const answer = await bob.request<{ ok: boolean; error?: { code: string } }>(event, payload);
      assert.equal(answer.error?.code, "invalid_payload", `${event} ${JSON.stringify(payload)}`);
    }
    assert.equal(await engine.store.version("acme"), version, "nothing refused was recorded");
    assert.equal(alice.all("message").length, 0, "nothing reached alice");
    // A deep payload is refused before any schema walks it.
    const deep = await bob.request<{ error: { code: string } }>("claim", nested(3000));
    assert.equal(deep.error.code, "invalid_payload");
  } finally {
    await engine.close();
  }
});

Deno.test("socket: a token whose ids break the rule is refused at connect with invalid_claim", async () => {
  const engine = await startEngine();
  try {
    for (
      const [company, user] of [["acme", "x\ud800"], ["C ", "bob"], [" ", "bob"], [
        "acme",
        "a\u0000",
      ]]
    ) {
      const client = engine.raw({ auth: { token: await tokenFor(company, user, "admin") } });
      const outcome = await client.connected().then(
        () => "connected",
        (error: Error & { data?: { reason: string } }) => error.data?.reason,
      );
      assert.equal(outcome, "invalid_claim", JSON.stringify([company, user]));
    }
  } finally {
    await engine.close();
  }
});
