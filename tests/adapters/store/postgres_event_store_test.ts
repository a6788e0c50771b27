/**
 * The PostgreSQL store on its own throwaway server (`tests/_services.ts`), a fresh database per
 * test: the store contract, the group commit, several nodes on one database, and the feed.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { PostgresEventStore } from "../../../adapters/store/mod.ts";
import { LogFollower } from "../../../adapters/store/postgres/_log_feed.ts";
import { connect } from "../../../adapters/store/postgres/_sql.ts";
import { InvalidKeyError, VersionConflictError } from "../../../src/errors.ts";
import type { NewEvent, StoredEvent } from "../../../src/ports.ts";
import { startPostgres } from "../../_services.ts";
import { all, events, storeContract } from "./_contract.ts";

const pg = await startPostgres();
const ignore = pg === null;

/** Runs `fn` with a fresh database's URL and a raw connection to it (ended afterwards). */
async function withDatabase(
  fn: (url: string, sql: postgres.Sql) => Promise<void>,
): Promise<void> {
  const url = await pg!.freshDatabase();
  const sql = postgres(url, { onnotice: () => {} });
  try {
    await fn(url, sql);
  } finally {
    await sql.end();
  }
}

/** Opens stores on `url` for the test, closing them at its end. */
async function withStores(
  url: string,
  names: string[],
  fn: (...stores: PostgresEventStore[]) => Promise<void>,
): Promise<void> {
  const stores = await Promise.all(
    names.map((applicationName) => PostgresEventStore.open(url, { applicationName })),
  );
  try {
    await fn(...stores);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}

/** Resolves when `moved` has reported each stream at least at the given version. */
class Reports {
  readonly seen = new Map<string, number>();
  #waiters: { check: () => boolean; resolve: () => void }[] = [];

  readonly moved = (stream: string, version: number): void => {
    const before = this.seen.get(stream) ?? 0;
    assert.ok(version > before, `${stream} reported at ${version} after ${before}`);
    this.seen.set(stream, version);
    this.#waiters = this.#waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  };

  /** Waits for the reports (rejects after 10 s of real time rather than hang). */
  until(expected: Record<string, number>): Promise<void> {
    const check = () => Object.entries(expected).every(([s, v]) => (this.seen.get(s) ?? 0) >= v);
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`not reported: ${JSON.stringify(expected)}; seen ${[...this.seen]}`));
      }, 10_000);
      this.#waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

/** Waits until `condition` holds, checking every 10 ms (for states no event announces). */
async function eventually(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

if (pg) {
  storeContract(
    "PostgresEventStore",
    async () => PostgresEventStore.open(await pg.freshDatabase()),
  );
} else {
  Deno.test({
    name: "PostgresEventStore: skipped, PostgreSQL is not installed",
    ignore: true,
    fn() {},
  });
}

Deno.test({
  name:
    "PostgresEventStore: concurrent appends to many streams share one transaction, and a stale one fails alone",
  ignore,
  fn: () =>
    withDatabase((url, sql) =>
      withStores(url, ["node"], async (store) => {
        await store.append("s3", 0, events(1, 1, "ann"));
        // The first appends find a commit slot free (two run at once) and commit alone; the
        // rest queue behind them and share one transaction.
        const appends = Array.from(
          { length: 50 },
          (_, i) => store.append(`s${i}`, 0, events(2, 1, "ann")),
        );
        const results = await Promise.allSettled(appends);
        results.forEach((r, i) => {
          if (i === 3) {
            assert.equal(r.status, "rejected");
            assert.ok((r as PromiseRejectedResult).reason instanceof VersionConflictError);
            assert.equal((r as PromiseRejectedResult).reason.actual, 1);
          } else assert.deepEqual(r, { status: "fulfilled", value: 2 });
        });
        for (let i = 0; i < 50; i++) assert.equal(await store.version(`s${i}`), i === 3 ? 1 : 2);
        const shares = await sql`
          SELECT count(DISTINCT stream)::int AS appends FROM events
          WHERE stream <> 's3' GROUP BY tx ORDER BY 1 DESC`;
        assert.ok(shares.length <= 3, `49 appends took ${shares.length} transactions`);
        assert.ok(shares[0].appends >= 47, `at most ${shares[0].appends} appends shared one`);
        const [{ rows }] = await sql`SELECT count(*)::int AS rows FROM history`;
        assert.equal(rows, 1 + 49 * 2);
      })
    ),
});

Deno.test({
  name:
    "PostgresEventStore: two nodes on one database: unique seqs under concurrent writers, stale writes refused",
  ignore,
  fn: () =>
    withDatabase((url) =>
      withStores(url, ["a", "b"], async (a, b) => {
        await a.append("acme", 0, events(1));
        await assert.rejects(b.append("acme", 0, events(1)), VersionConflictError);
        // Every writer retries from the version it read until its append lands.
        let landed = 0;
        const writer = async (store: PostgresEventStore, n: number) => {
          for (let i = 0; i < n; i++) {
            for (;;) {
              const at = await store.version("acme");
              try {
                await store.append("acme", at, events(1, at + 1));
                landed++;
                break;
              } catch (error) {
                if (!(error instanceof VersionConflictError)) throw error;
              }
            }
          }
        };
        await Promise.all([writer(a, 10), writer(b, 10), writer(a, 10), writer(b, 10)]);
        assert.equal(landed, 40);
        const seqs = (await all(b.read("acme"))).map((e) => e.seq);
        assert.deepEqual(seqs, Array.from({ length: 41 }, (_, i) => i + 1));
      })
    ),
});

Deno.test({
  name: "PostgresEventStore: nodes that open a new database at once migrate it once",
  ignore,
  fn: () =>
    withDatabase(async (url, sql) => {
      await withStores(url, ["n1", "n2", "n3", "n4"], async (...stores) => {
        await stores[0].append("acme", 0, events(1));
        assert.equal(await stores[3].version("acme"), 1);
      });
      const versions = await sql`SELECT version FROM schema_version ORDER BY version`;
      assert.deepEqual(versions.map((r) => r.version), [1, 2]); // each migration once
    }),
});

Deno.test({
  name: "PostgresEventStore: a database migrated by a newer engine is refused, not written",
  ignore,
  fn: () =>
    withDatabase(async (url, sql) => {
      await (await PostgresEventStore.open(url)).close();
      await sql`INSERT INTO schema_version (version) VALUES (99)`;
      await assert.rejects(PostgresEventStore.open(url), /schema is at version 99/);
    }),
});

Deno.test({
  name: "PostgresEventStore: reads page through long streams, and events come back as appended",
  ignore,
  fn: () =>
    withDatabase((url) =>
      withStores(url, ["node"], async (store) => {
        await store.append("acme", 0, events(999));
        await store.append("acme", 999, events(999, 1000));
        await store.append("acme", 1998, events(10, 1999));
        assert.equal((await all(store.read("acme"))).length, 2008);
        const part = await all(store.read("acme", { after: 500, limit: 1200 }));
        assert.deepEqual(part.map((e) => e.seq), Array.from({ length: 1200 }, (_, i) => 501 + i));
        // JSON text is kept as given (key order, NUL escapes); `undefined` data stays undefined.
        const odd = { z: 1, a: "nul\u0000 and \ud83d\ude00", m: [null, 1.5, -0, 1e21] };
        await store.append("odd", 0, [
          { type: "X", at: 1, data: odd },
          { type: "Y", at: 2, data: undefined },
          { type: "Z", at: 3, data: null, v: 3 },
        ]);
        const back = await all(store.read("odd"));
        assert.equal(JSON.stringify(back[0].data), JSON.stringify(odd));
        assert.deepEqual(back.slice(1), [
          { seq: 2, type: "Y", at: 2, v: 1, data: undefined },
          { seq: 3, type: "Z", at: 3, v: 3, data: null },
        ]);
        const names = await all(store.streams());
        assert.deepEqual(names.sort(), ["acme", "odd"]);
      })
    ),
});

Deno.test({
  name:
    "PostgresEventStore: an id with a NUL or a lone surrogate, or over 1,024 bytes, is refused, never merged",
  ignore,
  fn: () =>
    withDatabase((url) =>
      withStores(url, ["node"], async (store) => {
        for (const bad of ["a\u0000b", "X\ud800", "x".repeat(1025)]) {
          await assert.rejects(store.append(bad, 0, events(1)), InvalidKeyError);
          await assert.rejects(store.version(bad), InvalidKeyError);
          await assert.rejects(store.readHistory("acme", bad, { limit: 1 }), InvalidKeyError);
          await assert.rejects(store.markDue(bad), InvalidKeyError);
          const message = { type: "MessageSent", at: 1, data: { userId: bad } };
          await assert.rejects(store.append("acme", 0, [message]), InvalidKeyError);
        }
        await assert.rejects(store.saveCheckpoint("w\ud800", 1), InvalidKeyError);
        assert.equal(await store.version("acme"), 0);
        assert.deepEqual(await all(store.streams()), []);
      })
    ),
});

Deno.test({
  name: "PostgresEventStore: a snapshot of an earlier version does not replace a later one",
  ignore,
  fn: () =>
    withDatabase((url) =>
      withStores(url, ["a", "b"], async (a, b) => {
        await a.saveSnapshot("acme", 20, { at: 20 });
        await b.saveSnapshot("acme", 10, { at: 10 });
        assert.deepEqual(await b.loadSnapshot("acme"), { version: 20, snapshot: { at: 20 } });
      })
    ),
});

Deno.test({
  name:
    "PostgresEventStore follow(): reports the streams other nodes append to, each version only going up",
  ignore,
  fn: () =>
    withDatabase((url) =>
      withStores(url, ["writer", "reader"], async (writer, reader) => {
        await writer.append("before", 0, events(1));
        const reports = new Reports();
        const stop = await reader.follow(reports.moved);
        try {
          await writer.append("acme", 0, events(3));
          await writer.append("globex", 0, events(1));
          await writer.append("acme", 3, events(2, 4));
          await reports.until({ acme: 5, globex: 1 });
          assert.equal(reports.seen.has("before"), false);
        } finally {
          await stop();
        }
      })
    ),
});

Deno.test({
  name: "PostgresEventStore follow(): a transaction that commits after a later one is not skipped",
  ignore,
  fn: () =>
    withDatabase((url, sql) =>
      withStores(url, ["slow", "fast", "reader"], async (slow, fast, reader) => {
        const feedSql = connect(url);
        const polled = new Reports();
        const follower = await LogFollower.start(feedSql, polled.moved, { pollMs: 3_600_000 });
        const live = new Reports();
        const stop = await reader.follow(live.moved);
        const blocker = await sql.reserve();
        try {
          // The blocker holds the key (slow, 1): the slow append gets its transaction id and
          // positions, then waits for the key, while a later append commits.
          await blocker`BEGIN`;
          await blocker`INSERT INTO events (stream, seq, type, at, v) VALUES ('slow', 1, 'X', 0, 1)`;
          const slowAppend = slow.append("slow", 0, events(1));
          await eventually("the slow append to wait for its key", async () => {
            const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE application_name = 'slow' AND wait_event_type = 'Lock'`;
            return n === 1;
          });
          await fast.append("fast", 0, events(2));
          // Committed, but after a transaction still running: a plain `pos > last` tail
          // would report it now and then skip the slow one's lower positions.
          await follower.poll();
          assert.deepEqual([...polled.seen], []);
          await blocker`ROLLBACK`;
          assert.equal(await slowAppend, 1);
          await follower.poll();
          assert.deepEqual(Object.fromEntries(polled.seen), { slow: 1, fast: 2 });
          await live.until({ slow: 1, fast: 2 });
        } finally {
          blocker.release();
          await stop();
          await follower.stop();
          await feedSql.end();
        }
      })
    ),
});

Deno.test({
  name:
    "PostgresEventStore follow(): an append whose writer's connection is killed right after its commit is reported, and so is one made while the follower's LISTEN connection was down",
  ignore,
  fn: () =>
    withDatabase(async (url, sql) => {
      const reader = await PostgresEventStore.open(url, { applicationName: "reader", pollMs: 50 });
      const doomed = await PostgresEventStore.open(url, { applicationName: "doomed" });
      const other = await PostgresEventStore.open(url, { applicationName: "other" });
      const reports = new Reports();
      const stop = await reader.follow(reports.moved);
      const kill = async (where: string) =>
        (await sql.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${where}`))
          .length;
      const listening = `application_name = 'reader' AND query ILIKE 'listen%'`;
      const listenerUp = () =>
        eventually("the follower's LISTEN connection", async () =>
          (await sql.unsafe(`SELECT pid FROM pg_stat_activity WHERE ${listening}`)).length === 1);
      try {
        // The writer's connections go the moment its append has committed, and so does the
        // follower's LISTEN connection: nothing the writer or a notification does after the
        // commit is needed.
        await listenerUp();
        await doomed.append("acme", 0, events(2));
        assert.ok(await kill(`application_name = 'doomed' OR (${listening})`) >= 2);
        await reports.until({ acme: 2 });
        // Appends while the follower's LISTEN connection is down are found by its polls.
        await listenerUp();
        assert.equal(await kill(listening), 1);
        await other.append("acme", 2, events(1, 3));
        await other.append("globex", 0, events(1));
        await reports.until({ acme: 3, globex: 1 });
      } finally {
        await stop();
        await Promise.all([reader.close(), doomed.close(), other.close()]);
      }
    }),
});

Deno.test({
  name:
    "PostgresEventStore follow(): transaction ids are ordered as numbers: a page that crosses 999 → 1000 skips nothing",
  ignore,
  fn: () =>
    withDatabase((url, sql) =>
      withStores(url, ["writer"], async (writer) => {
        const feedSql = connect(url);
        const reports = new Reports();
        const follower = await LogFollower.start(feedSql, reports.moved, { pollMs: 3_600_000 });
        const blocker = await sql.reserve();
        try {
          // Use up transaction ids until the next one is 10^k - 2, and hold it open, so the
          // three appends after it (10^k - 1, 10^k, 10^k + 1) reach the follower in one poll.
          const [{ next }] = await sql`
            SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next`;
          const boundary = 10 ** String(Number(next) + 1).length;
          await sql.unsafe(`DO $$ BEGIN
            FOR i IN 1..${boundary - 2 - Number(next)} LOOP
              PERFORM pg_current_xact_id(); COMMIT;
            END LOOP; END $$`);
          await blocker`BEGIN`;
          await blocker`SELECT pg_current_xact_id()`;
          // As text, "1000" < "1001" < "999": a first page of 1,000 rows sorted so would hold
          // `big` and part of `late`, and the page after it would start past `early`.
          await writer.append("early", 0, events(1));
          await writer.append("big", 0, events(999));
          await writer.append("late", 0, events(5));
          const txs = await sql`SELECT DISTINCT tx::text::bigint AS tx FROM events ORDER BY tx`;
          assert.deepEqual(txs.map((r) => Number(r.tx)), [boundary - 1, boundary, boundary + 1]);
          await blocker`COMMIT`;
          await follower.poll();
          assert.deepEqual(Object.fromEntries(reports.seen), { early: 1, big: 999, late: 5 });
        } finally {
          blocker.release();
          await follower.stop();
          await feedSql.end();
        }
      })
    ),
});

Deno.test({
  name: "PostgresEventStore: the history index finds a user's messages across many appends",
  ignore,
  fn: () =>
    withDatabase((url) =>
      withStores(url, ["node"], async (store) => {
        let version = 0;
        for (let i = 0; i < 30; i++) {
          const batch: NewEvent[] = [
            { type: "MessageSent", at: i, data: { userId: i % 2 ? "ann" : "ben", text: `${i}` } },
            { type: "Typing", at: i, data: { userId: "ann" } },
          ];
          version = await store.append("acme", version, batch);
        }
        const seqs = (list: StoredEvent[]) => list.map((e) => e.seq);
        assert.deepEqual(seqs(await store.readHistory("acme", "ann", { limit: 3 })), [51, 55, 59]);
        assert.deepEqual(
          seqs(await store.readHistory("acme", "ann", { before: 55, limit: 2 })),
          [47, 51],
        );
        assert.equal((await store.readHistory("acme", "ben", { limit: 100 })).length, 15);
      })
    ),
});
