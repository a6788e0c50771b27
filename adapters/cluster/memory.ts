/**
 * The shared bus in one process, for tests: several engines in one test process each take a
 * node of one `MemoryCluster`, which keeps presence, leases and broadcasts as Redis would,
 * except that time is compressed: `kill` makes a node dead at once (Redis waits for
 * `NODE_TIMEOUT_SECONDS` of silence) and its leases lapse at once (Redis waits for their ttl).
 */
import type { Delivery } from "../../domain/mod.ts";
import { type Logger, silentLogger } from "../../src/log.ts";
import {
  type Clock,
  type ClusterBus,
  type Leases,
  type SharedPresence,
  type SocketHolder,
  systemClock,
} from "../../src/ports.ts";
import type { ClusterNode } from "./cluster_node.ts";
import { identityOf } from "./_identity.ts";
import { type PresenceBooks, sweep } from "./_sweep.ts";

/** One node's life: its name, and whether it is still alive. */
interface Incarnation {
  readonly nodeId: string;
  /** Distinguishes a node restarted under the same name from its previous life. */
  readonly key: string;
  alive: boolean;
  readonly onBroadcast: Set<(companyId: string, deliveries: readonly Delivery[]) => void>;
  readonly onAppended: Set<(stream: string, version: number) => void>;
  readonly onLost: Set<() => void>;
}

/** Thrown by a killed node's presence calls, as a dead process makes none. */
export class NodeKilledError extends Error {
  override name = "NodeKilledError";
  constructor(nodeId: string) {
    super(`Cannot use the shared bus: node '${nodeId}' was killed`);
  }
}

/** Several nodes' shared bus in one process, with the semantics of the Redis one. */
export class MemoryCluster {
  readonly #clock: Clock;
  readonly #log: Logger;
  /** The latest life of each node name, with what it was handed. */
  readonly #nodes = new Map<string, Incarnation>();
  readonly #handles = new Map<Incarnation, ClusterNode>();
  /** Every incarnation the books still list, dead ones until a sweep retires them. */
  readonly #listed = new Map<string, Incarnation>();
  /** identity -> socketId -> incarnation key. */
  readonly #presence = new Map<string, Map<string, string>>();
  /** incarnation key -> identities it has entries for. */
  readonly #held = new Map<string, Set<string>>();
  readonly #leases = new Map<string, { holder: string; until: number }>();
  #sweeper: string | null = null;
  #incarnations = 0;

  /** `clock` times lease ttls (default: the system clock). */
  constructor(options: { clock?: Clock; log?: Logger } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? silentLogger;
  }

  /** The node named `nodeId`: the same one while it lives, a new life after `kill`. */
  node(nodeId: string): ClusterNode {
    const living = this.#nodes.get(nodeId);
    if (living?.alive) return this.#handles.get(living)!;
    const key = `${nodeId}#${++this.#incarnations}`;
    const node: Incarnation = {
      nodeId,
      key,
      alive: true,
      onBroadcast: new Set(),
      onAppended: new Set(),
      onLost: new Set(),
    };
    const handles: ClusterNode = {
      bus: this.#bus(node),
      presence: this.#sharedPresence(node),
      leases: this.#lease(node),
      onPresenceLost: (handler) => {
        if (node.alive) node.onLost.add(handler);
        return () => void node.onLost.delete(handler);
      },
    };
    this.#nodes.set(nodeId, node);
    this.#handles.set(node, handles);
    this.#listed.set(key, node);
    return handles;
  }

  /** Makes `nodeId` dead at once: it hears nothing more, its leases lapse, its sockets await a sweep. */
  kill(nodeId: string): void {
    const node = this.#nodes.get(nodeId);
    if (!node?.alive) return;
    node.alive = false;
    this.#handles.delete(node);
    node.onBroadcast.clear();
    node.onAppended.clear();
    node.onLost.clear();
    for (const [name, lease] of this.#leases) {
      if (lease.holder === node.key) this.#leases.delete(name);
    }
    if (this.#sweeper === node.key) this.#sweeper = null;
  }

  /**
   * Loses every shared book as a Redis restart without persistence does: presence, leases and
   * the dead nodes go; each live node hears of it (`onPresenceLost`), soon, as at its next beat.
   */
  flush(): void {
    this.#presence.clear();
    this.#held.clear();
    this.#leases.clear();
    this.#sweeper = null;
    for (const [key, node] of this.#listed) if (!node.alive) this.#listed.delete(key);
    for (const node of this.#listed.values()) {
      for (const handler of node.onLost) queueMicrotask(() => this.#safely(handler));
    }
  }

  #bus(node: Incarnation): ClusterBus {
    const others = () => [...this.#nodes.values()].filter((n) => n.alive && n !== node);
    // Each handler runs later, as a message would arrive, on a copy, as if sent as JSON.
    const send = <A extends unknown[]>(
      pick: (n: Incarnation) => Set<(...args: A) => void>,
      args: A,
    ) => {
      if (!node.alive) return;
      const text = JSON.stringify(args);
      for (const other of others()) {
        for (const handler of pick(other)) {
          queueMicrotask(() => this.#safely(() => handler(...(JSON.parse(text) as A))));
        }
      }
    };
    const listen = <H>(set: Set<H>, handler: H) => {
      if (node.alive) set.add(handler);
      return () => void set.delete(handler);
    };
    return {
      nodeId: node.nodeId,
      broadcast: (companyId, deliveries) => send((n) => n.onBroadcast, [companyId, deliveries]),
      onBroadcast: (handler) => listen(node.onBroadcast, handler),
      appended: (stream, version) => send((n) => n.onAppended, [stream, version]),
      onAppended: (handler) => listen(node.onAppended, handler),
    };
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#log.error("cluster bus handler failed", { error: String(error) });
    }
  }

  #sharedPresence(node: Incarnation): SharedPresence {
    const alive = () =>
      node.alive ? Promise.resolve() : Promise.reject(new NodeKilledError(node.nodeId));
    return {
      open: (holder, socketId) => alive().then(() => this.#open(node, holder, socketId)),
      close: (holder, socketId) => alive().then(() => this.#close(node, holder, socketId)),
      sweep: (gone) => alive().then(() => sweep(this.#books(node), gone, this.#log)),
      liveNodes: () => alive().then(() => [...this.#nodes.values()].filter((n) => n.alive).length),
    };
  }

  #open(node: Incarnation, holder: SocketHolder, socketId: string): void {
    const identity = identityOf(holder);
    const sockets = this.#presence.get(identity) ?? new Map<string, string>();
    sockets.set(socketId, node.key);
    this.#presence.set(identity, sockets);
    const held = this.#held.get(node.key) ?? new Set<string>();
    held.add(identity);
    this.#held.set(node.key, held);
  }

  /** As the Redis script: dead nodes' entries go with the close, so no sweep reports them again. */
  #close(node: Incarnation, holder: SocketHolder, socketId: string): number {
    const identity = identityOf(holder);
    const sockets = this.#presence.get(identity);
    if (sockets?.get(socketId) === node.key) sockets.delete(socketId);
    const live = this.#keepLive(identity, true, node.key);
    if (![...(sockets?.values() ?? [])].includes(node.key)) {
      this.#held.get(node.key)?.delete(identity);
    }
    return live.count;
  }

  /**
   * Counts the identity's sockets on live nodes (`self` counts as live) and, when some are
   * live or when `forget`, takes dead nodes' entries off the books. Returns a dead socket
   * kept on the books, if any.
   */
  #keepLive(identity: string, forget: boolean, self: string): { count: number; dead?: string } {
    const sockets = this.#presence.get(identity) ?? new Map<string, string>();
    const isLive = (key: string) => key === self || this.#listed.get(key)?.alive === true;
    const live = [...sockets.values()].filter(isLive).length;
    const dead = [...sockets].filter(([, key]) => !isLive(key));
    if (live > 0 || forget) {
      for (const [socketId, key] of dead) {
        sockets.delete(socketId);
        this.#held.get(key)?.delete(identity);
      }
      if (sockets.size === 0) this.#presence.delete(identity);
      return { count: live };
    }
    return { count: 0, dead: dead[0]?.[0] };
  }

  #books(node: Incarnation): PresenceBooks {
    return {
      claimSweep: () => {
        if (!node.alive || (this.#sweeper !== null && this.#sweeper !== node.key)) {
          return Promise.resolve(false);
        }
        this.#sweeper = node.key;
        return Promise.resolve(true);
      },
      releaseSweep: () => {
        if (this.#sweeper === node.key) this.#sweeper = null;
        return Promise.resolve();
      },
      deadNodes: () =>
        Promise.resolve([...this.#listed.values()].filter((n) => !n.alive).map((n) => n.key)),
      identities: (dead) => once([...this.#held.get(dead) ?? []]),
      settle: (identity, dead, forget) => {
        const { dead: socketId } = this.#keepLive(identity, forget, node.key);
        const sockets = [...(this.#presence.get(identity)?.values() ?? [])];
        if (!sockets.includes(dead)) this.#held.get(dead)?.delete(identity);
        return Promise.resolve(socketId ?? null);
      },
      retire: (dead) => {
        if (this.#held.get(dead)?.size) return Promise.resolve();
        this.#held.delete(dead);
        this.#listed.delete(dead);
        return Promise.resolve();
      },
    };
  }

  #lease(node: Incarnation): Leases {
    return {
      hold: (name, ttlMs) => {
        if (!node.alive) return Promise.resolve(false);
        const now = this.#clock.now();
        const lease = this.#leases.get(name);
        if (lease && lease.holder !== node.key && lease.until > now) return Promise.resolve(false);
        this.#leases.set(name, { holder: node.key, until: now + ttlMs });
        return Promise.resolve(true);
      },
      release: (name) => {
        if (this.#leases.get(name)?.holder === node.key) this.#leases.delete(name);
        return Promise.resolve();
      },
    };
  }
}

/** One batch. */
async function* once<T>(batch: T): AsyncIterable<T> {
  yield batch;
}
