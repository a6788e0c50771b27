/** Test doubles shared by the runtime and adapter tests. */
import type { Delivery } from "../domain/mod.ts";
import type { Clock, Ids, NewEvent, Publisher, Storage, StoredEvent } from "../src/ports.ts";

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
export class FlakyStore implements Storage {
  appends = 0;
  failing = false;
  constructor(readonly inner: Storage) {}
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
  readHistory(
    stream: string,
    userId: string,
    options: { before?: number; limit: number },
  ): Promise<StoredEvent[]> {
    return this.inner.readHistory(stream, userId, options);
  }
  flushIndex(): Promise<void> {
    return this.inner.flushIndex();
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
