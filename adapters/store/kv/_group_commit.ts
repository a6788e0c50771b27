/**
 * The chat path's writes: appends queued and committed together across streams (companies),
 * each guarded by its stream's head (optimistic concurrency). Once an append is durable its
 * index entries are handed to the history index, which writes them later. A stream id or a
 * tag that is not well-formed Unicode is refused (`InvalidKeyError`, see `checkKey`).
 */
import { AppendTooLargeError, VersionConflictError } from "../../../src/errors.ts";
import type { NewEvent } from "../../../src/ports.ts";
import type { FormatMarker } from "./_format.ts";
import {
  checkKey,
  encoder,
  keyBytes,
  MAX_BYTES_PER_APPEND,
  MAX_CHECKS,
  MAX_KEY_BYTES,
  MAX_MUTATIONS,
  MAX_VALUE_BYTES,
} from "./_limits.ts";

/** An event to append with its history index tags, which its value keeps until indexed. */
export type TaggedEvent = NewEvent & { readonly tags?: readonly string[] };

interface Head {
  version: number;
  versionstamp: string | null;
}

/** What the group commit tells once an append is durable (the deferred history index). */
export interface AppendListener {
  toIndex(p: PendingAppend): void;
}

/** Appends to every stream of one database, committed together where they fit. */
export class GroupCommit {
  readonly #heads = new Map<string, Head>();

  /** `format`: marked before the first append, if opening could not mark it. */
  constructor(
    readonly kv: Deno.Kv,
    readonly index: AppendListener,
    readonly format: FormatMarker,
  ) {}

  /** The stream's version: the `seq` of its last event, 0 when empty. */
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
    events: readonly TaggedEvent[],
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
      if (!this.#flushing) {
        this.#flush().catch((error) => {
          for (const p of this.#queue.splice(0)) p.reject(error);
        });
      }
    });
  }

  readonly #queue: PendingAppend[] = [];
  #flushing = false;

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        if (!this.format.marked) {
          try {
            await this.format.ensure();
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
        try {
          if (batch.length === 1 || !(await this.#commitTogether(batch))) {
            for (const p of batch) {
              await this.#commitOne(p).then(p.resolve, p.reject);
            }
          }
        } catch (error) {
          // Nothing here may leave an append unanswered (its actor would wait for good): those
          // of the batch not answered yet are refused; answering one twice changes nothing.
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** One atomic operation for several streams; false if it failed (then each is retried alone). */
  async #commitTogether(batch: PendingAppend[]): Promise<boolean> {
    let heads: Head[];
    try {
      heads = await Promise.all(
        batch.map((p) => this.#heads.get(p.stream) ?? this.#readHead(p.stream)),
      );
    } catch {
      return false; // each append is tried alone, and a failing read refuses only its own
    }
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
      this.index.toIndex(p);
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
        this.index.toIndex(p);
        return version;
      }
      // The cached head was stale: another writer moved the stream. Read it and decide again.
      head = await this.#readHead(p.stream);
      if (attempt > 0 && head.version === p.expectedVersion) {
        throw new VersionConflictError(p.stream, p.expectedVersion, head.version);
      }
    }
  }

  async #readHead(stream: string): Promise<Head> {
    const entry = await this.kv.get<number>(["head", stream]);
    const head = { version: entry.value ?? 0, versionstamp: entry.versionstamp };
    this.#heads.set(stream, head);
    return head;
  }
}

/** An append waiting for its commit. */
export interface PendingAppend {
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
