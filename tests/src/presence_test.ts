import assert from "node:assert/strict";
import { MemoryEventStore } from "../../adapters/store/mod.ts";
import { ActorSystem } from "../../src/company_actor.ts";
import { OFFLINE_DELAY_MS, Presence } from "../../src/presence.ts";
import { FakeClock, RecordingPublisher } from "../_fakes.ts";

function setup(maxSockets?: number) {
  const store = new MemoryEventStore();
  const clock = new FakeClock();
  const system = new ActorSystem({ store, publisher: new RecordingPublisher(), clock });
  const presence = new Presence({
    dispatch: (company, command) => system.dispatch(company, command),
    clock,
    maxSockets,
  });
  /** The presence events in the log. */
  const recorded = async () => {
    await system.idle();
    const types: string[] = [];
    for await (const e of store.read("acme")) {
      if (e.type === "SocketConnected" || e.type === "SocketDisconnected") types.push(e.type);
    }
    return types;
  };
  return { store, clock, system, presence, recorded };
}

const alice = { companyId: "acme", role: "user", userId: "alice" } as const;

Deno.test("Presence: a single connect and disconnect are recorded at once", async () => {
  const { presence, clock, recorded, system } = setup();
  presence.open(alice, "s1");
  await presence.connect(alice, "s1", false);
  presence.close(alice, "s1");
  assert.deepEqual(clock.pending(), [], "a normal disconnect is not deferred");
  assert.deepEqual(await recorded(), ["SocketConnected", "SocketDisconnected"]);
  assert.equal(system.actor("acme").state.users.has("alice"), false);
});

Deno.test("Presence: 100 connect/disconnect cycles of one user write 4 presence events, not 200", async () => {
  const { presence, clock, recorded, system } = setup();
  for (let i = 0; i < 100; i++) {
    clock.time += 50;
    presence.open(alice, `s${i}`);
    const outcome = await presence.connect(alice, `s${i}`, false);
    assert.ok(outcome?.ok);
    presence.close(alice, `s${i}`);
  }
  // Online, offline, back within the flap window (recorded), then every later cycle is absorbed.
  assert.deepEqual(await recorded(), ["SocketConnected", "SocketDisconnected", "SocketConnected"]);
  assert.equal(system.actor("acme").state.users.has("alice"), true, "gone is only deferred");
  clock.advance(OFFLINE_DELAY_MS);
  assert.deepEqual(await recorded(), [
    "SocketConnected",
    "SocketDisconnected",
    "SocketConnected",
    "SocketDisconnected",
  ]);
  assert.equal(system.actor("acme").state.users.has("alice"), false);
});

Deno.test("Presence: a second tab writes nothing, opening or closing, in either order", async () => {
  const { presence, recorded, system } = setup();
  presence.open(alice, "s1");
  await presence.connect(alice, "s1", false);
  presence.open(alice, "s2");
  await presence.connect(alice, "s2", false);
  presence.close(alice, "s1"); // the recorded socket goes first
  assert.deepEqual(await recorded(), ["SocketConnected"]);
  assert.equal(system.actor("acme").state.users.has("alice"), true);
  presence.close(alice, "s2");
  assert.deepEqual(await recorded(), ["SocketConnected", "SocketDisconnected"]);
  assert.equal(system.actor("acme").state.users.has("alice"), false);
});

Deno.test("Presence: a socket closed before its Connect was dispatched records nothing and leaves no ghost", async () => {
  const { presence, recorded } = setup();
  presence.open(alice, "s1");
  presence.close(alice, "s1");
  assert.equal(presence.connect(alice, "s1", true), null);
  assert.deepEqual(await recorded(), []);
});

Deno.test("Presence: one socket more than the limit returns the identity's oldest to close", () => {
  const { presence } = setup(3);
  const bob = { companyId: "acme", role: "agent", userId: "bob" } as const;
  assert.deepEqual(["s1", "s2", "s3"].map((s) => presence.open(bob, s)), [[], [], []]);
  assert.deepEqual(presence.open(alice, "a1"), [], "another identity has its own count");
  assert.deepEqual(presence.open(bob, "s4"), ["s1"]);
  assert.deepEqual(presence.sockets(bob), ["s2", "s3", "s4"]);
});

Deno.test("Presence: stop() writes a deferred offline record at once", async () => {
  const { presence, clock, recorded } = setup();
  for (const s of ["s1", "s2"]) {
    clock.time += 100;
    presence.open(alice, s);
    await presence.connect(alice, s, false);
    presence.close(alice, s);
  }
  assert.deepEqual(clock.pending(), [OFFLINE_DELAY_MS], "the second offline is deferred");
  presence.stop();
  assert.deepEqual(clock.pending(), []);
  assert.deepEqual((await recorded()).at(-1), "SocketDisconnected");
});
