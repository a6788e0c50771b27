/**
 * The composition, written once: storage, the publisher, the actor system, webhooks and
 * metrics, and the server on top. main.ts, the socket tests and the bench all build an
 * engine here. It lives in adapters/ because it opens the KV store and the Socket.IO edge
 * (dependency direction: domain ← src ← adapters ← main.ts).
 */
import type { CompanyEvent, CompanyState } from "../domain/mod.ts";
import { createJwtVerifier, signToken } from "../src/auth.ts";
import { ActorSystem, type CommitObserver } from "../src/company_actor.ts";
import type { Config } from "../src/config.ts";
import { type Logger, silentLogger } from "../src/log.ts";
import { Metrics } from "../src/metrics.ts";
import type { NodeShare } from "../src/rate_limit.ts";
import { StoreHealth } from "../src/store_health.ts";
import {
  type BlobStore,
  type CancelTimer,
  type Clock,
  type Ids,
  type LogFeed,
  randomIds,
  type SocketHolder,
  type Storage,
  type StoredEvent,
  systemClock,
} from "../src/ports.ts";
import { recoverAll, WebhookDispatcher } from "../src/webhooks.ts";
import { type ClusterNode, DEFAULT_NODE_TIMEOUT_SECONDS } from "./cluster/mod.ts";
import { type RunningServer, startServer } from "./server.ts";
import { FileBlobStore, MemoryBlobStore } from "./blob/mod.ts";
import { SocketIoPublisher } from "./socketio/mod.ts";
import { KvEventStore } from "./store/mod.ts";

/** `ACTOR_IDLE_SECONDS`' default: an idle company leaves memory after five minutes. */
export const DEFAULT_IDLE_SECONDS = 300;

/** What a node of a cluster shares with the others (Redis), besides the log. */
export interface EngineCluster extends ClusterNode {
  /** A node silent this long is dead (`NODE_TIMEOUT_SECONDS`); runner leases last as long. */
  readonly nodeTimeoutSeconds?: number;
}

/** The settings an engine is built from: a `Config`'s, each optional, and what tests swap. */
export interface EngineOptions extends
  Partial<
    Pick<
      Config,
      | "kvPath"
      | "snapshotEvery"
      | "actorIdleSeconds"
      | "corsOrigins"
      | "maxMessageLength"
      | "socketRate"
      | "connectRate"
      | "httpRate"
      | "jwtPublicKey"
      | "jwtJwksUrl"
      | "jwtAlgorithms"
      | "jwtIssuer"
      | "jwtAudience"
      | "trustProxy"
      | "maxSocketsPerUser"
      | "webhookAllowPrivate"
      | "dataDir"
      | "maxAttachmentBytes"
    >
  > {
  /** Where attachments go; without it, files under `dataDir`, or in memory without that. */
  readonly blobs?: BlobStore;
  /** Storage to use, left open by `close()`; without it the KV database at `kvPath` is opened. */
  readonly storage?: Storage;
  /** How the KV database at `kvPath` is opened (tests wrap it, e.g. as a full disk). */
  readonly openStorage?: OpenStorage;
  /** The HS256 key tokens are verified (and demo tokens signed) with. */
  readonly secret?: Uint8Array;
  /** Serve the try-it demo, which mints tokens with `secret`: only on a development secret. */
  readonly demo?: boolean;
  readonly log?: Logger;
  readonly clock?: Clock;
  readonly ids?: Ids;
  /** The first wait before a refused presence write is tried again, in ms (tests retry fast). */
  readonly presenceRetryMs?: number;
  /** Resume limits and presence timing, for tests (the defaults are in `src/`). */
  readonly resumeWindow?: number;
  readonly resumeRate?: number;
  readonly presenceTiming?: { flapWindowMs?: number; offlineDelayMs?: number };
  /** Webhook retries: the first delay and the longest, in ms (tests retry fast). */
  readonly webhookDelays?: { readonly baseDelayMs: number; readonly maxDelayMs: number };
  /**
   * Where the log says streams grew, for delivering what other writers appended (a shared
   * log: PostgreSQL, or a memory store shared by several engines in a test).
   */
  readonly feed?: LogFeed;
  /** Set on a node of a cluster (with `feed`): see `EngineCluster`. */
  readonly cluster?: EngineCluster;
}

/** Opens the storage at `path`, with the logger and metrics it reports to. */
export type OpenStorage = (
  path: string,
  options: { log: Logger; metrics: Metrics },
) => Promise<Storage>;

/** A built engine: start it, serve it, close it. */
export interface Engine {
  readonly storage: Storage;
  /** Whether the store takes writes: `/readyz` answers from it. */
  readonly health: StoreHealth;
  readonly publisher: SocketIoPublisher;
  readonly system: ActorSystem;
  readonly webhooks: WebhookDispatcher;
  readonly metrics: Metrics;
  readonly blobs: BlobStore;
  /**
   * Loads the companies with work due (timers, webhook backlogs, presence to reset), so it
   * resumes; the others load on their next command. Returns how many were loaded.
   */
  start(): Promise<number>;
  /** Serves HTTP and Socket.IO on one port (`0` picks a free one). */
  listen(options: { port: number; hostname?: string }): Promise<RunningServer>;
  /**
   * Stops serving, then the actors and the webhooks; writes what the history index deferred
   * (what fails is indexed by the next process) and closes the storage it opened.
   */
  close(): Promise<void>;
}

/** Builds an engine: opens its storage and wires every part; serves nothing until `listen`. */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  const log = options.log ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const owned = options.storage === undefined;
  const metrics = new Metrics();
  const kvPath = options.kvPath ?? "./data/events.kv";
  const open: OpenStorage = options.openStorage ?? ((path, o) => KvEventStore.open(path, o));
  const storage = options.storage ?? await open(kvPath, { log, metrics }).catch((error) => {
    // SQLite needs room for its shared-memory file to open a database it did not leave open.
    throw new Error(`the event store ${kvPath} does not open (${error}); is the disk full?`);
  });
  const publisher = new SocketIoPublisher();
  const health = new StoreHealth();
  const blobs = options.blobs ??
    (options.dataDir
      ? new FileBlobStore(`${options.dataDir.replace(/\/+$/, "")}/attachments`)
      : new MemoryBlobStore());
  // The webhooks hear of the actors' commits and read the actors' state: the relay lets both
  // be built in order.
  const relay = new CommitRelay();
  const cluster = options.cluster;
  const leaseMs = (cluster?.nodeTimeoutSeconds ?? DEFAULT_NODE_TIMEOUT_SECONDS) * 1000;
  const system = new ActorSystem({
    store: storage,
    publisher,
    clock,
    log,
    observer: relay,
    snapshotEvery: options.snapshotEvery,
    metrics,
    health,
    idleSeconds: options.actorIdleSeconds ?? DEFAULT_IDLE_SECONDS,
    // A webhook backlog keeps its company in memory: the dispatcher reads the actor's state.
    keepAwake: (id, state) => webhooks.backlogged(id, state),
    cluster: cluster && { bus: cluster.bus, leases: cluster.leases, leaseMs },
  });
  const webhooks = new WebhookDispatcher({
    store: storage,
    log,
    stateOf: (id): CompanyState => system.actor(id).state,
    clock,
    allowPrivate: options.webhookAllowPrivate,
    ...options.webhookDelays,
  });
  relay.target = webhooks;
  metrics.gauge("chat_actors", "Company actors running.", () => system.size);
  metrics.gauge(
    "chat_mailbox_depth",
    "Commands waiting in the actors' mailboxes.",
    () => system.depth,
  );
  metrics.gauge("chat_webhook_backlog", "Webhook calls being attempted.", () => webhooks.backlog);

  let server: RunningServer | undefined;
  // Past one node each node takes its share of the limits: the live nodes, counted each round.
  const share: NodeShare | undefined = cluster && { nodes: 1 };
  const stops: (() => unknown)[] = [];
  /**
   * A node's housekeeping, every third of the node timeout: it takes companies with work due
   * and no runner, and records gone the sockets of nodes found dead.
   */
  const housekeep = (every: number) => {
    let cancel: CancelTimer | undefined;
    let stopped = false;
    const round = async () => {
      try {
        share!.nodes = await cluster!.presence.liveNodes();
        const adopted = await system.adopt();
        if (adopted > 0) log.info("cluster.adopted", { companies: adopted });
        const gone = await cluster!.presence.sweep((holder, socketId) =>
          recordGone(holder, socketId)
        );
        if (gone > 0) log.info("cluster.swept", { identities: gone });
      } catch (error) {
        log.warn("cluster.housekeeping_failed", { error: String(error) });
      }
      if (!stopped) cancel = clock.setTimer(round, every);
    };
    cancel = clock.setTimer(round, every);
    stops.push(() => {
      stopped = true;
      cancel?.();
    });
  };
  /** Records an identity of a dead node gone; a refusal by the store is tried at the next round. */
  const recordGone = async ({ companyId, role, userId }: SocketHolder, socketId: string) => {
    const outcome = await system.dispatch(companyId, {
      type: "Disconnect",
      data: { userId, role, socketId, at: clock.now(), last: true },
    });
    if (!outcome.ok && outcome.error.code === "unavailable") throw new Error(outcome.error.message);
  };
  return {
    storage,
    health,
    publisher,
    system,
    webhooks,
    metrics,
    blobs,
    async start() {
      if (options.feed) {
        const stop = await options.feed.follow((stream, version) => system.moved(stream, version));
        stops.push(stop);
      }
      if (!cluster) {
        const companies = await recoverAll(system, webhooks);
        log.info("actors.recovered", { companies });
        return companies;
      }
      stops.push(cluster.bus.onBroadcast((companyId, out) => publisher.publish(companyId, out)));
      const companies = await system.adopt();
      log.info("actors.adopted", { companies });
      housekeep(leaseMs / 3);
      return companies;
    },
    async listen({ port, hostname }) {
      const secret = options.secret;
      server = await startServer({
        system,
        store: storage,
        publisher,
        verifier: createJwtVerifier({
          secret,
          publicKeyPem: options.jwtPublicKey,
          jwksUrl: options.jwtJwksUrl,
          algorithms: options.jwtAlgorithms,
          issuer: options.jwtIssuer,
          audience: options.jwtAudience,
        }),
        clock,
        ids: options.ids ?? randomIds,
        log,
        corsOrigins: options.corsOrigins,
        maxMessageLength: options.maxMessageLength,
        socketRate: options.socketRate,
        connectRate: options.connectRate,
        httpRate: options.httpRate,
        trustProxy: options.trustProxy,
        presenceRetryMs: options.presenceRetryMs,
        maxSocketsPerUser: options.maxSocketsPerUser,
        resumeWindow: options.resumeWindow,
        resumeRate: options.resumeRate,
        presenceTiming: options.presenceTiming,
        sharedPresence: cluster?.presence,
        onSharedPresenceLost: cluster && ((reopen) => stops.push(cluster.onPresenceLost(reopen))),
        share,
        health,
        webhookAllowPrivate: options.webhookAllowPrivate,
        metrics,
        blobs,
        maxAttachmentBytes: options.maxAttachmentBytes,
        ...(options.demo && secret
          ? { demo: (claims) => signToken(secret, claims, 4 * 3600) }
          : {}),
      }, { port, hostname });
      return server;
    },
    async close() {
      for (const stop of stops.splice(0).reverse()) await stop();
      await server?.close();
      await system.stop();
      await webhooks.stop();
      await storage.flushIndex().catch(() => {}); // what is left is indexed at the next start
      if (owned) storage.close();
    },
  };
}

/** Hands each commit to its target, once there is one. */
class CommitRelay implements CommitObserver {
  target: CommitObserver | undefined;

  running(companyId: string, state: CompanyState): void {
    this.target?.running?.(companyId, state);
  }

  committed(
    companyId: string,
    events: readonly StoredEvent<CompanyEvent>[],
    state: CompanyState,
  ): void {
    this.target?.committed(companyId, events, state);
  }
}
