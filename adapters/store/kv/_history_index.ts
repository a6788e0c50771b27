/**
 * The history index (`["tag", stream, tag, seq]`), written beside the chat path: one user's
 * entries sit together in the index, so writing them with each append touched a page per user
 * per commit (half the database's work in bench (a)). An event keeps its tags in its own
 * value; the index is written in larger batches soon after, with a checkpoint
 * `["indexed", stream]` below which it is complete, and `readTagged` reads the events past
 * the checkpoint directly. A process that stops before indexing leaves events past the
 * checkpoint: still found, and indexed by the next process that appends to the stream.
 */
import type { StoredEvent } from "../../../src/ports.ts";
import type { AppendListener, PendingAppend } from "./_group_commit.ts";
import { decoder, keyBytes, MAX_KEY_BYTES, MAX_MUTATIONS } from "./_limits.ts";
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
  constructor(readonly kv: Deno.Kv) {}

  /** Per stream: the index entries of appended events not yet written, and their range. */
  readonly #unindexed = new Map<string, Unindexed>();
  #pendingEntries = 0;
  /** Each stream's index checkpoint, as this process last read or wrote it. */
  readonly #indexed = new Map<string, number>();
  #indexTimer: ReturnType<typeof setTimeout> | undefined;
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
    p.tags.forEach((tags, i) => {
      for (const tag of tags) pending.entries.push([p.expectedVersion + i + 1, tag]);
      this.#pendingEntries += tags.length;
    });
    pending.upTo = p.expectedVersion + p.values.length;
    this.#indexSoon(this.#pendingEntries >= INDEX_BATCH ? 0 : INDEX_DELAY_MS);
  }

  #indexSoon(delay: number): void {
    if (this.#closed) return;
    if (this.#indexing || (this.#indexTimer !== undefined && delay > 0)) return;
    clearTimeout(this.#indexTimer);
    this.#indexTimer = setTimeout(() => {
      this.#indexTimer = undefined;
      this.#startIndexing()?.catch(() => {
        // Events past the checkpoint are still found; they are written next time.
      });
    }, delay);
  }

  /** Starts writing the index unless a write runs already; one runs at a time. */
  #startIndexing(): Promise<void> | undefined {
    if (this.#indexing || this.#closed) return undefined;
    const writing = this.#writeIndex();
    this.#indexing = writing.catch(() => {}).finally(() => {
      this.#indexing = null;
      if (this.#unindexed.size > 0) {
        this.#indexSoon(this.#pendingEntries >= INDEX_BATCH ? 0 : INDEX_DELAY_MS);
      }
    });
    return writing;
  }

  /**
   * Writes the waiting index entries and moves each stream's checkpoint past them: all
   * streams in as few atomic operations as the limits allow (one, mostly).
   */
  async #writeIndex(): Promise<void> {
    const streams = [...this.#unindexed];
    this.#unindexed.clear();
    this.#pendingEntries = 0;
    let done = 0; // streams whose entries are committed
    try {
      const unknown = streams.map(([stream]) => stream).filter((s) => !this.#indexed.has(s));
      for (let i = 0; i < unknown.length; i += 10) {
        const keys = unknown.slice(i, i + 10).map((stream) => ["indexed", stream]);
        const found = await this.kv.getMany<number[]>(keys);
        found.forEach((e, j) => this.#indexed.set(unknown[i + j], e.value ?? 0));
      }
      // Per stream, runs of entries that each end with the checkpoint they complete, each small
      // enough for one atomic operation; then as many runs an operation as fit.
      const units: Unit[] = [];
      for (const [stream, pending] of streams) {
        const entries = pending.gap || this.#indexed.get(stream)! < pending.from - 1
          ? await this.#tagsInLog(stream, this.#indexed.get(stream)!, pending.upTo)
          : pending.entries;
        const checkpointKey = keyBytes("indexed", stream);
        let unit: Unit = { stream, upTo: pending.upTo, entries: [], keys: checkpointKey };
        for (const entry of entries) {
          const size = keyBytes("tag", stream, entry[1], entry[0]);
          if (unit.entries.length + 1 >= MAX_MUTATIONS || unit.keys + size > MAX_KEY_BYTES) {
            units.push({ ...unit, upTo: entry[0] - 1 });
            unit = { stream, upTo: pending.upTo, entries: [], keys: checkpointKey };
          }
          unit.entries.push(entry);
          unit.keys += size;
        }
        units.push({ ...unit, last: true });
      }
      for (let u = 0; u < units.length;) {
        const op = this.kv.atomic();
        let mutations = 0;
        let keys = 0;
        const inOp = [];
        for (; u < units.length; u++) {
          const unit = units[u];
          const fits = mutations + unit.entries.length + 1 <= MAX_MUTATIONS &&
            keys + unit.keys <= MAX_KEY_BYTES;
          if (inOp.length > 0 && !fits) break;
          for (const [seq, tag] of unit.entries) op.set(["tag", unit.stream, tag, seq], seq);
          op.set(["indexed", unit.stream], unit.upTo);
          mutations += unit.entries.length + 1;
          keys += unit.keys;
          inOp.push(unit);
        }
        await op.commit();
        for (const unit of inOp) {
          this.#indexed.set(unit.stream, unit.upTo);
          if (unit.last) done++;
        }
      }
    } catch (error) {
      // Keep what was not written, before what came since; the log has it all anyway.
      for (const [stream, left] of streams.slice(done)) {
        const later = this.#unindexed.get(stream);
        this.#unindexed.set(stream, {
          from: left.from,
          upTo: later?.upTo ?? left.upTo,
          entries: [...left.entries, ...(later?.entries ?? [])],
          gap: true, // read back from the log next time: part may be written
        });
      }
      throw error;
    }
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

  /** Writes the index entries still waiting (the server calls it before closing). */
  async flushIndex(): Promise<void> {
    while (this.#indexing) await this.#indexing;
    clearTimeout(this.#indexTimer);
    this.#indexTimer = undefined;
    if (this.#unindexed.size > 0) await this.#startIndexing();
  }

  /** Stops writing: what waits is left to the next process that appends to its stream. */
  close(): void {
    this.#closed = true;
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
  /** The stream's last unit of this write. */
  readonly last?: boolean;
}

/** A stream's appends since its index was last written: seqs `from..upTo`. */
interface Unindexed {
  readonly from: number;
  upTo: number;
  readonly entries: [seq: number, tag: string][];
  /** Some seq in the range was appended by another writer. */
  gap: boolean;
}
