/**
 * The ports the runtime depends on: the event store, the publisher, the clock and ids.
 * Adapters implement them; `src/` never reaches a transport or a database directly.
 */
import type { Delivery } from "../domain/mod.ts";

/** An event as the store keeps it: the export format of DESIGN §3. */
export type StoredEvent<E extends NewEvent = NewEvent> = E & {
  readonly seq: number;
  readonly v: number;
};

/** An event to append: the store assigns `seq`. */
export interface NewEvent {
  readonly type: string;
  readonly at: number;
  readonly data: unknown;
  readonly v?: number;
  /** Index keys to find the event by later (`readTagged`); not part of the event. */
  readonly tags?: readonly string[];
}

/** One append-only stream of events per company. */
export interface EventStore {
  /** The stream's version: the `seq` of its last event, 0 when empty. */
  version(stream: string): Promise<number>;
  /**
   * Appends all `events` or none, only if the stream is at `expectedVersion`;
   * returns the new version. Throws `VersionConflictError` for a stale writer and
   * `AppendTooLargeError` when the batch exceeds what one transaction holds.
   */
  append(stream: string, expectedVersion: number, events: readonly NewEvent[]): Promise<number>;
  /** The events with `seq > after`, in order, at most `limit` of them. */
  read(stream: string, options?: { after?: number; limit?: number }): AsyncIterable<StoredEvent>;
  /** The last `limit` events tagged `tag` with `seq < before`, in ascending order. */
  readTagged(
    stream: string,
    tag: string,
    options: { before?: number; limit: number },
  ): Promise<StoredEvent[]>;
  /** Keeps a snapshot of a stream's folded state at `version` (replacing the previous one). */
  saveSnapshot(stream: string, version: number, snapshot: unknown): Promise<void>;
  /** The latest snapshot of a stream, if any. */
  loadSnapshot(stream: string): Promise<{ version: number; snapshot: unknown } | null>;
  /** Every stream that has events. */
  streams(): AsyncIterable<string>;
  /** A consumer's position in the log (0 if it has none). */
  checkpoint(name: string): Promise<number>;
  /** Saves a consumer's position. */
  saveCheckpoint(name: string, seq: number): Promise<void>;
  /** Releases the store. */
  close(): void;
}

/** Carries deliveries to the sockets of one company. */
export interface Publisher {
  publish(companyId: string, deliveries: readonly Delivery[]): void;
}

/** The time, in Unix milliseconds. */
export interface Clock {
  now(): number;
}

/** Fresh unique ids. */
export interface Ids {
  next(): string;
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Random UUIDs. */
export const randomIds: Ids = { next: () => crypto.randomUUID() };
