/**
 * Bench scenarios (i) and (j): several nodes (`main.ts` processes) on one throwaway PostgreSQL
 * and one throwaway Redis (tests/_services.ts). Clients connect straight to node ports: no
 * nginx, so which node serves a socket is chosen here, not by round robin.
 *
 * (i) The same offered chat load through 1 node and through 2: the CPU of every server process
 * (the nodes, PostgreSQL's postmaster and backends, Redis) per delivered message, and p99
 * one-way latency. Users sit on one node and agents on the other, so every message crosses
 * the bus. On a 2-core machine this measures the cluster's overhead, not a speed-up.
 *
 * (j) Failover: a user on each of 3 nodes sends with `client_id`; one node is SIGKILLed. The
 * killed node's user reconnects through another node and resends its pending message: the
 * seconds from the kill to that ack, and how many acked messages the log lacks (must be 0).
 */
import type { Socket } from "socket.io-client";
import { PostgresEventStore } from "../adapters/store/mod.ts";
import { decode } from "../src/codec.ts";
import { startPostgres, startRedis } from "../tests/_services.ts";
import { SECRET, tokenFor } from "../tests/_tokens.ts";
import { type MainProcess, startMain, stopMain } from "../tests/e2e/_main_process.ts";
import { openSocket } from "./socket.ts";

/** One row of the bench table. */
export interface ClusterRow {
  figure: string;
  engine: number | string;
  ceiling?: number | string;
  unit: string;
  target?: string;
}

type Ack = { ok: boolean; id: string; seq: number; error?: { code?: string } };

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Every pid on the machine with its parent pid and command line. */
function processes(): { pid: number; ppid: number; cmdline: string }[] {
  const out = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.split(") ")[1].split(" ")[1]);
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).replaceAll("\0", " ");
      out.push({ pid: Number(entry.name), ppid, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * The pids of the throwaway servers: PostgreSQL's postmaster (from its data directory's
 * postmaster.pid) and all its children, and the redis-server on `redisPort`.
 */
async function servicePids(
  psql: (sql: string) => Promise<string>,
  redisPort: number,
): Promise<() => number[]> {
  const dataDir = (await psql("SHOW data_directory")).trim();
  const postmaster = Number(Deno.readTextFileSync(`${dataDir}/postmaster.pid`).split("\n")[0]);
  return () => {
    const all = processes();
    return [
      postmaster,
      ...all.filter((p) => p.ppid === postmaster).map((p) => p.pid),
      ...all.filter((p) =>
        p.cmdline.includes("redis-server") && p.cmdline.includes(`:${redisPort}`)
      )
        .map((p) => p.pid),
    ];
  };
}

function p99(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
}

function connect(url: string, company: string, user: string, role: string) {
  return tokenFor(company, user, role).then((token) => openSocket(url, { token }));
}

/** `count` nodes on a fresh database and the shared Redis, started one after the other. */
async function startNodes(count: number) {
  // Durable (fsync on), as in production: the commit is part of each message's cost.
  const pg = await startPostgres({ durable: true });
  const redis = await startRedis();
  if (!pg || !redis) throw new Error("(i)/(j) need PostgreSQL and redis-server installed");
  const database = await pg.freshDatabase();
  const nodes: MainProcess[] = [];
  for (let i = 1; i <= count; i++) {
    nodes.push(
      await startMain({
        PORT: "0",
        HOST: "127.0.0.1",
        DATABASE_URL: database,
        REDIS_URL: redis.url,
        JWT_SECRET: new TextDecoder().decode(SECRET),
        NODE_ID: `node${i}`,
        NODE_TIMEOUT_SECONDS: "2",
        LOG_LEVEL: "error",
        RATE_LIMIT_SOCKET: "0",
        RATE_LIMIT_CONNECT: "0",
        RATE_LIMIT_HTTP: "0",
      }),
    );
  }
  const services = await servicePids((sql) => pg.psql(sql), redis.port);
  return { database, nodes, services };
}

const COMPANIES = 4;
const USERS = 5;

/** One (i) run: `count` nodes under the offered load; CPU of every server process. */
async function chatLoad(count: number, rate: number, seconds: number) {
  const { nodes, services } = await startNodes(count);
  const sockets: Socket[] = [];
  const latencies: number[] = [];
  let delivered = 0;
  let sent = 0;
  let measuring = false;
  try {
    const users: Socket[] = [];
    for (let c = 0; c < COMPANIES; c++) {
      // The agent on the last node, users on the first: with 2 nodes every message crosses.
      const agent = await connect(nodes.at(-1)!.url, `co${c}`, "agent", "admin");
      agent.on("message", (m: { content?: string }) => {
        const t = Number(m.content);
        if (!measuring || !Number.isFinite(t)) return;
        delivered++;
        latencies.push(performance.timeOrigin + performance.now() - t);
      });
      sockets.push(agent);
      for (let u = 0; u < USERS; u++) {
        const user = await connect(nodes[0].url, `co${c}`, `u${u}`, "user");
        sockets.push(user);
        users.push(user);
      }
    }
    const tick = 1000 / rate;
    const send = () => {
      const user = users[sent++ % users.length];
      user.emit("message", {
        to: "admin",
        content: `${performance.timeOrigin + performance.now()}`,
      });
    };
    // Warm-up: conversations open, code compiles.
    const run = async (ms: number) => {
      const end = performance.now() + ms;
      let next = performance.now();
      while (performance.now() < end) {
        send();
        next += tick;
        await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
      }
    };
    await run(2000);
    const pids = [...nodes.map((n) => n.child.pid), ...services()];
    const cpu = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const nodeCpu = () => nodes.reduce((sum, n) => sum + cpuSeconds(n.child.pid), 0);
    measuring = true;
    const cpu0 = cpu();
    const node0 = nodeCpu();
    const t0 = performance.now();
    await run(seconds * 1000);
    await new Promise((r) => setTimeout(r, 500)); // the last deliveries arrive
    const wall = (performance.now() - t0) / 1000;
    const total = cpu() - cpu0;
    const nodesOnly = nodeCpu() - node0;
    measuring = false;
    return {
      nodes: count,
      offeredPerSecond: rate,
      delivered,
      wallSeconds: wall,
      cpuSeconds: total,
      nodeCpuSeconds: nodesOnly,
      microsPerDelivered: delivered ? (total * 1e6) / delivered : NaN,
      nodeMicrosPerDelivered: delivered ? (nodesOnly * 1e6) / delivered : NaN,
      p99Ms: p99(latencies),
      processes: pids.length,
    };
  } finally {
    for (const s of sockets) s.disconnect();
    for (const n of nodes) await stopMain(n);
  }
}

/** (j) one run: 3 nodes, a sending user on each, the first node SIGKILLed. */
async function failover(quick: boolean) {
  const { database, nodes } = await startNodes(3);
  const company = "failover";
  const acked = new Map<string, Ack>();
  const sockets: Socket[] = [];
  let stopped = false;
  let killedAt = 0;
  let servedElsewhereAt = 0;
  let reconnectedAt = 0;
  try {
    const watcher = await connect(nodes[1].url, company, "boss", "admin");
    sockets.push(watcher);
    const send = (socket: Socket, cid: string) =>
      new Promise<Ack>((resolve, reject) => {
        if (!socket.connected) return reject(new Error("disconnected"));
        socket.once("disconnect", () => reject(new Error("disconnected")));
        socket.timeout(5000).emitWithAck("message", { to: "admin", content: cid, client_id: cid })
          .then(resolve, reject);
      });
    const loader = async (i: number) => {
      const user = `u${i}`;
      let socket = await connect(nodes[i].url, company, user, "user");
      sockets.push(socket);
      let n = 0;
      let pending: string | undefined;
      let moved = false;
      while (!stopped) {
        const cid = pending ?? `${user}:${++n}`;
        pending = cid;
        try {
          const ack = await send(socket, cid);
          if (!ack.ok && ack.error?.code === "unavailable") continue;
          if (!ack.ok) throw new Error(JSON.stringify(ack));
          acked.set(cid, ack);
          pending = undefined;
          if (moved && servedElsewhereAt === 0) servedElsewhereAt = performance.now();
        } catch (error) {
          if (!(error instanceof Error) || /"ok"/.test(error.message)) throw error;
          // Its node died: reconnect through the next living node, resend the same cid.
          socket.disconnect();
          for (;;) {
            try {
              socket = await connect(nodes[(i + 1) % nodes.length].url, company, user, "user");
              break;
            } catch {
              await new Promise((r) => setTimeout(r, 50));
            }
          }
          sockets.push(socket);
          reconnectedAt ||= performance.now();
          moved = true;
        }
      }
    };
    const loaders = [0, 1, 2].map(loader);
    const before = quick ? 60 : 300;
    while (acked.size < before) await new Promise((r) => setTimeout(r, 20));
    killedAt = performance.now();
    nodes[0].child.kill("SIGKILL");
    await nodes[0].child.status;
    const deadline = performance.now() + 20_000;
    while (servedElsewhereAt === 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const after = acked.size + (quick ? 60 : 300);
    while (acked.size < after && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    stopped = true;
    await Promise.all(loaders);
    const logged = new Map<string, string[]>();
    const store = await PostgresEventStore.open(database, { applicationName: "bench" });
    try {
      for await (const e of store.read(company)) {
        const event = decode(e);
        if (event.type !== "MessageSent" || !event.data.clientId) continue;
        logged.set(event.data.clientId, [
          ...(logged.get(event.data.clientId) ?? []),
          event.data.messageId,
        ]);
      }
    } finally {
      await store.close();
    }
    const lost = [...acked].filter(([cid, ack]) => !logged.get(cid)?.includes(ack.id)).length;
    const duplicated = [...logged.values()].filter((ids) => ids.length > 1).length;
    return {
      acked: acked.size,
      lost,
      duplicated,
      secondsToServedElsewhere: servedElsewhereAt ? (servedElsewhereAt - killedAt) / 1000 : NaN,
      secondsToReconnected: reconnectedAt ? (reconnectedAt - killedAt) / 1000 : NaN,
    };
  } finally {
    stopped = true;
    for (const s of sockets) s.disconnect();
    for (const n of nodes.slice(1)) await stopMain(n);
  }
}

/** (i): 1 node against 2, the same offered load. */
export async function severalNodes(quick: boolean) {
  const rate = 200;
  const seconds = quick ? 6 : 20;
  const one = await chatLoad(1, rate, seconds);
  const two = await chatLoad(2, rate, seconds);
  const rows: ClusterRow[] = [
    {
      figure:
        `(i) all server CPU (nodes, PostgreSQL, Redis) µs / delivered msg at ${rate} msg/s: 2 nodes (ceiling: 1 node)`,
      engine: two.microsPerDelivered,
      ceiling: one.microsPerDelivered,
      unit: "µs",
    },
    {
      figure: "(i) … of which the node processes: 2 nodes (ceiling: 1 node)",
      engine: two.nodeMicrosPerDelivered,
      ceiling: one.nodeMicrosPerDelivered,
      unit: "µs",
    },
    {
      figure: "(i) p99 latency: 2 nodes (ceiling: 1 node)",
      engine: two.p99Ms,
      ceiling: one.p99Ms,
      unit: "ms",
    },
    {
      figure: "(i) delivered: 2 nodes / 1 node",
      engine: `${two.delivered} / ${one.delivered}`,
      unit: "msg",
    },
  ];
  return { rows, raw: { one, two } };
}

/** (j): failover after a SIGKILL. */
export async function nodeFailover(quick: boolean) {
  const j = await failover(quick);
  const rows: ClusterRow[] = [
    {
      figure: "(j) SIGKILL of 1 of 3 nodes: seconds until its user is served by another",
      engine: j.secondsToServedElsewhere,
      unit: "s",
    },
    {
      figure: "(j) … of which until its socket was up on another",
      engine: j.secondsToReconnected,
      unit: "s",
    },
    {
      figure: "(j) acked messages missing from the log",
      engine: String(j.lost),
      unit: "",
      target: "0",
    },
    { figure: "(j) client_ids logged twice", engine: String(j.duplicated), unit: "", target: "0" },
    { figure: "(j) acked", engine: String(j.acked), unit: "msg" },
  ];
  return { rows, raw: j };
}
