/**
 * The cluster's store: PostgreSQL as the event log and every other storage port, shared by all
 * nodes, and the feed (`LogFeed`) by which each node learns what the others appended.
 *
 * Its parts, each in its own file:
 * - `_schema.ts`: the tables, created or migrated at open under an advisory lock;
 * - `_group_commit.ts`: appends of many companies in one transaction, each checked on its
 *   own expected version, with the history index rows and the followers' notification;
 * - `_reads.ts`: a stream's events, a user's history and the streams, through indexes;
 * - `_snapshots.ts`: snapshots, one row per stream;
 * - `_log_feed.ts`: followers that tail the log by `(tx, pos)` below the oldest running
 *   transaction, so no append that commits late is skipped;
 * - `_limits.ts`: the size of an append and the ids the tables keep apart (as KV's or more);
 * - `_sql.ts`: the connection pool (postgres.js).
 * @module
 */
import { historyUsers } from "../../../src/history.ts";
import type { Logger } from "../../../src/log.ts";
import type { Metrics } from "../../../src/metrics.ts";
import type { HistoryRule, LogFeed, NewEvent, Storage, StoredEvent } from "../../../src/ports.ts";
import { GroupCommit } from "./_group_commit.ts";
import { checkId, MAX_NAME_BYTES } from "./_limits.ts";
import { LogFollower } from "./_log_feed.ts";
import { keys, read, readHistory, version } from "./_reads.ts";
import { migrate } from "./_schema.ts";
import { loadSnapshot, saveSnapshot } from "./_snapshots.ts";
import { connect, type Sql } from "./_sql.ts";
import { PostgresBlobStore } from "./_blobs.ts";

/** What a PostgreSQL store may be given when opened. */
export interface PostgresStoreOptions {
  readonly log?: Logger;
  /** Gets a gauge of the appends waiting for a commit. */
  readonly metrics?: Metrics;
  /** Which users' histories an event belongs to (default: `historyUsers`). */
  readonly history?: HistoryRule;
  /** How often a follower polls besides the notifications, in ms (default 500). */
  readonly pollMs?: number;
  /** Connections in the pool (default 10; LISTEN takes one more). */
  readonly maxConnections?: number;
  /** The `application_name` of this node's connections, e.g. its `NODE_ID`. */
  readonly applicationName?: string;
  /** Group-commit transactions in flight at once (default 2). */
  readonly commitsInFlight?: number;
}

/** Every storage port (`Storage`) and the log feed (`LogFeed`) on a PostgreSQL database. */
export class PostgresEventStore implements Storage, LogFeed {
  readonly #sql: Sql;
  readonly #commits: GroupCommit;
  readonly #history: HistoryRule;
  readonly #options: PostgresStoreOptions;
  readonly #followers = new Set<LogFollower>();

  private constructor(sql: Sql, options: PostgresStoreOptions) {
    this.#sql = sql;
    this.#options = options;
    this.#history = options.history ?? historyUsers;
    this.#commits = new GroupCommit(sql, options.commitsInFlight);
    options.metrics?.gauge(
      "chat_store_appends_waiting",
      "Appends queued for the next group commit (PostgreSQL).",
      () => this.#commits.waiting,
    );
  }

  /**
   * Connects to the database at `url` (`postgres://…`) and creates or migrates its schema;
   * several nodes may open one database at once.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresEventStore> {
    const sql = connect(url, options);
    try {
      await migrate(sql);
    } catch (error) {
      await sql.end({ timeout: 0 });
      throw error;
    }
    return new PostgresEventStore(sql, options);
  }

  /** Attachments in the same database, so that every node serves every file. */
  get blobs(): PostgresBlobStore {
    return new PostgresBlobStore(this.#sql);
  }

  version(stream: string): Promise<number> {
    return version(this.#sql, stream);
  }

  append(stream: string, expectedVersion: number, events: readonly NewEvent[]): Promise<number> {
    const users = events.map((e) => this.#history(e));
    return this.#commits.append(stream, expectedVersion, events, users);
  }

  read(stream: string, options?: { after?: number; limit?: number }): AsyncIterable<StoredEvent> {
    return read(this.#sql, stream, options);
  }

  streams(): AsyncIterable<string> {
    return keys(this.#sql, "streams", "stream");
  }

  readHistory(
    stream: string,
    userId: string,
    options: { before?: number; limit: number },
  ): Promise<StoredEvent[]> {
    return readHistory(this.#sql, stream, userId, options);
  }

  /** Nothing is deferred: the history rows are written in each append's transaction. */
  flushIndex(): Promise<void> {
    return Promise.resolve();
  }

  saveSnapshot(stream: string, version: number, snapshot: unknown): Promise<void> {
    return saveSnapshot(this.#sql, stream, version, snapshot);
  }

  loadSnapshot(stream: string): Promise<{ version: number; snapshot: unknown } | null> {
    return loadSnapshot(this.#sql, stream);
  }

  async checkpoint(name: string): Promise<number> {
    checkId("checkpoint name", name, MAX_NAME_BYTES);
    const [row] = await this.#sql<{ seq: number }[]>`
      SELECT seq FROM checkpoints WHERE name = ${name}`;
    return row?.seq ?? 0;
  }

  async saveCheckpoint(name: string, seq: number): Promise<void> {
    checkId("checkpoint name", name, MAX_NAME_BYTES);
    await this.#sql`
      INSERT INTO checkpoints (name, seq) VALUES (${name}, ${seq})
      ON CONFLICT (name) DO UPDATE SET seq = EXCLUDED.seq`;
  }

  async markDue(stream: string): Promise<void> {
    checkId("stream id", stream);
    await this.#sql`INSERT INTO due (stream) VALUES (${stream}) ON CONFLICT DO NOTHING`;
  }

  async clearDue(stream: string): Promise<void> {
    checkId("stream id", stream);
    await this.#sql`DELETE FROM due WHERE stream = ${stream}`;
  }

  dueStreams(): AsyncIterable<string> {
    return keys(this.#sql, "due", "stream");
  }

  async follow(moved: (stream: string, version: number) => void): Promise<() => Promise<void>> {
    const follower = await LogFollower.start(this.#sql, moved, this.#options);
    this.#followers.add(follower);
    return async () => {
      this.#followers.delete(follower);
      await follower.stop();
    };
  }

  /**
   * Stops the followers and closes the pool once the queries in flight are done (at most a
   * few seconds); resolves when every connection is closed.
   */
  async close(): Promise<void> {
    const followers = [...this.#followers];
    this.#followers.clear();
    await Promise.all(followers.map((f) => f.stop()));
    await this.#sql.end({ timeout: 5 });
  }
}
