/**
 * What one append may hold, and which ids the tables can keep apart. The limits match Deno
 * KV's (`../kv/_limits.ts`) or exceed them, so every log the KV store accepted can move here
 * (`deno task log migrate`) and a store swap changes no answer an edge gives:
 * - an event, as UTF-8 JSON `{type, at, v, data}`: 65,000 bytes (as KV);
 * - an append: 999 events (as KV) and 1,000,000 bytes of events (KV: 800,000 with keys).
 * A group commit holds many appends (`MAX_STREAMS_PER_COMMIT`, `MAX_BYTES_PER_COMMIT`).
 *
 * Ids are `text`, which holds no NUL character, and postgres.js sends strings as UTF-8, where a
 * lone surrogate becomes U+FFFD and would put "X\ud800" under the key of "X\ufffd": such an id
 * is refused (`checkId`), as KV refuses it. An id is at most 1,024 bytes (the edges allow 256
 * characters), so a history key (stream, user, seq) stays under a btree entry's ~2,700 bytes.
 */
import { AppendTooLargeError, InvalidKeyError } from "../../../src/errors.ts";

/** The largest event, as UTF-8 JSON. */
export const MAX_EVENT_BYTES = 65_000;
/** Events one append holds at most. */
export const MAX_EVENTS_PER_APPEND = 999;
/** The events of one append, in bytes. */
export const MAX_BYTES_PER_APPEND = 1_000_000;
/** Appends (one per stream) that one group commit holds at most. */
export const MAX_STREAMS_PER_COMMIT = 500;
/** The events of one group commit, in bytes (a single larger append still commits alone). */
export const MAX_BYTES_PER_COMMIT = 4_000_000;
/** The longest stream id or user id, in UTF-8 bytes. */
export const MAX_ID_BYTES = 1024;
/** The longest checkpoint name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 2048;

/** Strings go out as UTF-8. */
export const encoder = new TextEncoder();

/** Refuses an id the tables would merge with another's or could not index. */
export function checkId(what: string, value: string, maxBytes = MAX_ID_BYTES): void {
  if (typeof value !== "string" || !value.isWellFormed() || value.includes("\0")) {
    throw new InvalidKeyError(
      `Cannot use ${JSON.stringify(value)} as a ${what}: it is not well-formed Unicode ` +
        `without NUL characters, and PostgreSQL would not keep it apart from another`,
    );
  }
  const bytes = encoder.encode(value).length;
  if (bytes > maxBytes) {
    throw new InvalidKeyError(
      `Cannot use a ${what} of ${bytes} bytes: the limit is ${maxBytes}`,
    );
  }
}

/** Refuses an append over the limits above; `sizes` are its events' encoded sizes. */
export function checkAppendSize(sizes: readonly number[]): void {
  if (sizes.length > MAX_EVENTS_PER_APPEND) {
    throw new AppendTooLargeError(
      `Cannot append ${sizes.length} events at once: the limit is ${MAX_EVENTS_PER_APPEND}`,
    );
  }
  for (const size of sizes) {
    if (size > MAX_EVENT_BYTES) {
      throw new AppendTooLargeError(
        `Cannot store an event of ${size} bytes: the limit is ${MAX_EVENT_BYTES}`,
      );
    }
  }
  const total = sizes.reduce((n, s) => n + s, 0);
  if (total > MAX_BYTES_PER_APPEND) {
    throw new AppendTooLargeError(
      `Cannot append ${total} bytes at once: the limit is ${MAX_BYTES_PER_APPEND}`,
    );
  }
}
