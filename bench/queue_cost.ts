/**
 * The pure domain's cost of one handoff into a queue of 0, 1,000 and 10,000 (20 agents online,
 * all at capacity): CPU per `step` and the bytes of what one agent is sent. Ad hoc, no server:
 * `deno run bench/queue_cost.ts`.
 */
import { type CompanyEvent, fold, reaches, step } from "../domain/mod.ts";

const AGENTS = 20;
const at = 1_700_000_000_000;

function history(queued: number): CompanyEvent[] {
  const events: CompanyEvent[] = [];
  const open = (userId: string) => {
    const conversationId = `c-${userId}`;
    events.push(
      { type: "ConversationOpened", at, data: { conversationId, userId } },
      { type: "HandedOff", at, data: { conversationId, userId, context: "ctx" } },
      { type: "ConversationQueued", at, data: { conversationId, userId, reason: "handoff" } },
    );
    return conversationId;
  };
  for (let a = 0; a < AGENTS; a++) {
    const agentId = `agent${a}`;
    events.push({
      type: "SocketConnected",
      at,
      data: { userId: agentId, role: "agent", socketId: `${agentId}-s1` },
    });
    for (let i = 0; i < 5; i++) {
      const userId = `held${a}-${i}`;
      const conversationId = open(userId);
      events.push({
        type: "ConversationAssigned",
        at,
        data: { conversationId, userId, agentId, by: "auto" },
      });
    }
  }
  for (let i = 0; i < queued; i++) open(`waiting${i}`);
  return events;
}

// The first pass warms the code up; the second is reported.
for (const queued of [0, 0, 1_000, 10_000]) {
  const state = fold(history(queued));
  const agent = { role: "agent", userId: "agent0", socketId: "agent0-s1" } as const;
  let bytes = 0;
  let deliveries = 0;
  const runs = 200;
  const started = performance.now();
  for (let i = 0; i < runs; i++) {
    const stepped = step(state, {
      type: "TransferToAgent",
      data: { userId: `new${i}`, context: "ctx", conversationId: `c-new${i}`, at },
    });
    if (!stepped.ok) throw new Error("rejected");
    if (i === 0) {
      deliveries = stepped.deliveries.length;
      for (const d of stepped.deliveries) {
        if (reaches(d.to, agent)) bytes += JSON.stringify([d.event, d.payload]).length;
      }
    }
  }
  const ms = (performance.now() - started) / runs;
  console.log(
    `queue ${queued}: ${ms.toFixed(3)} ms per handoff, ${bytes} bytes to each agent, ` +
      `${deliveries} deliveries`,
  );
}
