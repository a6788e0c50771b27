/**
 * The pure company domain: vocabulary, decider, routing and timers.
 * @module
 */
export type * from "./types.ts";
export { ERROR_CODES } from "./types.ts";
export {
  anyAgentOnline,
  assignedTo,
  decide,
  DEFAULT_SETTINGS,
  evolve,
  fold,
  initialState,
  isOnline,
  loadOf,
  pendingTimers,
  pickAgent,
  socketsOf,
  type Timer,
} from "./decider.ts";
export {
  agentView,
  conversationView,
  deliveries,
  messagePayload,
  queueView,
} from "./deliveries.ts";
export { idProblem, isId, MAX_ID_LENGTH } from "./ids.ts";
export { fromSnapshot, type Snapshot, SNAPSHOT_VERSION, toSnapshot } from "./snapshot.ts";
