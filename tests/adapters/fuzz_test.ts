/**
 * Hostile input: arbitrary JSON, wrong types, huge strings, deep nesting and unknown event
 * names at every socket event and HTTP route. The server never crashes, answers with an
 * error code, and a company's log is unchanged by what it refused.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ERROR_CODES } from "../../domain/mod.ts";
import { startEngine } from "./socketio/_harness.ts";

const CODES = new Set<string>(ERROR_CODES);
const EVENTS = [
  "message",
  "claim",
  "transfer",
  "release",
  "resolve",
  "status",
  "typing",
  "read",
  "history",
  "note",
  "rate",
];

function nested(depth: number): unknown {
  let v: unknown = "x";
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** Payloads no schema accepts: anything, with the shapes attackers like best. */
const hostile = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.string({ maxLength: 20 }).map((s) => s.repeat(5000)),
  fc.integer({ min: 50, max: 3000 }).map(nested),
  fc.record({
    to: fc.jsonValue(),
    content: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())),
  }),
  fc.record({
    user_id: fc.oneof(fc.integer(), fc.constant(""), fc.constant({})),
    seq: fc.string(),
    typing: fc.string(),
  }),
  fc.constant(undefined),
);

Deno.test("fuzz: hostile socket payloads get error acks; the server lives on and the log is unchanged", async () => {
  const engine = await startEngine();
  try {
    const agent = await engine.connect("acme", "bob", "admin");
    const user = await engine.connect("acme", "alice", "user");
    await user.request("message", { to: "admin", content: "baseline" });
    const version = await engine.store.version("acme");
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(agent, user),
        fc.oneof(fc.constantFrom(...EVENTS), fc.string({ minLength: 1, maxLength: 30 })),
        hostile,
        async (client, event, payload) => {
          if (
            [
              "connect",
              "disconnect",
              "connect_error",
              "disconnecting",
              "newListener",
              "removeListener",
            ].includes(event)
          ) return;
          const answer = await client.socket.timeout(5000).emitWithAck(event, payload) as {
            ok: boolean;
            error?: { code: string; message: string };
          };
          if (answer.ok) return; // an accidental valid read-only request (history, typing) is fine
          assert.ok(CODES.has(answer.error!.code), JSON.stringify(answer));
          assert.equal(typeof answer.error!.message, "string");
          assert.ok(!/at .*\.ts:\d+/.test(answer.error!.message), "no stack trace in errors");
        },
      ),
      { numRuns: 300 },
    );
    assert.equal(await engine.store.version("acme"), version, "nothing refused was recorded");
    assert.ok(agent.socket.connected && user.socket.connected, "the connections survived");
    const ok = await user.request("message", { to: "admin", content: "still works" });
    assert.equal(ok.ok, true);
  } finally {
    await engine.close();
  }
});

Deno.test("fuzz: hostile HTTP bodies get 4xx JSON errors and change nothing", async () => {
  const engine = await startEngine();
  try {
    const bot = await engine.token("acme", "chatbot", "bot");
    let accepted = 0;
    const routes: [string, string][] = [
      ["POST", "/transfer_to_agent"],
      ["PUT", "/api/v1/settings"],
      ["POST", "/api/v1/conversations/alice/messages"],
      ["PUT", "/api/v1/canned_responses"],
    ];
    const body = fc.oneof(
      hostile.map((v) => (v === undefined ? "" : JSON.stringify(v))),
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((b) => new TextDecoder().decode(b)),
      fc.integer({ min: 1000, max: 20_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, async ([method, path], raw) => {
        const res = await fetch(`${engine.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${bot}`, "content-type": "application/json" },
          body: raw,
        });
        const json = await res.json();
        if (res.ok) return void accepted++; // an accidentally valid body
        assert.ok([400, 403, 413].includes(res.status), `${res.status} for ${raw.slice(0, 80)}`);
        assert.ok(CODES.has(json.error.code));
      }),
      { numRuns: 200 },
    );
    const query = await fetch(
      `${engine.url}/api/v1/conversations/alice/messages?limit=${"9".repeat(400)}&before=-1`,
      {
        headers: { authorization: `Bearer ${bot}` },
      },
    );
    assert.equal(query.status, 400);
    await query.body?.cancel();
    assert.equal((await fetch(`${engine.url}/healthz`).then((r) => r.json())).ok, true);
    if (accepted === 0) {
      assert.equal(await engine.store.version("acme"), 0, "nothing refused was recorded");
    }
  } finally {
    await engine.close();
  }
});
