import assert from "node:assert/strict";
import { SECRET, token, unsignedToken } from "../../_tokens.ts";
import { startEngine } from "./_harness.ts";
import { FakeClock, FlakyStore } from "../../_fakes.ts";
import { MemoryEventStore } from "../../../adapters/store/mod.ts";

const FORGED = new TextEncoder().encode("not-the-server-secret-0123456789abcdef");

type Message = {
  from: string;
  content: string;
  timestamp: number;
  id: string;
  seq: number;
  conversation_id: string;
  user_id: string;
  role: string;
};

Deno.test("socket: a user's message reaches every agent of the company, and the ack carries id and seq", async () => {
  const engine = await startEngine();
  try {
    const bob = await engine.connect("acme", "bob", "admin");
    const dave = await engine.connect("acme", "dave", "agent");
    const alice = await engine.connect("acme", "alice", "user");
    const ack = await alice.request("message", { to: "admin", content: "hello?" });
    assert.equal(ack.ok, true);
    for (const agent of [bob, dave]) {
      const m = await agent.next<Message>("message");
      assert.equal(m.from, "alice");
      assert.equal(m.content, "hello?");
      assert.ok(Number.isInteger(m.timestamp) && Math.abs(m.timestamp - Date.now() / 1000) < 5);
      assert.equal(m.id, ack.id);
      assert.equal(m.seq, ack.seq);
      assert.equal(m.user_id, "alice");
      assert.equal(m.role, "user");
      assert.equal(typeof m.conversation_id, "string");
    }
  } finally {
    await engine.close();
  }
});

Deno.test("socket: an agent's message reaches only the named user (predecessor's query-token connect)", async () => {
  const engine = await startEngine();
  try {
    const alice = await engine.connect("acme", "alice", "user", "query");
    const carol = await engine.connect("acme", "carol", "user", "query");
    const bob = await engine.connect("acme", "bob", "admin", "query");
    bob.socket.emit("message", { to: "user", user_id: "alice", content: "hi alice" }); // no ack, as before
    const m = await alice.next<Message>("message");
    assert.deepEqual([m.from, m.content, m.role, m.user_id], ["bob", "hi alice", "agent", "alice"]);
    // Barrier: carol's own next message arrives after anything the first send could have caused.
    await bob.request("message", { to: "user", user_id: "carol", content: "hi carol" });
    assert.equal((await carol.next<Message>("message")).content, "hi carol");
    assert.equal(carol.all("message").length, 1);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: agents get user_list on connect, then user_connected and user_disconnected", async () => {
  const engine = await startEngine();
  try {
    await engine.connect("acme", "alice", "user");
    await engine.connect("acme", "erin", "user");
    const bob = await engine.connect("acme", "bob", "admin");
    assert.deepEqual((await bob.next<{ users: string[] }>("user_list")).users.sort(), [
      "alice",
      "erin",
    ]);
    const carol = await engine.connect("acme", "carol", "user");
    assert.deepEqual(await bob.next("user_connected"), { user_id: "carol" });
    await carol.close();
    assert.deepEqual(await bob.next("user_disconnected"), { user_id: "carol" });
  } finally {
    await engine.close();
  }
});

Deno.test("socket: the same user_id in two companies never sees the other's traffic", async () => {
  const engine = await startEngine();
  try {
    const samA = await engine.connect("acme", "sam", "user");
    const samB = await engine.connect("globex", "sam", "user");
    const agentA = await engine.connect("acme", "bob", "admin");
    const agentB = await engine.connect("globex", "gina", "admin");
    assert.deepEqual(await agentA.next("user_list"), { users: ["sam"] });
    assert.deepEqual(await agentB.next("user_list"), { users: ["sam"] });
    await agentA.request("message", { to: "user", user_id: "sam", content: "for acme's sam" });
    await samA.request("message", { to: "admin", content: "from acme's sam" });
    assert.equal((await samA.next<Message>("message")).content, "for acme's sam");
    assert.equal((await agentA.next<Message>("message")).content, "from acme's sam");
    // Barrier in globex: its own traffic arrives, and nothing from acme came before it.
    await agentB.request("message", { to: "user", user_id: "sam", content: "for globex's sam" });
    await samB.request("message", { to: "admin", content: "from globex's sam" });
    assert.deepEqual(samB.all<Message>("message").map((m) => m.content), ["for globex's sam"]);
    assert.equal((await agentB.next<Message>("message")).content, "from globex's sam");
    assert.deepEqual(agentB.all<Message>("message").map((m) => m.content), ["from globex's sam"]);
    assert.equal(agentB.all("user_connected").length, 0);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: a user with two tabs gets every message in both and stays online until the last closes", async () => {
  const engine = await startEngine();
  try {
    const bob = await engine.connect("acme", "bob", "admin");
    const tab1 = await engine.connect("acme", "alice", "user");
    assert.deepEqual(await bob.next("user_connected"), { user_id: "alice" });
    const tab2 = await engine.connect("acme", "alice", "user");
    await bob.request("message", { to: "user", user_id: "alice", content: "to both tabs" });
    assert.equal((await tab1.next<Message>("message")).content, "to both tabs");
    assert.equal((await tab2.next<Message>("message")).content, "to both tabs");
    // What one tab sends shows in the other, not echoed to itself.
    const ack = await tab1.request("message", { to: "admin", content: "from tab 1" });
    assert.equal((await tab2.next<Message>("message")).id, ack.id);
    assert.equal((await bob.next<Message>("message")).content, "from tab 1");
    await tab1.close();
    // Still online: a new agent's user_list includes alice, and no disconnect notice came.
    const dave = await engine.connect("acme", "dave", "admin");
    assert.deepEqual(await dave.next("user_list"), { users: ["alice"] });
    assert.equal(bob.all("user_disconnected").length, 0);
    assert.equal(tab1.all("message").filter((m) => (m as Message).id === ack.id).length, 0);
    await tab2.close();
    assert.deepEqual(await bob.next("user_disconnected"), { user_id: "alice" });
  } finally {
    await engine.close();
  }
});

Deno.test("socket: a user message sent with no agent online reaches an agent who connects afterwards", async () => {
  const engine = await startEngine();
  try {
    const alice = await engine.connect("acme", "alice", "user");
    const ack = await alice.request("message", { to: "admin", content: "is anyone there?" });
    assert.equal(ack.ok, true);
    const bob = await engine.connect("acme", "bob", "admin");
    assert.deepEqual(await bob.next("user_list"), { users: ["alice"] });
    const m = await bob.next<Message>("message");
    assert.deepEqual([m.from, m.content, m.id, m.seq], [
      "alice",
      "is anyone there?",
      ack.id,
      ack.seq,
    ]);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: a handoff over HTTP emits chatbot_context to the user and the company's agents", async () => {
  const engine = await startEngine();
  try {
    const alice = await engine.connect("acme", "alice", "user");
    const bob = await engine.connect("acme", "bob", "admin");
    const other = await engine.connect("globex", "gina", "admin");
    const res = await fetch(`${engine.url}/transfer_to_agent`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${await token({
          company_id: "acme",
          user_id: "chatbot",
          role: "bot",
        })}`,
      },
      body: JSON.stringify({ user_id: "alice", company_id: "acme", context: "wants a refund" }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).ok, true);
    assert.deepEqual(await alice.next("chatbot_context"), { context: "wants a refund" });
    assert.deepEqual(await bob.next("chatbot_context"), {
      context: "wants a refund",
      user_id: "alice",
    });
    assert.equal(other.all("chatbot_context").length, 0);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: each bad token is refused at connect with a reason", async () => {
  const engine = await startEngine();
  const claims = { company_id: "acme", user_id: "alice", role: "user" };
  try {
    const cases: [string, Record<string, unknown>][] = [
      ["missing_token", {}],
      ["malformed_token", { auth: { token: "definitely.not.jwt" } }],
      ["bad_signature", {
        auth: { token: await token(claims, new TextEncoder().encode("some-other-secret-0000000")) },
      }],
      ["unsupported_algorithm", { auth: { token: unsignedToken(claims) } }],
      ["expired", {
        query: { token: await token({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }) },
      }],
      ["missing_claim", { auth: { token: await token({ user_id: "alice", role: "user" }) } }],
      ["unknown_role", { auth: { token: await token({ ...claims, role: "root" }) } }],
      ["invalid_claim", { auth: { token: await token({ ...claims, role: "bot" }) } }],
    ];
    for (const [reason, options] of cases) {
      const client = engine.raw(options);
      const refusal = await client.next<
        { message: string; data: { code: string; reason: string } }
      >("connect_error");
      assert.match(refusal.message, new RegExp(`^${reason}: .+`), reason);
      assert.deepEqual(refusal.data, { code: "unauthorized", reason });
      assert.equal(client.socket.connected, false);
    }
    assert.ok(SECRET.length > 0);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: bad payloads and unknown events get an error ack and change nothing", async () => {
  const engine = await startEngine();
  try {
    const alice = await engine.connect("acme", "alice", "user");
    const bob = await engine.connect("acme", "bob", "admin");
    const version = await engine.store.version("acme");
    const answers = [
      await alice.request("message", "just a string"),
      await alice.request("message", { to: "admin" }),
      await alice.request("message", { to: "admin", content: 42 }),
      await alice.request("message", { to: "admin", content: "   " }),
      await alice.request("message", { to: "user", user_id: "carol", content: "hi" }),
      await bob.request("message", { to: "user", content: "no user named" }),
      await alice.request("message", { to: "admin", content: "x".repeat(5000) }),
      await alice.request("fly_to_moon", { now: true }),
    ];
    assert.deepEqual(
      answers.map((a) => (a as { error: { code: string } }).error.code),
      [
        "invalid_payload",
        "invalid_payload",
        "invalid_payload",
        "invalid_payload",
        "invalid_payload",
        "invalid_payload",
        "too_large",
        "invalid_payload",
      ],
    );
    assert.equal(await engine.store.version("acme"), version);
    // The connection still works.
    assert.equal((await alice.request("message", { to: "admin", content: "ok now" })).ok, true);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: a token that expires while connected ends the connection, saying it expired", async () => {
  const clock = new FakeClock(Date.now());
  const engine = await startEngine(undefined, { clock });
  try {
    const exp = Math.floor(clock.now() / 1000) + 2;
    const client = engine.raw({
      auth: { token: await token({ company_id: "acme", user_id: "al", role: "user", exp }) },
    });
    await client.connected();
    const left = exp * 1000 - clock.now();
    assert.equal(await clock.armed(), left, "the expiry is armed for the token's exp");
    clock.advance(left - 1);
    // A round trip: had the expiry fired, the server would have ended the socket before answering.
    assert.equal((await client.request("history", {})).ok, true);
    assert.equal(client.socket.connected, true);
    const reason = new Promise((resolve) => client.socket.once("disconnect", resolve));
    clock.advance(1);
    assert.equal(await reason, "io server disconnect");
    // The page is told why, as a refused connect would be: `reason: "expired"`.
    assert.deepEqual(client.all("error"), [{
      code: "unauthorized",
      reason: "expired",
      message: "expired: the token has expired",
    }]);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: typing reaches the other side without being recorded; read receipts and agent status are announced", async () => {
  const engine = await startEngine();
  try {
    const alice = await engine.connect("acme", "alice", "user");
    const bob = await engine.connect("acme", "bob", "admin");
    await alice.request("message", { to: "admin", content: "hello" });
    const version = await engine.store.version("acme");
    assert.deepEqual(await alice.request("typing", { typing: true }), { ok: true });
    assert.deepEqual(await bob.next("typing"), {
      user_id: "alice",
      from: "alice",
      role: "user",
      typing: true,
    });
    await bob.request("typing", { user_id: "alice", typing: true });
    assert.deepEqual(await alice.next("typing"), {
      user_id: "alice",
      from: "bob",
      role: "agent",
      typing: true,
    });
    assert.equal(await engine.store.version("acme"), version, "typing is not logged");

    const m = await bob.next<Message>("message");
    assert.deepEqual(await bob.request("read", { user_id: "alice", seq: m.seq }), {
      ok: true,
      seq: m.seq,
    });
    assert.deepEqual(await alice.next("read"), {
      user_id: "alice",
      reader: "bob",
      role: "agent",
      seq: m.seq,
    });

    assert.deepEqual(await bob.request("status", { status: "away" }), { ok: true, status: "away" });
    const away = await bob.nextWhere<{ agent_id: string; status: string }>(
      "agent_status",
      (s) => s.status === "away",
    );
    assert.equal(away.agent_id, "bob");
    assert.equal(
      (await alice.request<{ error: { code: string } }>("status", { status: "away" })).error.code,
      "forbidden",
    );
    assert.equal(
      (await bob.request<{ error: { code: string } }>("status", { status: "sleeping" })).error.code,
      "invalid_payload",
    );
  } finally {
    await engine.close();
  }
});

Deno.test("socket: the same client_id sent 5 times yields one message, and every ack names it", async () => {
  const engine = await startEngine();
  try {
    const bob = await engine.connect("acme", "bob", "admin");
    const alice = await engine.connect("acme", "alice", "user");
    const acks = [];
    for (let i = 0; i < 5; i++) {
      acks.push(
        await alice.request("message", { to: "admin", content: "only once", client_id: "c-123" }),
      );
    }
    assert.equal(new Set(acks.map((a) => `${a.id}/${a.seq}`)).size, 1);
    assert.ok(acks.every((a) => a.ok === true));
    // Concurrent resends too.
    const burst = await Promise.all(
      Array.from(
        { length: 5 },
        () => alice.request("message", { to: "admin", content: "burst", client_id: "c-456" }),
      ),
    );
    assert.equal(new Set(burst.map((a) => a.id)).size, 1);
    await alice.request("message", { to: "admin", content: "barrier" });
    await bob.nextWhere<Message>("message", (m) => m.content === "barrier");
    assert.deepEqual(bob.all<Message>("message").map((m) => m.content), [
      "only once",
      "burst",
      "barrier",
    ]);
    const history = await bob.request<{ messages: Message[] }>("history", { user_id: "alice" });
    assert.deepEqual(history.messages.map((m) => m.content), ["only once", "burst", "barrier"]);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: a socket over its event rate gets rate_limited; connection floods are refused before any token work", async () => {
  const engine = await startEngine(undefined, { socketRate: 5, connectRate: 3 });
  try {
    const alice = await engine.connect("acme", "alice", "user");
    const answers = await Promise.all(
      Array.from(
        { length: 30 },
        (_, i) => alice.request("message", { to: "admin", content: `flood ${i}` }),
      ),
    );
    const limited = answers.filter((a) =>
      (a as { error?: { code: string } }).error?.code === "rate_limited"
    );
    assert.ok(limited.length >= 15, `${limited.length} of 30 were limited`);
    assert.ok(answers.filter((a) => a.ok).length <= 12);
    const refusals = [];
    for (let i = 0; i < 10; i++) {
      const c = engine.raw({ auth: { token: "not-even-a-token" } });
      refusals.push((await c.next<{ message: string }>("connect_error")).message.split(":")[0]);
    }
    assert.ok(refusals.includes("rate_limited"), refusals.join(","));
  } finally {
    await engine.close();
  }
});

Deno.test("socket: 400 connection attempts without a valid token from one address do not refuse a user holding a good token from that address", async () => {
  const engine = await startEngine(undefined, { connectRate: 5 });
  try {
    const forged = await token({ company_id: "acme", user_id: "mallory", role: "user" }, FORGED);
    const attempts = Array.from(
      { length: 400 },
      (_, i) =>
        engine.raw(
          i % 4 === 0 ? { auth: { token: forged } } : i % 4 === 1 ? {} : {
            auth: { token: "not-even-a-token" },
          },
        ),
    );
    const refusals = await Promise.all(
      attempts.map(async (c) => (await c.next<{ message: string }>("connect_error")).message),
    );
    assert.ok(refusals.filter((m) => m.startsWith("rate_limited")).length >= 350);
    for (const c of attempts) c.socket.disconnect();
    const alice = await engine.connect("acme", "alice", "user");
    const bob = await engine.connect("acme", "bob", "admin");
    assert.ok(alice.socket.connected && bob.socket.connected);
    // A user who reconnects too often is limited on their own.
    const again = [];
    for (let i = 0; i < 15; i++) {
      const c = engine.raw({ auth: { token: await engine.token("acme", "alice", "user") } });
      again.push(
        await Promise.race([
          c.connected().then(() => "ok"),
          c.next("connect_error").then(() => "refused"),
        ]),
      );
      c.socket.disconnect();
    }
    assert.ok(again.includes("refused"), again.join(","));
    assert.ok((await engine.connect("acme", "carol", "user")).socket.connected);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: with TRUST_PROXY=1 clients behind one proxy get separate buckets; without it X-Forwarded-For is ignored", async () => {
  for (const trustProxy of [1, 0]) {
    const engine = await startEngine(undefined, { connectRate: 2, trustProxy });
    try {
      const from = (address: string) =>
        engine.raw({ extraHeaders: { "x-forwarded-for": address }, auth: { token: "x" } });
      const first = [];
      for (let i = 0; i < 6; i++) {
        first.push((await from("198.51.100.1").next<{ message: string }>("connect_error")).message);
      }
      assert.ok(first.at(-1)!.startsWith("rate_limited"), first.join(","));
      const other = await from("198.51.100.2").next<{ message: string }>("connect_error");
      assert.equal(other.message.startsWith("rate_limited"), trustProxy === 0, other.message);
    } finally {
      await engine.close();
    }
  }
});

Deno.test("http: requests without a valid token cannot use up the rate of a bot holding a good token from the same address", async () => {
  const engine = await startEngine(undefined, { httpRate: 2 });
  try {
    const bot = await engine.token("acme", "chatbot", "bot");
    const forged = await token({ company_id: "acme", user_id: "chatbot", role: "bot" }, FORGED);
    const flood = [];
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${engine.url}/api/v1/settings`, {
        headers: i % 2 ? { authorization: `Bearer ${forged}` } : {},
      });
      await res.body?.cancel();
      flood.push(res.status);
    }
    assert.ok(flood.filter((s) => s === 429).length >= 20, flood.join(","));
    const res = await fetch(`${engine.url}/api/v1/settings`, {
      headers: { authorization: `Bearer ${bot}` },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await engine.close();
  }
});

Deno.test("http: with TRUST_PROXY=1 clients behind one proxy get separate buckets; without it X-Forwarded-For is ignored", async () => {
  for (const trustProxy of [1, 0]) {
    const engine = await startEngine(undefined, { httpRate: 1, trustProxy });
    try {
      const from = async (forwardedFor: string) => {
        const res = await fetch(`${engine.url}/api/v1/demo`, {
          headers: { "x-forwarded-for": forwardedFor },
        });
        await res.body?.cancel();
        return res.status;
      };
      const first = [];
      for (let i = 0; i < 4; i++) first.push(await from("198.51.100.1"));
      assert.deepEqual(first, [200, 200, 429, 429]);
      // A client naming another address before the proxy's entry is still itself.
      assert.equal(await from("203.0.113.9, 198.51.100.1"), 429);
      assert.equal(await from("198.51.100.2"), trustProxy === 1 ? 200 : 429);
    } finally {
      await engine.close();
    }
  }
});

Deno.test("socket: while the store refuses writes, sockets still connect, resume and read history, sends answer unavailable; presence is recorded once writes work", async () => {
  const store = new FlakyStore(new MemoryEventStore());
  const clock = new FakeClock(Date.now());
  const engine = await startEngine(store, { presenceRetryMs: 20, clock });
  try {
    const alice = await engine.connect("acme", "alice", "user");
    const sent = await alice.request("message", { to: "admin", content: "before" });
    assert.equal(sent.ok, true);
    store.full = true;

    const bob = await engine.connect("acme", "bob", "admin", "auth", { last_seq: 0 });
    const missed = await bob.next<Message>("message");
    assert.equal(missed.content, "before", "resume delivers from the log");
    const history = await bob.request<{ messages: Message[] }>("history", { user_id: "alice" });
    assert.deepEqual(history.messages.map((m) => m.content), ["before"]);
    const refused = await bob.request<{ ok: boolean; error: { code: string } }>("message", {
      user_id: "alice",
      content: "during",
    });
    assert.deepEqual([refused.ok, refused.error.code], [false, "unavailable"]);
    const ready = await fetch(`${engine.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal((await ready.json()).reason, "store_refuses_writes");
    assert.deepEqual(bob.all("user_list"), [], "nothing is said about presence until recorded");
    assert.equal(bob.socket.connected, true);
    assert.deepEqual(bob.all("error"), []);

    // The refused Connect is retried after a jittered wait of half to all of presenceRetryMs.
    const wait = await clock.armed((delay) => delay <= 20);
    assert.ok(wait >= 10, `a retry in ${wait} ms`);
    store.full = false;
    clock.advance(wait);
    assert.deepEqual(await bob.next("user_list"), { users: ["alice"] }, "the retry recorded bob");
    const after = await bob.request("message", { user_id: "alice", content: "after" });
    assert.equal(after.ok, true);
    assert.equal(
      (await alice.nextWhere<Message>("message", (m) => m.content === "after")).from,
      "bob",
    );
    assert.equal((await fetch(`${engine.url}/readyz`)).status, 200);
    assert.deepEqual(
      (await bob.request<{ messages: Message[] }>("history", { user_id: "alice" })).messages
        .map((m) => m.content),
      ["before", "after"],
      "nothing acknowledged was lost",
    );
  } finally {
    await engine.close();
  }
});

Deno.test("http: an address over its request rate gets 429 rate_limited", async () => {
  const engine = await startEngine(undefined, { httpRate: 2 });
  try {
    const bot = await engine.token("acme", "chatbot", "bot");
    const statuses = [];
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${engine.url}/api/v1/settings`, {
        headers: { authorization: `Bearer ${bot}` },
      });
      const json = await res.json();
      statuses.push(res.status === 429 ? json.error.code : res.status);
    }
    assert.ok(statuses.includes("rate_limited"), statuses.join(","));
    assert.equal(statuses[0], 200);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: CORS_ORIGINS refuses a browser handshake from another origin, WebSocket included", async () => {
  const engine = await startEngine(undefined, { corsOrigins: ["http://good.example"] });
  try {
    const token = await engine.token("acme", "alice", "user");
    const evil = engine.raw({ auth: { token }, extraHeaders: { Origin: "http://evil.example" } });
    await evil.next("connect_error");
    assert.equal(evil.socket.connected, false);
    const good = engine.raw({ auth: { token }, extraHeaders: { Origin: "http://good.example" } });
    await good.connected();
    const server = engine.raw({ auth: { token } }); // no Origin: not a browser
    await server.connected();
  } finally {
    await engine.close();
  }
});
