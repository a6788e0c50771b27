import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type CompanyCommand,
  type CompanyEvent,
  type CompanyState,
  decide,
  deliveries,
  type Delivery,
  evolve,
  fold,
  initialState,
} from "../../domain/mod.ts";

/** Commands over a small pool of identities, so connects, tabs and conversations collide. */
function commandArb(company: string, people: readonly string[]): fc.Arbitrary<CompanyCommand> {
  const userId = fc.constantFrom(...people);
  const socketId = fc.integer({ min: 1, max: 3 }).map((n) => `${company}-sock-${n}`);
  const role = fc.constantFrom("user" as const, "agent" as const);
  const at = fc.integer({ min: 0, max: 2_000_000_000_000 });
  const text = fc.string({ maxLength: 12 });
  const id = fc.uuid();
  return fc.oneof(
    fc.record({ userId, role, socketId, at }).map((data) => ({ type: "Connect" as const, data })),
    fc.record({ userId, role, socketId, at }).map((data) => ({
      type: "Disconnect" as const,
      data,
    })),
    fc.record({
      sender: fc.record({ userId, role }),
      userId,
      text,
      messageId: id,
      conversationId: id,
      socketId,
      at,
    })
      .map((data) => ({
        type: "SendMessage" as const,
        data: data.sender.role === "user" ? { ...data, userId: data.sender.userId } : data,
      })),
    fc.record({ userId, context: text, conversationId: id, at })
      .map((data) => ({ type: "TransferToAgent" as const, data })),
    at.map((at) => ({ type: "ResetPresence" as const, data: { at } })),
  );
}

/** Runs commands through decide/evolve as the actor does; returns events and deliveries. */
function run(commands: readonly CompanyCommand[]) {
  let state: CompanyState = initialState();
  const events: CompanyEvent[] = [];
  const out: Delivery[] = [];
  const reached: Delivery[] = [];
  for (const command of commands) {
    const decision = decide(state, command);
    if (!decision.ok) continue;
    for (const event of decision.events) {
      const next = deliveries(state, event);
      out.push(...next);
      reached.push(...next.filter((d) => someoneIsThere(state, d)));
      state = evolve(state, event);
      events.push(event);
    }
  }
  return { state, events, deliveries: out, reached };
}

/** Whether a delivery's audience had anyone online when it was emitted. */
function someoneIsThere(state: CompanyState, d: Delivery): boolean {
  switch (d.to.kind) {
    case "socket":
      return true;
    case "agents":
      return state.agents.size > 0;
    case "agent":
      return state.agents.has(d.to.userId);
    case "user":
      return state.users.has(d.to.userId);
  }
}

Deno.test("evolve() over any generated history is deterministic, also when folded in pieces", () => {
  fc.assert(
    fc.property(
      fc.array(commandArb("a", ["ann", "joe"]), { maxLength: 60 }),
      fc.nat(),
      (commands, cut) => {
        const { state, events } = run(commands);
        assert.deepEqual(fold(events), state);
        assert.deepEqual(fold(events), fold(events));
        const k = events.length ? cut % events.length : 0;
        assert.deepEqual(fold(events.slice(k), fold(events.slice(0, k))), state);
        assert.equal(state.version, events.length);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("deliveries() of one company never address another company's people or sockets", () => {
  const A = ["ann", "joe", "sam"];
  const B = ["bea", "kim", "sam"]; // "sam" exists in both companies: a different person in each
  fc.assert(
    fc.property(
      fc.array(commandArb("a", A), { maxLength: 50 }),
      fc.array(commandArb("b", B), { maxLength: 50 }),
      (forA, forB) => {
        for (const [company, people, commands] of [["a", A, forA], ["b", B, forB]] as const) {
          const sockets = new Set(
            commands.flatMap((c) => (c.type === "Connect" ? [c.data.socketId] : [])),
          );
          for (const d of run(commands).deliveries) {
            if (d.to.kind === "socket") assert.ok(sockets.has(d.to.socketId), `${company} socket`);
            if (d.to.kind === "user" || d.to.kind === "agent") {
              assert.ok(people.includes(d.to.userId));
            }
            if (d.except) assert.ok(d.except.startsWith(`${company}-`));
            for (const key of ["user_id", "from"] as const) {
              const v = d.payload[key];
              if (v !== undefined) assert.ok(people.includes(v as string), `${key} ${v}`);
            }
            for (const u of (d.payload.users ?? []) as string[]) assert.ok(people.includes(u));
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("deliveries() every user message accepted while no agent is online is later delivered to an agent", () => {
  fc.assert(
    fc.property(fc.array(commandArb("a", ["ann", "joe"]), { maxLength: 60 }), (commands) => {
      const agent: CompanyCommand = {
        type: "Connect",
        data: { userId: "zed", role: "agent", socketId: "a-sock-zed", at: 0 },
      };
      const { events, reached } = run([...commands, agent]);
      const toAgents = new Set(
        reached.filter((d) => d.event === "message" && d.to.kind !== "user").map((d) =>
          d.payload.id
        ),
      );
      for (const e of events) {
        if (e.type === "MessageSent" && e.data.senderRole === "user") {
          assert.ok(
            toAgents.has(e.data.messageId),
            `message ${e.data.messageId} never reached an agent`,
          );
        }
      }
    }),
    { numRuns: 300 },
  );
});
