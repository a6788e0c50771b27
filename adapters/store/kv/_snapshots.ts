/** Snapshots of a stream's folded state, in chunks when they outgrow one value. */
import {
  checkKey,
  decoder,
  encoder,
  MAX_BYTES_PER_APPEND,
  MAX_MUTATIONS,
  MAX_VALUE_BYTES,
} from "./_limits.ts";

/**
 * Snapshots can outgrow one value (64 KB), so one is written as chunks under its version,
 * then made current by moving a pointer; the previous snapshot's chunks are then removed,
 * all in one atomic operation when it fits. One snapshot is written at a time: companies
 * that reach their snapshot point together do not crowd the chat path's commits.
 */
export class KvSnapshots {
  constructor(readonly kv: Deno.Kv) {}

  /** Keeps a snapshot of a stream's folded state at `version` (replacing the previous one). */
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

  /** The latest snapshot of a stream, if any (none if a chunk is missing). */
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
}
