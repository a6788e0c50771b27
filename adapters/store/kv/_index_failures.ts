/**
 * What the history index does when its writes fail: logged, counted and retried with backoff,
 * never in a tight loop.
 * - An entry that can never be a key (its tag is not well-formed Unicode, or its key is over
 *   Deno KV's 2,048 bytes; only a log written before the edges' id rule holds one) is skipped
 *   and logged at error level; its event stays in the log, and the rest of the history is
 *   indexed past it (`entrySize`).
 * - Any other failure parks the stream: the index retries one stream at a time, so the other
 *   streams' entries are written, and the failing stream waits 100 ms, doubling to 60 s after
 *   each failure in a row (logged at error level from the fifth). A parked stream's history
 *   stays complete: `readTagged` reads the events past its checkpoint directly.
 */
import { type Logger, silentLogger } from "../../../src/log.ts";
import type { Metrics } from "../../../src/metrics.ts";
import { keyBytes, MAX_KEY } from "./_limits.ts";

/** A failed index write waits this long, doubling per failure in a row up to the maximum. */
const INDEX_RETRY_MS: readonly [first: number, max: number] = [100, 60_000];
/** Failures in a row after which a parked stream is logged at error level. */
const INDEX_FAILURES_LOUD = 5;

/** What the index reports to, and how it retries. */
export interface IndexFailureOptions {
  readonly log?: Logger;
  readonly metrics?: Metrics;
  /** The first and the longest wait after a failed index write, in ms. */
  readonly indexRetryMs?: readonly [first: number, max: number];
}

/** The parked streams, the wait after a failed read, and the logs and metrics of both. */
export class IndexFailures {
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #retryMs: readonly [number, number];
  /** Streams whose index write failed: how often in a row, and when to try again (ms). */
  readonly #parked = new Map<string, { failures: number; until: number }>();
  /** Index writes in a row that failed before any stream was written (a read failed). */
  #readFailures = 0;
  #retryAt = 0;
  #closed = false;

  constructor(options: IndexFailureOptions) {
    this.#log = options.log ?? silentLogger;
    this.#metrics = options.metrics;
    this.#retryMs = options.indexRetryMs ?? INDEX_RETRY_MS;
  }

  /** No index write before this time (ms since the epoch), after a failed read; 0 if none. */
  get retryAt(): number {
    return this.#retryAt;
  }

  /** When a parked stream may be tried again (ms since the epoch); undefined if not parked. */
  parkedUntil(stream: string): number | undefined {
    return this.#parked.get(stream)?.until;
  }

  isParked(stream: string): boolean {
    return this.#parked.has(stream);
  }

  /** The checkpoints of `streams` could not be read: nothing was written, every one waits. */
  readFailed(streams: number, error: unknown): void {
    this.#readFailures++;
    this.#retryAt = Date.now() + this.#backoff(this.#readFailures);
    this.#failed("index.read_failed", this.#readFailures, {
      companies: streams,
      error: String(error),
    });
  }

  readSucceeded(): void {
    this.#readFailures = 0;
    this.#retryAt = 0;
  }

  /** The stream's entries are written: it is parked no more. */
  written(stream: string): void {
    if (this.#parked.delete(stream)) this.#log.info("index.write_recovered", { company: stream });
  }

  /** The stream's entries could not be written: it waits longer after each failure in a row. */
  writeFailed(stream: string, error: unknown): void {
    const failures = (this.#parked.get(stream)?.failures ?? 0) + 1;
    const wait = this.#backoff(failures);
    this.#parked.set(stream, { failures, until: Date.now() + wait });
    this.#failed("index.write_failed", failures, {
      company: stream,
      retry_ms: wait,
      error: String(error),
    });
  }

  /** The key size of an index entry, or null (logged) if it can never be written. */
  entrySize(stream: string, [seq, tag]: [number, string]): number | null {
    const size = typeof tag === "string" && tag.isWellFormed()
      ? keyBytes("tag", stream, tag, seq)
      : null;
    if (size !== null && size <= MAX_KEY) return size;
    this.#metrics?.indexSkipped.inc();
    this.#log.error("index.entry_skipped", {
      company: stream,
      seq,
      tag: typeof tag === "string" ? tag.slice(0, 64) : typeof tag,
      reason: size === null ? "not well-formed Unicode" : `key of ${size} bytes (max ${MAX_KEY})`,
    });
    return null;
  }

  /** The store is closing: failures are still counted, no longer logged. */
  close(): void {
    this.#closed = true;
  }

  #backoff(failures: number): number {
    const [first, max] = this.#retryMs;
    return Math.min(first * 2 ** Math.min(failures - 1, 30), max);
  }

  #failed(msg: string, failures: number, fields: Record<string, unknown>): void {
    this.#metrics?.indexFailures.inc();
    if (this.#closed) return;
    this.#log[failures >= INDEX_FAILURES_LOUD ? "error" : "warn"](msg, { ...fields, failures });
  }
}
