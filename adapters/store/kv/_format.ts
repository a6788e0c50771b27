/**
 * The layout on disk, and the upgrade of a database written by an earlier layout.
 *
 * | key                            | value                                                     |
 * | ------------------------------ | --------------------------------------------------------- |
 * | `["format"]`                   | `FORMAT`: the layout this code writes                     |
 * | `["head", stream]`             | the stream's version; its versionstamp guards each append |
 * | `["ev", stream, seq]`          | one event, UTF-8 JSON `{type, at, v, data, tags?}`        |
 * | `["indexed", stream]`          | the history index's checkpoint: complete up to this seq   |
 * | `["tag", stream, tag, seq]`    | a history index entry (`seq`)                             |
 * | `["snap_head", stream]`        | the current snapshot's `{version, chunks}`                |
 * | `["snap", stream, version, c]` | chunk `c` of a snapshot                                   |
 * | `["checkpoint", name]`         | a consumer's position in the log                          |
 * | `["due", stream]`              | `true`: load this company at start-up (`_due_work.ts`)    |
 * | `["due_index"]`                | `true`: the due-work index is complete                    |
 */
import { keyBytes, MAX_KEY_BYTES, MAX_MUTATIONS } from "./_limits.ts";

/** The layout this code writes: 2, the tag index follows the append (see `_history_index.ts`). */
export const FORMAT = 2;

/**
 * Whether `["format"]` is known to be written. Opening tries to write it; a full disk refuses
 * that, and the store still reads: the first append then writes the marker before anything
 * else (`ensure`), so no append is ever taken for one of the previous layout.
 */
export class FormatMarker {
  #marked = false;

  constructor(readonly kv: Deno.Kv) {}

  /** Whether the marker is known to be on disk (no need to `ensure` it). */
  get marked(): boolean {
    return this.#marked;
  }

  /** Upgrades and marks the database unless known to be marked; rejects if it could not. */
  async ensure(): Promise<void> {
    if (this.#marked) return;
    await upgrade(this.kv);
    this.#marked = true; // written by this call, found, or written by another process
  }
}

/**
 * A database written before the index moved beside the chat path (it has no `["format"]`
 * key) indexed every event's tags in its append: each stream's checkpoint is its head. Every
 * operation checks that no process has marked the database yet, and one that marked it did
 * so before appending anything, so no newer append is taken for indexed.
 */
export async function upgrade(kv: Deno.Kv): Promise<void> {
  const format = await kv.get<number>(["format"]);
  if (format.value !== null) return;
  const unmarked = { key: ["format"], versionstamp: null };
  const heads: [string, number][] = [];
  for await (const { key, value } of kv.list<number>({ prefix: ["head"] })) {
    heads.push([key[1] as string, value]);
  }
  let op = kv.atomic().check(unmarked);
  let keys = 2 * keyBytes("format");
  let mutations = 1;
  for (let i = 0; i < heads.length; i += 10) {
    // A stream with a checkpoint already follows this layout: its own tail is indexed later.
    const part = heads.slice(i, i + 10);
    const known = await kv.getMany<number[]>(part.map(([s]) => ["indexed", s]));
    for (const [j, [stream, head]] of part.entries()) {
      if (known[j].value !== null) continue;
      const size = keyBytes("indexed", stream);
      if (keys + size > MAX_KEY_BYTES || mutations + 1 > MAX_MUTATIONS) {
        if (!(await op.commit()).ok) return; // another process upgraded it meanwhile
        op = kv.atomic().check(unmarked);
        keys = 2 * keyBytes("format");
        mutations = 1;
      }
      op.set(["indexed", stream], head);
      keys += size;
      mutations++;
    }
  }
  await op.set(["format"], FORMAT).commit();
}
