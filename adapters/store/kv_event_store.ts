/**
 * The embedded default store: Deno KV. One key per event, `["ev", stream, seq]`, and a
 * head key per stream whose versionstamp guards every append (optimistic concurrency).
 */
import { AppendTooLargeError, VersionConflictError } from "../../src/errors.ts";
import type { EventStore, NewEvent, StoredEvent } from "../../src/ports.ts";

// Deno KV's limits (FIELD_NOTES): 65,536 bytes a value, 1,000 mutations and 819,200 bytes
// an atomic operation. Values are UTF-8 JSON, so their size is known before the commit.
const MAX_VALUE_BYTES = 65_000;
const MAX_EVENTS_PER_APPEND = 999;
const MAX_BYTES_PER_APPEND = 800_000;

interface Head {
  version: number;
  versionstamp: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An `EventStore` on a Deno KV database. */
export class KvEventStore implements EventStore {
  readonly #heads = new Map<string, Head>();

  private constructor(readonly kv: Deno.Kv) {}

  /** Opens (or creates) the KV database at `path`; `":memory:"` for a throwaway one. */
  static async open(path: string): Promise<KvEventStore> {
    return new KvEventStore(await Deno.openKv(path));
  }

  async version(stream: string): Promise<number> {
    return (await this.#readHead(stream)).version;
  }

  async append(
    stream: string,
    expectedVersion: number,
    events: readonly NewEvent[],
  ): Promise<number> {
    if (events.length === 0) return expectedVersion;
    const values = events.map(({ type, at, data, v = 1 }) =>
      encoder.encode(JSON.stringify({ type, at, v, data }))
    );
    checkSize(values);
    const headKey = ["head", stream];
    let head = this.#heads.get(stream) ?? await this.#readHead(stream);
    for (let attempt = 0;; attempt++) {
      if (head.version !== expectedVersion) {
        throw new VersionConflictError(stream, expectedVersion, head.version);
      }
      const op = this.kv.atomic().check({ key: headKey, versionstamp: head.versionstamp });
      values.forEach((value, i) => op.set(["ev", stream, expectedVersion + i + 1], value));
      const version = expectedVersion + values.length;
      const result = await op.set(headKey, version).commit();
      if (result.ok) {
        this.#heads.set(stream, { version, versionstamp: result.versionstamp });
        return version;
      }
      // The cached head was stale: another writer moved the stream. Read it and decide again.
      head = await this.#readHead(stream);
      if (attempt > 0 && head.version === expectedVersion) {
        throw new VersionConflictError(stream, expectedVersion, head.version);
      }
    }
  }

  async *read(
    stream: string,
    { after = 0, limit }: { after?: number; limit?: number } = {},
  ): AsyncIterable<StoredEvent> {
    const entries = this.kv.list<Uint8Array>(
      { prefix: ["ev", stream], start: ["ev", stream, Math.max(after, 0) + 1] },
      { limit, batchSize: 500 },
    );
    for await (const { key, value } of entries) {
      const { type, at, v, data } = JSON.parse(decoder.decode(value));
      yield { seq: key[2] as number, type, at, v, data };
    }
  }

  close(): void {
    this.kv.close();
  }

  async #readHead(stream: string): Promise<Head> {
    const entry = await this.kv.get<number>(["head", stream]);
    const head = { version: entry.value ?? 0, versionstamp: entry.versionstamp };
    this.#heads.set(stream, head);
    return head;
  }
}

function checkSize(values: readonly Uint8Array[]): void {
  if (values.length > MAX_EVENTS_PER_APPEND) {
    throw new AppendTooLargeError(
      `Cannot append ${values.length} events at once: the limit is ${MAX_EVENTS_PER_APPEND}`,
    );
  }
  let total = 0;
  for (const value of values) {
    if (value.length > MAX_VALUE_BYTES) {
      throw new AppendTooLargeError(
        `Cannot store an event of ${value.length} bytes: the limit is ${MAX_VALUE_BYTES}`,
      );
    }
    total += value.length;
  }
  if (total > MAX_BYTES_PER_APPEND) {
    throw new AppendTooLargeError(
      `Cannot append ${total} bytes at once: the limit is ${MAX_BYTES_PER_APPEND}`,
    );
  }
}
