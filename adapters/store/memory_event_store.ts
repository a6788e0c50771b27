/** An in-memory event store for tests and throwaway runs. */
import { AppendTooLargeError, VersionConflictError } from "../../src/errors.ts";
import { historyUsers } from "../../src/history.ts";
import type { HistoryRule, LogFeed, NewEvent, Storage, StoredEvent } from "../../src/ports.ts";

/**
 * Keeps every stream in an array, with the same size limits as Deno KV by default. Several
 * engines in one process may share one, as the nodes of a cluster share PostgreSQL: its feed
 * tells each of them where streams grew.
 */
export class MemoryEventStore implements Storage, LogFeed {
  readonly #streams = new Map<string, StoredEvent[]>();
  /** Each user's history: seqs by `[stream, userId]`. */
  readonly #tags = new Map<string, number[]>();
  readonly #checkpoints = new Map<string, number>();
  readonly #snapshots = new Map<string, { version: number; snapshot: string }>();
  readonly #due = new Set<string>();
  readonly #followers = new Set<(stream: string, version: number) => void>();

  constructor(
    readonly options: {
      maxEventsPerAppend?: number;
      maxEventBytes?: number;
      /** Which users' histories an event belongs to (default: `historyUsers`). */
      history?: HistoryRule;
    } = {},
  ) {}

  version(stream: string): Promise<number> {
    return Promise.resolve(this.#streams.get(stream)?.length ?? 0);
  }

  append(stream: string, expectedVersion: number, events: readonly NewEvent[]): Promise<number> {
    const log = this.#streams.get(stream) ?? [];
    if (log.length !== expectedVersion) {
      return Promise.reject(new VersionConflictError(stream, expectedVersion, log.length));
    }
    const max = this.options.maxEventsPerAppend ?? 999;
    if (events.length > max) {
      return Promise.reject(
        new AppendTooLargeError(
          `Cannot append ${events.length} events at once: the limit is ${max}`,
        ),
      );
    }
    const maxBytes = this.options.maxEventBytes ?? 65_000;
    if (events.some((e) => JSON.stringify(e).length > maxBytes)) {
      return Promise.reject(
        new AppendTooLargeError(`Cannot store an event over ${maxBytes} bytes`),
      );
    }
    // A stored event never shares objects with the caller, as in a real store.
    const history = this.options.history ?? historyUsers;
    for (const event of events) {
      const { type, at, data, v = 1 } = event;
      const seq = log.length + 1;
      log.push({ seq, type, at, v, data: structuredClone(data) });
      for (const userId of history(event)) {
        const key = JSON.stringify([stream, userId]);
        this.#tags.set(key, [...(this.#tags.get(key) ?? []), seq]);
      }
    }
    this.#streams.set(stream, log);
    const version = log.length;
    // Told after the append resolved, as a database's notification comes after the commit.
    for (const moved of this.#followers) queueMicrotask(() => moved(stream, version));
    return Promise.resolve(version);
  }

  async *read(
    stream: string,
    { after = 0, limit = Infinity }: { after?: number; limit?: number } = {},
  ): AsyncIterable<StoredEvent> {
    const log = this.#streams.get(stream) ?? [];
    const end = Math.min(log.length, after + limit);
    for (let i = Math.max(after, 0); i < end; i++) yield log[i];
  }

  readHistory(
    stream: string,
    userId: string,
    { before = Infinity, limit }: { before?: number; limit: number },
  ): Promise<StoredEvent[]> {
    const log = this.#streams.get(stream) ?? [];
    const seqs = (this.#tags.get(JSON.stringify([stream, userId])) ?? []).filter((s) => s < before);
    return Promise.resolve(seqs.slice(Math.max(seqs.length - limit, 0)).map((s) => log[s - 1]));
  }

  saveSnapshot(stream: string, version: number, snapshot: unknown): Promise<void> {
    this.#snapshots.set(stream, { version, snapshot: JSON.stringify(snapshot) });
    return Promise.resolve();
  }

  loadSnapshot(stream: string): Promise<{ version: number; snapshot: unknown } | null> {
    const kept = this.#snapshots.get(stream);
    return Promise.resolve(
      kept ? { version: kept.version, snapshot: JSON.parse(kept.snapshot) } : null,
    );
  }

  async *streams(): AsyncIterable<string> {
    for (const [stream, log] of this.#streams) if (log.length > 0) yield stream;
  }

  checkpoint(name: string): Promise<number> {
    return Promise.resolve(this.#checkpoints.get(name) ?? 0);
  }

  saveCheckpoint(name: string, seq: number): Promise<void> {
    this.#checkpoints.set(name, seq);
    return Promise.resolve();
  }

  markDue(stream: string): Promise<void> {
    this.#due.add(stream);
    return Promise.resolve();
  }

  clearDue(stream: string): Promise<void> {
    this.#due.delete(stream);
    return Promise.resolve();
  }

  async *dueStreams(): AsyncIterable<string> {
    yield* [...this.#due];
  }

  /** Nothing is deferred: the index is written with each append. */
  flushIndex(): Promise<void> {
    return Promise.resolve();
  }

  follow(moved: (stream: string, version: number) => void): Promise<() => Promise<void>> {
    this.#followers.add(moved);
    return Promise.resolve(() => {
      this.#followers.delete(moved);
      return Promise.resolve();
    });
  }

  close(): void {}
}
