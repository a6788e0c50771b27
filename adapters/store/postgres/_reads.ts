/**
 * Reading the log through its indexes: a stream's events by its primary key (stream, seq), a
 * user's history by the history table's (stream, user_id, seq), the streams from their rows.
 * Long reads go in pages by key (no cursor holds a connection while the caller works).
 */
import type { StoredEvent } from "../../../src/ports.ts";
import { checkId } from "./_limits.ts";
import type { Sql } from "./_sql.ts";

/** Rows a page of a long read holds. */
const PAGE = 1000;

/** An event row, its data as JSON text (parsed here: SQL NULL is `undefined`, as it was given). */
interface EventRow {
  seq: number;
  type: string;
  at: number;
  v: number;
  data: string | null;
}

function stored({ seq, type, at, v, data }: EventRow): StoredEvent {
  return { seq, type, at, v, data: data === null ? undefined : JSON.parse(data) };
}

/** The stream's version: the `seq` of its last event, 0 when empty. */
export async function version(sql: Sql, stream: string): Promise<number> {
  checkId("stream id", stream);
  const [row] = await sql<{ version: number }[]>`
    SELECT version FROM streams WHERE stream = ${stream}`;
  return row?.version ?? 0;
}

/** The events of `stream` with `seq > after`, in order, at most `limit` of them. */
export async function* read(
  sql: Sql,
  stream: string,
  { after = 0, limit = Infinity }: { after?: number; limit?: number } = {},
): AsyncIterable<StoredEvent> {
  checkId("stream id", stream);
  let from = Math.max(after, 0);
  let left = limit;
  while (left > 0) {
    const rows = await sql<EventRow[]>`
      SELECT seq, type, at, v, data::text AS data FROM events
      WHERE stream = ${stream} AND seq > ${from}
      ORDER BY seq LIMIT ${Math.min(left, PAGE)}`;
    for (const row of rows) yield stored(row);
    if (rows.length < Math.min(left, PAGE)) return;
    from = rows[rows.length - 1].seq;
    left -= rows.length;
  }
}

/** The last `limit` events of `userId`'s history with `seq < before`, in ascending order. */
export async function readHistory(
  sql: Sql,
  stream: string,
  userId: string,
  { before, limit }: { before?: number; limit: number },
): Promise<StoredEvent[]> {
  checkId("stream id", stream);
  checkId("user id", userId);
  if (limit <= 0) return [];
  const rows = await sql<EventRow[]>`
    SELECT e.seq, e.type, e.at, e.v, e.data::text AS data
    FROM (
      SELECT seq FROM history
      WHERE stream = ${stream} AND user_id = ${userId}
        ${before === undefined ? sql`` : sql`AND seq < ${before}`}
      ORDER BY seq DESC LIMIT ${limit}
    ) AS h
    JOIN events e ON e.stream = ${stream} AND e.seq = h.seq
    ORDER BY e.seq`;
  return rows.map(stored);
}

/** Each value of a text key column, in pages by key: `SELECT column FROM table`. */
export async function* keys(sql: Sql, table: string, column: string): AsyncIterable<string> {
  let last: string | null = null;
  for (;;) {
    const rows: { key: string }[] = await sql`
      SELECT ${sql(column)} AS key FROM ${sql(table)}
      ${last === null ? sql`` : sql`WHERE ${sql(column)} > ${last}`}
      ORDER BY ${sql(column)} LIMIT ${PAGE}`;
    for (const row of rows) yield row.key;
    if (rows.length < PAGE) return;
    last = rows[rows.length - 1].key;
  }
}
