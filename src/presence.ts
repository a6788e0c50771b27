/**
 * Presence in the runtime: the sockets of each (company, role, user). Only transitions reach the
 * log: an identity's first socket dispatches the Connect that records it online, its last socket
 * the Disconnect that records it gone. Other tabs dispatch a Connect too, which the decider answers
 * with deliveries and no event. A socket closed before its Connect was dispatched dispatches
 * nothing, so it can leave no ghost. An identity that flaps (came back online soon after going
 * offline) has its next offline record deferred a little, and cancelled if it comes back.
 *
 * Past one node, an identity's sockets may be on several nodes: each socket is also counted in
 * `SharedPresence`, and the last local socket records the identity gone only if it has no
 * socket left on any live node.
 */
import type { CompanyCommand, SocketRole } from "../domain/mod.ts";
import type { Outcome } from "./company_actor.ts";
import type { CancelTimer, Clock, SharedPresence } from "./ports.ts";

/** The most sockets one user or agent holds in a company by default (`MAX_SOCKETS_PER_USER`). */
export const DEFAULT_MAX_SOCKETS = 10;
/** An identity back online within this long of going offline is flapping. */
export const FLAP_WINDOW_MS = 5_000;
/** How long a flapping identity's offline record waits for it to come back. */
export const OFFLINE_DELAY_MS = 1_000;

/** What presence needs. */
export interface PresenceDeps {
  dispatch(companyId: string, command: CompanyCommand): Promise<Outcome>;
  /** Its time and its timers (deferred offline records, retries). */
  readonly clock: Clock;
  /** Sockets per identity per company (default 10); one more closes the oldest. */
  readonly maxSockets?: number;
  readonly flapWindowMs?: number;
  readonly offlineDelayMs?: number;
  /** The first wait before a Disconnect the store refused is tried again, in ms (default 1000). */
  readonly retryMs?: number;
  /** Sockets counted across nodes (a cluster); unset on one node. */
  readonly shared?: SharedPresence;
  /** Told when the shared count fails (then this node's count decides). */
  readonly onSharedError?: (error: unknown) => void;
}

/** Who holds a socket. */
export interface Holder {
  readonly companyId: string;
  readonly role: SocketRole;
  readonly userId: string;
}

interface Identity {
  readonly holder: Holder;
  /** Open sockets, oldest first. */
  readonly sockets: string[];
  /** A Connect was dispatched since the last Disconnect: the log may have it online. */
  online: boolean;
  /** It came back soon after going offline: its next offline record waits. */
  flapping: boolean;
  /** Cancels a deferred offline record. */
  cancelOffline: CancelTimer | undefined;
  /** With a deferred offline record: the sockets its last local socket left on other nodes. */
  left?: Promise<number>;
}

/** Tracks sockets per identity and dispatches only presence transitions. */
export class Presence {
  readonly #identities = new Map<string, Identity>();
  /** Identities recorded offline lately (oldest first), to tell a flap from a visit. */
  readonly #offlineAt = new Map<string, number>();
  #stopping = false;
  /** Writes the store refused, waiting to be tried again. */
  readonly #retries = new Set<CancelTimer>();
  /** Each open socket's count in `shared`, in flight or done. */
  readonly #shared = new Map<string, Promise<void>>();

  constructor(readonly deps: PresenceDeps) {}

  /** Open sockets of an identity, oldest first. */
  sockets(holder: Holder): readonly string[] {
    return this.#identities.get(keyOf(holder))?.sockets ?? [];
  }

  /**
   * A socket opened; nothing is dispatched yet (see `connect`). Returns the sockets of the same
   * identity beyond the limit, oldest first: the caller closes them.
   */
  open(holder: Holder, socketId: string): string[] {
    const key = keyOf(holder);
    let identity = this.#identities.get(key);
    if (!identity) {
      identity = { holder, sockets: [], online: false, flapping: false, cancelOffline: undefined };
      this.#identities.set(key, identity);
    }
    if (identity.cancelOffline !== undefined) {
      // Back before its offline record was written: the log never sees it leave.
      identity.cancelOffline();
      identity.cancelOffline = undefined;
    }
    identity.sockets.push(socketId);
    const shared = this.deps.shared;
    if (shared) {
      this.#shared.set(socketId, shared.open(holder, socketId).catch(this.#sharedFailed));
    }
    const max = this.deps.maxSockets || DEFAULT_MAX_SOCKETS;
    return identity.sockets.length > max
      ? identity.sockets.splice(0, identity.sockets.length - max)
      : [];
  }

  /**
   * Dispatches the Connect of a socket that is ready to join; null if it closed meanwhile (then
   * nothing is dispatched for it).
   */
  connect(holder: Holder, socketId: string, resumed: boolean): Promise<Outcome> | null {
    const key = keyOf(holder);
    const identity = this.#identities.get(key);
    if (!identity || !identity.sockets.includes(socketId)) return null;
    const now = this.deps.clock.now();
    if (!identity.online) {
      const offlineAt = this.#offlineAt.get(key);
      identity.flapping = offlineAt !== undefined &&
        now - offlineAt < (this.deps.flapWindowMs ?? FLAP_WINDOW_MS);
      identity.online = true;
    }
    const { userId, role, companyId } = holder;
    return this.deps.dispatch(companyId, {
      type: "Connect",
      data: { userId, role, socketId, at: now, ...(resumed ? { resumed } : {}) },
    });
  }

  /** A socket closed: if it was its identity's last, the identity goes offline (maybe soon). */
  close(holder: Holder, socketId: string): void {
    const key = keyOf(holder);
    const identity = this.#identities.get(key);
    const index = identity?.sockets.indexOf(socketId) ?? -1;
    if (!identity || index < 0) return;
    identity.sockets.splice(index, 1);
    const left = this.#closeShared(holder, socketId);
    if (identity.sockets.length > 0) return;
    if (!identity.online) {
      // Closed during its join, before any Connect: nothing was recorded, nothing to undo.
      this.#identities.delete(key);
      return;
    }
    if (identity.flapping && !this.#stopping) {
      identity.left = left;
      identity.cancelOffline = this.deps.clock.setTimer(
        () => this.#offline(key, identity, socketId, left),
        this.deps.offlineDelayMs ?? OFFLINE_DELAY_MS,
      );
      return;
    }
    this.#offline(key, identity, socketId, left);
  }

  /**
   * Takes a closed socket off the shared count; resolves with the identity's sockets left on
   * live nodes (0 on one node, or when the count fails: then this node's count decides).
   */
  #closeShared(holder: Holder, socketId: string): Promise<number> {
    const shared = this.deps.shared;
    if (!shared) return Promise.resolve(0);
    const opened = this.#shared.get(socketId) ?? Promise.resolve();
    this.#shared.delete(socketId);
    return opened.then(() => shared.close(holder, socketId)).catch((error) => {
      this.#sharedFailed(error);
      return 0;
    });
  }

  readonly #sharedFailed = (error: unknown): void => this.deps.onSharedError?.(error);

  /**
   * A socket whose Connect the store refused (a full disk): dispatched again with backoff while
   * the socket stays open, until it is recorded. The waits are jittered, so the sockets of a
   * company do not all come back at once.
   */
  retryConnect(
    holder: Holder,
    socketId: string,
    resumed: boolean,
    delay = this.deps.retryMs ?? 1000,
  ): void {
    this.#retry(delay * (0.5 + Math.random() / 2), () => {
      if (!this.#identities.get(keyOf(holder))?.sockets.includes(socketId)) return;
      const { userId, role, companyId } = holder;
      const at = this.deps.clock.now();
      this.deps.dispatch(companyId, {
        type: "Connect",
        data: { userId, role, socketId, at, ...(resumed ? { resumed } : {}) },
      }).then((outcome) => {
        if (outcome.ok || outcome.error.code !== "unavailable") return;
        this.retryConnect(holder, socketId, resumed, Math.min(delay * 2, 30_000));
      });
    });
  }

  /**
   * Counts every open socket in the shared books again: they lost this node's sockets (Redis
   * restarted empty, or this node was taken for dead while it was cut off and a survivor
   * recorded its identities gone). Each identity's oldest socket then dispatches a Connect,
   * which records it online again if it was recorded gone (and nothing if it was not).
   */
  reshare(): void {
    const shared = this.deps.shared;
    if (!shared) return;
    for (const identity of this.#identities.values()) {
      const { holder, sockets } = identity;
      for (const socketId of sockets) {
        const counted = this.#shared.get(socketId) ?? Promise.resolve();
        this.#shared.set(
          socketId,
          counted.then(() => shared.open(holder, socketId)).catch(this.#sharedFailed),
        );
      }
      const oldest = sockets[0];
      if (!identity.online || oldest === undefined) continue;
      this.#shared.get(oldest)!.then(() => {
        const { userId, role, companyId } = holder;
        const at = this.deps.clock.now();
        this.deps.dispatch(companyId, {
          type: "Connect",
          data: { userId, role, socketId: oldest, at },
        });
      });
    }
  }

  /** Writes every deferred offline record now, defers none from here on and drops the retries. */
  stop(): void {
    this.#stopping = true;
    for (const cancel of this.#retries) cancel();
    this.#retries.clear();
    for (const [key, identity] of this.#identities) {
      if (identity.cancelOffline === undefined) continue;
      identity.cancelOffline();
      this.#offline(key, identity, "", identity.left ?? Promise.resolve(0));
    }
  }

  #offline(key: string, identity: Identity, socketId: string, left: Promise<number>): void {
    identity.cancelOffline = undefined;
    if (identity.sockets.length > 0) return;
    this.#identities.delete(key);
    const now = this.deps.clock.now();
    this.#offlineAt.delete(key);
    this.#offlineAt.set(key, now);
    const window = this.deps.flapWindowMs ?? FLAP_WINDOW_MS;
    for (const [k, at] of this.#offlineAt) {
      if (now - at < window) break;
      this.#offlineAt.delete(k);
    }
    const retryMs = this.deps.retryMs ?? 1000;
    if (!this.deps.shared) return this.#recordOffline(key, identity.holder, socketId, retryMs);
    // Another node still holds a socket of it: it stays online, and that node records it gone.
    left.then((others) => {
      if (others === 0) this.#recordOffline(key, identity.holder, socketId, retryMs);
    });
  }

  /**
   * Dispatches the identity's Disconnect; one the store refused (a full disk) is tried again
   * with backoff, unless the identity came back meanwhile or the server is stopping.
   */
  #recordOffline(key: string, holder: Holder, socketId: string, delay: number): void {
    const { userId, role, companyId } = holder;
    const at = this.deps.clock.now();
    this.deps.dispatch(companyId, {
      type: "Disconnect",
      data: { userId, role, socketId, at, last: true },
    }).then((outcome) => {
      if (outcome.ok || outcome.error.code !== "unavailable") return;
      this.#retry(delay, () => {
        if (this.#identities.has(key)) return;
        this.#recordOffline(key, holder, socketId, Math.min(delay * 2, 30_000));
      });
    });
  }

  /** Runs `run` in `ms`, unless the server stops first. */
  #retry(ms: number, run: () => void): void {
    if (this.#stopping) return;
    const cancel = this.deps.clock.setTimer(() => {
      this.#retries.delete(cancel);
      run();
    }, ms);
    this.#retries.add(cancel);
  }
}

function keyOf({ companyId, role, userId }: Holder): string {
  return JSON.stringify([companyId, role, userId]);
}
