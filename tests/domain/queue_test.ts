/**
 * Queue updates that do not grow with the queue (DESIGN §7): agents get the first page and
 * the total, or what changed past it; a waiting user is told their shown place when it moves.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type CompanyCommand,
  type CompanyEvent,
  type CompanyState,
  type Delivery,
  fold,
  queueView,
  step,
} from "../../domain/mod.ts";
import { shownPosition } from "../../domain/views.ts";
import {
  assigned,
  at,
  claim,
  connected,
  given,
  handedOff,
  handoff,
  MANUAL,
  opened,
  queued,
  release,
  resolve,
  settingsChanged,
} from "./_spec.ts";

const AGENTS = { kind: "agents" } as const;
const waiting = (user: string) => [
  opened({ user }),
  handedOff({ user, context: "x" }),
  queued({ user }),
];
/** A company in manual mode with bob online and `n` users waiting, `u0` first. */
function queueOf(n: number): CompanyEvent[] {
  return [
    MANUAL,
    settingsChanged({ maxChatsPerAgent: 1000 }),
    connected({ user: "bob", role: "agent" }),
    ...Array.from({ length: n }, (_, i) => waiting(`u${i}`)).flat(),
  ];
}
const entry = (user: string, position: number) => ({
  user_id: user,
  conversation_id: `c-${user}`,
  position,
  queued_at: at,
});
const toAgents = (ds: Delivery[]) =>
  ds.filter((d) => d.to.kind === "agents" && d.event.startsWith("queue"));
const toUsers = (ds: Delivery[]) =>
  ds.filter((d) => d.to.kind === "user" && d.event === "queue")
    .map((d) => [d.to.kind === "user" ? d.to.userId : "", d.payload.position]);

Deno.test("shownPosition() is exact up to 100, then rounded up to two significant digits, never decreasing", () => {
  assert.deepEqual(
    [1, 99, 100, 101, 110, 111, 999, 1000, 1001, 1234, 9901, 10_000, 10_001].map(shownPosition),
    [1, 99, 100, 110, 110, 120, 1000, 1000, 1100, 1300, 10_000, 10_000, 11_000],
  );
  for (let p = 1; p < 20_000; p++) assert.ok(shownPosition(p + 1) >= shownPosition(p));
});

Deno.test("deliveries() a handoff into a short queue sends agents the whole queue with its total", () => {
  const out = given(...queueOf(2)).when(handoff({ user: "new", context: "x" }))
    .then(
      opened({ user: "new" }),
      handedOff({ user: "new", context: "x" }),
      queued({ user: "new" }),
    )
    .deliveries();
  assert.deepEqual(toAgents(out), [{
    to: AGENTS,
    event: "queue",
    payload: { queue: [entry("u0", 1), entry("u1", 2), entry("new", 3)], total: 3 },
  }]);
  assert.deepEqual(toUsers(out), [["new", 3]]);
});

Deno.test("deliveries() a handoff past the first page sends agents only what was added and the total, and tells only the new user", () => {
  const out = given(...queueOf(150)).when(handoff({ user: "new", context: "x" }))
    .then(
      opened({ user: "new" }),
      handedOff({ user: "new", context: "x" }),
      queued({ user: "new" }),
    )
    .deliveries();
  assert.deepEqual(toAgents(out), [{
    to: AGENTS,
    event: "queue_changed",
    payload: { added: [entry("new", 151)], removed: [], total: 151 },
  }]);
  assert.deepEqual(toUsers(out), [["new", 160]]);
});

Deno.test("deliveries() taking the first of a long queue sends agents the new first page, and tells the first 100 and those crossing a step", () => {
  const out = given(...queueOf(150)).when(claim({ agent: "bob", user: "u0" }))
    .then(assigned({ user: "u0", agent: "bob", by: "claim" })).deliveries();
  const [page] = toAgents(out);
  assert.equal(page.event, "queue");
  assert.equal(page.payload.total, 149);
  assert.deepEqual(
    page.payload.queue,
    Array.from({ length: 100 }, (_, i) => entry(`u${i + 1}`, i + 1)),
  );
  assert.deepEqual(toUsers(out), [
    ["u0", null],
    ...Array.from({ length: 100 }, (_, i) => [`u${i + 1}`, i + 1]),
    ["u110", 110],
    ["u120", 120],
    ["u130", 130],
    ["u140", 140],
  ]);
});

Deno.test("deliveries() taking one from past the first page sends agents what was removed and moves only those behind it", () => {
  const out = given(...queueOf(150)).when(claim({ agent: "bob", user: "u120" }))
    .then(assigned({ user: "u120", agent: "bob", by: "claim" })).deliveries();
  assert.deepEqual(toAgents(out), [{
    to: AGENTS,
    event: "queue_changed",
    payload: { added: [], removed: ["u120"], total: 149 },
  }]);
  // u120 was shown 130 (its place 121); u129 now at 129 < 130 is shown 130 still; u130, now
  // at 130, was shown 140: the one step crossed.
  assert.deepEqual(toUsers(out), [["u120", null], ["u130", 130], ["u140", 140]]);
});

Deno.test("deliveries() a release puts the conversation first and moves everyone one back", () => {
  const history = [...queueOf(3), ...waiting("ann"), assigned({ user: "ann", agent: "bob" })];
  const out = given(...history).when(release({ agent: "bob", user: "ann" }))
    .then(queued({ user: "ann", reason: "released", agent: "bob" })).deliveries();
  assert.deepEqual(toAgents(out)[0].payload, {
    queue: [entry("ann", 1), entry("u0", 2), entry("u1", 3), entry("u2", 4)],
    total: 4,
  });
  assert.deepEqual(toUsers(out), [["ann", 1], ["u0", 2], ["u1", 3], ["u2", 4]]);
});

/** What an agent console holds: the page it was last sent and the total. */
interface AgentView {
  page: unknown[];
  total: number;
}

Deno.test("deliveries() for any queue moves, each waiting user holds their shown place and agents hold the first page and the total", () => {
  const op = fc.oneof(
    fc.constant({ kind: "handoff" as const, pick: 0 }),
    fc.record({
      kind: fc.constantFrom("claim" as const, "release" as const, "resolve" as const),
      pick: fc.nat(),
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 230 }), fc.array(op, { maxLength: 30 }), (n, ops) => {
      let state: CompanyState = fold(queueOf(n));
      const held = new Map<string, number | null>();
      [...state.queue].forEach((u, i) => held.set(u, shownPosition(i + 1)));
      const agent: AgentView = {
        page: queueView(state).queue as unknown[],
        total: state.queue.size,
      };
      let fresh = 0;
      for (const { kind, pick } of ops) {
        const queuedUsers = [...state.queue];
        const mine = [...state.conversations.values()].filter((c) => c.assignee === "bob");
        let command: CompanyCommand | null = null;
        if (kind === "handoff") command = handoff({ user: `n${fresh++}`, context: "x" });
        else if (kind === "release" && mine.length) {
          command = release({ agent: "bob", user: mine[pick % mine.length].userId });
        } else if (kind !== "release" && queuedUsers.length) {
          const user = queuedUsers[pick % queuedUsers.length];
          command = kind === "claim"
            ? claim({ agent: "bob", user })
            : resolve({ agent: "bob", user, returnToBot: pick % 2 === 0 });
        }
        if (!command) continue;
        const stepped = step(state, command);
        assert.ok(stepped.ok);
        state = stepped.state;
        for (const d of stepped.deliveries) {
          if (d.to.kind === "user" && d.event === "queue") {
            held.set(d.to.userId, d.payload.position as number | null);
          }
          if (d.to.kind !== "agents") continue;
          if (d.event === "queue") {
            agent.page = d.payload.queue as unknown[];
            agent.total = d.payload.total as number;
          } else if (d.event === "queue_changed") {
            agent.total = d.payload.total as number;
            // Past the first page: what it adds or removes never lands in it.
            for (const e of d.payload.added as { position: number }[]) {
              assert.ok(e.position > 100);
            }
          }
        }
        const order = [...state.queue];
        order.forEach((u, i) => assert.equal(held.get(u), shownPosition(i + 1), u));
        for (const [u, p] of held) if (!state.queue.has(u)) assert.equal(p, null, u);
        assert.deepEqual(agent, {
          page: queueView(state).queue,
          total: state.queue.size,
        });
      }
    }),
    { numRuns: 60 },
  );
});
