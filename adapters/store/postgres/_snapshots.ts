/**
 * Snapshots, one row per stream: the folded state as JSON text, of any size (a `text` value
 * holds up to 1 GB, so no chunks as in KV). Several nodes may save one stream's snapshot: a
 * save never replaces a snapshot of a later version, so a slow node cannot set recovery back.
 */
import { checkId } from "./_limits.ts";
import type { Sql } from "./_sql.ts";

/** Keeps a snapshot of a stream's folded state at `version`, unless a later one is kept. */
export async function saveSnapshot(
  sql: Sql,
  stream: string,
  version: number,
  snapshot: unknown,
): Promise<void> {
  checkId("stream id", stream);
  await sql`
    INSERT INTO snapshots (stream, version, data)
    VALUES (${stream}, ${version}, ${JSON.stringify(snapshot)})
    ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version, data = EXCLUDED.data
    WHERE snapshots.version <= EXCLUDED.version`;
}

/** The latest snapshot of a stream, if any. */
export async function loadSnapshot(
  sql: Sql,
  stream: string,
): Promise<{ version: number; snapshot: unknown } | null> {
  checkId("stream id", stream);
  const [row] = await sql<{ version: number; data: string }[]>`
    SELECT version, data FROM snapshots WHERE stream = ${stream}`;
  return row ? { version: row.version, snapshot: JSON.parse(row.data) } : null;
}
