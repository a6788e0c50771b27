/** Reading the log: a stream's events in order, and the streams that have any. */
import type { StoredEvent } from "../../../src/ports.ts";
import { checkKey, decoder } from "./_limits.ts";

/** The events of `stream` with `seq > after`, in order, at most `limit` of them. */
export async function* read(
  kv: Deno.Kv,
  stream: string,
  { after = 0, limit }: { after?: number; limit?: number } = {},
): AsyncIterable<StoredEvent> {
  checkKey("stream id", stream);
  const entries = kv.list<Uint8Array>(
    { prefix: ["ev", stream], start: ["ev", stream, Math.max(after, 0) + 1] },
    { limit, batchSize: 500 },
  );
  for await (const { key, value } of entries) yield decode(key[2] as number, value);
}

/** Every stream that has events. */
export async function* streams(kv: Deno.Kv): AsyncIterable<string> {
  for await (const { key } of kv.list({ prefix: ["head"] })) yield key[1] as string;
}

/** A stored event without its tags, which are the index's business. */
export function decode(
  seq: number,
  value: Uint8Array,
  raw = JSON.parse(decoder.decode(value)),
): StoredEvent {
  const { type, at, v, data } = raw;
  return { seq, type, at, v, data };
}
