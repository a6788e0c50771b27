/**
 * Bench scenario (k): what a resume costs the server, and what presence writes to the log.
 * Server CPU from /proc per connect (plain, resumed within the window, resumed past it), and
 * the log bytes of 1,000 connect/disconnect cycles (one user flapping; 1,000 distinct users).
 */
import { io, type Socket } from "socket.io-client";
import { KvEventStore } from "../adapters/store/mod.ts";
import { signToken } from "../src/auth.ts";

/** What the scenario borrows from bench/run.ts. */
export interface BenchHelpers {
  startServer(
    kind: "engine",
    dataDir: string,
  ): Promise<{ child: Deno.ChildProcess; port: number; pid: number }>;
  cpuSeconds(pid: number): number;
  readonly secret: string;
  readonly quick: boolean;
}

/** One row of the bench table. */
export interface ResumeRow {
  figure: string;
  engine: number;
  unit: string;
  target?: string;
}

/** Runs scenario (k) against a fresh engine; returns its rows and raw figures. */
export async function resumeAndPresence(h: BenchHelpers) {
  const key = new TextEncoder().encode(h.secret);
  const dataDir = await Deno.makeTempDir();
  const server = await h.startServer("engine", dataDir);
  const url = `http://127.0.0.1:${server.port}`;
  const connect = async (
    company: string,
    user: string,
    role: string,
    lastSeq?: number,
    listen?: (s: Socket) => void,
  ) => {
    const token = await signToken(key, { company_id: company, user_id: user, role }, 3600);
    const socket = io(url, {
      transports: ["websocket"],
      auth: lastSeq === undefined ? { token } : { token, last_seq: lastSeq },
      reconnection: false,
      forceNew: true,
    });
    listen?.(socket); // before the first packet: what follows the connect may come in its chunk
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    return socket;
  };
  const close = (socket: Socket) =>
    new Promise<void>((resolve) => {
      socket.once("disconnect", () => resolve());
      socket.disconnect();
    });
  const raw: Record<string, number> = {};
  try {
    // A company whose user `alice` was sent `total` messages by an agent.
    const total = 9_000;
    const agent = await connect("resume", "bob", "admin");
    let lastSeq = 0;
    for (let sent = 0; sent < total; sent += 200) {
      const acks = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          agent.timeout(30_000).emitWithAck("message", {
            to: "user",
            user_id: "alice",
            content: `m${sent + i}`,
          })),
      );
      lastSeq = Math.max(lastSeq, ...acks.map((a) => a.seq as number));
    }
    const reps = h.quick ? 20 : 40; // /proc counts CPU in 10 ms ticks: enough connects to see one
    /** Server CPU ms per connect+close, `reps` times in turn, each awaiting `ready`. */
    const perConnect = async (
      lastSeqOf: () => number | undefined,
      ready: (s: Socket) => Promise<void>,
    ) => {
      const cpu0 = h.cpuSeconds(server.pid);
      for (let i = 0; i < reps; i++) {
        let done: Promise<void> = Promise.resolve();
        const socket = await connect("resume", "alice", "user", lastSeqOf(), (s) => {
          done = ready(s);
        });
        await done;
        await close(socket);
      }
      return ((h.cpuSeconds(server.pid) - cpu0) * 1000) / reps;
    };
    const conversation = (s: Socket) => new Promise<void>((r) => s.once("conversation", () => r()));
    const lastMessage = (s: Socket) =>
      new Promise<void>((r) => s.on("message", (m: { seq: number }) => m.seq === lastSeq && r()));
    const resync = (s: Socket) => new Promise<void>((r) => s.once("resync_required", () => r()));
    const back = 1_000;
    await perConnect(() => undefined, conversation); // warm up
    raw.plainMs = await perConnect(() => undefined, conversation);
    raw.resumeWithinMs = await perConnect(() => lastSeq - back, lastMessage);
    raw.resumePastMs = await perConnect(() => lastSeq - total + 1, resync);
    await close(agent);

    // Presence writes: 1,000 cycles of one user, then one cycle each of 1,000 users.
    const cycles = 1_000;
    for (let i = 0; i < cycles; i++) await close(await connect("flap", "alice", "user"));
    for (let i = 0; i < cycles; i++) await close(await connect("visits", `u${i}`, "user"));
  } finally {
    server.child.kill("SIGTERM"); // the server records deferred offline records as it stops
    await server.child.status;
  }
  try {
    const store = await KvEventStore.open(`${dataDir}/events.kv`);
    for (const company of ["flap", "visits"]) {
      let bytes = 0;
      let events = 0;
      for await (const e of store.read(company)) {
        if (e.type !== "SocketConnected" && e.type !== "SocketDisconnected") continue;
        events++;
        bytes += JSON.stringify({ seq: e.seq, type: e.type, at: e.at, v: e.v, data: e.data })
          .length;
      }
      raw[`${company}Events`] = events;
      raw[`${company}Bytes`] = bytes;
    }
    store.close();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
  const rows: ResumeRow[] = [
    { figure: "(k) server CPU per plain connect+close", engine: raw.plainMs, unit: "ms" },
    {
      figure: "(k) … per resumed connect, 1,000 events back (replayed)",
      engine: raw.resumeWithinMs,
      unit: "ms",
    },
    {
      figure: "(k) … per resumed connect, 9,000 events back (resync_required)",
      engine: raw.resumePastMs,
      unit: "ms",
    },
    {
      figure: "(k) presence log bytes, 1,000 cycles of one user",
      engine: raw.flapBytes,
      unit: `B (${raw.flapEvents} events)`,
      target: "O(1)",
    },
    {
      figure: "(k) presence log bytes, 1,000 users × 1 cycle",
      engine: raw.visitsBytes,
      unit: `B (${raw.visitsEvents} events)`,
    },
  ];
  return { rows, raw };
}
