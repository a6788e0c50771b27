/**
 * The embedded default store: Deno KV. One key per event, `["ev", stream, seq]`, and a
 * head key per stream whose versionstamp guards every append (optimistic concurrency).
 * `["format"]` marks the layout (`_format.ts`); a database without it is upgraded when opened.
 *
 * Five parts on one database, each in its own file:
 * - `_group_commit.ts`: appends of many companies committed together (the chat path);
 * - `_reads.ts`: a stream's events, and the streams;
 * - `_history_index.ts`: the tag index, written soon after the append, and its reads;
 * - `_snapshots.ts`: snapshots in chunks;
 * - `_format.ts`: the layout, and the upgrade of an earlier one;
 * with Deno KV's limits in `_limits.ts`.
 * @module
 */
import type { EventStore, NewEvent, StoredEvent } from "../../../src/ports.ts";
import { upgrade } from "./_format.ts";
import { GroupCommit } from "./_group_commit.ts";
import { DeferredIndex, readTagged } from "./_history_index.ts";
import { read, streams } from "./_reads.ts";
import { KvSnapshots } from "./_snapshots.ts";

/** An `EventStore` on a Deno KV database. */
export class KvEventStore implements EventStore {
  readonly #index: DeferredIndex;
  readonly #commits: GroupCommit;
  readonly #snapshots: KvSnapshots;

  private constructor(readonly kv: Deno.Kv) {
    this.#index = new DeferredIndex(kv);
    this.#commits = new GroupCommit(kv, this.#index);
    this.#snapshots = new KvSnapshots(kv);
  }

  /** Opens (or creates) the KV database at `path`; `":memory:"` for a throwaway one. */
  static async open(path: string): Promise<KvEventStore> {
    const store = new KvEventStore(await Deno.openKv(path));
    await upgrade(store.kv);
    return store;
  }

  version(stream: string): Promise<number> {
    return this.#commits.version(stream);
  }

  append(stream: string, expectedVersion: number, events: readonly NewEvent[]): Promise<number> {
    return this.#commits.append(stream, expectedVersion, events);
  }

  read(stream: string, options?: { after?: number; limit?: number }): AsyncIterable<StoredEvent> {
    return read(this.kv, stream, options);
  }

  readTagged(
    stream: string,
    tag: string,
    options: { before?: number; limit: number },
  ): Promise<StoredEvent[]> {
    return readTagged(this.kv, stream, tag, options);
  }

  saveSnapshot(stream: string, version: number, snapshot: unknown): Promise<void> {
    return this.#snapshots.saveSnapshot(stream, version, snapshot);
  }

  loadSnapshot(stream: string): Promise<{ version: number; snapshot: unknown } | null> {
    return this.#snapshots.loadSnapshot(stream);
  }

  streams(): AsyncIterable<string> {
    return streams(this.kv);
  }

  async checkpoint(name: string): Promise<number> {
    return (await this.kv.get<number>(["checkpoint", name])).value ?? 0;
  }

  async saveCheckpoint(name: string, seq: number): Promise<void> {
    await this.kv.set(["checkpoint", name], seq);
  }

  /** Writes the index entries still waiting (the server calls it before closing). */
  flushIndex(): Promise<void> {
    return this.#index.flushIndex();
  }

  close(): void {
    this.#index.close();
    this.kv.close();
  }
}
