/**
 * The tables, and their migration when a store opens. Several nodes may open at once: the
 * migration runs in one transaction that first takes an advisory lock, so one node creates or
 * upgrades the schema and the others wait, then find it done. `schema_version` lists the
 * migrations applied; a database migrated by a newer engine (a version this code does not
 * know) is refused rather than written with an older idea of the tables.
 *
 * | table         | row                                                   | read by                  |
 * | ------------- | ----------------------------------------------------- | ------------------------ |
 * | `streams`     | (stream, version): each append's expected-version row | append, `streams()`      |
 * | `events`      | (stream, seq) → type, at, v, data; tx, pos (the feed) | `read()`, history, feed  |
 * | `history`     | (stream, user_id, seq): the history index             | `readHistory()`          |
 * | `snapshots`   | stream → version, data (JSON text)                    | recovery                 |
 * | `checkpoints` | name → seq                                            | webhooks                 |
 * | `due`         | stream: a company to load at start-up                 | `dueStreams()`           |
 *
 * `events.tx` is the appending transaction's id (`xid8`) and `events.pos` a global position;
 * followers read in `(tx, pos)` order below the oldest transaction still running (see
 * `_log_feed.ts`), through the `events_feed` index.
 */
import type { Sql } from "./_sql.ts";

/** The channel each append notifies (in its transaction), so followers wake at once. */
export const CHANNEL = "chat_log_appended";

/** An arbitrary constant: the advisory lock the migration holds (per database). */
const MIGRATION_LOCK = 7_305_846_114_014;

/** The migrations, in order: entry `i` brings the schema to version `i + 1`. Append only. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE streams (
    stream text PRIMARY KEY,
    version bigint NOT NULL CHECK (version > 0)
  );
  CREATE TABLE events (
    stream text NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    at double precision NOT NULL,
    v integer NOT NULL,
    data json,
    tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
    pos bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (stream, seq)
  );
  CREATE INDEX events_feed ON events (tx, pos);
  CREATE TABLE history (
    stream text NOT NULL,
    user_id text NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (stream, user_id, seq)
  );
  CREATE TABLE snapshots (
    stream text PRIMARY KEY,
    version bigint NOT NULL,
    data text NOT NULL
  );
  CREATE TABLE checkpoints (
    name text PRIMARY KEY,
    seq bigint NOT NULL
  );
  CREATE TABLE due (
    stream text PRIMARY KEY
  );
  `,
  // 2: attachments, so that every node serves every file (adapters/store/postgres/_blobs.ts).
  `
  CREATE TABLE blobs (
    company text NOT NULL,
    id text NOT NULL,
    info jsonb NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (company, id)
  );
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Creates or upgrades the schema; safe when several nodes run it at once. */
export async function migrate(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_version (
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
    const [{ current }] = await tx<{ current: number | null }[]>`
      SELECT max(version) AS current FROM schema_version`;
    const at = current ?? 0;
    if (at > SCHEMA_VERSION) {
      throw new Error(
        `Cannot use the database: its schema is at version ${at}, newer than this engine's ` +
          `${SCHEMA_VERSION}; upgrade the engine`,
      );
    }
    for (let version = at + 1; version <= SCHEMA_VERSION; version++) {
      await tx.unsafe(MIGRATIONS[version - 1]);
      await tx`INSERT INTO schema_version (version) VALUES (${version})`;
    }
  });
}
