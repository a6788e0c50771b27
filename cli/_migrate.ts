/**
 * `deno task log migrate`: moves a single-node deployment's log (Deno KV) into PostgreSQL.
 * Copies each company's events (through the store's append, so the history index is built as
 * on the chat path), its latest snapshot, its due-work mark and the consumers' checkpoints.
 * Rerunning it copies only what is missing: a company already in PostgreSQL resumes after its
 * last event there, once that event is found equal to the KV log's at the same seq.
 * `--check` folds each company's log from both stores and compares the states.
 */
import type { KvEventStore, PostgresEventStore } from "../adapters/store/mod.ts";
import { decode } from "../src/codec.ts";
import type { NewEvent, StoredEvent } from "../src/ports.ts";
import { differences, exportLine, foldLog } from "../src/replay.ts";

/** Events per append when copying: well under an append's limits (999 events, 1 MB). */
const COPY_BATCH = 500;
const COPY_BATCH_BYTES = 500_000;
/** Companies copied at once, so their appends share group commits. */
const PARALLEL = 8;

/** What a run copied, and the companies it could not. */
export interface MigrateReport {
  companies: number;
  events: number;
  skipped: number;
  failed: string[];
}

/**
 * Copies every company of `kv` into `pg`; `progress` gets a line now and then (stderr), and
 * one per company that could not be copied.
 */
export async function migrateLog(
  kv: KvEventStore,
  pg: PostgresEventStore,
  progress: (line: string) => void,
): Promise<MigrateReport> {
  const report: MigrateReport = { companies: 0, events: 0, skipped: 0, failed: [] };
  const companies: string[] = [];
  for await (const company of kv.streams()) companies.push(company);
  let lastLine = Date.now();
  const tell = (force = false) => {
    if (!force && Date.now() - lastLine < 1000) return;
    lastLine = Date.now();
    progress(
      `migrate: ${report.companies}/${companies.length} companies, ${report.events} events ` +
        `copied, ${report.skipped} companies had nothing new`,
    );
  };
  let next = 0;
  const worker = async () => {
    while (next < companies.length) {
      const company = companies[next++];
      try {
        const copied = await copyCompany(kv, pg, company);
        report.events += copied;
        report.skipped += copied === 0 ? 1 : 0;
      } catch (error) {
        report.failed.push(company);
        progress(`migrate: company ${company} not copied: ${(error as Error).message}`);
      }
      report.companies++;
      tell();
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  for await (const [name, seq] of kv.checkpoints()) {
    if ((await pg.checkpoint(name)) < seq) await pg.saveCheckpoint(name, seq);
  }
  for await (const company of kv.dueStreams()) await pg.markDue(company);
  tell(true);
  return report;
}

/** Copies one company's events past what PostgreSQL has, and its snapshot; returns how many. */
async function copyCompany(
  kv: KvEventStore,
  pg: PostgresEventStore,
  company: string,
): Promise<number> {
  let version = await pg.version(company);
  if (version > 0) {
    const [there] = await first(pg.read(company, { after: version - 1, limit: 1 }));
    const [here] = await first(kv.read(company, { after: version - 1, limit: 1 }));
    if (!here || exportLine(decode(here)) !== exportLine(decode(there))) {
      throw new Error(
        `PostgreSQL holds seq ${version}, and it is not the KV log's: left as it is`,
      );
    }
  }
  const start = version;
  let batch: NewEvent[] = [];
  let bytes = 0;
  for await (const { seq: _seq, ...event } of kv.read(company, { after: version })) {
    const size = JSON.stringify(event).length;
    if (batch.length === COPY_BATCH || (batch.length > 0 && bytes + size > COPY_BATCH_BYTES)) {
      version = await pg.append(company, version, batch);
      [batch, bytes] = [[], 0];
    }
    batch.push(event);
    bytes += size;
  }
  if (batch.length > 0) version = await pg.append(company, version, batch);
  const snapshot = await kv.loadSnapshot(company);
  if (snapshot && snapshot.version <= version) {
    await pg.saveSnapshot(company, snapshot.version, snapshot.snapshot);
  }
  return version - start;
}

/**
 * Folds each company's log in both stores (PostgreSQL's up to the KV log's length, since
 * nodes may have appended since) and prints what differs; true if nothing does.
 */
export async function checkCopy(
  kv: KvEventStore,
  pg: PostgresEventStore,
  print: (line: string) => void,
): Promise<boolean> {
  let companies = 0;
  let mismatches = 0;
  for await (const company of kv.streams()) {
    companies++;
    const version = await kv.version(company);
    const copied = await pg.version(company);
    const diff = copied < version
      ? [`PostgreSQL has ${copied} of its ${version} events`]
      : differences(await foldLog(kv, company), await foldLog(pg, company, { upTo: version }));
    if (diff.length === 0) continue;
    mismatches++;
    for (const line of diff) print(`check: company ${company}: ${line}`);
  }
  print(
    mismatches === 0
      ? `check: all ${companies} companies replay to the same state from both logs`
      : `check: ${mismatches} of ${companies} companies differ`,
  );
  return mismatches === 0;
}

async function first(events: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  for await (const e of events) return [e];
  return [];
}
