/**
 * `deno task log …`: export, replay and inspect the event log of a data directory.
 *
 *   deno task log export --company ID [--from SEQ] [--to SEQ] > file.ndjson
 *   deno task log replay file.ndjson [--until SEQ] [--user ID] [--deliveries] [--json]
 *                                    [--check [--company ID]]
 *   deno task log stats
 *   deno task log migrate [--check]      (DATABASE_URL: the PostgreSQL to copy the log into)
 */
import { parseArgs } from "node:util";
import { KvEventStore, PostgresEventStore } from "../adapters/store/mod.ts";
import { checkCopy, migrateLog } from "./_migrate.ts";
import { loadConfig } from "../src/config.ts";
import { decode } from "../src/codec.ts";
import type { StoredEvent } from "../src/ports.ts";
import {
  audience,
  concerns,
  differences,
  exportLine,
  liveState,
  parseExport,
  replay,
  type Step,
} from "../src/replay.ts";

const USAGE = `Usage:
  deno task log export --company ID [--from SEQ] [--to SEQ] > file.ndjson
  deno task log replay FILE [--until SEQ] [--user ID] [--deliveries] [--json] [--check [--company ID]]
  deno task log stats
  deno task log migrate [--check]
The data directory is DATA_DIR (default ./data), or KV_PATH. migrate copies that log into the
PostgreSQL database at DATABASE_URL (rerun it to copy what is new); --check then replays both.`;

/** Runs the tool; returns the exit code. `print` receives stdout lines, `progress` stderr's. */
export async function main(
  args: string[],
  print: (line: string) => void = console.log,
  progress: (line: string) => void = console.error,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      company: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      until: { type: "string" },
      user: { type: "string" },
      deliveries: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      check: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, file] = positionals;
  if (values.help || !command) {
    print(USAGE);
    return values.help ? 0 : 2;
  }
  const seq = (name: string, raw: string | undefined) => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new UsageError(`--${name} must be a whole number, got '${raw}'`);
    }
    return n;
  };
  const config = loadConfig();
  switch (command) {
    case "export": {
      if (!values.company) throw new UsageError("export needs --company ID");
      const from = seq("from", values.from) ?? 1;
      const to = seq("to", values.to) ?? Infinity;
      const store = await openStore(config.kvPath);
      try {
        for await (const e of store.read(values.company, { after: from - 1 })) {
          if (e.seq > to) break;
          print(exportLine(decode(e)));
        }
      } finally {
        store.close();
      }
      return 0;
    }
    case "replay": {
      if (!file) throw new UsageError("replay needs the export file");
      const events = parseExport(await Deno.readTextFile(file));
      if (events.length > 0 && events[0].seq !== 1) {
        throw new UsageError(
          `The export starts at seq ${events[0].seq}: replay needs the log from seq 1`,
        );
      }
      const { state, steps } = replay(events, { until: seq("until", values.until) });
      const shown = values.user ? steps.filter((s) => concerns(s, values.user!)) : steps;
      for (const step of shown) {
        print(values.json ? JSON.stringify(asJson(step)) : describe(step, values.deliveries));
      }
      if (values.until !== undefined && !values.json) {
        print(`-- state at seq ${state.version}`);
        const open = [...state.conversations.values()].sort((a, b) => a.openedSeq - b.openedSeq);
        for (const c of open) {
          print(`   ${c.userId}: ${c.status}${c.assignee ? ` (assignee ${c.assignee})` : ""}`);
        }
        // The last closed conversation of each user, as the engine keeps it (a day).
        for (const { conversation: c } of state.closed.values()) {
          print(`   ${c.userId}: ${c.status}`);
        }
        print(`   queue [${[...state.queue].join(", ")}]`);
      }
      if (!values.check) return 0;
      const store = await openStore(config.kvPath);
      try {
        const company = values.company ?? await companyOf(store, events[0]);
        const diff = differences(state, await liveState(store, company));
        if (diff.length === 0) {
          print(`check: the replay matches company ${company} at seq ${state.version}`);
          return 0;
        }
        for (const line of diff) print(`check: ${line}`);
        return 1;
      } finally {
        store.close();
      }
    }
    case "stats": {
      const store = await openStore(config.kvPath);
      try {
        const perType = new Map<string, number>();
        let total = 0;
        let bytes = 0;
        for await (const company of store.streams()) {
          let n = 0;
          for await (const e of store.read(company)) {
            n++;
            bytes += exportLine(decode(e)).length;
            perType.set(e.type, (perType.get(e.type) ?? 0) + 1);
          }
          total += n;
          print(`company ${company}: ${n} events`);
        }
        for (const [type, n] of [...perType].sort((a, b) => b[1] - a[1])) {
          print(`type ${type}: ${n}`);
        }
        print(`total: ${total} events, ${bytes} bytes as NDJSON`);
      } finally {
        store.close();
      }
      return 0;
    }
    case "migrate": {
      // DATABASE_URL is read here, not from the server's config: only this command needs it.
      const url = Deno.env.get("DATABASE_URL");
      if (!url) throw new UsageError("migrate needs DATABASE_URL (postgres://…)");
      const kv = await openStore(config.kvPath);
      let pg: PostgresEventStore | undefined;
      try {
        pg = await PostgresEventStore.open(url, { applicationName: "log-migrate" });
        const report = await migrateLog(kv, pg, progress);
        print(
          `migrate: ${report.companies} companies, ${report.events} events copied ` +
            `(${report.skipped} companies had nothing new)` +
            (report.failed.length > 0 ? `; not copied: ${report.failed.join(", ")}` : ""),
        );
        const same = values.check ? await checkCopy(kv, pg, print) : true;
        return report.failed.length === 0 && same ? 0 : 1;
      } finally {
        kv.close();
        await pg?.close();
      }
    }
    default:
      throw new UsageError(`Unknown command '${command}'`);
  }
}

class UsageError extends Error {
  override name = "UsageError";
}

async function openStore(path: string): Promise<KvEventStore> {
  try {
    await Deno.stat(path);
  } catch {
    throw new UsageError(`No event log at ${path}: set DATA_DIR or KV_PATH`);
  }
  return KvEventStore.open(path);
}

/** The company whose log begins with the export's first event (an export names no company). */
async function companyOf(store: KvEventStore, first: StoredEvent | undefined): Promise<string> {
  const matches: string[] = [];
  for await (const company of store.streams()) {
    for await (const e of store.read(company, { limit: 1 })) {
      if (first && exportLine(decode(e)) === exportLine(first)) matches.push(company);
    }
  }
  if (matches.length !== 1) {
    throw new UsageError(
      matches.length === 0
        ? "--check found no company whose log starts like this export: give --company ID"
        : "--check matches several companies: give --company ID",
    );
  }
  return matches[0];
}

function describe(step: Step, withDeliveries: boolean): string {
  const { seq, at, type } = step.event;
  const lines = [
    `${String(seq).padStart(6)}  ${new Date(at).toISOString()}  ${type}  ${summary(step)}`,
  ];
  for (const change of step.changes) lines.push(`        ${change}`);
  if (withDeliveries) {
    for (const d of step.deliveries) {
      const except = d.except ? ` (not socket ${d.except})` : "";
      lines.push(`        → ${audience(d)}${except}: ${d.event} ${JSON.stringify(d.payload)}`);
    }
  }
  return lines.join("\n");
}

function summary(step: Step): string {
  const d = step.event.data as Record<string, unknown>;
  const parts = ["userId", "agentId", "senderId", "toAgentId", "reason", "text", "status"]
    .filter((k) => d[k] !== undefined)
    .map((k) => `${k}=${JSON.stringify(d[k])}`);
  return parts.join(" ");
}

function asJson(step: Step) {
  return {
    seq: step.event.seq,
    at: step.event.at,
    type: step.event.type,
    data: step.event.data,
    changes: step.changes,
    deliveries: step.deliveries,
  };
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    if (error instanceof UsageError) console.error(USAGE);
    Deno.exit(error instanceof UsageError ? 2 : 1);
  }
}
