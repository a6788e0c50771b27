/**
 * `deno run -A bench/pg_append.ts [--seconds N] [--companies N] [--events N] [--in-flight N]`:
 * appends per
 * second through the PostgreSQL store, group commit on, with many companies appending at once
 * (each a closed loop: append, await, append again, as an actor with one batch in flight).
 * Runs on `DATABASE_URL` if set, else on a throwaway local server started for the run, with
 * fsync and synchronous commit on (durable, as in production). Prints appends/s, events/s,
 * append latency (p50/p99) and how many companies' appends shared a transaction; the Deno KV
 * store (a file in a temp dir) runs the same load for comparison.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { KvEventStore, PostgresEventStore } from "../adapters/store/mod.ts";
import type { NewEvent, Storage } from "../src/ports.ts";
import { startPostgres } from "../tests/_services.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "5" },
    companies: { type: "string", default: "100" },
    events: { type: "string", default: "1" },
    "in-flight": { type: "string", default: "2" },
  },
});
const seconds = Number(values.seconds);
const companies = Number(values.companies);
const perAppend = Number(values.events);

/** A chat message's event, about 200 bytes as JSON. */
function batch(company: number, n: number): NewEvent[] {
  return Array.from({ length: perAppend }, (_, i) => ({
    type: "MessageSent",
    at: Date.now(),
    v: 1,
    data: {
      conversationId: `c-${company}`,
      messageId: `m-${company}-${n}-${i}`,
      userId: `user-${n % 20}`,
      senderId: `user-${n % 20}`,
      role: "user",
      text: "hello, I would like to know where my order is, it has been a week",
    },
  }));
}

/** Every company appends in a closed loop for `seconds`; returns the figures. */
async function load(store: Storage) {
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  let appends = 0;
  await Promise.all(Array.from({ length: companies }, async (_, c) => {
    let version = await store.version(`company-${c}`);
    for (let n = 0; performance.now() < until; n++) {
      const started = performance.now();
      version = await store.append(`company-${c}`, version, batch(c, n));
      latencies.push(performance.now() - started);
      appends++;
    }
  }));
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    appendsPerSecond: Math.round(appends / seconds),
    eventsPerSecond: Math.round((appends * perAppend) / seconds),
    p50Ms: Number(at(0.5).toFixed(2)),
    p99Ms: Number(at(0.99).toFixed(2)),
  };
}

const url = Deno.env.get("DATABASE_URL") ??
  await (await startPostgres({ durable: true }))?.freshDatabase();
if (!url) throw new Error("No PostgreSQL: set DATABASE_URL or install postgresql");
const commitsInFlight = Number(values["in-flight"]);
const pg = await PostgresEventStore.open(url, { applicationName: "bench", commitsInFlight });
const pgFigures = await load(pg);
await pg.close();
const raw = postgres(url, { onnotice: () => {} });
const [{ commits, appends }] = await raw`
  SELECT count(DISTINCT tx)::int AS commits, count(DISTINCT (tx, stream))::int AS appends
  FROM events`;
await raw.end();

const dir = await Deno.makeTempDir();
const kv = await KvEventStore.open(`${dir}/events.kv`);
const kvFigures = await load(kv);
kv.close();
await Deno.remove(dir, { recursive: true });

console.log(JSON.stringify(
  {
    companies,
    eventsPerAppend: perAppend,
    commitsInFlight,
    seconds,
    postgres: { ...pgFigures, appendsPerTransaction: Number((appends / commits).toFixed(1)) },
    kv: kvFigures,
  },
  null,
  2,
));
