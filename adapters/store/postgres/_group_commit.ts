/**
 * The chat path's writes: appends of many streams (companies) that arrive together share one
 * transaction, each with its own expected-version check, so a stale one fails alone and the
 * others commit. In that transaction:
 * 1. the streams' rows are locked in one order (`ORDER BY stream ... FOR UPDATE`), so writers
 *    of one stream queue on its row (as Message DB serialises them) and two nodes' batches
 *    cannot deadlock; each append whose stream is not at its expected version is refused;
 * 2. one statement moves the winners' rows (a new stream's row is inserted, and a concurrent
 *    first append of the same stream makes it lose), inserts their events and history index
 *    rows, and notifies followers (`pg_notify`, delivered at commit).
 * If the transaction fails, its appends are retried one by one, as the KV store does; one
 * whose commit's outcome was lost with its connection is then refused as stale, never written
 * twice (the retry checks the expected version again).
 */
import { VersionConflictError } from "../../../src/errors.ts";
import type { NewEvent } from "../../../src/ports.ts";
import {
  checkAppendSize,
  checkId,
  encoder,
  MAX_BYTES_PER_COMMIT,
  MAX_STREAMS_PER_COMMIT,
} from "./_limits.ts";
import { CHANNEL } from "./_schema.ts";
import type { Sql, Tx } from "./_sql.ts";

/** An append waiting for its commit, its events encoded. */
interface PendingAppend {
  readonly stream: string;
  readonly expectedVersion: number;
  readonly types: string[];
  readonly ats: number[];
  readonly vs: number[];
  /** Each event's data as JSON text (null for `undefined`). */
  readonly data: (string | null)[];
  /** History index entries: [offset of the event in this append, user id]. */
  readonly users: [number, string][];
  readonly bytes: number;
  readonly resolve: (version: number) => void;
  readonly reject: (error: unknown) => void;
  answered: boolean;
}

/** Appends to every stream of one database, committed together where they fit. */
export class GroupCommit {
  readonly #queue: PendingAppend[] = [];
  #running = 0;

  /**
   * `inFlight`: transactions at once. Two overlap one batch's writes with the previous one's
   * commit (its WAL flush); the streams' row locks keep two batches that share a stream in
   * order, and their one lock order keeps them from deadlocking.
   */
  constructor(readonly sql: Sql, readonly inFlight = 2) {}

  /** Appends waiting for a commit (a gauge). */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Queues an append; it commits with the others queued while a commit is in flight.
   * `users[i]` names the users whose history event `i` belongs to.
   */
  append(
    stream: string,
    expectedVersion: number,
    events: readonly NewEvent[],
    users: readonly (readonly string[])[],
  ): Promise<number> {
    let pending: Omit<PendingAppend, "resolve" | "reject" | "answered">;
    try {
      checkId("stream id", stream);
      for (const ids of users) for (const id of ids) checkId("user id", id);
      pending = encode(stream, expectedVersion, events, users);
    } catch (error) {
      return Promise.reject(error);
    }
    if (events.length === 0) return Promise.resolve(expectedVersion);
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...pending, resolve, reject, answered: false });
      this.#pump();
    });
  }

  /** Starts commits for what is queued, up to `inFlight` at once. */
  #pump(): void {
    while (this.#running < this.inFlight && this.#queue.length > 0) {
      const batch = this.#nextBatch();
      this.#running++;
      this.#commitOrEachAlone(batch).finally(() => {
        this.#running--;
        this.#pump();
      });
    }
  }

  /** Commits the batch; if that fails, each append alone, once; answers every append. */
  async #commitOrEachAlone(batch: PendingAppend[]): Promise<void> {
    try {
      await this.#commit(batch);
    } catch {
      // One append's fault refuses only its own, and a pooled connection that the server
      // closed while idle (found dead by the first try) is replaced.
      for (const p of batch) {
        if (!p.answered) await this.#commit([p]).catch((e) => refuse(p, e));
      }
    }
  }

  /** Takes the queued appends that fit one commit, one per stream, oldest first. */
  #nextBatch(): PendingAppend[] {
    const batch: PendingAppend[] = [];
    const streams = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < this.#queue.length && batch.length < MAX_STREAMS_PER_COMMIT;) {
      const p = this.#queue[i];
      if (
        !streams.has(p.stream) && (batch.length === 0 || bytes + p.bytes <= MAX_BYTES_PER_COMMIT)
      ) {
        batch.push(p);
        streams.add(p.stream);
        bytes += p.bytes;
        this.#queue.splice(i, 1);
      } else i++;
    }
    return batch;
  }

  /** One transaction for the batch; answers every append in it, or throws (none answered). */
  async #commit(batch: PendingAppend[]): Promise<void> {
    const { stale, won, tried } = await this.sql.begin(async (tx) => {
      const names = batch.map((p) => p.stream);
      const heads = await tx<{ stream: string; version: number }[]>`
        SELECT stream, version FROM streams WHERE stream = ANY(${names}::text[])
        ORDER BY stream FOR UPDATE`;
      const versions = new Map(heads.map((h) => [h.stream, h.version]));
      const ready: PendingAppend[] = [];
      const stale: [PendingAppend, number][] = [];
      for (const p of batch) {
        const version = versions.get(p.stream) ?? 0;
        if (version === p.expectedVersion) ready.push(p);
        else stale.push([p, version]);
      }
      const won = ready.length === 0 ? new Set<string>() : await write(tx, ready);
      return { stale, won, tried: ready };
    });
    for (const [p, version] of stale) {
      refuse(p, new VersionConflictError(p.stream, p.expectedVersion, version));
    }
    const lost = tried.filter((p) => !won.has(p.stream));
    for (const p of tried) {
      if (won.has(p.stream)) settle(p, p.expectedVersion + p.types.length);
    }
    // A first append that another writer's first append beat, committed meanwhile.
    for (const p of lost) {
      const [head] = await this.sql<{ version: number }[]>`
        SELECT version FROM streams WHERE stream = ${p.stream}`;
      refuse(p, new VersionConflictError(p.stream, p.expectedVersion, head?.version ?? 0));
    }
  }
}

/**
 * The winners' writes in one statement: their streams' rows moved (existing rows are locked
 * already; a new stream's row is inserted unless another writer inserted it first), their
 * events and history rows inserted for the streams that moved, and followers notified.
 * Returns the streams that moved.
 */
async function write(tx: Tx, ready: PendingAppend[]): Promise<Set<string>> {
  const moved = { names: [] as string[], versions: [] as number[] };
  const created = { names: [] as string[], versions: [] as number[] };
  const ev = {
    streams: [] as string[],
    seqs: [] as number[],
    types: [] as string[],
    ats: [] as number[],
    vs: [] as number[],
    data: [] as (string | null)[],
  };
  const history = { streams: [] as string[], users: [] as string[], seqs: [] as number[] };
  for (const p of ready) {
    const target = p.expectedVersion === 0 ? created : moved;
    target.names.push(p.stream);
    target.versions.push(p.expectedVersion + p.types.length);
    p.types.forEach((type, i) => {
      ev.streams.push(p.stream);
      ev.seqs.push(p.expectedVersion + i + 1);
      ev.types.push(type);
      ev.ats.push(p.ats[i]);
      ev.vs.push(p.vs[i]);
      ev.data.push(p.data[i]);
    });
    for (const [i, user] of p.users) {
      history.streams.push(p.stream);
      history.users.push(user);
      history.seqs.push(p.expectedVersion + i + 1);
    }
  }
  const rows = await tx<{ stream: string }[]>`
    WITH updated AS (
      UPDATE streams s SET version = u.version
      FROM unnest(${moved.names}::text[], ${moved.versions}::bigint[]) AS u(stream, version)
      WHERE s.stream = u.stream
      RETURNING s.stream
    ), inserted AS (
      INSERT INTO streams (stream, version)
      SELECT n.stream, n.version
      FROM unnest(${created.names}::text[], ${created.versions}::bigint[]) AS n(stream, version)
      ORDER BY n.stream
      ON CONFLICT (stream) DO NOTHING
      RETURNING stream
    ), won AS (
      SELECT stream FROM updated UNION ALL SELECT stream FROM inserted
    ), appended AS (
      INSERT INTO events (stream, seq, type, at, v, data)
      SELECT e.stream, e.seq, e.type, e.at, e.v, e.data::json
      FROM unnest(
        ${ev.streams}::text[], ${ev.seqs}::bigint[], ${ev.types}::text[],
        ${ev.ats}::float8[], ${ev.vs}::int[], ${ev.data}::text[]
      ) WITH ORDINALITY AS e(stream, seq, type, at, v, data, n)
      WHERE e.stream IN (SELECT stream FROM won)
      ORDER BY e.n
    ), indexed AS (
      INSERT INTO history (stream, user_id, seq)
      SELECT h.stream, h.user_id, h.seq
      FROM unnest(${history.streams}::text[], ${history.users}::text[], ${history.seqs}::bigint[])
        AS h(stream, user_id, seq)
      WHERE h.stream IN (SELECT stream FROM won)
    )
    SELECT won.stream FROM won, (SELECT pg_notify(${CHANNEL}, '')) AS notified`;
  return new Set(rows.map((r) => r.stream));
}

/** Encodes an append's events, refusing one over the limits (`_limits.ts`). */
function encode(
  stream: string,
  expectedVersion: number,
  events: readonly NewEvent[],
  users: readonly (readonly string[])[],
): Omit<PendingAppend, "resolve" | "reject" | "answered"> {
  const sizes: number[] = [];
  const p = {
    stream,
    expectedVersion,
    types: [] as string[],
    ats: [] as number[],
    vs: [] as number[],
    data: [] as (string | null)[],
    users: [] as [number, string][],
    bytes: 0,
  };
  events.forEach(({ type, at, data, v = 1 }, i) => {
    sizes.push(encoder.encode(JSON.stringify({ type, at, v, data })).length);
    p.types.push(type);
    p.ats.push(at);
    p.vs.push(v);
    p.data.push(JSON.stringify(data) ?? null);
    for (const user of new Set(users[i] ?? [])) p.users.push([i, user]);
  });
  checkAppendSize(sizes);
  p.bytes = sizes.reduce((n, s) => n + s, 0);
  return p;
}

/** Answers an append with its new version; an append is answered once, a second is ignored. */
function settle(p: PendingAppend, version: number): void {
  if (p.answered) return;
  p.answered = true;
  p.resolve(version);
}

/** Refuses an append (once, as `settle`). */
function refuse(p: PendingAppend, error: unknown): void {
  if (p.answered) return;
  p.answered = true;
  p.reject(error);
}
