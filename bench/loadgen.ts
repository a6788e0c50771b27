/**
 * The load generator: its own process, socket.io-client over WebSocket, speaking the
 * engine's protocol (or the relay's). Companies × users × agents; closed-loop saturation
 * or a fixed offered rate; one-way latency from timestamps inside messages; checks that
 * every sent message reached every agent of its company exactly once.
 * Input: one JSON argument. Output: one JSON line.
 */
import { SignJWT } from "jose";
import { io, type Socket } from "socket.io-client";

interface Options {
  url: string;
  target: "engine" | "relay";
  secret?: string;
  companies: number;
  users: number;
  agents: number;
  /** Seconds of sending. */
  duration: number;
  /** Total offered messages per second; 0 = closed loop (each user waits for its ack). */
  rate: number;
  size: number;
  /** Only connect and hold the sockets (idle scenario); prints when all are up. */
  idle?: boolean;
  /**
   * Seconds of warm-up at the same load before measuring (default 0). Each user's first
   * message opens a conversation (a handoff: queue, assignment), and the runtime compiles its
   * hot paths: the measured phase is steady chat. The warm-up's own figures are reported too.
   */
  warmup?: number;
}

const o: Options = JSON.parse(Deno.args[0]);
const now = () => performance.timeOrigin + performance.now();
const key = o.secret ? new TextEncoder().encode(o.secret) : undefined;

async function connect(company: string, user: string, role: "user" | "agent"): Promise<Socket> {
  const auth = o.target === "engine"
    ? {
      token: await new SignJWT({
        company_id: company,
        user_id: user,
        role: role === "agent" ? "admin" : "user",
      })
        .setProtectedHeader({ alg: "HS256" })
        .setExpirationTime("2h")
        .sign(key!),
    }
    : { company, user, role };
  const socket = io(o.url, {
    transports: ["websocket"],
    auth,
    reconnection: false,
    forceNew: true,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (e: Error) => reject(e));
  });
  return socket;
}

let latencies: number[] = [];
let seen = new Map<string, number>(); // message id → deliveries
let delivered = 0;
let errors = 0;
let phaseNo = 0;
const companies = Array.from({ length: o.companies }, (_, i) => `c${i}`);

const connectStart = now();
const agents: Socket[] = [];
const users: { socket: Socket; company: string; id: string }[] = [];
for (const company of companies) {
  for (let a = 0; a < o.agents; a++) {
    const socket = await connect(company, `agent${a}`, "agent");
    socket.on("message", (m: { content: string; role?: string }) => {
      if (m.role && m.role !== "user") return;
      const at = now();
      const body = JSON.parse(m.content) as { t: number; id: string; phase: number };
      if (body.phase !== phaseNo) return; // late from the warm-up
      latencies.push(at - body.t);
      delivered++;
      seen.set(body.id, (seen.get(body.id) ?? 0) + 1);
    });
    agents.push(socket);
  }
}
const batch = 50;
const wanted = companies.flatMap((company) =>
  Array.from({ length: o.users }, (_, u) => ({ company, id: `user${u}` }))
);
for (let i = 0; i < wanted.length; i += batch) {
  const part = await Promise.all(
    wanted.slice(i, i + batch).map(async (w) => ({
      ...w,
      socket: await connect(w.company, w.id, "user"),
    })),
  );
  users.push(...part);
}
const connectSeconds = (now() - connectStart) / 1000;
const sockets = agents.length + users.length;

if (o.idle) {
  console.log(JSON.stringify({ ready: true, sockets, connectSeconds }));
  // Hold the sockets until told to stop (stdin closes or SIGTERM).
  await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
  Deno.exit(0);
}

const pad = "x".repeat(Math.max(0, o.size - 70));
let sent = 0;
let acked = 0;
let counter = 0;
const sendOne = (u: typeof users[number]) => {
  const id = `${u.company}:${u.id}:${++counter}`;
  const content = JSON.stringify({ t: now(), id, phase: phaseNo, pad });
  sent++;
  return new Promise<void>((resolve) => {
    u.socket.timeout(10_000).emit(
      "message",
      { to: "admin", content },
      (err: unknown, ack?: { ok: boolean }) => {
        if (err || !ack?.ok) errors++;
        else acked++;
        resolve();
      },
    );
  });
};

/** Sends for `seconds`, lets the last deliveries arrive, and reports what it saw. */
async function phase(seconds: number) {
  phaseNo++;
  latencies = [];
  seen = new Map();
  delivered = 0;
  errors = 0;
  sent = 0;
  acked = 0;
  const start = now();
  const end = start + seconds * 1000;
  if (o.rate === 0) {
    await Promise.all(users.map(async (u) => {
      while (now() < end) await sendOne(u);
    }));
  } else {
    // Fixed offered rate: every 5 ms, send the messages due so far, round-robin over users.
    let due = 0;
    let next = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const t = now();
        if (t >= end) {
          clearInterval(timer);
          return resolve();
        }
        const target = Math.floor(((t - start) / 1000) * o.rate);
        for (; due < target; due++) void sendOne(users[next++ % users.length]);
      }, 5);
    });
  }
  const sendSeconds = (now() - start) / 1000;
  // Let the last deliveries arrive (bounded wait).
  const expected = sent * o.agents;
  const drainUntil = now() + 5000;
  while (delivered < expected && now() < drainUntil) await new Promise((r) => setTimeout(r, 20));

  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies.length
      ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]
      : 0;
  let duplicates = 0;
  for (const n of seen.values()) if (n > o.agents) duplicates += n - o.agents;
  const missing = expected - delivered + duplicates;
  return {
    sent,
    acked,
    errors,
    delivered,
    sendSeconds,
    deliveredPerSecond: delivered / sendSeconds,
    latencyMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: latencies.at(-1) ?? 0 },
    exactlyOnce: duplicates === 0 && missing === 0,
    duplicates,
    missing,
  };
}

const warmup = o.warmup ? await phase(o.warmup) : undefined;
// Tells the harness the measured phase starts (it reads the server's CPU time here).
console.log(JSON.stringify({ phase: "measure" }));
const measured = await phase(o.duration);
console.log(JSON.stringify({
  sockets,
  connectSeconds,
  connectPerSecond: sockets / connectSeconds,
  ...measured,
  ...(warmup ? { warmup } : {}),
}));
for (const s of [...agents, ...users.map((u) => u.socket)]) s.disconnect();
Deno.exit(0);
