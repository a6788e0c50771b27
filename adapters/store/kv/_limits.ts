/**
 * Deno KV's limits (docs/field_notes.md §Deno KV limits): 65,536 bytes a value, 1,000
 * mutations, 819,200 bytes and 81,920 bytes of keys (mutations' and checks') an atomic
 * operation. Values are UTF-8 JSON, so their size is known before the commit; so is a key's
 * (`keyBytes`). Every part of the store counts against these, so an oversized operation is
 * split or refused instead of failing.
 *
 * A key's strings must be well-formed Unicode: Deno KV stores a lone surrogate as U+FFFD,
 * which would put "X\ud800" and "X\ufffd" under one key (`checkKey`).
 */
import { InvalidKeyError } from "../../../src/errors.ts";

/** The largest value written. */
export const MAX_VALUE_BYTES = 65_000;
/** Mutations an operation holds: 1,000 less the head key. */
export const MAX_MUTATIONS = 999;
/** Streams one shared append checks at most. */
export const MAX_CHECKS = 100;
/** The payload of an operation: its values and keys (a written key twice). */
export const MAX_BYTES_PER_APPEND = 800_000;
/** The keys of an operation, its mutations' and checks'. */
export const MAX_KEY_BYTES = 80_000;
/** Deno KV's largest key in a write, in bytes. */
export const MAX_KEY = 2048;

/** Values and keys are UTF-8. */
export const encoder = new TextEncoder();
/** Reads what `encoder` wrote. */
export const decoder = new TextDecoder();

/** The encoded size of a key (Deno KV's tuple encoding: a tag byte, the bytes, a terminator). */
export function keyBytes(...parts: (string | number)[]): number {
  let n = 0;
  for (const part of parts) {
    if (typeof part === "number") n += 9;
    else {
      const bytes = encoder.encode(part);
      n += bytes.length + 2;
      for (const b of bytes) if (b === 0) n++; // a 0x00 inside a string is escaped
    }
  }
  return n;
}

/** Refuses what Deno KV would store under another string's key (a lone surrogate). */
export function checkKey(what: string, value: string): void {
  if (typeof value !== "string" || !value.isWellFormed()) {
    throw new InvalidKeyError(
      `Cannot use ${JSON.stringify(value)} as a ${what}: it is not well-formed Unicode, ` +
        `and Deno KV would keep it under the key of another`,
    );
  }
}
