/**
 * Bench scenario (g): a handoff storm into one company while its agents watch. 10,000 handoffs
 * (2,000 with `--quick`) by `POST /transfer_to_agent` into a company with 50 agents connected;
 * meanwhile a quiet company on the same node chats (one user, one agent). Reports whether the
 * storm slows as the queue grows (handoffs/s of the last 1,000 against the first 1,000), the
 * bytes each agent receives per handoff, p99 of the handoff route, p99 of the quiet company's
 * message delivery, and any agent socket the server dropped.
 */
import type { Socket } from "socket.io-client";
import { signToken } from "../src/auth.ts";
import type { BenchHelpers } from "./resume_presence.ts";
import { openSocket } from "./socket.ts";

/** One row of the bench table. */
export interface StormRow {
  figure: string;
  engine: number | string;
  unit: string;
  target?: string;
}

const AGENTS = 50;
const IN_FLIGHT = 16;

function p99(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
}

/** Runs scenario (g) against a fresh engine; returns its rows and raw figures. */
export async function queueStorm(h: BenchHelpers) {
  const total = h.quick ? 2_000 : 10_000;
  const window = 1_000;
  const key = new TextEncoder().encode(h.secret);
  const dataDir = await Deno.makeTempDir();
  const server = await h.startServer("engine", dataDir);
  const url = `http://127.0.0.1:${server.port}`;
  const connect = async (company: string, user: string, role: string) => {
    const token = await signToken(key, { company_id: company, user_id: user, role }, 3600);
    return openSocket(url, { token });
  };

  // The watching agents: what each receives, and whether the server drops any.
  let bytes = 0;
  let counting = false;
  let dropped = 0;
  const agents: Socket[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const s = await connect("storm", `agent${i}`, "agent");
    s.onAny((event: string, payload: unknown) => {
      if (counting) bytes += JSON.stringify([event, payload]).length;
    });
    s.on("disconnect", (reason: string) => {
      if (reason !== "io client disconnect") dropped++;
    });
    agents.push(s);
  }

  // The quiet company: a message every 50 ms, timed from send to the agent's receipt.
  const quietUser = await connect("quiet", "quiet-user", "user");
  const quietAgent = await connect("quiet", "quiet-agent", "agent");
  const quietLatencies: number[] = [];
  const sentAt = new Map<string, number>();
  quietAgent.on("message", (m: { content?: string }) => {
    const t = m.content === undefined ? undefined : sentAt.get(m.content);
    if (t !== undefined) quietLatencies.push(performance.now() - t);
  });
  let quietRunning = true;
  const quiet = (async () => {
    let n = 0;
    while (quietRunning) {
      const content = `q${n++}`;
      sentAt.set(content, performance.now());
      quietUser.emit("message", { to: "admin", content });
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  const bot = await signToken(key, { company_id: "storm", user_id: "bot", role: "bot" }, 3600);
  const done: number[] = [];
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const cpu0 = h.cpuSeconds(server.pid);
  counting = true;
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < total) {
      const i = next++;
      const t = performance.now();
      const res = await fetch(`${url}/transfer_to_agent`, {
        method: "POST",
        headers: { authorization: `Bearer ${bot}`, "content-type": "application/json" },
        body: JSON.stringify({ user_id: `u${i}`, company_id: "storm", context: { i } }),
      });
      await res.body?.cancel();
      if (!res.ok) failed++;
      const now = performance.now();
      latencies.push(now - t);
      done.push(now);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = h.cpuSeconds(server.pid) - cpu0;
  // Let the last deliveries arrive before counting stops.
  await new Promise((r) => setTimeout(r, 500));
  counting = false;
  quietRunning = false;
  await quiet;

  const rate = (from: number, to: number) => (to - from) / ((done[to - 1] - done[from]) / 1000);
  const first = rate(0, window);
  const last = rate(total - window, total);
  const raw = {
    handoffs: total,
    agents: AGENTS,
    failed,
    elapsedSeconds: elapsed,
    serverCpuSeconds: cpu,
    firstPerSecond: first,
    lastPerSecond: last,
    lastOverFirst: last / first,
    bytesPerHandoffPerAgent: bytes / total / AGENTS,
    handoffP99Ms: p99(latencies),
    quietP99Ms: p99(quietLatencies),
    quietMessages: quietLatencies.length,
    dropped,
  };
  for (const s of [...agents, quietUser, quietAgent]) s.disconnect();
  server.child.kill("SIGTERM");
  await server.child.status;
  await Deno.remove(dataDir, { recursive: true });
  const label = h.quick ? "2,000 (quick)" : "10,000";
  const rows: StormRow[] = [
    {
      figure: `(g) handoff storm, ${label} into 1 company, 50 agents: last 1,000 / first 1,000`,
      engine: raw.lastOverFirst,
      unit: "× rate",
      target: "≥ 0.7",
    },
    {
      figure: "(g) handoffs/s, first 1,000 / last 1,000",
      engine: `${first.toFixed(0)} / ${last.toFixed(0)}`,
      unit: "/s",
    },
    { figure: "(g) bytes per handoff per agent", engine: raw.bytesPerHandoffPerAgent, unit: "B" },
    { figure: "(g) handoff route p99", engine: raw.handoffP99Ms, unit: "ms" },
    {
      figure: "(g) quiet company's message delivery p99 during the storm",
      engine: raw.quietP99Ms,
      unit: "ms",
      target: "≤ 25",
    },
    { figure: "(g) agent sockets dropped", engine: dropped, unit: "", target: "0" },
    { figure: "(g) handoffs refused", engine: failed, unit: "" },
  ];
  return { rows, raw };
}
