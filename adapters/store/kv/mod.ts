/**
 * The embedded default store: Deno KV. One key per event, `["ev", stream, seq]`, and a
 * head key per stream whose versionstamp guards every append (optimistic concurrency).
 * `["format"]` marks the layout (`_format.ts`); a database without it is upgraded when opened
 * (or, if opening could not write, as on a full disk, before the first append).
 *
 * A stream id, a tag or a checkpoint name must be well-formed Unicode: Deno KV stores a lone
 * surrogate as U+FFFD, which would put "X\ud800" and "X\ufffd" under one key. Such an id is
 * refused with `InvalidKeyError` instead (`checkKey` in `_limits.ts`).
 *
 * Six parts on one database, each in its own file:
 * - `_group_commit.ts`: appends of many companies committed together (the chat path);
 * - `_reads.ts`: a stream's events, and the streams;
 * - `_history_index.ts`: the history index (tags), written soon after the append, and its
 *   reads; failed index writes skipped or retried with backoff (`_index_failures.ts`);
 * - `_snapshots.ts`: snapshots in chunks;
 * - `_due_work.ts`: the companies to load at start-up;
 * - `_format.ts`: the layout, and the upgrade of an earlier one;
 * with Deno KV's limits in `_limits.ts`, and a reserve of disk space that lets the database
 * open on a full disk in `_reserve.ts`.
 * @module
 */
import { historyUsers } from "../../../src/history.ts";
import type { HistoryRule, NewEvent, Storage, StoredEvent } from "../../../src/ports.ts";
import { KvDueWork } from "./_due_work.ts";
import { FormatMarker } from "./_format.ts";
import { GroupCommit, type TaggedEvent } from "./_group_commit.ts";
import { DeferredIndex, historyTag, readTagged } from "./_history_index.ts";
import type { IndexFailureOptions } from "./_index_failures.ts";
import { checkKey } from "./_limits.ts";
import { read, streams } from "./_reads.ts";
import { openWithReserve } from "./_reserve.ts";
import { KvSnapshots } from "./_snapshots.ts";

/**
 * What a KV store may be given when opened: what it reports to (`log`, `metrics`), how it
 * retries its index (`indexRetryMs`), and which users' histories an event belongs to.
 */
export interface KvStoreOptions extends IndexFailureOptions {
  /** Which users' histories an event belongs to (default: `historyUsers`). */
  readonly history?: HistoryRule;
  /** Opens the database (tests wrap it, e.g. to refuse writes as a full disk does). */
  readonly openKv?: (path: string) => Promise<Deno.Kv>;
}

/** Every storage port (`Storage`) on a Deno KV database. */
export class KvEventStore implements Storage {
  readonly #index: DeferredIndex;
  readonly #commits: GroupCommit;
  readonly #snapshots: KvSnapshots;
  readonly #history: HistoryRule;
  readonly #format: FormatMarker;
  readonly #due: KvDueWork;

  private constructor(readonly kv: Deno.Kv, options: KvStoreOptions) {
    this.#history = options.history ?? historyUsers;
    this.#format = new FormatMarker(kv);
    this.#index = new DeferredIndex(kv, options);
    this.#commits = new GroupCommit(kv, this.#index, this.#format);
    this.#snapshots = new KvSnapshots(kv);
    this.#due = new KvDueWork(kv);
  }

  /** Opens (or creates) the KV database at `path`; `":memory:"` for a throwaway one. */
  static async open(path: string, options: KvStoreOptions = {}): Promise<KvEventStore> {
    const kv = await openWithReserve(path, options.openKv ?? Deno.openKv, options.log);
    const store = new KvEventStore(kv, options);
    // A full disk refuses the format marker: the store still reads, and the first append
    // writes the marker before anything else.
    await store.#format.ensure().catch(() => {});
    // Likewise the due-work index: until it is built, every stream counts as due.
    await store.#due.ensure().catch(() => {});
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
    checkKey("checkpoint name", name);
    return (await this.kv.get<number>(["checkpoint", name])).value ?? 0;
  }

  async saveCheckpoint(name: string, seq: number): Promise<void> {
    checkKey("checkpoint name", name);
    await this.kv.set(["checkpoint", name], seq);
  }

  /** Every consumer's position, by name (what `deno task log migrate` copies). */
  async *checkpoints(): AsyncIterable<[name: string, seq: number]> {
    for await (const { key, value } of this.kv.list<number>({ prefix: ["checkpoint"] })) {
      yield [key[1] as string, value];
    }
  }

  markDue(stream: string): Promise<void> {
    return this.#due.markDue(stream);
  }

  clearDue(stream: string): Promise<void> {
    return this.#due.clearDue(stream);
  }

  dueStreams(): AsyncIterable<string> {
    return this.#due.dueStreams();
  }

  /**
   * Writes the index entries still waiting, parked streams' too (the server calls it before
   * closing); rejects if some could not be written (they are retried later, or next start).
   */
  flushIndex(): Promise<void> {
    return this.#index.flushIndex();
  }

  close(): void {
    this.#index.close();
    this.kv.close();
  }
}
