/** A real engine on 127.0.0.1:0 and real socket.io clients that buffer what they receive. */
import { io, type Socket } from "socket.io-client";
import { createEngine } from "../../../adapters/engine.ts";
import { MemoryEventStore } from "../../../adapters/store/mod.ts";
import { type Logger, silentLogger } from "../../../src/log.ts";
import type { Clock, Ids, LogFeed, Storage } from "../../../src/ports.ts";
import type { EngineCluster } from "../../../adapters/engine.ts";
import type { TrustProxy } from "../../../src/net_address.ts";
import { SECRET, tokenFor } from "../../_tokens.ts";

/** Starts an engine over `store` (in memory by default; left open), with webhooks retrying fast. */
export async function startEngine(
  store: Storage = new MemoryEventStore(),
  limits: {
    socketRate?: number;
    connectRate?: number;
    httpRate?: number;
    demo?: boolean;
    corsOrigins?: string[];
    trustProxy?: TrustProxy;
    presenceRetryMs?: number;
    maxSocketsPerUser?: number;
    resumeWindow?: number;
    resumeRate?: number;
    presenceTiming?: { flapWindowMs?: number; offlineDelayMs?: number };
    /** Times grace periods, backoff and token expiry (a `FakeClock` lets a test step them). */
    clock?: Clock;
    /** Ids for messages and conversations (a test makes them fail). */
    ids?: Ids;
    log?: Logger;
    /** Idle companies sleep after this long; 0 (the default here) keeps every one loaded. */
    actorIdleSeconds?: number;
    /** A node of a cluster: the shared log's feed and the shared bus. */
    feed?: LogFeed;
    cluster?: EngineCluster;
  } = {},
) {
  const engine = await createEngine({
    storage: store,
    secret: SECRET,
    log: silentLogger,
    webhookDelays: { baseDelayMs: 20, maxDelayMs: 100 },
    webhookAllowPrivate: true, // the receivers listen on 127.0.0.1
    // No idle timers unless a test asks: a FakeClock then holds only the timers it looks at.
    actorIdleSeconds: 0,
    ...limits,
  });
  const { system, webhooks, publisher } = engine;
  await engine.start();
  const server = await engine.listen({ port: 0, hostname: "127.0.0.1" });
  const clients: Client[] = [];
  return {
    url: `http://127.0.0.1:${server.port}`,
    system,
    store,
    server,
    webhooks,
    publisher,
    /** Connects a client with a fresh token for the identity, resolving once connected. */
    async connect(
      company: string,
      user: string,
      role: string,
      via: "auth" | "query" = "auth",
      extra: Record<string, unknown> = {},
    ) {
      const token = await tokenFor(company, user, role);
      const client = new Client(
        `http://127.0.0.1:${server.port}`,
        via === "auth" ? { auth: { token, ...extra } } : { query: { token, ...extra } },
      );
      clients.push(client);
      await client.connected();
      return client;
    },
    /** A client with raw options, not awaited (for refusals). */
    raw(options: Record<string, unknown>) {
      const client = new Client(`http://127.0.0.1:${server.port}`, options);
      clients.push(client);
      return client;
    },
    /** Mints a token for an identity. */
    token: (company: string, user: string, role: string) => tokenFor(company, user, role),
    async close() {
      for (const c of clients) c.socket.disconnect();
      await engine.close();
    },
  };
}

type Received = { event: string; payload: unknown };

/** A socket.io client that keeps every event it receives, in order. */
/** How long `next()` waits for an event before the test fails. */
const NEXT_TIMEOUT_MS = 15_000;

export class Client {
  readonly socket: Socket;
  readonly received: Received[] = [];
  #waiters: { test: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];
  #cursor = new Map<string, number>();

  constructor(url: string, options: Record<string, unknown>) {
    this.socket = io(url, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      ...options,
    });
    this.socket.onAny((event: string, payload: unknown) => this.#push({ event, payload }));
    this.socket.on(
      "connect_error",
      (error: Error & { data?: unknown }) =>
        this.#push({
          event: "connect_error",
          payload: { message: error.message, data: error.data },
        }),
    );
  }

  #push(r: Received) {
    this.received.push(r);
    this.#waiters = this.#waiters.filter((w) => (w.test(r) ? (w.resolve(r), false) : true));
  }

  connected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("connect_error", (e: Error) => reject(e));
    });
  }

  /** The next `event` not yet taken by an earlier `next` call (waits if none yet). */
  next<T = Record<string, unknown>>(event: string): Promise<T> {
    const from = this.#cursor.get(event) ?? 0;
    const index = this.received.findIndex((r, i) => i >= from && r.event === event);
    if (index >= 0) {
      this.#cursor.set(event, index + 1);
      return Promise.resolve(this.received[index].payload as T);
    }
    return new Promise((resolve, reject) => {
      // A test that waits for an event that never comes fails, naming it, instead of hanging.
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        const seen = this.received.map((r) => r.event).join(", ");
        reject(new Error(`No '${event}' within ${NEXT_TIMEOUT_MS} ms (received: ${seen})`));
      }, NEXT_TIMEOUT_MS);
      const waiter = {
        test: (r: Received) => r.event === event,
        resolve: (r: Received) => {
          clearTimeout(timer);
          this.#cursor.set(event, this.received.length);
          resolve(r.payload as T);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** The next `event` whose payload passes `test`, skipping those that do not. */
  async nextWhere<T = Record<string, unknown>>(
    event: string,
    test: (payload: T) => boolean,
  ): Promise<T> {
    for (;;) {
      const payload = await this.next<T>(event);
      if (test(payload)) return payload;
    }
  }

  /** All payloads of `event` received so far. */
  all<T = Record<string, unknown>>(event: string): T[] {
    return this.received.filter((r) => r.event === event).map((r) => r.payload as T);
  }

  /** Emits with an ack and resolves with the answer. */
  request<T = Record<string, unknown>>(event: string, payload: unknown): Promise<T> {
    return this.socket.timeout(5000).emitWithAck(event, payload) as Promise<T>;
  }

  close(): Promise<void> {
    if (!this.socket.connected) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("disconnect", () => resolve());
      this.socket.disconnect();
    });
  }
}
