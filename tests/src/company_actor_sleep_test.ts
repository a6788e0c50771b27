/**
 * Companies sleep (DESIGN §7): an idle company with nothing due leaves memory and comes back
 * from its snapshot; start-up loads only the companies marked due.
 */
import assert from "node:assert/strict";
import type { CompanyCommand, CompanyEvent, CompanyState } from "../../domain/mod.ts";
import { MemoryEventStore } from "../../adapters/store/mod.ts";
import { ActorSystem } from "../../src/company_actor.ts";
import type { Storage, StoredEvent } from "../../src/ports.ts";
import { recoverAll, WebhookDispatcher } from "../../src/webhooks.ts";
import { FakeClock, RecordingPublisher } from "../_fakes.ts";

const IDLE_SECONDS = 300;
const IDLE_MS = IDLE_SECONDS * 1000;

/** An actor system and its webhooks wired as the engine wires them, on `clock`. */
function node(store: Storage, clock: FakeClock, fetch: typeof globalThis.fetch = accept) {
  const system: ActorSystem = new ActorSystem({
    store,
    publisher: new RecordingPublisher(),
    clock,
    idleSeconds: IDLE_SECONDS,
    observer: {
      committed: (id: string, events: readonly StoredEvent<CompanyEvent>[], s: CompanyState) =>
        webhooks.committed(id, events, s),
    },
    keepAwake: (id, state) => webhooks.backlogged(id, state),
  });
  const webhooks: WebhookDispatcher = new WebhookDispatcher({
    store,
    stateOf: (id): CompanyState => system.actor(id).state,
    clock,
    fetch,
    allowPrivate: true,
  });
  return { system, webhooks };
}

const accept: typeof fetch = () => Promise.resolve(new Response(null, { status: 204 }));

/** Moves `ms` on, letting each timer's work (a sleep, a grace period) finish before the next. */
async function pass(system: ActorSystem, clock: FakeClock, ms: number, step = 1000) {
  for (let left = ms; left > 0; left -= step) {
    clock.advance(Math.min(step, left));
    await system.idle();
  }
}

function connect(clock: FakeClock, userId: string, role: "user" | "agent"): CompanyCommand {
  return { type: "Connect", data: { userId, role, socketId: `${userId}-s`, at: clock.now() } };
}

function disconnect(clock: FakeClock, userId: string, role: "user" | "agent"): CompanyCommand {
  return {
    type: "Disconnect",
    data: { userId, role, socketId: `${userId}-s`, at: clock.now(), last: true },
  };
}

function message(clock: FakeClock, userId: string, text = "hi"): CompanyCommand {
  return {
    type: "SendMessage",
    data: {
      sender: { userId, role: "user" },
      userId,
      text,
      messageId: `${userId}-${text}`,
      conversationId: `c-${userId}`,
      at: clock.now(),
    },
  };
}

function settings(clock: FakeClock, changes: Record<string, unknown>): CompanyCommand {
  return { type: "ChangeSettings", data: { changes, at: clock.now() } };
}

async function requeues(store: Storage, company: string): Promise<number> {
  let n = 0;
  for await (const e of store.read(company)) {
    if (
      e.type === "ConversationQueued" && (e.data as { reason?: string }).reason === "agent_offline"
    ) {
      n++;
    }
  }
  return n;
}

async function due(store: Storage): Promise<string[]> {
  const found: string[] = [];
  for await (const stream of store.dueStreams()) found.push(stream);
  return found.sort();
}

Deno.test("ActorSystem: an idle actor leaves memory after ACTOR_IDLE_SECONDS, and not while a socket is online or a grace timer is pending", async () => {
  const clock = new FakeClock();
  const store = new MemoryEventStore();
  const { system } = node(store, clock);
  await system.dispatch("acme", settings(clock, { agentGraceSeconds: 600 }));
  await system.dispatch("acme", connect(clock, "bob", "agent"));
  await system.dispatch("acme", message(clock, "alice"));

  await pass(system, clock, 10 * IDLE_MS, IDLE_MS);
  assert.equal(system.awake("acme"), true, "an agent is online: it stays");

  await system.dispatch("acme", disconnect(clock, "bob", "agent"));
  await pass(system, clock, 599_000, IDLE_MS / 3);
  assert.equal(system.awake("acme"), true, "bob's grace period is pending: it stays");
  assert.equal(await requeues(store, "acme"), 0);
  await pass(system, clock, 1000);
  assert.equal(await requeues(store, "acme"), 1, "the grace period ran out in memory");

  await pass(system, clock, IDLE_MS - 1000);
  assert.equal(system.awake("acme"), true, "not before ACTOR_IDLE_SECONDS without a command");
  await pass(system, clock, 1000);
  assert.equal(system.awake("acme"), false, "gone once idle with nothing due");
  assert.equal(system.size, 0);
  const version = await store.version("acme");
  assert.equal((await store.loadSnapshot("acme"))?.version, version, "snapshotted first");
  assert.deepEqual(await due(store), [], "not loaded at the next start-up");
  await system.stop();
});

Deno.test("ActorSystem: an actor that slept comes back from its snapshot with the same state and timers, without a presence reset", async () => {
  const clock = new FakeClock();
  const store = new MemoryEventStore();
  const { system } = node(store, clock);
  await system.dispatch("acme", settings(clock, { agentGraceSeconds: 30, maxChatsPerAgent: 2 }));
  await system.dispatch("acme", connect(clock, "bob", "agent"));
  await system.dispatch("acme", message(clock, "alice"));
  await system.dispatch("acme", message(clock, "carol"));
  await system.dispatch("acme", disconnect(clock, "bob", "agent"));
  await pass(system, clock, 30_000);
  assert.equal(await requeues(store, "acme"), 2);
  const held = system.actor("acme");
  const before = held.state;

  await pass(system, clock, IDLE_MS, IDLE_MS / 4);
  assert.equal(held.awake, false, "it slept");
  const version = await store.version("acme");
  assert.equal(version, before.version);

  const back = await system.actor("acme").current();
  assert.notEqual(system.actor("acme"), held, "a new actor, loaded from the store");
  assert.deepEqual(back, before, "the same state");
  assert.equal(await store.version("acme"), version, "waking recorded nothing: nobody was online");

  // A command through the actor held from before it slept reaches the awake one.
  const connected = await held.dispatch(connect(clock, "bob", "agent"));
  assert.ok(connected.ok);
  assert.equal(held.state.agents.get("bob")?.sockets.length, 1);
  await system.dispatch("acme", disconnect(clock, "bob", "agent"));
  assert.ok(clock.pending().includes(30_000), "the grace period from the settings before sleep");
  await pass(system, clock, 30_000);
  assert.equal(await requeues(store, "acme"), 4, "both conversations requeued again");
  await system.stop();
});

Deno.test("ActorSystem: start-up after a crash loads only companies with work due, and every grace timer and webhook still fires", async () => {
  const store = new MemoryEventStore();
  const clock = new FakeClock();
  const refuse: typeof fetch = () => Promise.resolve(new Response(null, { status: 503 }));
  const first = node(store, clock, refuse);
  for (let i = 0; i < 20; i++) {
    await first.system.dispatch(`idle-${i}`, message(clock, "alice"));
  }
  await pass(first.system, clock, IDLE_MS, IDLE_MS / 2);
  assert.equal(first.system.size, 0, "the idle companies slept");
  // Crashed with a grace period pending, with an agent online, with a webhook refused.
  await first.system.dispatch("grace", connect(clock, "bob", "agent"));
  await first.system.dispatch("grace", message(clock, "alice"));
  await first.system.dispatch("grace", disconnect(clock, "bob", "agent"));
  await first.system.dispatch("online", connect(clock, "dan", "agent"));
  await first.system.dispatch("online", message(clock, "erin"));
  await first.system.dispatch("hook", settings(clock, { webhookUrl: "https://hooks.test/in" }));
  await first.system.dispatch("hook", {
    type: "TransferToAgent",
    data: { userId: "fay", context: {}, conversationId: "c-fay", at: clock.now() },
  });
  await clock.armed((ms) => ms === 500); // the webhook's first retry: the call was refused

  const later = new FakeClock(clock.now());
  const calls: string[] = [];
  const delivered = Promise.withResolvers<void>();
  const record: typeof fetch = async (_url, init) => {
    calls.push(JSON.parse(String(init?.body)).type);
    delivered.resolve();
    return await accept("");
  };
  const second = node(store, later, record);
  assert.equal(await recoverAll(second.system, second.webhooks), 3);
  assert.deepEqual(
    ["grace", "online", "hook", "idle-0"].map((id) => second.system.awake(id)),
    [true, true, true, false],
  );
  await delivered.promise;
  assert.deepEqual(calls, ["handoff.queued"], "the webhook backlog resumed");
  await pass(second.system, later, 60_000);
  assert.equal(await requeues(store, "grace"), 1, "the pending grace period fired");
  assert.equal(await requeues(store, "online"), 1, "the agent online at the crash was reset");
  await second.system.stop();
  await second.webhooks.stop();
  await first.webhooks.stop();
});

Deno.test("ActorSystem: a company stays in memory while its webhook backlog is undelivered, then sleeps", async () => {
  const store = new MemoryEventStore();
  const clock = new FakeClock();
  let up = false;
  const flaky: typeof fetch = () => Promise.resolve(new Response(null, { status: up ? 204 : 503 }));
  const { system, webhooks } = node(store, clock, flaky);
  await system.dispatch("hook", settings(clock, { webhookUrl: "https://hooks.test/in" }));
  await system.dispatch("hook", {
    type: "TransferToAgent",
    data: { userId: "fay", context: {}, conversationId: "c-fay", at: clock.now() },
  });
  await pass(system, clock, 3 * IDLE_MS, IDLE_MS / 10);
  assert.equal(system.awake("hook"), true, "the backlog keeps it");
  up = true;
  await pass(system, clock, 2 * IDLE_MS, IDLE_MS / 10);
  assert.equal(system.awake("hook"), false, "delivered, then asleep");
  assert.equal(await store.checkpoint("webhooks:hook"), await store.version("hook"));
  assert.deepEqual(await due(store), []);
  await system.stop();
  await webhooks.stop();
});
