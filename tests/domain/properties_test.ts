import assert from "node:assert/strict";
import fc from "fast-check";
import { countLoads } from "../../domain/state.ts";
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
  isOnline,
  loadOf,
  pickAgent,
  step,
  toSnapshot,
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
    fc.record({ agentId: userId, userId, returnToBot: fc.boolean(), at })
      .map((data) => ({ type: "Resolve" as const, data })),
    fc.record({ agentId: userId, status: fc.constantFrom("available", "away" as const), at })
      .map((data) => ({ type: "SetAgentStatus" as const, data })),
    fc.record({ agentId: userId, userId, noteId: id, text, at })
      .map((data) => ({ type: "AddNote" as const, data })),
    fc.record({ userId, score: fc.integer({ min: 0, max: 6 }), comment: fc.option(text), at })
      .map((data) => ({ type: "Rate" as const, data })),
  );
}

/** Runs commands through decide/evolve as the actor does; returns events and deliveries. */
function run(commands: readonly CompanyCommand[]) {
  let state: CompanyState = initialState();
  const events: CompanyEvent[] = [];
  const out: Delivery[] = [];
  const reached: Delivery[] = [];
  for (const command of commands) {
    // Agents act through their sockets: an agent with none sends nothing (as the adapter ensures).
    const agentId = command.type === "SendMessage"
      ? (command.data.sender.role === "agent" ? command.data.sender.userId : undefined)
      : command.type === "Resolve" || command.type === "AddNote"
      ? command.data.agentId
      : undefined;
    if (agentId !== undefined && !isOnline(state.agents.get(agentId))) continue;
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
    case "users":
      return state.users.size > 0;
  }
}

Deno.test("evolve() over any generated history is deterministic, also when folded in pieces", () => {
  fc.assert(
    fc.property(
      fc.array(commandArb("a", ["ann", "joe"]), { minLength: 10, maxLength: 80 }),
      fc.nat(),
      (commands, cut) => {
        const { state, events } = run(commands);
        assert.deepEqual(fold(events), state);
        assert.deepEqual(fold(events), fold(events));
        const k = events.length ? cut % events.length : 0;
        const head = fold(events.slice(0, k));
        const before = JSON.stringify(toSnapshot(head));
        assert.deepEqual(fold(events.slice(k), head), state);
        assert.equal(
          JSON.stringify(toSnapshot(head)),
          before,
          "fold never changes its start state",
        );
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
      fc.array(commandArb("a", A), { minLength: 10, maxLength: 80 }),
      fc.array(commandArb("b", B), { minLength: 10, maxLength: 80 }),
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
            for (const key of ["user_id", "from", "agent_id", "to_agent_id"] as const) {
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
    fc.property(
      fc.array(commandArb("a", ["ann", "joe"]), { minLength: 10, maxLength: 80 }),
      (commands) => {
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
      },
    ),
    { numRuns: 300 },
  );
});

/** Lifecycle commands over a few agents and users, with time moving forward. */
function lifecycleArb(): fc.Arbitrary<CompanyCommand[]> {
  const users = ["ann", "ben", "cat", "dan"];
  const agents = ["bob", "eve", "fay"];
  const user = fc.constantFrom(...users);
  const agent = fc.constantFrom(...agents);
  const socket = fc.constantFrom("s1", "s2");
  const step = fc.oneof(
    fc.record({ a: agent, s: socket }).map(({ a, s }) => (at: number): CompanyCommand => ({
      type: "Connect",
      data: { userId: a, role: "agent", socketId: `${a}-${s}`, at },
    })),
    fc.record({ a: agent, s: socket }).map(({ a, s }) => (at: number): CompanyCommand => ({
      type: "Disconnect",
      data: { userId: a, role: "agent", socketId: `${a}-${s}`, at },
    })),
    user.map((u) => (at: number): CompanyCommand => ({
      type: "TransferToAgent",
      data: { userId: u, context: "ctx", conversationId: `c-${u}-${at}`, at },
    })),
    user.map((u) => (at: number): CompanyCommand => ({
      type: "SendMessage",
      data: {
        sender: { userId: u, role: "user" },
        userId: u,
        text: "hi",
        messageId: `m${at}`,
        conversationId: `c-${u}-${at}`,
        at,
      },
    })),
    fc.record({ a: agent, u: user }).map(({ a, u }) => (at: number): CompanyCommand => ({
      type: "Claim",
      data: { agentId: a, userId: u, at },
    })),
    fc.record({ a: agent, u: user }).map(({ a, u }) => (at: number): CompanyCommand => ({
      type: "Release",
      data: { agentId: a, userId: u, at },
    })),
    fc.record({ a: agent, u: user, b: fc.boolean() }).map(
      ({ a, u, b }) => (at: number): CompanyCommand => ({
        type: "Resolve",
        data: { agentId: a, userId: u, returnToBot: b, at },
      }),
    ),
    fc.record({ a: agent, u: user, to: agent }).map(
      ({ a, u, to }) => (at: number): CompanyCommand => ({
        type: "Transfer",
        data: { agentId: a, userId: u, toAgentId: to, note: "", at },
      }),
    ),
    fc.record({ a: agent, s: fc.constantFrom("available" as const, "away" as const) }).map(
      ({ a, s }) => (at: number): CompanyCommand => ({
        type: "SetAgentStatus",
        data: { agentId: a, status: s, at },
      }),
    ),
    fc.record({ a: agent, u: user }).map(({ a, u }) => (at: number): CompanyCommand => ({
      type: "SendMessage",
      data: {
        sender: { userId: a, role: "agent" },
        userId: u,
        text: "ok",
        messageId: `m${at}`,
        conversationId: `c-${u}-${at}`,
        at,
      },
    })),
    agent.map((a) => (at: number): CompanyCommand => ({
      type: "ExpireGrace",
      data: { agentId: a, at },
    })),
    fc.constantFrom("auto" as const, "manual" as const).map(
      (mode) => (at: number): CompanyCommand => ({
        type: "ChangeSettings",
        data: { changes: { assignment: mode }, at },
      }),
    ),
  );
  return fc.tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.array(fc.tuple(step, fc.integer({ min: 0, max: 40_000 })), {
      minLength: 30,
      maxLength: 150,
    }),
  )
    .map(([capacity, steps]) => {
      let at = 1_000_000;
      const out: CompanyCommand[] = [{
        type: "ChangeSettings",
        data: { changes: { maxChatsPerAgent: capacity, agentGraceSeconds: 30 }, at },
      }];
      for (const [make, dt] of steps) out.push(make(at += dt));
      return out;
    });
}

Deno.test("lifecycle: under any interleaving no agent exceeds capacity, nothing is both queued and assigned, and the queue drains whenever an agent has room", () => {
  fc.assert(
    fc.property(lifecycleArb(), (commands) => {
      let state = initialState();
      for (const command of commands) {
        const decision = decide(state, command);
        if (!decision.ok) continue;
        for (const event of decision.events) {
          state = evolve(state, event);
          if (event.type === "ConversationAssigned" || event.type === "ConversationTransferred") {
            const agentId = event.type === "ConversationAssigned"
              ? event.data.agentId
              : event.data.toAgentId;
            assert.ok(
              loadOf(state, agentId) <= state.settings.maxChatsPerAgent,
              `${agentId} over capacity`,
            );
          }
        }
        const order = [...state.queue];
        assert.equal(new Set(order).size, state.queue.size, "the queue holds each user once");
        order.forEach((userId, i) => {
          assert.equal(state.queue.indexOf(userId), i, `${userId}'s rank`);
          assert.equal(state.queue.at(i), userId, `the user at ${i}`);
        });
        assert.deepEqual(state.queue.slice(1, 4), order.slice(1, 4));
        assert.deepEqual(
          state.loads,
          countLoads(state.conversations.values()),
          "each agent's load is what they hold",
        );
        for (const c of state.conversations.values()) {
          assert.equal(
            c.status === "queued",
            state.queue.has(c.userId),
            `${c.userId} ${c.status}`,
          );
          assert.equal(c.status === "assigned", c.assignee !== null);
        }
        if (state.settings.assignment === "auto") {
          for (const userId of state.queue) {
            const releasedBy = state.conversations.get(userId)!.releasedBy;
            assert.equal(
              pickAgent(state, releasedBy),
              undefined,
              `${userId} waits while an agent has room`,
            );
          }
        }
      }
    }),
    { numRuns: 400 },
  );
});

Deno.test("step() gives decide()'s events, the state evolve() gives, and deliveries() of each event", () => {
  fc.assert(
    fc.property(lifecycleArb(), (commands) => {
      let state = initialState();
      for (const command of commands) {
        const decision = decide(state, command);
        const stepped = step(state, command);
        if (!decision.ok) {
          assert.deepEqual(stepped, decision);
          continue;
        }
        assert.ok(stepped.ok);
        assert.deepEqual(stepped.events, decision.events);
        assert.deepEqual(stepped.result, decision.result);
        assert.deepEqual(stepped.duplicateOf, decision.duplicateOf);
        if (decision.events.length === 0) assert.equal(stepped.state, state);
        const expected: Delivery[] = [];
        let applied = state;
        for (const event of decision.events) {
          expected.push(...deliveries(applied, event));
          applied = evolve(applied, event);
        }
        expected.push(...(decision.notify ?? []));
        assert.deepEqual(stepped.state, applied);
        assert.deepEqual(stepped.deliveries, expected);
        state = stepped.state;
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("evolve(): the live state is sized by what is open: any number of resolved conversations before leaves the same conversations, and none resolved", () => {
  const past = (n: number): CompanyEvent[] =>
    Array.from({ length: n }, (_, i): CompanyEvent[] => {
      const userId = `past${i}`;
      const conversationId = `pc${i}`;
      return [
        { type: "ConversationOpened", at: i, data: { conversationId, userId } },
        { type: "ConversationQueued", at: i, data: { conversationId, userId, reason: "message" } },
        {
          type: "ConversationResolved",
          at: i,
          data: { conversationId, userId, agentId: "a", returnToBot: false },
        },
      ];
    }).flat();
  fc.assert(
    fc.property(
      fc.nat(300),
      fc.array(commandArb("acme", ["ann", "joe", "sam"]), { maxLength: 40 }),
      (n, commands) => {
        const run = (start: CompanyState) => {
          let state = start;
          for (const command of commands) {
            const s = step(state, command);
            if (s.ok) state = s.state;
          }
          return state;
        };
        const fresh = run(initialState());
        const old = run(fold(past(n)));
        assert.deepEqual([...old.conversations.keys()], [...fresh.conversations.keys()]);
        for (const c of old.conversations.values()) assert.notEqual(c.status, "resolved");
        assert.equal(toSnapshot(old).conversations.length, fresh.conversations.size);
      },
    ),
    { numRuns: 100 },
  );
});
