/**
 * `deno task bench [--quick] [--only f|g|h|k]`: the engine against its ceiling (a bare Socket.IO relay) on
 * this machine. Server and load generator are pinned to different cores; the server's CPU
 * time per delivered message is the honest comparison. Load scenarios run engine and relay
 * alternately (`--reps`, 3 by default, 1 with `--quick`) and report medians. Prints a table
 * and writes JSON (every run) to bench/results/latest.json. `--only k` runs scenario (k) alone
 * (resume cost and presence writes); `--only f`, scenario (f) (an old company against a fresh one);
 * `--only h`, scenario (h) (start-up with 100,000 companies in the store; 10,000 with `--quick`).
 * `--only g`, scenario (g) (a handoff storm into a growing queue while 50 agents watch).
 * `--only i`, scenario (i) (1 node against 2 on PostgreSQL and Redis: all server CPU per message);
 * `--only j`, scenario (j) (failover after a SIGKILL): both in cluster.ts, run only when asked.
 *
 * Over 400 lines: the load scenarios (a)–(c) and (f) share this file's server and load-generator
 * plumbing; scenarios that stand alone live beside it (growth.ts, queue_storm.ts,
 * resume_presence.ts, startup_companies.ts).
 */
import { parseArgs } from "node:util";
import { createEngine } from "../adapters/engine.ts";
import { KvEventStore } from "../adapters/store/mod.ts";
import { systemClock } from "../src/ports.ts";
import {
  type CompanyCommand,
  type CompanyEvent,
  type CompanyState,
  decide,
  deliveries,
  evolve,
  fold,
  initialState,
  step,
  toSnapshot,
} from "../domain/mod.ts";
import { nodeFailover, severalNodes } from "./cluster.ts";
import { pastConversations } from "./growth.ts";
import { queueStorm } from "./queue_storm.ts";
import { resumeAndPresence } from "./resume_presence.ts";
import { startupWithCompanies } from "./startup_companies.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    reps: { type: "string" },
    only: { type: "string" },
  },
});
const quick = values.quick;
/** Load runs per scenario and side; each figure reported is the median over them. */
const reps = Number(values.reps ?? (quick ? 1 : 3));
const root = new URL("..", import.meta.url).pathname;
const SECRET = "bench-secret-0123456789abcdef";
const hasTaskset = (() => {
  try {
    return Deno.statSync("/usr/bin/taskset").isFile;
  } catch {
    return false;
  }
})();

type Row = {
  figure: string;
  engine: number | string;
  ceiling?: number | string;
  unit: string;
  target?: string;
};
const rows: Row[] = [];
const results: Record<string, unknown> = {
  quick,
  machine: machine(),
  at: new Date().toISOString(),
};

function machine() {
  const cpu = (() => {
    try {
      return /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "unknown";
    } catch {
      return "unknown";
    }
  })();
  return { cpu, cores: navigator.hardwareConcurrency, deno: Deno.version.deno, os: Deno.build.os };
}

function log(line: string) {
  console.error(`[bench] ${line}`);
}

/** A server process pinned to core 0; resolves with its port and pid. */
async function startServer(kind: "engine" | "relay", dataDir?: string) {
  const script = kind === "engine" ? "main.ts" : "bench/relay.ts";
  // BENCH_CPU_PROF=dir: the server writes a V8 CPU profile there when it exits.
  const prof = Deno.env.get("BENCH_CPU_PROF");
  const deno = ["run", "-A", ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []), script];
  const cmd = hasTaskset
    ? ["/usr/bin/taskset", ["-c", "0", Deno.execPath(), ...deno]] as const
    : [Deno.execPath(), deno] as const;
  const child = new Deno.Command(cmd[0], {
    args: [...cmd[1]],
    cwd: root,
    env: {
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir ?? "",
      JWT_SECRET: SECRET,
      LOG_LEVEL: "error",
      RATE_LIMIT_SOCKET: "0",
      RATE_LIMIT_CONNECT: "0",
      RATE_LIMIT_HTTP: "0",
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/(?:localhost:|listening )(\d+)/.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${kind} exited: ${out}`);
    out += value;
  }
  (async () => {
    while (!(await reader.read()).done);
  })();
  const port = Number(/(?:localhost:|listening )(\d+)/.exec(out)![1]);
  return { child, port, pid: child.pid };
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]);
}

/**
 * Runs the load generator pinned to core 1; resolves with its JSON report. `onMeasure` runs
 * when its measured phase starts (after any warm-up).
 */
async function loadgen(options: Record<string, unknown>, onMeasure: () => void) {
  const args = ["run", "-A", "bench/loadgen.ts", JSON.stringify(options)];
  const cmd = hasTaskset
    ? ["/usr/bin/taskset", ["-c", "1", Deno.execPath(), ...args]] as const
    : [Deno.execPath(), args] as const;
  const child = new Deno.Command(cmd[0], {
    args: [...cmd[1]],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let started = performance.now();
  let last = "";
  for await (const line of child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lines())) {
    if (line.includes('"phase":"measure"')) {
      started = performance.now();
      onMeasure();
    } else if (line.trim()) last = line;
  }
  if (!(await child.status).success) throw new Error("the load generator failed");
  return { ...JSON.parse(last), wallSeconds: (performance.now() - started) / 1000 };
}

function lines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, out) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      parts.forEach((l) => out.enqueue(l));
    },
    flush(out) {
      if (rest) out.enqueue(rest);
    },
  });
}

/**
 * One load run against a fresh server (the engine's on `dataDir` if given, removed after): the
 * report plus the server's CPU over the measured phase.
 */
async function measure(
  kind: "engine" | "relay",
  options: Record<string, unknown>,
  given?: string,
) {
  const dataDir = kind === "engine" ? given ?? await Deno.makeTempDir() : undefined;
  const server = await startServer(kind, dataDir);
  try {
    let cpu0 = cpuSeconds(server.pid);
    const report = await loadgen({
      url: `http://127.0.0.1:${server.port}`,
      target: kind,
      secret: SECRET,
      ...options,
    }, () => (cpu0 = cpuSeconds(server.pid)));
    const cpu = cpuSeconds(server.pid) - cpu0;
    return {
      ...report,
      serverCpuSeconds: cpu,
      serverCpuShare: cpu / report.wallSeconds,
      serverMicrosPerDelivered: report.delivered ? (cpu * 1e6) / report.delivered : 0,
    };
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
    if (dataDir) await Deno.remove(dataDir, { recursive: true });
  }
}

const fmt = (n: number, digits = 1) => Number.isFinite(n) ? n.toFixed(digits) : String(n);

type Run = Awaited<ReturnType<typeof measure>>;

/**
 * Engine and relay runs, alternating, `reps` times each: this machine's speed drifts from
 * minute to minute, so alternating and taking medians keeps the comparison fair.
 */
async function sides(options: Record<string, unknown>) {
  const engine: Run[] = [];
  const relay: Run[] = [];
  for (let i = 0; i < reps; i++) {
    engine.push(await measure("engine", options));
    relay.push(await measure("relay", options));
  }
  return { engine, relay };
}

/** The median of a figure over runs. */
function median(runs: Run[], figure: (r: Run) => number): number {
  const sorted = runs.map(figure).sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "true" if every run delivered every message exactly once. */
function once(runs: Run[]): string {
  return String(runs.every((r) => r.exactlyOnce));
}

/** (k) resume cost and presence writes, against its own engine. */
async function scenarioK() {
  log("(k) resume cost and presence writes");
  const k = await resumeAndPresence({ startServer, cpuSeconds, secret: SECRET, quick });
  results.k = k.raw;
  rows.push(...k.rows);
}

/** (h) start-up with many mostly idle companies in the store, against an empty store. */
async function scenarioH() {
  log("(h) start-up with many companies in the store");
  const h = await startupWithCompanies({
    startServer: (kind, dataDir) => startServer(kind, dataDir),
    rssKb,
    quick,
  });
  results.h = h.raw;
  rows.push(...h.rows);
}

/** (g) a handoff storm into one company's queue while its agents watch, against its own engine. */
async function scenarioStorm() {
  log(`(g) handoff storm (${quick ? "2,000 handoffs, --quick" : "10,000 handoffs"})`);
  const g = await queueStorm({ startServer, cpuSeconds, secret: SECRET, quick });
  results.g = g.raw;
  rows.push(...g.rows);
}

if (values.only === "g") {
  await scenarioStorm();
  await report();
  Deno.exit(0);
}

if (values.only === "i" || values.only === "j") {
  const [label, run] = values.only === "i"
    ? ["(i) 1 node against 2 (PostgreSQL, Redis)", severalNodes]
    : ["(j) failover: SIGKILL of 1 of 3 nodes", nodeFailover];
  log(label);
  const scenario = await run(quick);
  results[values.only] = scenario.raw;
  rows.push(...scenario.rows);
  await report();
  Deno.exit(0);
}

if (values.only === "k") {
  await scenarioK();
  await report();
  Deno.exit(0);
}

/**
 * (f) growth: the server's CPU per message in a company with many past conversations against
 * a fresh company, the same chat load on each (as (a) runs it, smaller: 20 users, 1 agent),
 * alternating. The old company's log (each past conversation opened, queued, written in and
 * resolved, spread over 100 days up to a day ago), its history index and a snapshot are
 * written straight into a KV file, which each old run copies.
 */
async function scenarioGrowth() {
  const n = quick ? 10_000 : 100_000;
  const dayMs = 24 * 60 * 60 * 1000;
  const spacing = Math.floor((100 * dayMs) / n);
  const t0 = Date.now() - dayMs - n * spacing;
  log(`(f) writing the log of an old company: ${n} past conversations`);
  const template = await Deno.makeTempDir();
  const started = performance.now();
  {
    const store = await KvEventStore.open(`${template}/events.kv`);
    const events = pastConversations(n, t0, spacing);
    let version = 0;
    for (let i = 0; i < events.length; i += 500) {
      const chunk = events.slice(i, i + 500);
      await store.append("c0", version, chunk.map((e) => ({ ...e, v: 1 })));
      version += chunk.length;
    }
    await store.flushIndex();
    const state = fold(events);
    await store.saveSnapshot("c0", state.version, toSnapshot(state));
    store.close();
  }
  log(`(f) written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const copy = async () => {
    const dir = await Deno.makeTempDir();
    for await (const f of Deno.readDir(template)) {
      await Deno.copyFile(`${template}/${f.name}`, `${dir}/${f.name}`);
    }
    return dir;
  };
  const load = {
    companies: 1,
    users: 20,
    agents: 1,
    duration: quick ? 8 : 20,
    rate: 0,
    size: 100,
    warmup: 3,
  };
  log(`(f) old against fresh: ${JSON.stringify(load)} × ${reps}`);
  const fresh: Run[] = [];
  const old: Run[] = [];
  for (let i = 0; i < reps; i++) {
    fresh.push(await measure("engine", load));
    old.push(await measure("engine", load, await copy()));
  }
  await Deno.remove(template, { recursive: true });
  results.growth = { pastConversations: n, load, fresh, old };
  const us = (runs: Run[]) => median(runs, (r) => r.serverMicrosPerDelivered);
  rows.push(
    { figure: "(f) server µs / delivered msg, fresh company", engine: us(fresh), unit: "µs" },
    {
      figure: `(f) … with ${n.toLocaleString("en")} past conversations (ratio: to fresh)`,
      engine: us(old),
      ceiling: us(fresh),
      unit: "µs",
      target: "≤ 1.2 × fresh",
    },
    {
      figure: "(f) delivered msg/s, fresh / old",
      engine: `${fmt(median(fresh, (r) => r.deliveredPerSecond))} / ${
        fmt(median(old, (r) => r.deliveredPerSecond))
      }`,
      unit: "msg/s",
    },
    { figure: "(f) exactly once, fresh / old", engine: `${once(fresh)} / ${once(old)}`, unit: "" },
  );
}

if (values.only === "f") {
  await scenarioGrowth();
  await report();
  Deno.exit(0);
}

if (values.only === "h") {
  await scenarioH();
  await report();
  Deno.exit(0);
}

// (a) 1 company, 100 users, 10 agents, saturated ---------------------------------------
// Each run warms up at the same load first (conversations open, code is compiled), then measures.
const a = {
  companies: 1,
  users: 100,
  agents: 10,
  duration: quick ? 8 : 20,
  rate: 0,
  size: 100,
  warmup: 2,
};
log(`(a) saturated: ${JSON.stringify(a)} × ${reps}`);
const aRuns = await sides(a);
results.a = aRuns;
rows.push(
  {
    figure: "(a) delivered msg/s",
    engine: median(aRuns.engine, (r) => r.deliveredPerSecond),
    ceiling: median(aRuns.relay, (r) => r.deliveredPerSecond),
    unit: "msg/s",
  },
  {
    figure: "(a) server µs / delivered msg",
    engine: median(aRuns.engine, (r) => r.serverMicrosPerDelivered),
    ceiling: median(aRuns.relay, (r) => r.serverMicrosPerDelivered),
    unit: "µs",
    target: "≤ 1.4 × ceiling",
  },
  {
    figure: "(a) p99 one-way latency",
    engine: median(aRuns.engine, (r) => r.latencyMs.p99),
    ceiling: median(aRuns.relay, (r) => r.latencyMs.p99),
    unit: "ms",
  },
  {
    figure: "(a) server CPU share",
    engine: median(aRuns.engine, (r) => r.serverCpuShare),
    ceiling: median(aRuns.relay, (r) => r.serverCpuShare),
    unit: "cores",
  },
  { figure: "(a) exactly once", engine: once(aRuns.engine), ceiling: once(aRuns.relay), unit: "" },
);

// (b) many companies at a fixed offered rate: half of (a)'s maximum -------------------------
const bRate = Math.max(100, Math.floor(median(aRuns.engine, (r) => r.sent / r.sendSeconds) / 2));
const bShape = quick
  ? { companies: 10, users: 20, agents: 2, duration: 8 }
  : { companies: 100, users: 100, agents: 5, duration: 20 };
// The warm-up lasts until every user has opened a conversation (their first message), and more.
const b = {
  ...bShape,
  rate: bRate,
  size: 100,
  warmup: Math.max(2, Math.ceil((1.5 * bShape.companies * bShape.users) / bRate)),
};
log(`(b) offered rate: ${JSON.stringify(b)} × ${reps}`);
const bRuns = await sides(b);
results.b = bRuns;
rows.push(
  {
    figure: `(b) offered ${bRate} msg/s: p50 latency`,
    engine: median(bRuns.engine, (r) => r.latencyMs.p50),
    ceiling: median(bRuns.relay, (r) => r.latencyMs.p50),
    unit: "ms",
  },
  {
    figure: "(b) p99 latency",
    engine: median(bRuns.engine, (r) => r.latencyMs.p99),
    ceiling: median(bRuns.relay, (r) => r.latencyMs.p99),
    unit: "ms",
    target: "≤ 25 ms",
  },
  {
    figure: `(b) p99 in the ${b.warmup} s warm-up (conversations opening)`,
    engine: median(bRuns.engine, (r) => r.warmup?.latencyMs.p99 ?? NaN),
    ceiling: median(bRuns.relay, (r) => r.warmup?.latencyMs.p99 ?? NaN),
    unit: "ms",
  },
  {
    figure: "(b) delivered msg/s",
    engine: median(bRuns.engine, (r) => r.deliveredPerSecond),
    ceiling: median(bRuns.relay, (r) => r.deliveredPerSecond),
    unit: "msg/s",
  },
  {
    figure: "(b) server µs / delivered msg",
    engine: median(bRuns.engine, (r) => r.serverMicrosPerDelivered),
    ceiling: median(bRuns.relay, (r) => r.serverMicrosPerDelivered),
    unit: "µs",
  },
  { figure: "(b) exactly once", engine: once(bRuns.engine), ceiling: once(bRuns.relay), unit: "" },
);

// (c) idle sockets: RSS per socket and connect rate --------------------------------------
async function idle(kind: "engine" | "relay", n: number) {
  const dataDir = kind === "engine" ? await Deno.makeTempDir() : undefined;
  const server = await startServer(kind, dataDir);
  try {
    const before = rssKb(server.pid);
    const args = [
      "run",
      "-A",
      "bench/loadgen.ts",
      JSON.stringify({
        url: `http://127.0.0.1:${server.port}`,
        target: kind,
        secret: SECRET,
        companies: Math.ceil(n / 1000),
        users: Math.min(n, 1000),
        agents: 0,
        duration: 0,
        rate: 0,
        size: 0,
        idle: true,
      }),
    ];
    const gen = new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = gen.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const report = JSON.parse(out.trim());
    await new Promise((r) => setTimeout(r, 1000)); // let the server settle before reading RSS
    const after = rssKb(server.pid);
    gen.kill("SIGTERM");
    await gen.status;
    return {
      ...report,
      rssBeforeKb: before,
      rssAfterKb: after,
      kbPerSocket: (after - before) / report.sockets,
    };
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
    if (dataDir) await Deno.remove(dataDir, { recursive: true });
  }
}
const idleCount = quick ? 2000 : 10_000;
log(`(c) ${idleCount} idle sockets`);
const cEngine = await idle("engine", idleCount);
const cRelay = await idle("relay", idleCount);
results.c = { engine: cEngine, relay: cRelay };
rows.push(
  {
    figure: `(c) RSS per idle socket (${idleCount})`,
    engine: cEngine.kbPerSocket,
    ceiling: cRelay.kbPerSocket,
    unit: "KB",
    target: "≤ 40 KB",
  },
  {
    figure: "(c) connects per second",
    engine: cEngine.sockets / cEngine.connectSeconds,
    ceiling: cRelay.sockets / cRelay.connectSeconds,
    unit: "/s",
  },
);

// (d) cold recovery of a company with many events, with and without a snapshot ------------
const recoveryEvents = quick ? 100_000 : 1_000_000;
log(`(d) recovery of ${recoveryEvents} events`);
{
  const dir = await Deno.makeTempDir();
  // Written straight to the log, as they always were here: no history index to write beside.
  const store = await KvEventStore.open(`${dir}/events.kv`, { history: () => [] });
  let state: CompanyState = initialState();
  let version = 0;
  const chunk = 500;
  for (let i = 0; version < recoveryEvents; i++) {
    const events = [];
    for (let j = 0; j < chunk && version + events.length < recoveryEvents; j++) {
      const n = i * chunk + j;
      const user = `u${n % 200}`;
      const d = decide(state, {
        type: "SendMessage",
        data: {
          sender: { userId: user, role: "user" },
          userId: user,
          text: `message ${n}`,
          messageId: `m${n}`,
          conversationId: `c${n}`,
          at: n,
        },
      });
      if (!d.ok) continue;
      for (const e of d.events) {
        state = evolve(state, e);
        events.push({ ...e, v: 1 });
      }
    }
    await store.append("acme", version, events);
    version += events.length;
  }
  const load = async () => {
    // A fresh engine each time (nothing listens, so nothing is published): a cold load.
    const { system, close } = await createEngine({
      storage: store,
      clock: { now: () => 0, setTimer: systemClock.setTimer },
      snapshotEvery: Number.MAX_SAFE_INTEGER,
    });
    const t0 = performance.now();
    await system.actor("acme").current();
    const seconds = (performance.now() - t0) / 1000;
    await close();
    return seconds;
  };
  const full = await load();
  await store.saveSnapshot("acme", state.version, toSnapshot(state));
  const snap = await load();
  store.close();
  await Deno.remove(dir, { recursive: true });
  results.d = { events: version, fullSeconds: full, snapshotSeconds: snap };
  rows.push(
    {
      figure: `(d) recovery, full replay (${version} events)`,
      engine: version / full,
      unit: "events/s",
    },
    {
      figure: "(d) recovery with a snapshot",
      engine: version / snap,
      unit: "events/s",
      target: "≥ 200,000",
    },
  );
}

// (e) the pure core: decide+evolve, and deliveries ---------------------------------------
{
  let state = initialState();
  const connectAll: CompanyCommand[] = [];
  for (let u = 0; u < 100; u++) {
    connectAll.push({
      type: "Connect",
      data: { userId: `u${u}`, role: "user", socketId: `s${u}`, at: 0 },
    });
  }
  for (let a = 0; a < 10; a++) {
    connectAll.push({
      type: "Connect",
      data: { userId: `a${a}`, role: "agent", socketId: `sa${a}`, at: 0 },
    });
  }
  for (const c of connectAll) {
    const d = decide(state, c);
    if (d.ok) { for (const e of d.events) state = evolve(state, e); }
  }
  const n = quick ? 100_000 : 500_000;
  const start = state;
  const log: CompanyEvent[] = [];
  let events = 0;
  let t0 = performance.now();
  const sample = [];
  for (let i = 0; i < n; i++) {
    const user = `u${i % 100}`;
    const d = step(state, {
      type: "SendMessage",
      data: {
        sender: { userId: user, role: "user" },
        userId: user,
        text: "hello",
        messageId: `m${i}`,
        conversationId: `c${i}`,
        at: i,
      },
    });
    if (!d.ok) continue;
    // As the actor does: one step decides, applies and routes.
    state = d.state;
    for (const e of d.events) {
      events++;
      log.push(e);
      if (sample.length < 10_000) sample.push(e);
    }
  }
  const decideEvolve = events / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  fold(log, start);
  const foldPerSecond = log.length / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  let out = 0;
  for (let r = 0; r < 20; r++) for (const e of sample) out += deliveries(state, e).length;
  const deliveriesPerSecond = (20 * sample.length) / ((performance.now() - t0) / 1000);
  results.e = { decideEvolvePerSecond: decideEvolve, foldPerSecond, deliveriesPerSecond };
  void out;
  rows.push(
    {
      figure: "(e) step (decide with its evolve, and deliveries), one command at a time",
      engine: decideEvolve,
      unit: "events/s",
    },
    {
      figure: "(e) evolve over a log (fold)",
      engine: foldPerSecond,
      unit: "events/s",
      target: "evolve ≥ 1,000,000",
    },
    { figure: "(e) deliveries()", engine: deliveriesPerSecond, unit: "events/s" },
  );
}

await scenarioGrowth();
await scenarioH();
await scenarioStorm();
await scenarioK();
await report();

// Report --------------------------------------------------------------------------------
async function report() {
  const table = [
    ["figure", "engine", "ceiling", "ratio", "unit", "target"],
    ...rows.map((r) => {
      const ratio = typeof r.engine === "number" && typeof r.ceiling === "number" && r.ceiling !== 0
        ? fmt(r.engine / r.ceiling, 2)
        : "";
      return [
        r.figure,
        typeof r.engine === "number" ? fmt(r.engine) : r.engine,
        r.ceiling === undefined ? "" : typeof r.ceiling === "number" ? fmt(r.ceiling) : r.ceiling,
        ratio,
        r.unit,
        r.target ?? "",
      ];
    }),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => String(row[i]).length)));
  for (const row of table) {
    console.log(row.map((cell, i) => String(cell).padEnd(widths[i])).join("  "));
  }
  results.rows = rows;
  await Deno.mkdir(`${root}bench/results`, { recursive: true });
  await Deno.writeTextFile(`${root}bench/results/latest.json`, JSON.stringify(results, null, 2));
  console.log(`\nJSON: bench/results/latest.json (${JSON.stringify(results.machine)})`);
}
