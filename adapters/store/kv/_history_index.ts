/**
 * The history index (`["tag", stream, tag, seq]`), written beside the chat path: one user's
 * entries sit together in the index, so writing them with each append touched a page per user
 * per commit (half the database's work in bench (a)). An event keeps its tags in its own
 * value; the index is written in larger batches soon after, with a checkpoint
 * `["indexed", stream]` below which it is complete, and `readTagged` reads the events past
 * the checkpoint directly. A process that stops before indexing leaves events past the
 * checkpoint: still found, and indexed by the next process that appends to the stream. Failed
 * index writes are skipped or retried with backoff (`_index_failures.ts`).
 */
import type { StoredEvent } from "../../../src/ports.ts";
import type { AppendListener, PendingAppend } from "./_group_commit.ts";
import { type IndexFailureOptions, IndexFailures } from "./_index_failures.ts";
import { checkKey, decoder, keyBytes, MAX_KEY_BYTES, MAX_MUTATIONS } from "./_limits.ts";
import { decode } from "./_reads.ts";

/** The index tag of a user's history: `["tag", stream, historyTag(userId), seq]`. */
export function historyTag(userId: string): string {
  return `history:${userId}`;
}

/** Index entries waiting: written at once past this many, else after INDEX_DELAY_MS. */
const INDEX_BATCH = 900;
const INDEX_DELAY_MS = 100;

/** The last `limit` events tagged `tag` with `seq < before`, in ascending order. */
export async function readTagged(
  kv: Deno.Kv,
  stream: string,
  tag: string,
  { before, limit }: { before?: number; limit: number },
): Promise<StoredEvent[]> {
  checkKey("stream id", stream);
  checkKey("tag", tag);
  // Past the checkpoint, the events themselves say their tags; newest first.
  const indexed = (await kv.get<number>(["indexed", stream])).value ?? 0;
  const recent: StoredEvent[] = [];
  // An older page (`before` at or below the checkpoint) is all in the index.
  const tail = before !== undefined && before <= indexed + 1 ? [] : kv.list<Uint8Array>(
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
    const { key } of kv.list(selector, { reverse: true, limit: limit - recent.length })
  ) {
    seqs.push(key[3] as number);
  }
  seqs.reverse();
  const out: StoredEvent[] = [];
  // getMany takes at most 10 keys.
  for (let i = 0; i < seqs.length; i += 10) {
    const keys = seqs.slice(i, i + 10).map((seq) => ["ev", stream, seq]);
    const entries = await kv.getMany<Uint8Array[]>(keys);
    for (const { key, value } of entries) {
      if (value) out.push(decode(key[2] as number, value));
    }
  }
  return [...out, ...recent];
}

/** Writes the index entries of durable appends in batches, soon after their commit. */
export class DeferredIndex implements AppendListener {
  readonly #failures: IndexFailures;

  constructor(readonly kv: Deno.Kv, options: IndexFailureOptions = {}) {
    this.#failures = new IndexFailures(options);
  }

  /** Per stream: the index entries of appended events not yet written, and their range. */
  readonly #unindexed = new Map<string, Unindexed>();
  #pendingEntries = 0;
  /** Each stream's index checkpoint, as this process last read or wrote it. */
  readonly #indexed = new Map<string, number>();
  #indexTimer: ReturnType<typeof setTimeout> | undefined;
  #indexDue = 0;
  #indexing: Promise<void> | null = null;

  /** Takes the index entries of a durable append, to be written soon. */
  toIndex(p: PendingAppend): void {
    let pending = this.#unindexed.get(p.stream);
    if (!pending) {
      pending = { from: p.expectedVersion + 1, upTo: p.expectedVersion, entries: [], gap: false };
      this.#unindexed.set(p.stream, pending);
    }
    // Another writer appended in between: its events are read back from the log.
    if (p.expectedVersion !== pending.upTo) pending.gap = true;
    pending.upTo = p.expectedVersion + p.values.length;
    // A parked stream's entries are read back from the log when its wait is over.
    if (this.#failures.isParked(p.stream)) {
      pending.gap = true;
      return;
    }
    p.tags.forEach((tags, i) => {
      for (const tag of tags) pending.entries.push([p.expectedVersion + i + 1, tag]);
      this.#pendingEntries += tags.length;
    });
    const delay = this.#pendingEntries >= INDEX_BATCH ? 0 : INDEX_DELAY_MS;
    this.#indexSoon(Math.max(delay, this.#failures.retryAt - Date.now()));
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
      const ready = this.#failures.parkedUntil(stream) ??
        now + (this.#pendingEntries >= INDEX_BATCH ? 0 : INDEX_DELAY_MS);
      due = Math.min(due, ready);
    }
    return Math.max(due, this.#failures.retryAt) - now;
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
      all || (this.#failures.parkedUntil(stream) ?? 0) <= now
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
      this.#failures.readFailed(streams.length, error);
      throw error;
    }
    this.#failures.readSucceeded();
    // As many units an operation as fit.
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
      if (!failed.has(stream)) {
        this.#failures.written(stream);
        continue;
      }
      this.#putBack(stream, pending);
      this.#failures.writeFailed(stream, failed.get(stream));
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
        const size = this.#failures.entrySize(stream, entry);
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
   * Writes the index entries still waiting, parked streams' too (the server calls it before
   * closing); rejects if some could not be written (they are retried later, or next start).
   */
  async flushIndex(): Promise<void> {
    while (this.#indexing) await this.#indexing;
    clearTimeout(this.#indexTimer);
    this.#indexTimer = undefined;
    if (this.#unindexed.size > 0) await this.#startIndexing(true);
  }

  /** Stops writing: what waits is left to the next process that appends to its stream. */
  close(): void {
    this.#closed = true;
    this.#failures.close();
    clearTimeout(this.#indexTimer);
  }

  #closed = false;
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
