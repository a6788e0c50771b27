/** Test doubles shared by the runtime and adapter tests. */
import type { Delivery } from "../domain/mod.ts";
import type { Clock, EventStore, Ids, NewEvent, Publisher, StoredEvent } from "../src/ports.ts";

/** Records every published delivery with its company. */
export class RecordingPublisher implements Publisher {
  readonly published: { companyId: string; delivery: Delivery }[] = [];
  publish(companyId: string, deliveries: readonly Delivery[]): void {
    for (const delivery of deliveries) this.published.push({ companyId, delivery });
  }
}

/** A clock that moves only when told. */
export class FakeClock implements Clock {
  constructor(public time = 1_764_043_200_000) {}
  now(): number {
    return this.time;
  }
}

/** Ids `id-1`, `id-2`, … */
export function sequentialIds(prefix = "id"): Ids {
  let n = 0;
  return { next: () => `${prefix}-${++n}` };
}

/** Wraps a store: counts appends and can be told to fail them. */
export class FlakyStore implements EventStore {
  appends = 0;
  failing = false;
  constructor(readonly inner: EventStore) {}
  version(stream: string): Promise<number> {
    return this.inner.version(stream);
  }
  append(stream: string, expected: number, events: readonly NewEvent[]): Promise<number> {
    this.appends++;
    if (this.failing) return Promise.reject(new Error("disk on fire"));
    return this.inner.append(stream, expected, events);
  }
  read(stream: string, options?: { after?: number; limit?: number }): AsyncIterable<StoredEvent> {
    return this.inner.read(stream, options);
  }
  readTagged(
    stream: string,
    tag: string,
    options: { before?: number; limit: number },
  ): Promise<StoredEvent[]> {
    return this.inner.readTagged(stream, tag, options);
  }
  saveSnapshot(stream: string, version: number, snapshot: unknown): Promise<void> {
    return this.inner.saveSnapshot(stream, version, snapshot);
  }
  loadSnapshot(stream: string): Promise<{ version: number; snapshot: unknown } | null> {
    return this.inner.loadSnapshot(stream);
  }
  streams(): AsyncIterable<string> {
    return this.inner.streams();
  }
  checkpoint(name: string): Promise<number> {
    return this.inner.checkpoint(name);
  }
  saveCheckpoint(name: string, seq: number): Promise<void> {
    return this.inner.saveCheckpoint(name, seq);
  }
  close(): void {
    this.inner.close();
  }
}

/** Timers that fire only when told (`runAll`), for presence's deferred records. */
export class FakeTimers {
  #next = 0;
  readonly #pending = new Map<number, () => void>();
  set(callback: () => void, _ms: number): unknown {
    const id = ++this.#next;
    this.#pending.set(id, callback);
    return id;
  }
  clear(handle: unknown): void {
    this.#pending.delete(handle as number);
  }
  get size(): number {
    return this.#pending.size;
  }
  /** Fires every pending timer. */
  runAll(): void {
    const due = [...this.#pending.values()];
    this.#pending.clear();
    due.forEach((f) => f());
  }
}
