/** /metrics, /readyz and /openapi.json on a running engine. */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { createHttpApp } from "../../../adapters/http/mod.ts";
import { MemoryEventStore } from "../../../adapters/store/mod.ts";
import { createJwtVerifier } from "../../../src/auth.ts";
import { ActorSystem } from "../../../src/company_actor.ts";
import { silentLogger } from "../../../src/log.ts";
import { randomIds, systemClock } from "../../../src/ports.ts";
import { SECRET, tokenFor } from "../../_tokens.ts";
import { FakeClock, FlakyStore, RecordingPublisher } from "../../_fakes.ts";
import { StoreHealth } from "../../../src/store_health.ts";
import { startEngine } from "../socketio/_harness.ts";

const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/;

function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.trimEnd().split("\n")) {
    if (line.startsWith("# HELP ")) continue;
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ");
      assert.ok(["counter", "gauge", "histogram"].includes(type), line);
      typed.add(name);
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, "");
    assert.ok(typed.has(m[1]) || typed.has(family), `no TYPE before ${m[1]}`);
    samples.set(
      line.slice(0, line.lastIndexOf(" ")),
      Number(line.slice(line.lastIndexOf(" ") + 1)),
    );
  }
  return samples;
}

Deno.test("/metrics is valid exposition text and its counters move when traffic flows", async () => {
  const engine = await startEngine();
  try {
    const scrape = async () => {
      const res = await fetch(`${engine.url}/metrics`);
      assert.match(res.headers.get("content-type")!, /text\/plain/);
      return parse(await res.text());
    };
    const before = await scrape();
    const bob = await engine.connect("acme", "bob", "admin");
    const alice = await engine.connect("acme", "alice", "user");
    for (let i = 0; i < 3; i++) await alice.request("message", { to: "admin", content: `m${i}` });
    await alice.request("message", { to: "admin", content: "" });
    const after = await scrape();
    assert.equal(after.get('chat_events_total{type="MessageSent"}'), 3);
    assert.ok((after.get('chat_commands_total{type="SendMessage"}') ?? 0) >= 4);
    assert.equal(after.get('chat_rejected_commands_total{code="invalid_payload"}'), 1);
    assert.ok(
      after.get("chat_append_batch_events_count")! >
        (before.get("chat_append_batch_events_count") ?? 0),
    );
    assert.ok(after.get("chat_append_duration_seconds_count")! > 0);
    assert.equal(after.get('chat_connected_sockets{role="agent"}'), 1);
    assert.equal(after.get('chat_connected_sockets{role="user"}'), 1);
    assert.equal(after.get("chat_actors"), 1);
    bob.socket.disconnect();
  } finally {
    await engine.close();
  }
});

Deno.test("/readyz answers 200 while the store answers, 503 when it does not", async () => {
  const store = new MemoryEventStore();
  const deps = {
    system: new ActorSystem({ store, publisher: new RecordingPublisher(), clock: systemClock }),
    store,
    verifier: createJwtVerifier(SECRET),
    clock: systemClock,
    ids: randomIds,
    log: silentLogger,
  };
  assert.equal((await createHttpApp(deps).request("/readyz")).status, 200);
  const broken = {
    ...store,
    version: () => Promise.reject(new Error("down")),
  } as unknown as MemoryEventStore;
  const res = await createHttpApp({ ...deps, store: broken }).request("/readyz");
  assert.equal(res.status, 503);
  assert.equal((await res.json()).error.code, "unavailable");
});

Deno.test("/openapi.json is a valid OpenAPI 3.1 document that lists every HTTP route", async () => {
  const store = new MemoryEventStore();
  const app = createHttpApp({
    system: new ActorSystem({ store, publisher: new RecordingPublisher(), clock: systemClock }),
    store,
    verifier: createJwtVerifier(SECRET),
    clock: systemClock,
    ids: randomIds,
    log: silentLogger,
  });
  const doc = await (await app.request("/openapi.json")).json();
  const result = await new Validator().validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors));
  assert.equal(doc.openapi, "3.1.0");
  // Every route the app serves is documented, with its method: a new route fails here.
  const routes = app.routes.filter((r) => r.method !== "ALL");
  assert.ok(routes.length >= 10);
  for (const { method, path } of routes) {
    const documented = path.replace(/:([a-z_]+)/g, "{$1}");
    assert.ok(
      doc.paths[documented]?.[method.toLowerCase()],
      `${method} ${path} is not in /openapi.json`,
    );
  }
  // …and nothing is documented that the app does not serve.
  const served = new Set(routes.map((r) => `${r.method} ${r.path.replace(/:([a-z_]+)/g, "{$1}")}`));
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const method of Object.keys(methods as object)) {
      assert.ok(served.has(`${method.toUpperCase()} ${path}`), `${method} ${path} is not served`);
    }
  }
  for (
    const path of [
      "/healthz",
      "/readyz",
      "/metrics",
      "/api/v1/demo",
      "/api/v1/demo/tokens",
      "/transfer_to_agent",
      "/api/v1/conversations/{user_id}/messages",
      "/api/v1/companies/{company_id}/events",
      "/api/v1/settings",
      "/api/v1/canned_responses",
      "/api/v1/attachments",
      "/api/v1/attachments/{id}",
    ]
  ) assert.ok(doc.paths[path], `${path} is documented`);
  const conversation = doc.paths["/api/v1/conversations/{user_id}/messages"];
  assert.ok(conversation.get && conversation.post && doc.paths["/api/v1/settings"].put);
  // The schemas that validate are the ones documented, requests and responses alike.
  const transfer =
    doc.paths["/transfer_to_agent"].post.requestBody.content["application/json"].schema;
  assert.deepEqual(transfer.required?.sort(), ["company_id", "user_id"]);
  assert.equal(transfer.properties.user_id.maxLength, 256);
  assert.deepEqual(
    doc.paths["/transfer_to_agent"].post.responses["200"].content["application/json"].schema
      .required?.sort(),
    ["ok", "user_id"],
  );
  assert.equal(
    doc.paths["/transfer_to_agent"].post.responses["500"].content["application/json"].schema.$ref,
    "#/components/schemas/Error",
  );
  assert.ok(
    doc.components.schemas.Error.properties.error.properties.code.enum.includes("internal"),
  );
  const history = conversation.get.parameters.map((p: { name: string }) => p.name).sort();
  assert.deepEqual(history, ["before", "limit", "user_id"]);
});

Deno.test("the try-it demo mints working tokens only when the server has a demo minter", async () => {
  const store = new MemoryEventStore();
  const verifier = createJwtVerifier(SECRET);
  const deps = {
    system: new ActorSystem({ store, publisher: new RecordingPublisher(), clock: systemClock }),
    store,
    verifier,
    clock: systemClock,
    ids: randomIds,
    log: silentLogger,
  };
  const off = createHttpApp(deps);
  assert.deepEqual(await (await off.request("/api/v1/demo")).json(), { enabled: false });
  assert.equal((await off.request("/api/v1/demo/tokens", { method: "POST" })).status, 404);
  const { signToken } = await import("../../../src/auth.ts");
  const on = createHttpApp({ ...deps, demo: (claims) => signToken(SECRET, claims) });
  assert.deepEqual(await (await on.request("/api/v1/demo")).json(), { enabled: true });
  const tokens = await (await on.request("/api/v1/demo/tokens", { method: "POST" })).json();
  assert.equal((await verifier.verify(tokens.user)).role, "user");
  assert.equal((await verifier.verify(tokens.agent)).role, "agent");
  assert.equal((await verifier.verify(tokens.bot)).role, "bot");
  assert.match((await verifier.verify(tokens.user)).companyId, /^demo-[0-9a-f]{8}$/);
  assert.equal(tokens.company_id, (await verifier.verify(tokens.agent)).companyId);
});

Deno.test("the demo's token minting is rate limited like the rest of the API", async () => {
  const store = new MemoryEventStore();
  const clock = new FakeClock();
  const app = createHttpApp({
    system: new ActorSystem({ store, publisher: new RecordingPublisher(), clock }),
    store,
    verifier: createJwtVerifier(SECRET),
    clock,
    ids: randomIds,
    log: silentLogger,
    httpRate: 2,
    demo: () => Promise.resolve("minted"),
  });
  const statuses = [];
  for (let i = 0; i < 6; i++) {
    statuses.push((await app.request("/api/v1/demo/tokens", { method: "POST" })).status);
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429], "a burst of twice the rate, then 429");
  clock.time += 1000;
  assert.equal((await app.request("/api/v1/demo/tokens", { method: "POST" })).status, 200);
});

Deno.test("/readyz answers 503 with the reason while the store refuses writes, and 200 once a write succeeds again", async () => {
  const store = new FlakyStore(new MemoryEventStore());
  const health = new StoreHealth();
  const system = new ActorSystem({
    store,
    publisher: new RecordingPublisher(),
    clock: systemClock,
    health,
  });
  const app = createHttpApp({
    system,
    store,
    health,
    verifier: createJwtVerifier(SECRET),
    clock: systemClock,
    ids: randomIds,
    log: silentLogger,
  });
  store.full = true;
  const bot = await tokenFor("acme", "chatbot", "bot");
  const handoff = await app.request("/transfer_to_agent", {
    method: "POST",
    headers: { authorization: `Bearer ${bot}`, "content-type": "application/json" },
    body: JSON.stringify({ user_id: "alice", company_id: "acme" }),
  });
  assert.equal(handoff.status, 503);
  assert.equal((await handoff.json()).error.code, "unavailable");
  const degraded = await app.request("/readyz");
  assert.equal(degraded.status, 503);
  const body = await degraded.json();
  assert.equal(body.reason, "store_refuses_writes");
  assert.equal(body.error.code, "unavailable");
  assert.match(body.error.message, /refuses writes since .* \(database or disk is full\)/);
  assert.equal((await app.request("/healthz")).status, 200, "alive, though not ready");
  const settings = await app.request("/api/v1/settings", {
    headers: { authorization: `Bearer ${bot}` },
  });
  assert.equal(settings.status, 200, "reads work");

  store.full = false;
  assert.equal((await app.request("/readyz")).status, 200, "the probe's write succeeded");
  assert.equal(health.writable, true);
});
