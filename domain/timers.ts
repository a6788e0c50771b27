/** Timers: what a state asks the runtime to deliver later, and when. */
import { assignedTo, isOnline } from "./state.ts";
import type { CompanyCommand, CompanyState } from "./types.ts";

/** A timer the runtime must deliver: at `due`, dispatch `command`. */
export interface Timer {
  readonly due: number;
  readonly command: CompanyCommand;
}

/** The timers a state asks for: one per offline agent still holding conversations. */
export function pendingTimers(state: CompanyState): Timer[] {
  const timers: Timer[] = [];
  for (const [agentId, agent] of state.agents) {
    if (isOnline(agent) || agent.offlineAt === null) continue;
    if (assignedTo(state, agentId).length === 0) continue;
    const due = agent.offlineAt + state.settings.agentGraceSeconds * 1000;
    timers.push({ due, command: { type: "ExpireGrace", data: { agentId, at: due } } });
  }
  return timers;
}
