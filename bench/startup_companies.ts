/**
 * (h) Start-up with many companies in the store (DESIGN §7: companies sleep). The KV file is
 * written directly: every company has a short log (a user's message, queued) and is asleep
 * (not marked due); a few have a grace period pending and are marked due, as a crash would
 * leave them. The figures: seconds from spawning the server to its listening line, and its
 * RSS then, against an empty store.
 */
import { KvEventStore } from "../adapters/store/mod.ts";
import { type CompanyCommand, type CompanyEvent, initialState, step } from "../domain/mod.ts";
import { encode } from "../src/codec.ts";

interface Side {
  seconds: number;
  rssKb: number;
  actors: number;
}

/** What the bench runner lends: its server launcher and RSS reader. */
export interface StartupDeps {
  startServer(
    kind: "engine",
    dataDir: string,
  ): Promise<{ child: Deno.ChildProcess; port: number; pid: number }>;
  rssKb(pid: number): number;
  quick: boolean;
}

const encoder = new TextEncoder();

/** The log of one company after `commands`, as the KV store keeps each event's value. */
function logOf(commands: CompanyCommand[]): Uint8Array[] {
  let state = initialState();
  const events: CompanyEvent[] = [];
  for (const command of commands) {
    const stepped = step(state, command);
    if (!stepped.ok) throw new Error(`bench setup refused: ${stepped.rejection.message}`);
    state = stepped.state;
    events.push(...stepped.events);
  }
  return events.map((e) => {
    const { type, at, data } = encode(e);
    return encoder.encode(JSON.stringify({ type, at, v: 1, data }));
  });
}

/** Writes `idle` sleeping companies and `due` ones with a grace period pending. */
async function build(path: string, idle: number, due: number): Promise<void> {
  // Opening writes the layout's markers, the due-work index's included.
  (await KvEventStore.open(path)).close();
  const kv = await Deno.openKv(path);
  const at = Date.now();
  const message = (userId: string): CompanyCommand => ({
    type: "SendMessage",
    data: {
      sender: { userId, role: "user" },
      userId,
      text: "hello, is anyone there?",
      messageId: `${userId}-1`,
      conversationId: `c-${userId}`,
      at,
    },
  });
  const agent = (type: "Connect" | "Disconnect"): CompanyCommand => ({
    type,
    data: { userId: "bob", role: "agent", socketId: "bob-s", at, last: true },
  } as CompanyCommand);
  const sleeping = logOf([message("alice")]);
  const pending = logOf([agent("Connect"), message("alice"), agent("Disconnect")]);
  let op = kv.atomic();
  let writes = 0;
  for (let i = 0; i < idle + due; i++) {
    const id = i < due ? `due-${i}` : `company-${i}`;
    const log = i < due ? pending : sleeping;
    if (writes + log.length + 3 > 900) {
      await op.commit();
      op = kv.atomic();
      writes = 0;
    }
    log.forEach((value, j) => op.set(["ev", id, j + 1], value));
    op.set(["head", id], log.length).set(["indexed", id], log.length);
    if (i < due) op.set(["due", id], true);
    writes += log.length + 3;
  }
  await op.commit();
  kv.close();
}

async function side(deps: StartupDeps, dataDir: string): Promise<Side> {
  const t0 = performance.now();
  const server = await deps.startServer("engine", dataDir);
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rssKb = deps.rssKb(server.pid);
  const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  const actors = Number(/^chat_actors (\d+)/m.exec(metrics)?.[1] ?? NaN);
  server.child.kill("SIGTERM");
  await server.child.status;
  return { seconds, rssKb, actors };
}

/** Runs (h); returns its table rows and raw figures. */
export async function startupWithCompanies(deps: StartupDeps) {
  const companies = deps.quick ? 10_000 : 100_000;
  const due = 100;
  const empty = await Deno.makeTempDir();
  const full = await Deno.makeTempDir();
  try {
    const t0 = performance.now();
    await build(`${full}/events.kv`, companies - due, due);
    const buildSeconds = (performance.now() - t0) / 1000;
    const base = await side(deps, empty);
    const many = await side(deps, full);
    const label = `${companies.toLocaleString("en")} companies, ${due} due` +
      (deps.quick ? " (--quick: 10,000, not 100,000)" : "");
    return {
      raw: { companies, due, buildSeconds, empty: base, full: many },
      rows: [
        {
          figure: `(h) start-up to serving, ${label}`,
          engine: many.seconds,
          ceiling: base.seconds,
          unit: "s (vs empty store)",
          target: "≤ 1.5× empty",
        },
        {
          figure: `(h) RSS after start-up, ${label}`,
          engine: many.rssKb / 1024,
          ceiling: base.rssKb / 1024,
          unit: "MB (vs empty store)",
          target: "≤ 1.5× empty",
        },
        {
          figure: "(h) companies in memory after start-up",
          engine: many.actors,
          ceiling: base.actors,
          unit: "actors",
          target: `${due} (the due ones)`,
        },
      ],
    };
  } finally {
    await Deno.remove(empty, { recursive: true });
    await Deno.remove(full, { recursive: true });
  }
}
