/**
 * The pure company domain: vocabulary, decider, routing, views and timers.
 * @module
 */
export type * from "./types.ts";
export { ERROR_CODES } from "./types.ts";
export {
  anyAgentAvailable,
  anyAgentOnline,
  assignedTo,
  DEFAULT_SETTINGS,
  initialState,
  isOnline,
  loadOf,
  socketsOf,
} from "./state.ts";
export { decide } from "./decide/mod.ts";
export { evolve, fold } from "./evolve/mod.ts";
export { pickAgent } from "./assignment.ts";
export { step, type Stepped } from "./step.ts";
export { deliveries, reaches, type Recipient, resumeDeliveries, routed } from "./routing.ts";
export {
  agentView,
  attachmentView,
  conversationView,
  messagePayload,
  notePayload,
  queueView,
  ratingPayload,
} from "./views.ts";
export { MAX_SCORE, MIN_SCORE } from "./decide/conversations.ts";
export { pendingTimers, type Timer } from "./timers.ts";
export { idProblem, isId, MAX_ID_LENGTH } from "./ids.ts";
export { fromSnapshot, type Snapshot, SNAPSHOT_VERSION, toSnapshot } from "./snapshot.ts";
