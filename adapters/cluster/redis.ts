/**
 * The shared bus on Redis (docs/design.md, "Cluster bus (Redis)"): node liveness by heartbeat,
 * presence across nodes, leases, and two pub/sub channels (deliveries no event carries, and
 * hints that a stream grew). A broadcast is best effort: a Redis failure is logged, never thrown
 * at the process; the client reconnects by itself and subscribes again.
 */
import { Redis } from "ioredis";
import type { Delivery } from "../../domain/mod.ts";
import { type Logger, silentLogger } from "../../src/log.ts";
import {
  type CancelTimer,
  type Clock,
  type ClusterBus,
  type Leases,
  type SharedPresence,
  type SocketHolder,
  systemClock,
} from "../../src/ports.ts";
import type { ClusterNode } from "./cluster_node.ts";
import { identityOf } from "./_identity.ts";
import * as scripts from "./_redis_scripts.ts";
import { type PresenceBooks, sweep } from "./_sweep.ts";

/** How `RedisCluster.connect` is set up. */
export interface RedisClusterOptions {
  /** This node's name (`NODE_ID`). */
  readonly nodeId: string;
  /** A node silent this long is dead (`NODE_TIMEOUT_SECONDS`, default 15). */
  readonly nodeTimeoutSeconds?: number;
  /** Prepended to every key and channel (default `chat:`), so deployments can share a Redis. */
  readonly prefix?: string;
  readonly log?: Logger;
  /** Times the heartbeat (default: the system clock). */
  readonly clock?: Clock;
}

/** The default of `NODE_TIMEOUT_SECONDS`. */
export const DEFAULT_NODE_TIMEOUT_SECONDS = 15;

/** Beats per timeout: a node is dead only after missing this many beats in a row. */
const BEATS_PER_TIMEOUT = 5;

/** What travels on the broadcast channel. */
interface Broadcast {
  readonly from: string;
  readonly companyId: string;
  readonly deliveries: readonly Delivery[];
}

/** What travels on the appended channel. */
interface Appended {
  readonly from: string;
  readonly stream: string;
  readonly version: number;
}

/** One node's connections to the shared bus on Redis. */
export class RedisCluster implements ClusterNode {
  readonly bus: ClusterBus;
  readonly presence: SharedPresence;
  readonly leases: Leases;
  /**
   * This process's name in the books: `NODE_ID` plus a random part, so a node restarted
   * under the same name within the timeout is not taken for its previous life, whose
   * sockets are then swept as any dead node's.
   */
  readonly incarnation: string;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #keys: Keys;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #leases: RedisLeases;
  readonly #lost = new Set<() => void>();
  readonly #onBroadcast = new Set<(companyId: string, deliveries: readonly Delivery[]) => void>();
  readonly #onAppended = new Set<(stream: string, version: number) => void>();
  #cancelBeat: CancelTimer | undefined;
  /** The beat under way, which `close` lets finish before it marks the node dead. */
  #beating: Promise<void> = Promise.resolve();
  /** Whether a beat went through: a later one that finds no stamp finds the books lost. */
  #beaten = false;
  #closed = false;

  private constructor(redis: Redis, subscriber: Redis, options: RedisClusterOptions) {
    this.#redis = redis;
    this.#subscriber = subscriber;
    this.#keys = keysOf(options.prefix ?? "chat:");
    this.#timeoutMs = (options.nodeTimeoutSeconds ?? DEFAULT_NODE_TIMEOUT_SECONDS) * 1000;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? silentLogger;
    this.incarnation = `${options.nodeId}#${crypto.randomUUID().slice(0, 8)}`;
    this.#leases = new RedisLeases(redis, this.incarnation, this.#keys);
    this.leases = this.#leases;
    this.bus = this.#bus(options.nodeId);
    this.presence = this.#sharedPresence();
  }

  /**
   * Connects to the Redis at `url` (a `redis://` or `rediss://` URL), subscribes to the bus
   * and records this node's first heartbeat; rejects if Redis cannot be reached.
   */
  static async connect(url: string, options: RedisClusterOptions): Promise<RedisCluster> {
    const timeout = options.nodeTimeoutSeconds ?? DEFAULT_NODE_TIMEOUT_SECONDS;
    if (!(timeout > 0)) {
      throw new RangeError(`Cannot join the cluster as 'nodeTimeoutSeconds' must be positive`);
    }
    const log = options.log ?? silentLogger;
    const redis = new Redis(url, { lazyConnect: true });
    const subscriber = redis.duplicate();
    watch(redis, "commands", log);
    watch(subscriber, "subscriber", log);
    try {
      await Promise.all([redis.connect(), subscriber.connect()]);
      const cluster = new RedisCluster(redis, subscriber, options);
      await cluster.#start();
      return cluster;
    } catch (error) {
      redis.disconnect();
      subscriber.disconnect();
      throw error;
    }
  }

  async #start(): Promise<void> {
    this.#subscriber.on("message", (channel: string, text: string) => this.#heard(channel, text));
    await this.#subscriber.subscribe(this.#keys.broadcast, this.#keys.appended);
    await this.#beat();
    this.#log.info("cluster node joined", { node: this.incarnation });
    this.#scheduleBeat();
  }

  /**
   * Calls `handler` when this node finds itself off the books: Redis restarted or lost its
   * data, or the other nodes took this node for dead (silent past the timeout) and swept its
   * sockets. The sockets it still holds are then counted nowhere: open them again. Returns
   * what stops it.
   */
  onPresenceLost(handler: () => void): () => void {
    this.#lost.add(handler);
    return () => void this.#lost.delete(handler);
  }

  /**
   * Leaves the cluster: stops the heartbeat, gives up this node's leases, marks it dead at
   * once (so the other nodes sweep the sockets it still had without waiting for the timeout)
   * and quits its connections. Close sockets, and their presence, before.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelBeat?.();
    this.#onBroadcast.clear();
    this.#onAppended.clear();
    try {
      await this.#beating;
      await this.#leases.releaseAll();
      await this.#redis.zadd(this.#keys.nodes, "XX", 0, this.incarnation);
    } catch (error) {
      this.#log.warn("cluster node left without clearing its books", { error: String(error) });
    }
    await Promise.all([quit(this.#subscriber), quit(this.#redis)]);
    this.#log.info("cluster node left", { node: this.incarnation });
  }

  #scheduleBeat(): void {
    if (this.#closed) return;
    this.#cancelBeat = this.#clock.setTimer(() => {
      this.#beating = this.#beat()
        .catch((error) => this.#log.warn("cluster heartbeat failed", { error: String(error) }))
        .finally(() => this.#scheduleBeat());
    }, this.#timeoutMs / BEATS_PER_TIMEOUT);
  }

  async #beat(): Promise<void> {
    const [previous, now] = await scripts.beat.run(
      this.#redis,
      [this.#keys.nodes],
      [this.incarnation],
    ) as [number, number];
    const lost = this.#beaten && (previous < 0 || previous < now - this.#timeoutMs);
    this.#beaten = true;
    if (!lost) return;
    this.#log.warn("cluster node found itself off the books (Redis lost it, or it was silent)", {
      node: this.incarnation,
      silentMs: previous < 0 ? null : now - previous,
    });
    for (const handler of this.#lost) this.#safely(handler);
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#log.error("cluster handler failed", { error: String(error) });
    }
  }

  #heard(channel: string, text: string): void {
    let message: Broadcast | Appended;
    try {
      message = JSON.parse(text);
    } catch {
      this.#log.warn("cluster bus message is not JSON", { channel });
      return;
    }
    if (message.from === this.incarnation) return;
    if (channel === this.#keys.broadcast && "deliveries" in message) {
      for (const handler of this.#onBroadcast) {
        this.#safely(() => handler(message.companyId, message.deliveries));
      }
    } else if (channel === this.#keys.appended && "stream" in message) {
      for (const handler of this.#onAppended) {
        this.#safely(() => handler(message.stream, message.version));
      }
    }
  }

  #publish(channel: string, message: Broadcast | Appended): void {
    if (this.#closed) return;
    this.#redis.publish(channel, JSON.stringify(message)).catch((error) =>
      this.#log.warn("cluster broadcast failed", { channel, error: String(error) })
    );
  }

  #bus(nodeId: string): ClusterBus {
    const from = this.incarnation;
    const listen = <H>(set: Set<H>, handler: H) => {
      set.add(handler);
      return () => void set.delete(handler);
    };
    return {
      nodeId,
      broadcast: (companyId, deliveries) =>
        this.#publish(this.#keys.broadcast, { from, companyId, deliveries }),
      onBroadcast: (handler) => listen(this.#onBroadcast, handler),
      appended: (stream, version) => this.#publish(this.#keys.appended, { from, stream, version }),
      onAppended: (handler) => listen(this.#onAppended, handler),
    };
  }

  #sharedPresence(): SharedPresence {
    const redis = this.#redis;
    const keys = this.#keys;
    const node = this.incarnation;
    const timeout = this.#timeoutMs;
    return {
      open: async (holder: SocketHolder, socketId: string) => {
        const identity = identityOf(holder);
        await scripts.open.run(redis, [keys.presence(identity), keys.node(node)], [
          socketId,
          node,
          identity,
        ]);
      },
      close: async (holder: SocketHolder, socketId: string) => {
        const identity = identityOf(holder);
        return Number(
          await scripts.close.run(redis, [keys.presence(identity), keys.node(node), keys.nodes], [
            socketId,
            node,
            identity,
            timeout,
            keys.prefix,
          ]),
        );
      },
      sweep: (gone) => sweep(this.#books(), gone, this.#log),
      liveNodes: async () => Number(await scripts.liveNodes.run(redis, [keys.nodes], [timeout])),
    };
  }

  #books(): PresenceBooks {
    const redis = this.#redis;
    const keys = this.#keys;
    const self = this.incarnation;
    const timeout = this.#timeoutMs;
    // One sweeper at a time; a sweeper that dies mid-sweep is replaced after one timeout.
    const sweeper = keys.sweeper;
    return {
      claimSweep: () => this.#leases.holdKey(sweeper, timeout),
      releaseSweep: () => this.#leases.releaseKey(sweeper),
      deadNodes: async () =>
        (await scripts.deadNodes.run(redis, [keys.nodes], [timeout]) as string[])
          .filter((node) => node !== self),
      identities: (dead) => scan(redis, keys.node(dead)),
      settle: async (identity, dead, forget) =>
        await scripts.settle.run(redis, [keys.presence(identity), keys.node(dead), keys.nodes], [
          dead,
          identity,
          timeout,
          keys.prefix,
          self,
          forget ? "1" : "0",
        ]) as string | null,
      retire: async (dead) => {
        await scripts.retire.run(redis, [keys.nodes, keys.node(dead)], [dead, timeout]);
      },
    };
  }
}

/** Leases as keys holding their holder's token, with the lease's ttl. */
class RedisLeases implements Leases {
  /** The keys this node took, given up when it leaves. */
  readonly #held = new Set<string>();

  constructor(
    readonly redis: Redis,
    readonly token: string,
    readonly keys: Keys,
  ) {}

  hold(name: string, ttlMs: number): Promise<boolean> {
    return this.holdKey(this.keys.lease(name), ttlMs);
  }

  release(name: string): Promise<void> {
    return this.releaseKey(this.keys.lease(name));
  }

  async holdKey(key: string, ttlMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const held = await scripts.hold.run(this.redis, [key], [this.token, ttl]) === 1;
    if (held) this.#held.add(key);
    else this.#held.delete(key);
    return held;
  }

  async releaseKey(key: string): Promise<void> {
    this.#held.delete(key);
    await scripts.release.run(this.redis, [key], [this.token]);
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.#held].map((key) => this.releaseKey(key)));
  }
}

/** The names of the bus's keys and channels under a prefix (see `_redis_scripts.ts`). */
interface Keys {
  readonly prefix: string;
  readonly nodes: string;
  readonly sweeper: string;
  readonly broadcast: string;
  readonly appended: string;
  node(node: string): string;
  presence(identity: string): string;
  lease(name: string): string;
}

function keysOf(prefix: string): Keys {
  return {
    prefix,
    nodes: `${prefix}nodes`,
    sweeper: `${prefix}sweeper`,
    broadcast: `${prefix}broadcast`,
    appended: `${prefix}appended`,
    node: (node) => `${prefix}node:${node}`,
    presence: (identity) => `${prefix}presence:${identity}`,
    lease: (name) => `${prefix}lease:${name}`,
  };
}

/** A set's members, a batch at a time (SSCAN: members removed meanwhile may or may not show). */
async function* scan(redis: Redis, key: string): AsyncIterable<string[]> {
  let cursor = "0";
  do {
    const [next, members] = await redis.sscan(key, cursor, "COUNT", 200);
    cursor = next;
    if (members.length > 0) yield members;
  } while (cursor !== "0");
}

/**
 * Logs a connection's loss once and its return once: without an error listener an error event
 * would crash the process, and the client retries (and errs) every ~2 s while Redis is away.
 */
function watch(client: Redis, role: string, log: Logger): void {
  let down = false;
  client.on("error", (error) => {
    if (!down) log.warn("redis connection lost, reconnecting", { role, error: String(error) });
    else log.debug("redis still unreachable", { role, error: String(error) });
    down = true;
  });
  client.on("ready", () => {
    if (down) log.info("redis connection back", { role });
    down = false;
  });
}

/** Quits politely, or drops the connection if Redis cannot answer. */
async function quit(client: Redis): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
