/**
 * The pure company domain: vocabulary, decider and routing.
 * @module
 */
export type * from "./types.ts";
export { decide, evolve, fold, initialState, socketsOf } from "./decider.ts";
export { deliveries, messagePayload } from "./deliveries.ts";
