import assert from "node:assert/strict";
import {
  type CompanyCommand,
  type CompanyEvent,
  fold,
  fromSnapshot,
  type Snapshot,
} from "../../domain/mod.ts";
import { KvEventStore, MemoryEventStore } from "../../adapters/store/mod.ts";
import { ActorSystem, MAX_APPEND_ATTEMPTS } from "../../src/company_actor.ts";
import { silentLogger } from "../../src/log.ts";
import type { NewEvent, Publisher, Storage } from "../../src/ports.ts";
import { StoreHealth } from "../../src/store_health.ts";
import { FakeClock, FlakyStore, RecordingLogger, RecordingPublisher } from "../_fakes.ts";

const clock = new FakeClock();

function system(store: Storage, publisher: Publisher = new RecordingPublisher()) {
  return new ActorSystem({ store, publisher, clock });
}

function userMessage(userId: string, text: string, n = 0): CompanyCommand {
  return {
    type: "SendMessage",
    data: {
      sender: { userId, role: "user" },
      userId,
      text,
      messageId: `${userId}-m${n}`,
      conversationId: `c-${userId}`,
      at: clock.now(),
    },
  };
}

function connect(userId: string, role: "user" | "agent", socketId = `${userId}-s`): CompanyCommand {
  return { type: "Connect", data: { userId, role, socketId, at: clock.now() } };
}

Deno.test("ActorSystem: 100 concurrent senders to one company get gap-free, strictly increasing seqs", async () => {
  const store = new FlakyStore(new MemoryEventStore());
  const actors = system(store);
  const outcomes = await Promise.all(
    Array.from(
      { length: 100 },
      (_, i) => actors.dispatch("acme", userMessage(`u${i}`, `hello ${i}`)),
    ),
  );
  const seqs = outcomes.flatMap((o) => {
    assert.ok(o.ok);
    return o.events.filter((e) => e.type === "MessageSent").map((e) => e.seq);
  });
  const all = outcomes.flatMap((o) => (o.ok ? o.events.map((e) => e.seq) : []));
  // Each user's first message opens and queues a conversation: 3 events per sender.
  assert.deepEqual(all, Array.from({ length: 300 }, (_, i) => i + 1));
  assert.equal(new Set(seqs).size, 100);
  assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]));
  // Group commit: far fewer store transactions than commands.
  assert.ok(store.appends < 10, `expected batched appends, got ${store.appends}`);
  assert.equal(await store.version("acme"), 300);
});

Deno.test("ActorSystem: an actor acknowledges only after its events are durable and delivered", async () => {
  const publisher = new RecordingPublisher();
  const store = new MemoryEventStore();
  const actors = system(store, publisher);
  await actors.dispatch("acme", connect("bob", "agent"));
  const outcome = await actors.dispatch("acme", userMessage("alice", "hi"));
  assert.ok(outcome.ok);
  assert.equal(await store.version("acme"), outcome.events.at(-1)!.seq);
  assert.ok(publisher.published.some((p) => p.delivery.event === "message"));
});

Deno.test("ActorSystem: a restarted actor over the same KV file has the same state", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await KvEventStore.open(`${dir}/events.kv`);
    const before = system(first);
    await before.dispatch("acme", connect("bob", "agent"));
    await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => before.dispatch("acme", userMessage(`u${i % 4}`, `m${i}`, i)),
      ),
    );
    await before.dispatch("acme", {
      type: "TransferToAgent",
      data: { userId: "u1", context: { topic: "refund" }, conversationId: "c-x", at: clock.now() },
    });
    const state = before.actor("acme").state;
    first.close();

    const second = await KvEventStore.open(`${dir}/events.kv`);
    const after = system(second);
    // Any command makes the actor load; presence from the old process is reset first.
    await after.dispatch("acme", { type: "ResetPresence", data: { at: clock.now() } });
    const reloaded = after.actor("acme").state;
    assert.deepEqual(reloaded.conversations, state.conversations);
    assert.deepEqual(reloaded.queue, state.queue);
    assert.deepEqual(reloaded.agents.get("bob")?.sockets, [], "nobody is online after a restart");
    assert.equal(reloaded.version, state.version + 1, "one PresenceReset event was recorded");
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ActorSystem: distinct companies proceed in parallel and never share a stream", async () => {
  const store = new MemoryEventStore();
  const actors = system(store);
  await Promise.all([
    ...Array.from(
      { length: 10 },
      (_, i) => actors.dispatch("acme", userMessage("sam", `a${i}`, i)),
    ),
    ...Array.from(
      { length: 5 },
      (_, i) => actors.dispatch("globex", userMessage("sam", `g${i}`, i)),
    ),
  ]);
  assert.equal(await store.version("acme"), 12);
  assert.equal(await store.version("globex"), 7);
  assert.notEqual(
    actors.actor("acme").state.conversations.get("sam")?.id,
    undefined,
  );
});

Deno.test("ActorSystem: a failed append answers 'unavailable', changes nothing, and recovers", async () => {
  const publisher = new RecordingPublisher();
  const store = new FlakyStore(new MemoryEventStore());
  const actors = system(store, publisher);
  await actors.dispatch("acme", connect("bob", "agent"));
  const before = actors.actor("acme").state;
  const published = publisher.published.length;
  store.failing = true;
  const failed = await Promise.all(
    [userMessage("alice", "one"), userMessage("alice", "two")].map((c) =>
      actors.dispatch("acme", c)
    ),
  );
  for (const f of failed) assert.deepEqual(f.ok ? null : f.error.code, "unavailable");
  assert.equal(actors.actor("acme").state, before);
  assert.equal(publisher.published.length, published, "nothing was delivered");
  store.failing = false;
  const ok = await actors.dispatch("acme", userMessage("alice", "three"));
  assert.ok(ok.ok);
  assert.equal(ok.events.at(-1)!.seq, before.version + 4); // opened, queued, assigned, sent
});

Deno.test("ActorSystem: started over a store that refuses writes, it loads every company and serves state; presence is reset before the first command once writes work", async () => {
  const memory = new MemoryEventStore();
  const before = system(memory);
  await before.dispatch("acme", connect("bob", "agent"));
  await before.dispatch("acme", userMessage("alice", "before the disk filled"));
  const version = await memory.version("acme");

  const store = new FlakyStore(memory);
  store.full = true;
  const health = new StoreHealth();
  const after = new ActorSystem({ store, publisher: new RecordingPublisher(), clock, health });
  const states = await after.recover();
  assert.equal(states.get("acme")?.version, version, "recovered though its reset was refused");
  assert.equal(health.writable, false);
  assert.match(health.reason!, /disk is full/);
  const refused = await after.dispatch("acme", userMessage("alice", "during", 1));
  assert.deepEqual(refused.ok ? null : refused.error.code, "unavailable");
  assert.equal((await after.actor("acme").current()).version, version, "current() still answers");
  assert.equal(await memory.version("acme"), version, "nothing was recorded");

  store.full = false;
  const ok = await after.dispatch("acme", connect("carol", "agent"));
  assert.ok(ok.ok);
  const log = [];
  for await (const e of memory.read("acme", { after: version })) log.push(e.type);
  assert.deepEqual(log.slice(0, 2), ["PresenceReset", "SocketConnected"]);
  assert.equal(health.writable, true);
  assert.deepEqual(
    [...after.actor("acme").state.agents.keys()].filter((id) =>
      after.actor("acme").state.agents.get(id)!.sockets.length > 0
    ),
    ["carol"],
    "bob, online in the earlier process, is not",
  );
});

Deno.test("ActorSystem: a command whose event cannot be stored is refused 'too_large'; its batch-mates still commit", async () => {
  const store = new MemoryEventStore();
  const actors = system(store);
  const outcomes = await Promise.all([
    actors.dispatch("acme", userMessage("a", "fine")),
    actors.dispatch("acme", userMessage("b", "x".repeat(70_000))),
    actors.dispatch("acme", userMessage("c", "also fine")),
  ]);
  assert.deepEqual(outcomes.map((o) => o.ok || o.error.code), [true, "too_large", true]);
  assert.equal(await store.version("acme"), 6);
});

Deno.test("ActorSystem: an actor whose stream moved under it catches up and decides again", async () => {
  const store = new MemoryEventStore();
  const one = system(store);
  const two = system(store);
  await one.dispatch("acme", userMessage("alice", "from one"));
  const outcome = await two.dispatch("acme", userMessage("alice", "from two", 2));
  assert.ok(outcome.ok);
  // two's actor saw one's conversation: it did not open a second one.
  assert.deepEqual(outcome.events.map((e) => e.type), ["MessageSent"]);
  assert.equal(await store.version("acme"), 4);
});

Deno.test("ActorSystem: refusals wait for their batch's commit; when it fails they are answered 'unavailable' too", async () => {
  const store = new FlakyStore(new MemoryEventStore());
  const actors = system(store);
  await actors.dispatch("acme", {
    type: "ChangeSettings",
    data: { changes: { assignment: "manual" }, at: clock.now() },
  });
  await actors.dispatch("acme", connect("bob", "agent"));
  await actors.dispatch("acme", connect("dave", "agent"));
  await actors.dispatch("acme", {
    type: "TransferToAgent",
    data: { userId: "ann", context: "", conversationId: "c-ann", at: clock.now() },
  });
  store.failing = true;
  const claim = (agentId: string): CompanyCommand => ({
    type: "Claim",
    data: { agentId, userId: "ann", at: clock.now() },
  });
  const both = await Promise.all([
    actors.dispatch("acme", claim("bob")),
    actors.dispatch("acme", claim("dave")),
  ]);
  assert.deepEqual(both.map((o) => (o.ok ? "ok" : o.error.code)), ["unavailable", "unavailable"]);
  store.failing = false;
  const retry = await Promise.all([
    actors.dispatch("acme", claim("dave")),
    actors.dispatch("acme", claim("bob")),
  ]);
  assert.deepEqual(retry.map((o) => (o.ok ? "ok" : o.error.code)), ["ok", "conflict"]);
});

Deno.test("ActorSystem: snapshots every N events; recovery from snapshot + tail equals a full replay", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = await KvEventStore.open(`${dir}/events.kv`);
    const actors = new ActorSystem({
      store,
      publisher: new RecordingPublisher(),
      clock,
      snapshotEvery: 25,
    });
    await actors.dispatch("acme", connect("bob", "agent"));
    for (let i = 0; i < 40; i++) {
      const user = `u${i % 7}`;
      await actors.dispatch("acme", userMessage(user, `hello ${i}`, i));
      if (i % 5 === 0) {
        await actors.dispatch("acme", {
          type: "Resolve",
          data: { agentId: "bob", userId: user, returnToBot: i % 2 === 0, at: clock.now() },
        });
      }
    }
    await actors.stop();
    const live = actors.actor("acme").state;
    const kept = await store.loadSnapshot("acme");
    assert.ok(
      kept && kept.version > 0 && kept.version < live.version,
      `snapshot at ${kept?.version} of ${live.version}`,
    );

    const all = [];
    for await (const e of store.read("acme")) {
      all.push({ type: e.type, at: e.at, data: e.data } as CompanyEvent);
    }
    const tail = all.slice(kept.version);
    const fromSnap = fold(tail, fromSnapshot(kept.snapshot as Snapshot)!);
    assert.deepEqual(fromSnap, fold(all));
    assert.deepEqual(fromSnap, live);

    const restarted = new ActorSystem({ store, publisher: new RecordingPublisher(), clock });
    const reloaded = await restarted.actor("acme").current();
    assert.deepEqual(reloaded.conversations, live.conversations);
    assert.deepEqual(reloaded.queue, live.queue);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ActorSystem: companies with the same traffic take their first snapshots at different points", async () => {
  const store = new MemoryEventStore();
  const actors = new ActorSystem({
    store,
    publisher: new RecordingPublisher(),
    clock,
    snapshotEvery: 20,
  });
  const companies = Array.from({ length: 30 }, (_, i) => `company-${i}`);
  for (let n = 0; n < 45; n++) {
    // One event each; every company sees the same commands, one at a time.
    await Promise.all(companies.map((c) => actors.dispatch(c, connect(`u${n}`, "user"))));
  }
  await actors.stop();
  const versions = await Promise.all(
    companies.map(async (c) => (await store.loadSnapshot(c))?.version),
  );
  // Without the spread every company's latest snapshot would be at the same version.
  assert.ok(versions.every((v) => v !== undefined && v >= 20), `${versions}`);
  assert.ok(new Set(versions).size >= 10, `snapshots at ${versions}`);
});

/** A publisher that fails the way `roomOf` did on a lone surrogate, after `healthy` calls. */
class ThrowingPublisher implements Publisher {
  calls = 0;
  constructor(readonly healthy = 0) {}
  publish(): void {
    if (++this.calls > this.healthy) throw new URIError("URI malformed");
  }
}

Deno.test("ActorSystem: a publisher or commit observer that throws is logged with its company; the command is answered and later ones work", async () => {
  const log = new RecordingLogger();
  const store = new MemoryEventStore();
  const actors = new ActorSystem({
    store,
    publisher: new ThrowingPublisher(),
    clock,
    log,
    observer: {
      committed() {
        throw new URIError("URI malformed");
      },
    },
  });
  const first = await actors.dispatch("acme", userMessage("alice", "hi"));
  assert.ok(first.ok, "the committed command is answered with its events");
  const second = await actors.dispatch("acme", userMessage("alice", "again", 1));
  assert.ok(second.ok);
  assert.equal(await store.version("acme"), second.events.at(-1)!.seq);
  assert.deepEqual(await log.next("actor.publish_failed"), {
    company: "acme",
    error: "URIError: URI malformed",
  });
  assert.equal((await log.next("actor.observer_failed")).company, "acme");
  await actors.stop();
});

Deno.test("ActorSystem: a grace timer whose deliveries fail is logged and the actor keeps serving", async () => {
  const log = new RecordingLogger();
  const store = new MemoryEventStore();
  // Healthy until the agent has left; the timer's requeue is the first delivery that fails.
  const publisher = new ThrowingPublisher(4);
  const clock = new FakeClock();
  const actors = new ActorSystem({ store, publisher, clock, log });
  const changes = { agentGraceSeconds: 30 };
  await actors.dispatch("acme", { type: "ChangeSettings", data: { changes, at: clock.now() } });
  await actors.dispatch("acme", connect("bob", "agent"));
  await actors.dispatch("acme", userMessage("alice", "hi"));
  await actors.dispatch("acme", {
    type: "Disconnect",
    data: { userId: "bob", role: "agent", socketId: "bob-s", at: clock.now() },
  });
  assert.deepEqual(clock.pending(), [30_000], "the grace timer is armed for the grace period");
  clock.advance(30_000);
  assert.equal((await log.next("actor.publish_failed")).company, "acme");
  await actors.idle();
  const requeued = [];
  for await (const e of store.read("acme")) {
    const data = e.data as { reason?: string };
    if (e.type === "ConversationQueued" && data.reason === "agent_offline") requeued.push(e);
  }
  assert.equal(requeued.length, 1, "the timer's events were recorded");
  const after = await actors.dispatch("acme", userMessage("alice", "still there?", 1));
  assert.ok(after.ok);
  await actors.stop();
});

Deno.test("ActorSystem: a grace timer whose append fails fires again a second later and is recorded then", async () => {
  const store = new FlakyStore(new MemoryEventStore());
  const clock = new FakeClock();
  const log = new RecordingLogger();
  const actors = new ActorSystem({ store, publisher: new RecordingPublisher(), clock, log });
  const changes = { agentGraceSeconds: 30 };
  await actors.dispatch("acme", { type: "ChangeSettings", data: { changes, at: clock.now() } });
  await actors.dispatch("acme", connect("bob", "agent"));
  await actors.dispatch("acme", userMessage("alice", "hi"));
  await actors.dispatch("acme", {
    type: "Disconnect",
    data: { userId: "bob", role: "agent", socketId: "bob-s", at: clock.now() },
  });
  const requeues = async () => {
    const found = [];
    for await (const e of store.read("acme")) {
      if (
        e.type === "ConversationQueued" &&
        (e.data as { reason?: string }).reason === "agent_offline"
      ) found.push(e.seq);
    }
    return found;
  };
  store.failing = true;
  clock.advance(30_000);
  await log.next("store.append_failed");
  await actors.idle();
  assert.deepEqual(await requeues(), []);
  assert.deepEqual(clock.pending(), [1000], "tried again in a second, not at once");
  store.failing = false;
  clock.advance(999);
  await actors.idle();
  assert.deepEqual(await requeues(), [], "not before the second is up");
  clock.advance(1);
  await actors.idle();
  assert.equal((await requeues()).length, 1, "the retried timer's requeue is recorded");
  await actors.stop();
});

/** A store where a rival writer appends just before each of ours, while `racing`. */
class RacingStore extends FlakyStore {
  racing = true;
  override async append(stream: string, expected: number, events: readonly NewEvent[]) {
    if (this.racing) {
      const rival = { type: "SettingsChanged", at: clock.now(), v: 1, data: {} };
      await this.inner.append(stream, await this.inner.version(stream), [rival]);
    }
    return super.append(stream, expected, events);
  }
}

Deno.test("ActorSystem: a command that loses every append to another writer is answered 'unavailable' after a few attempts, with a named error logged", async () => {
  const store = new RacingStore(new MemoryEventStore());
  const logged: Record<string, unknown>[] = [];
  const log = {
    ...silentLogger,
    error: (_: string, f: Record<string, unknown> = {}) => logged.push(f),
  };
  const health = new StoreHealth();
  const actors = new ActorSystem({
    store,
    publisher: new RecordingPublisher(),
    clock,
    log,
    health,
  });
  const outcome = await actors.dispatch("acme", userMessage("alice", "hi"));
  assert.deepEqual(outcome.ok ? null : outcome.error.code, "unavailable");
  assert.equal(health.writable, true, "contention is not a failing store: readiness is unchanged");
  assert.equal(store.appends, MAX_APPEND_ATTEMPTS, "one append per attempt, then no more");
  assert.ok(
    logged.some((f) => String(f.error).startsWith("ConflictRetriesExhaustedError")),
    JSON.stringify(logged),
  );
  // Nothing of the command was recorded: only the rival's events are in the log.
  for await (const e of store.read("acme")) assert.equal(e.type, "SettingsChanged");
  store.racing = false;
  const retried = await actors.dispatch("acme", userMessage("alice", "hi again", 1));
  assert.ok(retried.ok, "the next command commits once the stream holds still");
});
