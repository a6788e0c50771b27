/**
 * The embedded default store: Deno KV. One key per event, `["ev", stream, seq]`, and a
 * head key per stream whose versionstamp guards every append (optimistic concurrency).
 * `["format"]` marks the layout (`_format.ts`); a database without it is upgraded when opened.
 *
 * Five parts on one database, each in its own file:
 * - `_group_commit.ts`: appends of many companies committed together (the chat path);
 * - `_reads.ts`: a stream's events, and the streams;
 * - `_history_index.ts`: the history index (tags), written soon after the append, and its
 *   reads;
 * - `_snapshots.ts`: snapshots in chunks;
 * - `_format.ts`: the layout, and the upgrade of an earlier one;
 * with Deno KV's limits in `_limits.ts`.
 * @module
 */
import { historyUsers } from "../../../src/history.ts";
import type { HistoryRule, NewEvent, Storage, StoredEvent } from "../../../src/ports.ts";
import { upgrade } from "./_format.ts";
import { GroupCommit, type TaggedEvent } from "./_group_commit.ts";
import { DeferredIndex, historyTag, readTagged } from "./_history_index.ts";
import { read, streams } from "./_reads.ts";
import { KvSnapshots } from "./_snapshots.ts";

/** What a KV store may be given when opened. */
export interface KvStoreOptions {
  /** Which users' histories an event belongs to (default: `historyUsers`). */
  readonly history?: HistoryRule;
}

/** Every storage port (`Storage`) on a Deno KV database. */
export class KvEventStore implements Storage {
  readonly #index: DeferredIndex;
  readonly #commits: GroupCommit;
  readonly #snapshots: KvSnapshots;
  readonly #history: HistoryRule;

  private constructor(readonly kv: Deno.Kv, options: KvStoreOptions) {
    this.#history = options.history ?? historyUsers;
    this.#index = new DeferredIndex(kv);
    this.#commits = new GroupCommit(kv, this.#index);
    this.#snapshots = new KvSnapshots(kv);
  }

  /** Opens (or creates) the KV database at `path`; `":memory:"` for a throwaway one. */
  static async open(path: string, options: KvStoreOptions = {}): Promise<KvEventStore> {
    const store = new KvEventStore(await Deno.openKv(path), options);
    await upgrade(store.kv);
    return store;
  }

  version(stream: string): Promise<number> {
    return this.#commits.version(stream);
  }

  append(stream: string, expectedVersion: number, events: readonly NewEvent[]): Promise<number> {
    // The history rule names the users; each event keeps their tags until they are indexed.
    const tagged = events.map((e): TaggedEvent => {
      const users = this.#history(e);
      return users.length > 0 ? { ...e, tags: users.map(historyTag) } : e;
    });
    return this.#commits.append(stream, expectedVersion, tagged);
  }

  read(stream: string, options?: { after?: number; limit?: number }): AsyncIterable<StoredEvent> {
    return read(this.kv, stream, options);
  }

  readHistory(
    stream: string,
    userId: string,
    options: { before?: number; limit: number },
  ): Promise<StoredEvent[]> {
    return readTagged(this.kv, stream, historyTag(userId), options);
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
