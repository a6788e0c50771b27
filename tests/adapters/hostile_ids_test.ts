/**
 * Arbitrary Unicode ids (lone surrogates, white space, control characters, 0/1/256/257
 * characters) through every edge that takes one: token claims, each socket event, each HTTP
 * route. The server never throws out, an id is accepted exactly when it follows the rule,
 * distinct accepted ids never share a room or a stream, and what is refused changes nothing.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ERROR_CODES, isId } from "../../domain/mod.ts";
import { roomOf } from "../../adapters/socketio/mod.ts";
import { KvEventStore } from "../../adapters/store/mod.ts";
import { createJwtVerifier } from "../../src/auth.ts";
import { anyId, EDGE_LENGTHS } from "../_ids.ts";
import { SECRET, tokenFor } from "../_tokens.ts";
import { startEngine } from "./socketio/_harness.ts";

const CODES = new Set<string>(ERROR_CODES);
type Answer = { ok: boolean; error?: { code: string; message: string } };

/** Every socket event that names a user or an agent, naming `id`. */
function eventsNaming(id: string): [string, Record<string, unknown>][] {
  return [
    ["message", { to: "user", user_id: id, content: "hi" }],
    ["claim", { user_id: id }],
    ["transfer", { user_id: id, agent_id: id }],
    ["transfer", { user_id: "alice", agent_id: id }],
    ["release", { user_id: id }],
    ["resolve", { user_id: id, return_to_bot: true }],
    ["typing", { user_id: id, typing: true }],
    ["read", { user_id: id, seq: 1 }],
    ["history", { user_id: id }],
  ];
}

/** The path segment of `id`: UTF-8 percent-encoded, a lone surrogate as its WTF-8 bytes. */
function segment(id: string): string {
  let out = "";
  for (const c of id) {
    const code = c.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`).join("");
    } else out += encodeURIComponent(c).replace(/\./g, "%2E");
  }
  return out;
}

const ids = fc.oneof(anyId, fc.constantFrom(...EDGE_LENGTHS));

Deno.test("hostile ids in tokens and every socket event: accepted exactly by the rule, never a shared room or stream, refusals change nothing", async () => {
  const store = await KvEventStore.open(":memory:");
  const engine = await startEngine(store);
  try {
    const bob = await engine.connect("acme", "bob", "admin");
    const alice = await engine.connect("acme", "alice", "user");
    assert.equal((await alice.request<Answer>("message", { to: "admin", content: "hi" })).ok, true);
    /** Each accepted company's version after its own last write, and each room's owner. */
    const versions = new Map<string, number>();
    const rooms = new Map<string, string>();
    await fc.assert(
      fc.asyncProperty(ids, async (id) => {
        const accepted = isId(id);
        await engine.system.actor("acme").current(); // what earlier runs queued is in
        const before = await store.version("acme");
        for (const [event, payload] of eventsNaming(id)) {
          const answer = await bob.request<Answer>(event, payload);
          if (answer.ok) {
            assert.ok(accepted, `${event} accepted ${JSON.stringify(id)}`);
            continue;
          }
          assert.ok(CODES.has(answer.error!.code), JSON.stringify(answer));
          if (!accepted && !(event === "transfer" && payload.user_id === "alice" && isId(id))) {
            assert.equal(answer.error!.code, "invalid_payload", `${event} ${JSON.stringify(id)}`);
          }
        }
        if (!accepted) {
          assert.equal(await store.version("acme"), before, "nothing refused was recorded");
        }
        for (const [company, user] of [[id, "sam"], ["acme", id]]) {
          const client = engine.raw({ auth: { token: await tokenFor(company, user, "user") } });
          const outcome = await client.connected().then(
            () => "connected",
            (error: Error & { data?: { reason: string } }) => error.data?.reason,
          );
          // An empty claim is no claim: missing_claim, as for an absent one.
          const refusal = id === "" ? "missing_claim" : "invalid_claim";
          assert.equal(outcome, accepted ? "connected" : refusal, JSON.stringify(id));
          if (!accepted) continue;
          const room = roomOf(company, { kind: "user", userId: user });
          const owner = JSON.stringify([company, user]);
          assert.equal(rooms.get(room) ?? owner, owner, "two identities share a room");
          rooms.set(room, owner);
          const sent = await client.request<Answer & { seq: number }>("message", {
            to: "admin",
            content: "hello",
          });
          assert.equal(sent.ok, true, JSON.stringify(sent));
          // Left open: a disconnect now would land in a later run's "nothing recorded" window.
          if (company !== "acme") versions.set(company, await store.version(company));
        }
      }),
      { numRuns: 100 },
    );
    // Had two accepted companies shared a stream, the first would have seen the second's events.
    for (const [company, version] of versions) {
      await engine.system.actor(company).idle();
      assert.ok(
        (await store.version(company)) === version,
        `${JSON.stringify(company)} moved past its own writes`,
      );
      for await (const e of store.read(company)) {
        const data = e.data as { userId?: string };
        if (data.userId !== undefined) assert.equal(data.userId, "sam");
      }
    }
    assert.ok(bob.socket.connected && alice.socket.connected, "the server kept serving");
    assert.equal((await alice.request<Answer>("message", { to: "admin", content: "ok" })).ok, true);
  } finally {
    await engine.close();
    store.close();
  }
});

Deno.test("hostile ids at every HTTP route that takes one: 400 or 401 exactly when refused, never 5xx, refusals change nothing", async () => {
  const store = await KvEventStore.open(":memory:");
  const engine = await startEngine(store, { demo: true });
  const http = (method: string, path: string, bearer: string, body?: unknown) =>
    fetch(`${engine.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).then(async (res) => ({ status: res.status, text: await res.text() }));
  try {
    const bot = await tokenFor("acme", "chatbot", "bot");
    await fc.assert(
      fc.asyncProperty(ids, async (id) => {
        const accepted = isId(id);
        const before = await store.version("acme");
        const expect = (
          res: { status: number; text: string },
          ok: number,
          refused: number,
          path = false,
        ) => {
          assert.ok(res.status < 500, `${res.status} ${res.text}`);
          // "." and ".." are dot segments and "" is no segment: no URL puts them in a path.
          if (path && ["", ".", ".."].includes(id)) return assert.equal(res.status, 404);
          assert.equal(res.status, accepted ? ok : refused, `${JSON.stringify(id)} ${res.text}`);
        };
        const handoff = { user_id: id, company_id: "acme", context: "hostile" };
        expect(await http("POST", "/transfer_to_agent", bot, handoff), 200, 400);
        const own = await tokenFor(id, "chatbot", "bot");
        expect(
          await http("POST", "/transfer_to_agent", own, { user_id: "u", company_id: id }),
          200,
          401,
        );
        const path = `/api/v1/conversations/${segment(id)}/messages`;
        if (id.isWellFormed()) {
          expect(await http("GET", path, bot), 200, 400, true);
          const transcript = { messages: [{ role: "user", content: "before" }] };
          expect(await http("POST", path, bot, transcript), 201, 400, true);
        } else {
          // The bytes of a lone surrogate are not UTF-8: the route sees them still encoded.
          assert.ok((await http("GET", path, bot)).status < 500);
        }
        const agent = await tokenFor(id, "bob", "admin");
        const events = await http("GET", `/api/v1/companies/${segment(id)}/events`, agent);
        expect(events, 200, 401, true);
        if (!accepted) {
          assert.equal(await store.version("acme"), before, "nothing refused was recorded");
        }
      }),
      { numRuns: 100 },
    );
    const demo = await (await fetch(`${engine.url}/api/v1/demo/tokens`, { method: "POST" })).json();
    const verifier = createJwtVerifier(SECRET);
    for (const role of ["user", "agent", "bot"]) {
      const principal = await verifier.verify(demo[role]);
      assert.ok(isId(principal.companyId) && isId(principal.userId), "demo ids follow the rule");
    }
    assert.deepEqual(await (await fetch(`${engine.url}/healthz`)).json(), { ok: true });
  } finally {
    await engine.close();
    store.close();
  }
});
