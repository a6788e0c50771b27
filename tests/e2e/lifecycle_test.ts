/** The handoff lifecycle end to end: real sockets, the HTTP API, and a webhook receiver. */
import assert from "node:assert/strict";
import { KvEventStore } from "../../adapters/store/mod.ts";
import { startEngine } from "../adapters/socketio/_harness.ts";
import { webhookReceiver } from "./_webhook_receiver.ts";
import { FakeClock } from "../_fakes.ts";
import type { EventLog } from "../../src/ports.ts";

type Conversation = {
  conversation_id: string;
  user_id: string;
  status: string;
  assignee: string | null;
  queue_position: number | null;
  unread: number;
};
type Message = { id: string; seq: number; content: string; from: string; role: string };

async function api(url: string, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const SECRET = "whsec-test-0123456789";

/** The seqs of the conversations requeued because their agent stayed away (the grace timer's). */
async function requeues(store: EventLog, company: string): Promise<number[]> {
  const found: number[] = [];
  for await (const e of store.read(company)) {
    const data = e.data as { reason?: string };
    if (e.type === "ConversationQueued" && data.reason === "agent_offline") found.push(e.seq);
  }
  return found;
}

Deno.test("lifecycle: handoff → queued with position → auto-assigned → chat → transfer → resolve to bot, each announced by a signed webhook", async () => {
  const engine = await startEngine();
  const hooks = await webhookReceiver();
  try {
    const bot = await engine.token("acme", "chatbot", "bot");
    const put = await api(engine.url, "PUT", "/api/v1/settings", bot, {
      webhook_url: hooks.url,
      webhook_secret: SECRET,
    });
    assert.equal(put.status, 200);
    assert.deepEqual(put.json, {
      assignment: "auto",
      max_chats_per_agent: 5,
      agent_grace_seconds: 60,
      webhook_url: hooks.url,
      webhook_secret_set: true,
    });

    const alice = await engine.connect("acme", "alice", "user");
    const handoff = await api(engine.url, "POST", "/transfer_to_agent", bot, {
      user_id: "alice",
      company_id: "acme",
      context: "refund",
    });
    assert.equal(handoff.status, 200);
    assert.deepEqual(await alice.next("queue"), { position: 1 });
    const queued = await alice.nextWhere<Conversation>(
      "conversation",
      (c) => c.status === "queued",
    );
    assert.equal(queued.queue_position, 1);

    const bob = await engine.connect("acme", "bob", "admin");
    const assigned = await alice.nextWhere<Conversation>(
      "conversation",
      (c) => c.status === "assigned",
    );
    assert.equal(assigned.assignee, "bob");
    assert.equal(
      (await bob.nextWhere<Conversation>("conversation", (c) => c.status === "assigned")).assignee,
      "bob",
    );

    await alice.request("message", { to: "admin", content: "my parcel is lost" });
    assert.equal((await bob.next<Message>("message")).content, "my parcel is lost");
    await bob.request("message", { to: "user", user_id: "alice", content: "let me look" });
    assert.equal((await alice.next<Message>("message")).content, "let me look");

    const dave = await engine.connect("acme", "dave", "agent");
    const moved = await bob.request<{ ok: boolean; conversation: Conversation }>("transfer", {
      user_id: "alice",
      agent_id: "dave",
      note: "shipping team",
    });
    assert.equal(moved.ok, true);
    assert.equal(moved.conversation.assignee, "dave");
    assert.equal(
      (await dave.nextWhere<Conversation>("conversation", (c) => c.assignee === "dave")).status,
      "assigned",
    );

    const done = await dave.request<{ ok: boolean; conversation: Conversation }>("resolve", {
      user_id: "alice",
      return_to_bot: true,
    });
    assert.equal(done.ok, true);
    assert.equal(
      (await alice.nextWhere<Conversation>("conversation", (c) => c.status === "bot")).assignee,
      null,
    );

    await hooks.until(4);
    const types = hooks.accepted.map((r) => r.body.type);
    assert.deepEqual(types, [
      "handoff.queued",
      "conversation.assigned",
      "conversation.transferred",
      "conversation.resolved",
    ]);
    for (const r of hooks.accepted) {
      assert.ok(hooks.verifies(r, SECRET), `signature of ${r.body.type}`);
      assert.ok(!hooks.verifies(r, `${SECRET}-other`), "another secret's HMAC does not match");
      assert.equal(r.id, r.body.id);
      assert.equal(r.body.user_id, "alice");
    }
    assert.deepEqual(hooks.accepted[2].body.data, {
      from_agent_id: "bob",
      to_agent_id: "dave",
      note: "shipping team",
    });
    assert.deepEqual(hooks.accepted[3].body.data, { agent_id: "dave", return_to_bot: true });
    assert.equal(new Set(hooks.accepted.map((r) => r.id)).size, 4);
  } finally {
    await engine.close();
    await hooks.close();
  }
});

Deno.test("lifecycle: two agents claim one conversation: exactly one wins, the other gets conflict", async () => {
  const engine = await startEngine();
  try {
    const bot = await engine.token("acme", "chatbot", "bot");
    await api(engine.url, "PUT", "/api/v1/settings", bot, { assignment: "manual" });
    const bob = await engine.connect("acme", "bob", "admin");
    const dave = await engine.connect("acme", "dave", "admin");
    await api(engine.url, "POST", "/transfer_to_agent", bot, {
      user_id: "alice",
      company_id: "acme",
    });
    const queue = await bob.nextWhere<{ queue: { user_id: string }[] }>(
      "queue",
      (q) => q.queue.length === 1,
    );
    assert.equal(queue.queue[0].user_id, "alice");
    const answers = await Promise.all([
      bob.request("claim", { user_id: "alice" }),
      dave.request("claim", { user_id: "alice" }),
    ]);
    const codes = answers.map((a) => (a.ok ? "ok" : (a.error as { code: string }).code)).sort();
    assert.deepEqual(codes, ["conflict", "ok"]);
    const user = await engine.connect("acme", "alice", "user");
    assert.equal(
      (await user.request("claim", { user_id: "alice" }) as { error: { code: string } }).error.code,
      "forbidden",
    );
  } finally {
    await engine.close();
  }
});

Deno.test("lifecycle: an agent who disconnects gets their conversation re-queued after the grace period", async () => {
  const clock = new FakeClock(Date.now());
  const engine = await startEngine(undefined, { clock });
  try {
    const bot = await engine.token("acme", "chatbot", "bot");
    await api(engine.url, "PUT", "/api/v1/settings", bot, { agent_grace_seconds: 1 });
    const alice = await engine.connect("acme", "alice", "user");
    const bob = await engine.connect("acme", "bob", "admin");
    await api(engine.url, "POST", "/transfer_to_agent", bot, {
      user_id: "alice",
      company_id: "acme",
    });
    await alice.nextWhere<Conversation>("conversation", (c) => c.assignee === "bob");
    await bob.close();
    // The sockets' token expiries are armed too, an hour out; the grace timer is the 1 s one.
    await clock.armed((delay) => delay === 1000);
    clock.advance(999);
    await engine.system.actor("acme").idle();
    assert.deepEqual(await requeues(engine.store, "acme"), [], "not before the grace period");
    clock.advance(1);
    const requeued = await alice.nextWhere<Conversation>(
      "conversation",
      (c) => c.status === "queued",
    );
    assert.equal(requeued.queue_position, 1);
    assert.equal((await requeues(engine.store, "acme")).length, 1);
    const dave = await engine.connect("acme", "dave", "admin");
    assert.equal(
      (await alice.nextWhere<Conversation>("conversation", (c) => c.status === "assigned"))
        .assignee,
      "dave",
    );
    await dave.close();
  } finally {
    await engine.close();
  }
});

Deno.test("lifecycle: history is paginated by seq and scoped to the caller's company and rights", async () => {
  const engine = await startEngine();
  try {
    const bot = await engine.token("acme", "chatbot", "bot");
    const transcript = await api(engine.url, "POST", "/api/v1/conversations/alice/messages", bot, {
      messages: [{ role: "user", content: "where is my order" }, {
        role: "bot",
        content: "I will get a human",
      }],
    });
    assert.equal(transcript.status, 201);
    const alice = await engine.connect("acme", "alice", "user");
    const sent: Message[] = [];
    for (let i = 1; i <= 5; i++) {
      sent.push(
        await alice.request("message", { to: "admin", content: `m${i}` }) as unknown as Message,
      );
    }
    const bob = await engine.connect("acme", "bob", "admin");

    const page1 = await bob.request<{ ok: boolean; messages: Message[]; has_more: boolean }>(
      "history",
      { user_id: "alice", limit: 3 },
    );
    assert.deepEqual(page1.messages.map((m) => m.content), ["m3", "m4", "m5"]);
    assert.equal(page1.has_more, true);
    const page2 = await bob.request<{ messages: Message[]; has_more: boolean }>("history", {
      user_id: "alice",
      limit: 3,
      before: page1.messages[0].seq,
    });
    assert.deepEqual(page2.messages.map((m) => m.content), ["I will get a human", "m1", "m2"]);
    assert.deepEqual(page2.messages.map((m) => m.role), ["bot", "user", "user"]);
    const page3 = await bob.request<{ messages: Message[]; has_more: boolean }>("history", {
      user_id: "alice",
      limit: 3,
      before: page2.messages[0].seq,
    });
    assert.deepEqual(page3.messages.map((m) => m.content), ["where is my order"]);
    assert.equal(page3.has_more, false);

    const own = await alice.request<{ messages: Message[] }>("history", {});
    assert.equal(own.messages.length, 7);
    const http = await api(
      engine.url,
      "GET",
      "/api/v1/conversations/alice/messages?limit=2",
      await engine.token("acme", "alice", "user"),
    );
    assert.deepEqual(http.json.messages.map((m: Message) => m.content), ["m4", "m5"]);

    // A user cannot read another user's history.
    assert.equal(
      (await alice.request<{ error: { code: string } }>("history", { user_id: "carol" })).error
        .code,
      "forbidden",
    );
    const other = await api(
      engine.url,
      "GET",
      "/api/v1/conversations/alice/messages",
      await engine.token("acme", "carol", "user"),
    );
    assert.equal(other.status, 403);
    // Another company sees nothing of acme's alice and cannot act on her conversation.
    const gina = await engine.connect("globex", "gina", "admin");
    assert.deepEqual(
      (await gina.request<{ messages: Message[] }>("history", { user_id: "alice" })).messages,
      [],
    );
    assert.equal(
      (await gina.request<{ error: { code: string } }>("claim", { user_id: "alice" })).error.code,
      "not_found",
    );
    const globexBot = await api(
      engine.url,
      "GET",
      "/api/v1/conversations/alice/messages",
      await engine.token("globex", "b", "bot"),
    );
    assert.deepEqual(globexBot.json.messages, []);
  } finally {
    await engine.close();
  }
});

Deno.test("webhooks: failed attempts are retried with backoff until accepted, each event once under one id", async () => {
  const clock = new FakeClock();
  const engine = await startEngine(undefined, { clock });
  const hooks = await webhookReceiver({ failFirst: 3 });
  try {
    const bot = await engine.token("acme", "chatbot", "bot");
    await api(engine.url, "PUT", "/api/v1/settings", bot, {
      webhook_url: hooks.url,
      webhook_secret: SECRET,
      assignment: "manual",
    });
    await api(engine.url, "POST", "/transfer_to_agent", bot, {
      user_id: "alice",
      company_id: "acme",
    });
    await api(engine.url, "POST", "/transfer_to_agent", bot, {
      user_id: "ben",
      company_id: "acme",
    });
    // The harness retries after 20 ms, doubling up to 100 ms.
    for (const [attempt, wait] of [[1, 20], [2, 40], [3, 80]]) {
      await hooks.attempts(attempt);
      assert.equal(await clock.armed(), wait, `the wait after attempt ${attempt}`);
      clock.advance(wait);
    }
    await hooks.until(2);
    assert.deepEqual(clock.pending(), [], "accepted calls are not retried");
    assert.equal(hooks.all.length, 5, "three refused attempts, then two accepted calls");
    assert.deepEqual(hooks.all.slice(0, 4).map((r) => r.id), Array(4).fill(hooks.accepted[0].id));
    assert.deepEqual(hooks.accepted.map((r) => r.body.user_id), ["alice", "ben"]);
    assert.notEqual(hooks.accepted[0].id, hooks.accepted[1].id);
  } finally {
    await engine.close();
    await hooks.close();
  }
});

Deno.test("webhooks: deliveries a stop left undone resume after a restart, from the log", async () => {
  const dir = await Deno.makeTempDir();
  const hooks = await webhookReceiver();
  const later = await webhookReceiver();
  try {
    hooks.failing = true;
    const first = await startEngine(await KvEventStore.open(`${dir}/events.kv`));
    const bot = await first.token("acme", "chatbot", "bot");
    await api(first.url, "PUT", "/api/v1/settings", bot, { webhook_url: hooks.url });
    await api(first.url, "POST", "/transfer_to_agent", bot, {
      user_id: "alice",
      company_id: "acme",
    });
    await hooks.attempts(1); // at least one refused attempt
    await first.close();
    first.store.close();

    hooks.failing = false;
    const second = await startEngine(await KvEventStore.open(`${dir}/events.kv`));
    await hooks.until(1);
    assert.deepEqual(hooks.accepted.map((r) => [r.body.type, r.body.user_id]), [[
      "handoff.queued",
      "alice",
    ]]);
    assert.equal(
      hooks.accepted[0].id,
      hooks.all[0].id,
      "the retry after the restart keeps the event's id",
    );

    // A newly configured URL hears only of what happens after it was set.
    await api(second.url, "PUT", "/api/v1/settings", bot, { webhook_url: later.url });
    await api(second.url, "POST", "/transfer_to_agent", bot, {
      user_id: "ben",
      company_id: "acme",
    });
    await later.until(1);
    assert.deepEqual(later.accepted.map((r) => r.body.user_id), ["ben"]);
    await second.close();
    second.store.close();
  } finally {
    await hooks.close();
    await later.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("webhooks: a URL changed while an event is being retried delivers it to the new URL; a 4xx is not retried", async () => {
  const clock = new FakeClock();
  const engine = await startEngine(undefined, { clock });
  const broken = await webhookReceiver();
  const fixed = await webhookReceiver();
  try {
    broken.failing = true;
    const bot = await engine.token("acme", "chatbot", "bot");
    await api(engine.url, "PUT", "/api/v1/settings", bot, {
      webhook_url: broken.url,
      assignment: "manual",
    });
    await api(engine.url, "POST", "/transfer_to_agent", bot, {
      user_id: "alice",
      company_id: "acme",
    });
    await broken.attempts(1);
    clock.advance(await clock.armed());
    await broken.attempts(2);
    const wait = await clock.armed();
    await api(engine.url, "PUT", "/api/v1/settings", bot, { webhook_url: fixed.url });
    clock.advance(wait);
    await fixed.until(1);
    assert.deepEqual(fixed.accepted.map((r) => [r.body.type, r.body.user_id]), [[
      "handoff.queued",
      "alice",
    ]]);
    assert.equal(fixed.accepted[0].id, broken.all[0].id);
  } finally {
    await engine.close();
    await broken.close();
    await fixed.close();
  }
});
