/**
 * One step of a company, as its runtime takes it: decide, apply and route in one pass. The
 * decider applies each event as it decides (later rules see earlier events), so the states
 * it passed through serve the routing too, and no event is applied twice.
 */
import { Plan } from "./assignment.ts";
import { decideWith } from "./decide/mod.ts";
import { routed } from "./routing.ts";
import type {
  CompanyCommand,
  CompanyEvent,
  CompanyState,
  DecisionResult,
  Delivery,
  Rejection,
  SentRecord,
} from "./types.ts";

/** A command's step: its events, their deliveries and the state after; or a rejection. */
export type Stepped =
  | {
    readonly ok: true;
    readonly events: readonly CompanyEvent[];
    /** The deliveries of the events in order, then the ephemeral ones (typing). */
    readonly deliveries: readonly Delivery[];
    /** The ephemeral deliveries alone (the tail of `deliveries`): no event carries them. */
    readonly ephemeral: readonly Delivery[];
    /** The state after the events (the one given, when there are none). */
    readonly state: CompanyState;
    readonly result?: DecisionResult;
    readonly duplicateOf?: SentRecord;
  }
  | { readonly ok: false; readonly rejection: Rejection };

/** Decides `command`, and gives its events' deliveries and the state they lead to. */
export function step(state: CompanyState, command: CompanyCommand): Stepped {
  const plan = new Plan(state);
  const decision = decideWith(plan, command);
  if (!decision.ok) return decision;
  const { events, notify, result, duplicateOf } = decision;
  const states = plan.states;
  const out: Delivery[] = [];
  for (let i = 0; i < events.length; i++) {
    out.push(...routed(states[i], events[i], () => states[i + 1]));
  }
  if (notify) out.push(...notify);
  return {
    ok: true,
    events,
    deliveries: out,
    ephemeral: notify ?? [],
    state: states[events.length],
    ...(result === undefined ? {} : { result }),
    ...(duplicateOf === undefined ? {} : { duplicateOf }),
  };
}
