/**
 * How both edges refuse: a handler throws a `Refusal` (or `Unavailable` when the store
 * failed), and each edge maps what was thrown once: HTTP in its `onError`, Socket.IO in its
 * ack. Anything else thrown is a bug, answered `internal`.
 */
import type { ErrorCode } from "../domain/mod.ts";
import type { Outcome } from "../src/company_actor.ts";

/** A refusal with its error code: bad input, no right, no such thing, or a decision's `no`. */
export class Refusal extends Error {
  override name = "Refusal";
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/** The store (or what stands for it, such as a key set) failed: answered `unavailable`. */
export class Unavailable extends Error {
  override name = "Unavailable";
  constructor(cause: unknown) {
    super("The server could not complete the request", { cause });
  }
}

/** Throws a refusal. */
export function refuse(code: ErrorCode, message: string): never {
  throw new Refusal(code, message);
}

/** The outcome when the actor accepted the command; its rejection (or `unavailable`) thrown. */
export function accepted(outcome: Outcome): Extract<Outcome, { ok: true }> {
  if (!outcome.ok) refuse(outcome.error.code, outcome.error.message);
  return outcome;
}

/** `work`'s result; any failure of it is the store's, answered `unavailable`. */
export async function fromStore<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new Unavailable(error);
  }
}
