/**
 * Following the log (`LogFeed`): which streams grew, by any node, in commit-safe order.
 *
 * Every event row carries its transaction's id (`tx xid8`) and a global position (`pos`,
 * taken when the row is inserted). A plain `pos > last` tail skips events: a transaction that
 * took its positions first can commit after one that took later positions, and by then the
 * follower has moved past them. So the follower reads in `(tx, pos)` order and only rows of
 * transactions older than the oldest one still running (`tx < pg_snapshot_xmin(...)`, the
 * watermark Emmett uses): every such transaction has ended, so its rows are all visible, and
 * every transaction that commits later has a larger `tx` than any row read. The price: one
 * long transaction anywhere in the cluster holds the feed back until it ends.
 *
 * The follower wakes on the appends' `pg_notify` (LISTEN, on postgres.js's dedicated
 * connection, which reconnects by itself and then polls), and polls every `pollMs` anyway: a
 * notification can be lost with the connection, and one that arrives while an older
 * transaction still runs finds nothing to read yet.
 */
import { type Logger, silentLogger } from "../../../src/log.ts";
import { CHANNEL } from "./_schema.ts";
import type { Sql } from "./_sql.ts";

/** How a follower polls, and where it reports trouble. */
export interface FeedOptions {
  /** The backstop poll's period, in ms (default 500). */
  readonly pollMs?: number;
  readonly log?: Logger;
}

/** Rows one query of a poll reads at most. */
const FEED_PAGE = 1000;

/** A position in the feed: after the row `(tx, pos)`. */
interface Cursor {
  tx: string;
  pos: number;
}

/** One `follow()`: tails the events table and reports each stream's highest seq seen. */
export class LogFollower {
  readonly #sql: Sql;
  readonly #moved: (stream: string, version: number) => void;
  readonly #pollMs: number;
  readonly #log: Logger;
  #cursor: Cursor;
  /** The highest seq reported per stream: a report never goes back. */
  readonly #reported = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  #failing = false;
  #unlisten: (() => Promise<void>) | undefined;

  private constructor(
    sql: Sql,
    moved: (stream: string, version: number) => void,
    cursor: Cursor,
    options: FeedOptions,
  ) {
    this.#sql = sql;
    this.#moved = moved;
    this.#cursor = cursor;
    this.#pollMs = options.pollMs ?? 500;
    this.#log = options.log ?? silentLogger;
  }

  /**
   * Starts following from now: every append that commits after this resolves is reported
   * (some that committed just before may be too).
   */
  static async start(
    sql: Sql,
    moved: (stream: string, version: number) => void,
    options: FeedOptions = {},
  ): Promise<LogFollower> {
    // Transactions older than the oldest one running have ended: their appends are not news.
    const [{ xmin }] = await sql<{ xmin: string }[]>`
      SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`;
    const follower = new LogFollower(sql, moved, { tx: xmin, pos: 0 }, options);
    // LISTEN after the cursor: `onlisten` polls once it is ready (and after each reconnect).
    const wake = () => follower.wake();
    const { unlisten } = await sql.listen(CHANNEL, wake, wake);
    follower.#unlisten = unlisten;
    follower.#arm();
    return follower;
  }

  /** Polls soon: now, or again right after the poll that runs. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#catchUp().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.wake();
      }
    });
  }

  /** Polls now and resolves when done (after the poll running, if any). */
  async poll(): Promise<void> {
    while (this.#running) await this.#running;
    this.wake();
    await this.#running;
  }

  /** Stops following; resolves once no poll runs and LISTEN has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#unlisten?.().catch(() => {});
    while (this.#running) await this.#running;
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.wake();
      this.#arm();
    }, this.#pollMs);
  }

  /** Reads every row committed past the cursor and below the watermark; reports the streams. */
  async #catchUp(): Promise<void> {
    try {
      for (;;) {
        // `tx` goes out as text, under another name: ORDER BY `tx` must sort the xid8 column.
        const rows = await this.#sql<{ xid: string; pos: number; stream: string; seq: number }[]>`
          SELECT tx::text AS xid, pos, stream, seq FROM events
          WHERE (tx, pos) > (${this.#cursor.tx}::xid8, ${this.#cursor.pos})
            AND tx < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY tx, pos LIMIT ${FEED_PAGE}`;
        if (rows.length === 0) break;
        const highest = new Map<string, number>();
        for (const { stream, seq } of rows) {
          if (seq > (highest.get(stream) ?? 0)) highest.set(stream, seq);
        }
        const last = rows[rows.length - 1];
        this.#cursor = { tx: last.xid, pos: last.pos };
        for (const [stream, seq] of highest) this.#report(stream, seq);
        if (rows.length < FEED_PAGE || this.#stopped) break;
      }
      if (this.#failing) this.#log.info("log_feed.recovered");
      this.#failing = false;
    } catch (error) {
      // The next wake-up (a notification or the timer) tries again from the same cursor.
      if (!this.#failing && !this.#stopped) {
        this.#log.warn("log_feed.poll_failed", { error: String(error) });
      }
      this.#failing = true;
    }
  }

  #report(stream: string, seq: number): void {
    if (seq <= (this.#reported.get(stream) ?? 0)) return;
    this.#reported.set(stream, seq);
    try {
      this.#moved(stream, seq);
    } catch (error) {
      this.#log.error("log_feed.callback_failed", { company: stream, error: String(error) });
    }
  }
}
