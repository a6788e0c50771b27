/**
 * The embedded default store: Deno KV. One key per event, `["ev", stream, seq]`, and a
 * head key per stream whose versionstamp guards every append (optimistic concurrency).
 *
 * The tag index (`["tag", stream, tag, seq]`, for history) is written beside the chat path:
 * one user's entries sit together in the index, so writing them with each append touched a
 * page per user per commit (half the database's work in bench (a)). An event keeps its tags
 * in its own value; the index is written in larger batches soon after, with a checkpoint
 * `["indexed", stream]` below which it is complete, and `readTagged` reads the events past
 * the checkpoint directly. A process that stops before indexing leaves events past the
 * checkpoint: still found, and indexed by the next process that appends to the stream.
 * `["format"]` marks this layout; a database without it is upgraded when opened.
 *
 * Index writes that fail are logged, counted and retried with backoff, never in a tight loop:
 * - an entry that can never be a key (its tag is not well-formed Unicode, or its key is over
 *   Deno KV's 2,048 bytes; only a log written before the edges' id rule holds one) is skipped
 *   and logged at error level; its event stays in the log, and the rest of the history is
 *   indexed past it;
 * - any other failure parks the stream: the operation is retried one stream at a time, so the
 *   other streams' entries are written, and the failing stream waits 100 ms, doubling to 60 s
 *   after each failure in a row (logged at error level from the fifth). A parked stream's
 *   history stays complete: `readTagged` reads the events past its checkpoint directly.
 *
 * A stream id or a tag must be well-formed Unicode: Deno KV stores a lone surrogate as
 * U+FFFD, which would put "X\ud800" and "X\ufffd" under one key. Such an id is refused with
 * `InvalidKeyError` instead.
 */
import { AppendTooLargeError, InvalidKeyError, VersionConflictError } from "../../src/errors.ts";
import { type Logger, silentLogger } from "../../src/log.ts";
import type { Metrics } from "../../src/metrics.ts";
import type { EventStore, NewEvent, StoredEvent } from "../../src/ports.ts";

// Deno KV's limits (FIELD_NOTES): 65,536 bytes a value, 1,000 mutations, 819,200 bytes and
// 81,920 bytes of keys (mutations' and checks') an atomic operation. Values are UTF-8 JSON, so
// their size is known before the commit; so is a key's (`keyBytes`).
const MAX_VALUE_BYTES = 65_000;
const MAX_MUTATIONS = 999; // 1,000 less the head key
const MAX_CHECKS = 100;
const MAX_BYTES_PER_APPEND = 800_000;
const MAX_KEY_BYTES = 80_000;
/** The layout this code writes: 2, the tag index follows the append (see above). */
const FORMAT = 2;
/** Index entries waiting: written at once past this many, else after INDEX_DELAY_MS. */
const INDEX_BATCH = 900;
const INDEX_DELAY_MS = 100;
/** A failed index write waits this long, doubling per failure in a row up to the maximum. */
const INDEX_RETRY_MS: readonly [first: number, max: number] = [100, 60_000];
/** Failures in a row after which a parked stream is logged at error level. */
const INDEX_FAILURES_LOUD = 5;
/** Deno KV's largest key in a write, in bytes. */
const MAX_KEY = 2048;

/** What a KV store reports to, and how it retries its index. */
export interface KvStoreOptions {
  readonly log?: Logger;
  readonly metrics?: Metrics;
  /** The first and the longest wait after a failed index write, in ms. */
  readonly indexRetryMs?: readonly [first: number, max: number];
  /** Opens the database (tests wrap it, e.g. to refuse writes as a full disk does). */
  readonly openKv?: (path: string) => Promise<Deno.Kv>;
}

interface Head {
  version: number;
  versionstamp: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An `EventStore` on a Deno KV database. */
export class KvEventStore implements EventStore {
  readonly #heads = new Map<string, Head>();

  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #retryMs: readonly [number, number];

  private constructor(readonly kv: Deno.Kv, options: KvStoreOptions) {
    this.#log = options.log ?? silentLogger;
    this.#metrics = options.metrics;
    this.#retryMs = options.indexRetryMs ?? INDEX_RETRY_MS;
  }

  /** Opens (or creates) the KV database at `path`; `":memory:"` for a throwaway one. */
  static async open(path: string, options: KvStoreOptions = {}): Promise<KvEventStore> {
    const store = new KvEventStore(await (options.openKv ?? Deno.openKv)(path), options);
    // A full disk refuses the format marker: the store still reads, and the first append
    // writes the marker before anything else.
    await store.#upgrade().catch(() => {});
    return store;
  }

  /** Whether `["format"]` is known to be written. */
  #marked = false;

  /**
   * A database written before the index moved beside the chat path (it has no `["format"]`
   * key) indexed every event's tags in its append: each stream's checkpoint is its head. Every
   * operation checks that no process has marked the database yet, and one that marked it did
   * so before appending anything, so no newer append is taken for indexed.
   */
  async #upgrade(): Promise<void> {
    const format = await this.kv.get<number>(["format"]);
    if (format.value !== null) {
      this.#marked = true;
      return;
    }
    const unmarked = { key: ["format"], versionstamp: null };
    const heads: [string, number][] = [];
    for await (const { key, value } of this.kv.list<number>({ prefix: ["head"] })) {
      heads.push([key[1] as string, value]);
    }
    let op = this.kv.atomic().check(unmarked);
    let keys = 2 * keyBytes("format");
    let mutations = 1;
    for (let i = 0; i < heads.length; i += 10) {
      // A stream with a checkpoint already follows this layout: its own tail is indexed later.
      const part = heads.slice(i, i + 10);
      const known = await this.kv.getMany<number[]>(part.map(([s]) => ["indexed", s]));
      for (const [j, [stream, head]] of part.entries()) {
        if (known[j].value !== null) continue;
        const size = keyBytes("indexed", stream);
        if (keys + size > MAX_KEY_BYTES || mutations + 1 > MAX_MUTATIONS) {
          if (!(await op.commit()).ok) { // another process upgraded it meanwhile
            this.#marked = true;
            return;
          }
          op = this.kv.atomic().check(unmarked);
          keys = 2 * keyBytes("format");
          mutations = 1;
        }
        op.set(["indexed", stream], head);
        keys += size;
        mutations++;
      }
    }
    await op.set(["format"], FORMAT).commit();
    this.#marked = true;
  }

  async version(stream: string): Promise<number> {
    checkKey("stream id", stream);
    return (await this.#readHead(stream)).version;
  }

  /**
   * Appends are queued and committed together: appends to different streams (companies) that
   * arrive while a commit is in flight share the next atomic operation, each guarded by its
   * own head check. A stream appears at most once per operation, so a stale writer is still
   * caught. If a shared operation fails, its appends are retried one by one.
   */
  append(
    stream: string,
    expectedVersion: number,
    events: readonly NewEvent[],
  ): Promise<number> {
    try {
      checkKey("stream id", stream);
      for (const e of events) for (const tag of e.tags ?? []) checkKey("tag", tag);
    } catch (error) {
      return Promise.reject(error);
    }
    if (events.length === 0) return Promise.resolve(expectedVersion);
    const values = events.map(({ type, at, data, v = 1, tags }) =>
      encoder.encode(
        JSON.stringify(tags?.length ? { type, at, v, data, tags } : { type, at, v, data }),
      )
    );
    const tags = events.map((e) => e.tags ?? []);
    const mutations = values.length + 1;
    // Each event's key, and the head key twice (its check and its write).
    const keys = values.length * keyBytes("ev", stream, 0) + 2 * keyBytes("head", stream);
    // The payload limit counts values and keys (a written key twice).
    const bytes = values.reduce((n, v) => n + v.length, 0) + 2 * keys;
    try {
      checkSize(values, keys, bytes);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({
        stream,
        expectedVersion,
        values,
        tags,
        mutations,
        bytes,
        keys,
        resolve,
        reject,
      });
      if (!this.#flushing) this.#flush();
    });
  }

  readonly #queue: PendingAppend[] = [];
  #flushing = false;

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        if (!this.#marked) {
          try {
            await this.#upgrade();
          } catch (error) {
            for (const p of this.#queue.splice(0)) p.reject(error);
            break;
          }
        }
        const batch: PendingAppend[] = [];
        const streams = new Set<string>();
        let mutations = 0;
        let bytes = 0;
        let keys = 0;
        for (let i = 0; i < this.#queue.length;) {
          const p = this.#queue[i];
          const fits = mutations + p.mutations <= MAX_MUTATIONS + 1 &&
            bytes + p.bytes <= MAX_BYTES_PER_APPEND && keys + p.keys <= MAX_KEY_BYTES &&
            batch.length < MAX_CHECKS;
          if (!streams.has(p.stream) && (batch.length === 0 || fits)) {
            batch.push(p);
            streams.add(p.stream);
            mutations += p.mutations;
            bytes += p.bytes;
            keys += p.keys;
            this.#queue.splice(i, 1);
          } else i++;
        }
        if (batch.length === 1 || !(await this.#commitTogether(batch))) {
          for (const p of batch) {
            await this.#commitOne(p).then(p.resolve, p.reject);
          }
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** One atomic operation for several streams; false if it failed (then each is retried alone). */
  async #commitTogether(batch: PendingAppend[]): Promise<boolean> {
    const heads = await Promise.all(
      batch.map((p) => this.#heads.get(p.stream) ?? this.#readHead(p.stream)),
    );
    // Versions only grow, so a head already past the expected version is a conflict for sure.
    const ready = batch.filter((p, i) => {
      if (heads[i].version === p.expectedVersion) return true;
      p.reject(new VersionConflictError(p.stream, p.expectedVersion, heads[i].version));
      return false;
    });
    batch.length = 0;
    batch.push(...ready);
    if (batch.length === 0) return true;
    const op = this.kv.atomic();
    for (const p of batch) {
      op.check({ key: ["head", p.stream], versionstamp: this.#heads.get(p.stream)!.versionstamp });
      write(op, p);
    }
    let result: Deno.KvCommitResult | Deno.KvCommitError;
    try {
      result = await op.commit();
    } catch {
      return false;
    }
    if (!result.ok) return false;
    for (const p of batch) {
      const version = p.expectedVersion + p.values.length;
      this.#heads.set(p.stream, {
        version,
        versionstamp: (result as Deno.KvCommitResult).versionstamp,
      });
      this.#toIndex(p);
      p.resolve(version);
    }
    return true;
  }

  async #commitOne(p: PendingAppend): Promise<number> {
    const headKey = ["head", p.stream];
    let head = this.#heads.get(p.stream) ?? await this.#readHead(p.stream);
    for (let attempt = 0;; attempt++) {
      if (head.version !== p.expectedVersion) {
        throw new VersionConflictError(p.stream, p.expectedVersion, head.version);
      }
      const op = this.kv.atomic().check({ key: headKey, versionstamp: head.versionstamp });
      write(op, p);
      const result = await op.commit();
      if (result.ok) {
        const version = p.expectedVersion + p.values.length;
        this.#heads.set(p.stream, { version, versionstamp: result.versionstamp });
        this.#toIndex(p);
        return version;
      }
      // The cached head was stale: another writer moved the stream. Read it and decide again.
      head = await this.#readHead(p.stream);
      if (attempt > 0 && head.version === p.expectedVersion) {
        throw new VersionConflictError(p.stream, p.expectedVersion, head.version);
      }
    }
  }

  async *read(
    stream: string,
    { after = 0, limit }: { after?: number; limit?: number } = {},
  ): AsyncIterable<StoredEvent> {
    checkKey("stream id", stream);
    const entries = this.kv.list<Uint8Array>(
      { prefix: ["ev", stream], start: ["ev", stream, Math.max(after, 0) + 1] },
      { limit, batchSize: 500 },
    );
    for await (const { key, value } of entries) yield decode(key[2] as number, value);
  }

  async readTagged(
    stream: string,
    tag: string,
    { before, limit }: { before?: number; limit: number },
  ): Promise<StoredEvent[]> {
    checkKey("stream id", stream);
    checkKey("tag", tag);
    // Past the checkpoint, the events themselves say their tags; newest first.
    const indexed = (await this.kv.get<number>(["indexed", stream])).value ?? 0;
    const recent: StoredEvent[] = [];
    // An older page (`before` at or below the checkpoint) is all in the index.
    const tail = before !== undefined && before <= indexed + 1 ? [] : this.kv.list<Uint8Array>(
      before === undefined
        ? { prefix: ["ev", stream], start: ["ev", stream, indexed + 1] }
        : { start: ["ev", stream, indexed + 1], end: ["ev", stream, before] },
      { reverse: true, batchSize: 500 },
    );
    for await (const { key, value } of tail) {
      if (recent.length >= limit) break;
      const raw = JSON.parse(decoder.decode(value));
      if (raw.tags?.includes(tag)) recent.push(decode(key[2] as number, value, raw));
    }
    recent.reverse();
    if (recent.length >= limit) return recent;

    const prefix = ["tag", stream, tag];
    const end = Math.min(before ?? Infinity, indexed + 1);
    const seqs: number[] = [];
    const selector = end === Infinity ? { prefix } : { prefix, end: [...prefix, end] };
    for await (
      const { key } of this.kv.list(selector, { reverse: true, limit: limit - recent.length })
    ) {
      seqs.push(key[3] as number);
    }
    seqs.reverse();
    const out: StoredEvent[] = [];
    // getMany takes at most 10 keys.
    for (let i = 0; i < seqs.length; i += 10) {
      const keys = seqs.slice(i, i + 10).map((seq) => ["ev", stream, seq]);
      const entries = await this.kv.getMany<Uint8Array[]>(keys);
      for (const { key, value } of entries) {
        if (value) out.push(decode(key[2] as number, value));
      }
    }
    return [...out, ...recent];
  }

  /** Per stream: the index entries of appended events not yet written, and their range. */
  readonly #unindexed = new Map<string, Unindexed>();
  #pendingEntries = 0;
  /** Each stream's index checkpoint, as this process last read or wrote it. */
  readonly #indexed = new Map<string, number>();
  /** Streams whose index write failed: how often in a row, and when to try again (ms). */
  readonly #parked = new Map<string, { failures: number; until: number }>();
  /** Index writes in a row that failed before any stream was written (a read failed). */
  #indexFailures = 0;
  #indexRetryAt = 0;
  #indexTimer: ReturnType<typeof setTimeout> | undefined;
  #indexDue = 0;
  #indexing: Promise<void> | null = null;

  #toIndex(p: PendingAppend): void {
    let pending = this.#unindexed.get(p.stream);
    if (!pending) {
      pending = { from: p.expectedVersion + 1, upTo: p.expectedVersion, entries: [], gap: false };
      this.#unindexed.set(p.stream, pending);
    }
    // Another writer appended in between: its events are read back from the log.
    if (p.expectedVersion !== pending.upTo) pending.gap = true;
    pending.upTo = p.expectedVersion + p.values.length;
    // A parked stream's entries are read back from the log when its wait is over.
    if (this.#parked.has(p.stream)) {
      pending.gap = true;
      return;
    }
    p.tags.forEach((tags, i) => {
      for (const tag of tags) pending.entries.push([p.expectedVersion + i + 1, tag]);
      this.#pendingEntries += tags.length;
    });
    const delay = this.#pendingEntries >= INDEX_BATCH ? 0 : INDEX_DELAY_MS;
    this.#indexSoon(Math.max(delay, this.#indexRetryAt - Date.now()));
  }

  /** Arms the index timer for `delay` ms, unless it is armed sooner or a write runs. */
  #indexSoon(delay: number): void {
    if (this.#closed || this.#indexing) return; // a running write arms it again when done
    const due = Date.now() + delay;
    if (this.#indexTimer !== undefined && this.#indexDue <= due) return;
    clearTimeout(this.#indexTimer);
    this.#indexDue = due;
    this.#indexTimer = setTimeout(() => {
      this.#indexTimer = undefined;
      this.#startIndexing()?.catch(() => {
        // Logged where it failed; events past the checkpoint are still found meanwhile.
      });
    }, delay);
  }

  /** When the next index write is due, in ms from now; undefined if nothing waits. */
  #nextIndexDelay(): number | undefined {
    if (this.#unindexed.size === 0) return undefined;
    const now = Date.now();
    let due = Infinity;
    for (const stream of this.#unindexed.keys()) {
      const parked = this.#parked.get(stream);
      const ready = parked?.until ??
        now + (this.#pendingEntries >= INDEX_BATCH ? 0 : INDEX_DELAY_MS);
      due = Math.min(due, ready);
    }
    return Math.max(due, this.#indexRetryAt) - now;
  }

  /** Starts writing the index unless a write runs already; one runs at a time. */
  #startIndexing(all = false): Promise<void> | undefined {
    if (this.#indexing || this.#closed) return undefined;
    const writing = this.#writeIndex(all);
    this.#indexing = writing.catch(() => {}).finally(() => {
      this.#indexing = null;
      const delay = this.#nextIndexDelay();
      if (delay !== undefined) this.#indexSoon(delay);
    });
    return writing;
  }

  /**
   * Writes the waiting index entries and moves each stream's checkpoint past them: all
   * streams in as few atomic operations as the limits allow (one, mostly). Parked streams
   * wait for their time (`all`: they are tried too). Rejects if anything was left unwritten.
   */
  async #writeIndex(all: boolean): Promise<void> {
    const now = Date.now();
    const streams = [...this.#unindexed].filter(([stream]) =>
      all || (this.#parked.get(stream)?.until ?? 0) <= now
    );
    for (const [stream] of streams) this.#unindexed.delete(stream);
    this.#pendingEntries = 0; // parked streams keep no entries (they are read back)
    const failed = new Map<string, unknown>();
    let units: Unit[];
    try {
      units = await this.#unitsOf(streams, failed);
    } catch (error) {
      // The checkpoints could not be read: nothing was written, every stream waits.
      for (const [stream, pending] of streams) this.#putBack(stream, pending);
      this.#indexFailures++;
      this.#indexRetryAt = Date.now() + this.#backoff(this.#indexFailures);
      this.#indexFailed("index.read_failed", this.#indexFailures, {
        companies: streams.length,
        error: String(error),
      });
      throw error;
    }
    this.#indexFailures = 0;
    this.#indexRetryAt = 0;
    for (let u = 0; u < units.length;) {
      const inOp: Unit[] = [];
      let mutations = 0;
      let keys = 0;
      for (; u < units.length; u++) {
        const unit = units[u];
        const fits = mutations + unit.entries.length + 1 <= MAX_MUTATIONS &&
          keys + unit.keys <= MAX_KEY_BYTES;
        if (inOp.length > 0 && !fits) break;
        inOp.push(unit);
        mutations += unit.entries.length + 1;
        keys += unit.keys;
      }
      const live = inOp.filter((unit) => !failed.has(unit.stream));
      try {
        if (live.length > 0) await this.#commitUnits(live);
      } catch (error) {
        if (new Set(live.map((unit) => unit.stream)).size === 1) {
          failed.set(live[0].stream, error);
          continue;
        }
        // One stream's entries must not hold back the others': each stream alone, in order.
        for (const unit of live) {
          if (failed.has(unit.stream)) continue;
          await this.#commitUnits([unit]).catch((e) => failed.set(unit.stream, e));
        }
      }
    }
    for (const [stream, pending] of streams) {
      const error = failed.get(stream);
      if (error === undefined) {
        if (this.#parked.delete(stream)) {
          this.#log.info("index.write_recovered", { company: stream });
        }
        continue;
      }
      this.#putBack(stream, pending);
      const failures = (this.#parked.get(stream)?.failures ?? 0) + 1;
      const wait = this.#backoff(failures);
      this.#parked.set(stream, { failures, until: Date.now() + wait });
      this.#indexFailed("index.write_failed", failures, {
        company: stream,
        retry_ms: wait,
        error: String(error),
      });
    }
    if (failed.size > 0) {
      throw new Error(`Could not write the history index of ${failed.size} stream(s)`);
    }
  }

  /**
   * Per stream, runs of entries that each end with the checkpoint they complete, each small
   * enough for one atomic operation. Entries that can never be a key are skipped; a stream
   * whose entries cannot be read back from its log is marked in `failed`.
   */
  async #unitsOf(streams: [string, Unindexed][], failed: Map<string, unknown>): Promise<Unit[]> {
    const unknown = streams.map(([stream]) => stream).filter((s) => !this.#indexed.has(s));
    for (let i = 0; i < unknown.length; i += 10) {
      const keys = unknown.slice(i, i + 10).map((stream) => ["indexed", stream]);
      const found = await this.kv.getMany<number[]>(keys);
      found.forEach((e, j) => this.#indexed.set(unknown[i + j], e.value ?? 0));
    }
    const units: Unit[] = [];
    for (const [stream, pending] of streams) {
      let entries = pending.entries;
      if (pending.gap || this.#indexed.get(stream)! < pending.from - 1) {
        try {
          entries = await this.#tagsInLog(stream, this.#indexed.get(stream)!, pending.upTo);
        } catch (error) {
          failed.set(stream, error);
          continue;
        }
      }
      const checkpointKey = keyBytes("indexed", stream);
      let unit: Unit = { stream, upTo: pending.upTo, entries: [], keys: checkpointKey };
      for (const entry of entries) {
        const size = this.#entrySize(stream, entry);
        if (size === null) continue;
        if (unit.entries.length + 1 >= MAX_MUTATIONS || unit.keys + size > MAX_KEY_BYTES) {
          units.push({ ...unit, upTo: entry[0] - 1 });
          unit = { stream, upTo: pending.upTo, entries: [], keys: checkpointKey };
        }
        unit.entries.push(entry);
        unit.keys += size;
      }
      units.push(unit);
    }
    return units;
  }

  /** The key size of an index entry, or null (logged) if it can never be written. */
  #entrySize(stream: string, [seq, tag]: [number, string]): number | null {
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

  /** One atomic operation with these units' entries and checkpoints. */
  async #commitUnits(units: Unit[]): Promise<void> {
    const op = this.kv.atomic();
    for (const unit of units) {
      for (const [seq, tag] of unit.entries) op.set(["tag", unit.stream, tag, seq], seq);
      op.set(["indexed", unit.stream], unit.upTo);
    }
    const result = await op.commit();
    if (!result.ok) throw new Error("the index write's commit was refused");
    for (const unit of units) this.#indexed.set(unit.stream, unit.upTo);
  }

  /** Keeps what was not written, before what came since; read back from the log next time. */
  #putBack(stream: string, left: Unindexed): void {
    const later = this.#unindexed.get(stream);
    this.#unindexed.set(stream, {
      from: left.from,
      upTo: later?.upTo ?? left.upTo,
      entries: [],
      gap: true, // part may be written; the log has it all
    });
  }

  #backoff(failures: number): number {
    const [first, max] = this.#retryMs;
    return Math.min(first * 2 ** Math.min(failures - 1, 30), max);
  }

  #indexFailed(msg: string, failures: number, fields: Record<string, unknown>): void {
    this.#metrics?.indexFailures.inc();
    if (this.#closed) return;
    this.#log[failures >= INDEX_FAILURES_LOUD ? "error" : "warn"](msg, { ...fields, failures });
  }

  /** The index entries of a stream's events with `after < seq <= upTo`, read from the log. */
  async #tagsInLog(stream: string, after: number, upTo: number): Promise<[number, string][]> {
    const entries: [number, string][] = [];
    const range = { start: ["ev", stream, after + 1], end: ["ev", stream, upTo + 1] };
    for await (const { key, value } of this.kv.list<Uint8Array>(range)) {
      for (const tag of JSON.parse(decoder.decode(value)).tags ?? []) {
        entries.push([key[2] as number, tag]);
      }
    }
    return entries;
  }

  /**
   * Snapshots can outgrow one value (64 KB), so one is written as chunks under its version,
   * then made current by moving a pointer; the previous snapshot's chunks are then removed,
   * all in one atomic operation when it fits. One snapshot is written at a time: companies
   * that reach their snapshot point together do not crowd the chat path's commits.
   */
  saveSnapshot(stream: string, version: number, snapshot: unknown): Promise<void> {
    try {
      checkKey("stream id", stream);
    } catch (error) {
      return Promise.reject(error);
    }
    const saved = this.#snapshots.then(() => this.#saveSnapshot(stream, version, snapshot));
    this.#snapshots = saved.catch(() => {});
    return saved;
  }

  #snapshots: Promise<void> = Promise.resolve();

  async #saveSnapshot(stream: string, version: number, snapshot: unknown): Promise<void> {
    const bytes = encoder.encode(JSON.stringify(snapshot));
    const chunks = Math.ceil(bytes.length / MAX_VALUE_BYTES);
    const chunk = (c: number) => bytes.subarray(c * MAX_VALUE_BYTES, (c + 1) * MAX_VALUE_BYTES);
    const previous = (await this.kv.get<{ version: number; chunks: number }>(["snap_head", stream]))
      .value;
    const stale = previous && previous.version !== version ? previous.chunks : 0;
    if (bytes.length <= MAX_BYTES_PER_APPEND && chunks + 1 + stale <= MAX_MUTATIONS) {
      const op = this.kv.atomic();
      for (let c = 0; c < chunks; c++) op.set(["snap", stream, version, c], chunk(c));
      op.set(["snap_head", stream], { version, chunks });
      for (let c = 0; c < stale; c++) op.delete(["snap", stream, previous!.version, c]);
      await op.commit();
      return;
    }
    for (let i = 0; i < chunks; i += 10) {
      const op = this.kv.atomic();
      for (let c = i; c < Math.min(i + 10, chunks); c++) {
        op.set(["snap", stream, version, c], chunk(c));
      }
      await op.commit();
    }
    await this.kv.set(["snap_head", stream], { version, chunks });
    if (previous && previous.version !== version) {
      for await (const { key } of this.kv.list({ prefix: ["snap", stream, previous.version] })) {
        await this.kv.delete(key);
      }
    }
  }

  async loadSnapshot(stream: string): Promise<{ version: number; snapshot: unknown } | null> {
    checkKey("stream id", stream);
    const head = await this.kv.get<{ version: number; chunks: number }>(["snap_head", stream]);
    if (!head.value) return null;
    const parts: Uint8Array[] = [];
    for await (
      const { value } of this.kv.list<Uint8Array>({ prefix: ["snap", stream, head.value.version] })
    ) {
      parts.push(value);
    }
    if (parts.length !== head.value.chunks) return null;
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    return { version: head.value.version, snapshot: JSON.parse(decoder.decode(bytes)) };
  }

  async *streams(): AsyncIterable<string> {
    for await (const { key } of this.kv.list({ prefix: ["head"] })) yield key[1] as string;
  }

  async checkpoint(name: string): Promise<number> {
    checkKey("checkpoint name", name);
    return (await this.kv.get<number>(["checkpoint", name])).value ?? 0;
  }

  async saveCheckpoint(name: string, seq: number): Promise<void> {
    checkKey("checkpoint name", name);
    await this.kv.set(["checkpoint", name], seq);
  }

  /**
   * Writes the index entries still waiting, parked streams' too (the server calls it before
   * closing); rejects if some could not be written (they are retried later, or next start).
   */
  async flushIndex(): Promise<void> {
    while (this.#indexing) await this.#indexing;
    clearTimeout(this.#indexTimer);
    this.#indexTimer = undefined;
    if (this.#unindexed.size > 0) await this.#startIndexing(true);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#indexTimer);
    this.kv.close();
  }

  #closed = false;

  async #readHead(stream: string): Promise<Head> {
    const entry = await this.kv.get<number>(["head", stream]);
    const head = { version: entry.value ?? 0, versionstamp: entry.versionstamp };
    this.#heads.set(stream, head);
    return head;
  }
}

/** Index entries of one stream that go in one atomic operation, and the checkpoint after. */
interface Unit {
  readonly stream: string;
  readonly upTo: number;
  readonly entries: [seq: number, tag: string][];
  /** The encoded size of their keys and the checkpoint's. */
  keys: number;
}

/** A stream's appends since its index was last written: seqs `from..upTo`. */
interface Unindexed {
  readonly from: number;
  upTo: number;
  readonly entries: [seq: number, tag: string][];
  /** Some seq in the range was appended by another writer. */
  gap: boolean;
}

interface PendingAppend {
  readonly stream: string;
  readonly expectedVersion: number;
  readonly values: readonly Uint8Array[];
  readonly tags: readonly (readonly string[])[];
  readonly mutations: number;
  /** The encoded size of its keys. */
  readonly keys: number;
  readonly bytes: number;
  readonly resolve: (version: number) => void;
  readonly reject: (error: unknown) => void;
}

/** The writes of one append: its events and the new head (the index follows later). */
function write(op: Deno.AtomicOperation, p: PendingAppend): void {
  p.values.forEach((value, i) => op.set(["ev", p.stream, p.expectedVersion + i + 1], value));
  op.set(["head", p.stream], p.expectedVersion + p.values.length);
}

/** Refuses what Deno KV would store under another string's key (a lone surrogate). */
function checkKey(what: string, value: string): void {
  if (typeof value !== "string" || !value.isWellFormed()) {
    throw new InvalidKeyError(
      `Cannot use ${JSON.stringify(value)} as a ${what}: it is not well-formed Unicode, ` +
        `and Deno KV would keep it under the key of another`,
    );
  }
}

/** The encoded size of a key (Deno KV's tuple encoding: a tag byte, the bytes, a terminator). */
function keyBytes(...parts: (string | number)[]): number {
  let n = 0;
  for (const part of parts) {
    if (typeof part === "number") n += 9;
    else {
      const bytes = encoder.encode(part);
      n += bytes.length + 2;
      for (const b of bytes) if (b === 0) n++; // a 0x00 inside a string is escaped
    }
  }
  return n;
}

/** A stored event without its tags, which are the index's business. */
function decode(
  seq: number,
  value: Uint8Array,
  raw = JSON.parse(decoder.decode(value)),
): StoredEvent {
  const { type, at, v, data } = raw;
  return { seq, type, at, v, data };
}

function checkSize(values: readonly Uint8Array[], keys: number, bytes: number): void {
  if (values.length > MAX_MUTATIONS) {
    throw new AppendTooLargeError(
      `Cannot append ${values.length} events at once: the limit is ${MAX_MUTATIONS} writes`,
    );
  }
  if (keys > MAX_KEY_BYTES) {
    throw new AppendTooLargeError(
      `Cannot append ${values.length} events at once: their keys take ${keys} bytes, ` +
        `the limit is ${MAX_KEY_BYTES}`,
    );
  }
  for (const value of values) {
    if (value.length > MAX_VALUE_BYTES) {
      throw new AppendTooLargeError(
        `Cannot store an event of ${value.length} bytes: the limit is ${MAX_VALUE_BYTES}`,
      );
    }
  }
  if (bytes > MAX_BYTES_PER_APPEND) {
    throw new AppendTooLargeError(
      `Cannot append ${bytes} bytes at once: the limit is ${MAX_BYTES_PER_APPEND}`,
    );
  }
}
