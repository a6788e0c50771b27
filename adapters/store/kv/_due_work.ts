/**
 * The due-work index: `["due", stream]` for each company to load at start-up, and
 * `["due_index"]` once the index is complete. A database written before the index existed has
 * none: opening marks every stream with a head once (as loading every company did), and until
 * that has succeeded (a full disk refuses it) `dueStreams` yields every stream, so nothing due
 * is ever left out.
 */
import { checkKey, keyBytes, MAX_KEY_BYTES, MAX_MUTATIONS } from "./_limits.ts";

/** The due-work port on a Deno KV database. */
export class KvDueWork {
  #complete = false;

  constructor(readonly kv: Deno.Kv) {}

  async markDue(stream: string): Promise<void> {
    checkKey("stream id", stream);
    await this.kv.set(["due", stream], true);
  }

  async clearDue(stream: string): Promise<void> {
    checkKey("stream id", stream);
    await this.kv.delete(["due", stream]);
  }

  async *dueStreams(): AsyncIterable<string> {
    if (!this.#complete && (await this.kv.get(["due_index"])).value === null) {
      for await (const { key } of this.kv.list({ prefix: ["head"] })) yield key[1] as string;
      return;
    }
    this.#complete = true;
    for await (const { key } of this.kv.list({ prefix: ["due"] })) yield key[1] as string;
  }

  /**
   * Builds the index of a database that has none: every stream is marked, then the index is
   * marked complete. Marks are idempotent, so two processes doing it at once agree.
   */
  async ensure(): Promise<void> {
    if (this.#complete || (await this.kv.get(["due_index"])).value !== null) {
      this.#complete = true;
      return;
    }
    let op = this.kv.atomic();
    let keys = 0;
    let mutations = 0;
    for await (const { key } of this.kv.list({ prefix: ["head"] })) {
      const size = keyBytes("due", key[1] as string);
      if (keys + size > MAX_KEY_BYTES || mutations + 1 > MAX_MUTATIONS) {
        await op.commit();
        op = this.kv.atomic();
        keys = 0;
        mutations = 0;
      }
      op.set(["due", key[1] as string], true);
      keys += size;
      mutations++;
    }
    await op.set(["due_index"], true).commit();
    this.#complete = true;
  }
}
