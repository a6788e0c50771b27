/** Routing: live delivery and resume follow one set of rules. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type CompanyCommand,
  type Delivery,
  initialState,
  isOnline,
  reaches,
  type Recipient,
  resumeDeliveries,
  step,
} from "../../domain/mod.ts";

const PEOPLE = ["ann", "joe", "sam"];

/** Commands over a few people and sockets: connects, messages, handoffs, reads, lifecycle. */
function commandArb(): fc.Arbitrary<CompanyCommand> {
  const userId = fc.constantFrom(...PEOPLE);
  const socketId = fc.integer({ min: 1, max: 3 }).map((n) => `sock-${n}`);
  const role = fc.constantFrom("user" as const, "agent" as const);
  const at = fc.integer({ min: 0, max: 2_000_000_000_000 });
  const text = fc.constantFrom("hi", "ok", " ", "thanks");
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
    }).map((data) => ({
      type: "SendMessage" as const,
      data: data.sender.role === "user" ? { ...data, userId: data.sender.userId } : data,
    })),
    fc.record({ userId, context: text, conversationId: id, at })
      .map((data) => ({ type: "TransferToAgent" as const, data })),
    fc.record({ botId: fc.constant("bot"), userId, conversationId: id, at, messageId: id })
      .map(({ messageId, ...data }) => ({
        type: "PostTranscript" as const,
        data: { ...data, lines: [{ role: "user" as const, text: "before", messageId }] },
      })),
    fc.record({ reader: fc.record({ userId, role }), userId, seq: fc.nat(60), at })
      .map((data) => ({ type: "MarkRead" as const, data })),
    fc.record({ agentId: userId, userId, at }).map((data) => ({ type: "Claim" as const, data })),
    fc.record({ agentId: userId, userId, returnToBot: fc.boolean(), at })
      .map((data) => ({ type: "Resolve" as const, data })),
    fc.record({ agentId: userId, userId, noteId: id, text, at })
      .map((data) => ({ type: "AddNote" as const, data })),
    fc.record({ userId, score: fc.integer({ min: 1, max: 5 }), comment: fc.constant(null), at })
      .map((data) => ({ type: "Rate" as const, data })),
  );
}

const KEPT = new Set<Delivery["event"]>(["message", "chatbot_context", "read", "note", "rating"]);

Deno.test("resumeDeliveries(): for any log, a reconnecting socket is replayed exactly the messages, contexts, read receipts, notes and ratings a socket connected throughout received live", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("user" as const, "agent" as const),
      fc.constantFrom(...PEOPLE),
      fc.array(commandArb(), { minLength: 10, maxLength: 80 }),
      (role, userId, commands) => {
        const observer: Recipient = { role, userId, socketId: "observer" };
        const first = step(initialState(), {
          type: "Connect",
          data: { userId, role, socketId: "observer", at: 0 },
        });
        assert.ok(first.ok);
        let state = first.state;
        const live: Omit<Delivery, "to" | "except">[] = [];
        const replayed: Omit<Delivery, "to" | "except">[] = [];
        for (const command of commands) {
          // Agents act through their sockets: an agent with none sends nothing.
          if (
            command.type === "SendMessage" && command.data.sender.role === "agent" &&
            !isOnline(state.agents.get(command.data.sender.userId))
          ) continue;
          const stepped = step(state, command);
          if (!stepped.ok) continue;
          for (const d of stepped.deliveries) {
            if (KEPT.has(d.event) && d.except !== "observer" && reaches(d.to, observer)) {
              live.push({ event: d.event, payload: d.payload });
            }
          }
          stepped.events.forEach((e, i) => {
            replayed.push(...resumeDeliveries(e, state.version + i + 1, observer));
          });
          state = stepped.state;
        }
        assert.deepEqual(replayed, live);
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("reaches() a socket, a user's sockets, an agent's sockets, every agent's, or every user's", () => {
  const ann: Recipient = { role: "user", userId: "ann", socketId: "s1" };
  const bob: Recipient = { role: "agent", userId: "bob", socketId: "s2" };
  assert.ok(reaches({ kind: "socket", socketId: "s1" }, ann));
  assert.ok(!reaches({ kind: "socket", socketId: "s1" }, bob));
  assert.ok(reaches({ kind: "user", userId: "ann" }, ann));
  assert.ok(!reaches({ kind: "agent", userId: "ann" }, ann), "a user is not the agent of that id");
  assert.ok(reaches({ kind: "agent", userId: "bob" }, bob));
  assert.ok(!reaches({ kind: "user", userId: "bob" }, bob));
  assert.ok(reaches({ kind: "agents" }, bob));
  assert.ok(!reaches({ kind: "agents" }, ann));
  assert.ok(reaches({ kind: "users" }, ann));
  assert.ok(!reaches({ kind: "users" }, bob), "an agent is no user");
});
