/** Timer decisions: what the runtime's timers ask (see `pendingTimers` for when). */
import type { Plan } from "../assignment.ts";
import { assignedTo, isOnline } from "../state.ts";
import type { CommandOf, Decision } from "../types.ts";

/** An agent offline past the grace period loses their conversations to the queue's front. */
export function expireGrace(plan: Plan, data: CommandOf<"ExpireGrace">["data"]): Decision {
  const { agentId, at } = data;
  const state = plan.state;
  const agent = state.agents.get(agentId);
  if (!agent || isOnline(agent) || agent.offlineAt === null) return plan.done();
  if (at < agent.offlineAt + state.settings.agentGraceSeconds * 1000) return plan.done();
  // Each goes to the front; in reverse, so they keep their order there.
  for (const conversation of assignedTo(state, agentId).reverse()) {
    plan.emit({
      type: "ConversationQueued",
      at,
      data: {
        conversationId: conversation.id,
        userId: conversation.userId,
        reason: "agent_offline",
        agentId,
      },
    });
  }
  return plan.drain(at).done();
}
