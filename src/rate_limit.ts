/** Token buckets: a steady rate with room for bursts, per socket and per client address. */
import type { Clock } from "./ports.ts";

/** Events per second and the burst allowed; a rate of 0 turns the limit off. */
export interface Rate {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * This node's share of a cluster's limits: past one node, a client spread by the load balancer
 * over N nodes gets 1/N of a limit on each, so the limit holds across the cluster. Updated by the
 * node's housekeeping from the live node count.
 */
export interface NodeShare {
  nodes: number;
}

/**
 * A rate of `perSecond` across the cluster (0: unlimited) with bursts of twice that; on one
 * node (no `share`) the whole rate.
 */
export function rate(perSecond = 0, share?: NodeShare): Rate {
  if (!share) return { perSecond, burst: perSecond * 2 };
  return {
    get perSecond() {
      return perSecond / Math.max(share.nodes, 1);
    },
    get burst() {
      return (perSecond * 2) / Math.max(share.nodes, 1);
    },
  };
}

/** One bucket: `take()` is false when the caller is over its rate. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(readonly rate: Rate, readonly clock: Clock) {
    this.#tokens = rate.burst;
    this.#last = clock.now();
  }

  /** Takes `n` tokens (all or none). */
  take(n = 1): boolean {
    if (this.rate.perSecond <= 0) return true;
    const now = this.clock.now();
    this.#tokens = Math.min(
      this.rate.burst,
      this.#tokens + ((now - this.#last) / 1000) * this.rate.perSecond,
    );
    this.#last = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Whether the bucket has refilled completely (so it can be forgotten). */
  full(): boolean {
    const refilled = this.#tokens + ((this.clock.now() - this.#last) / 1000) * this.rate.perSecond;
    return refilled >= this.rate.burst;
  }
}

/** Buckets by key (a client address), forgetting idle ones so the map stays small. */
export class KeyedLimiter {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(readonly rate: Rate, readonly clock: Clock, readonly maxKeys = 10_000) {}

  /** Takes `n` tokens from `key`'s bucket (all or none). */
  take(key: string, n = 1): boolean {
    if (this.rate.perSecond <= 0) return true;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= this.maxKeys) this.#prune();
      bucket = new TokenBucket(this.rate, this.clock);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(n);
  }

  #prune(): void {
    for (const [key, bucket] of this.#buckets) if (bucket.full()) this.#buckets.delete(key);
  }
}

/** Whether a credential looks like a JWT (three base64url parts), so is worth verifying. */
export function hasTokenShape(value: unknown): value is string {
  return typeof value === "string" && value.length <= 16_384 &&
    /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
}

/** An attempt's fate: over the rate, or let through with what verifying its token gave. */
export type Admission<P> =
  | { readonly limited: true }
  | { readonly limited: false; readonly verified: PromiseSettledResult<P> };

/**
 * Attempts (connections, requests) counted in two pools, so a flood without a valid token
 * cannot lock out the holders of valid ones: an attempt with no token, or with one that fails
 * verification, counts against its client address; one with a valid token against its
 * identity. An attempt without anything shaped like a token is refused before any token work.
 */
export class AttemptLimiter {
  readonly #unverified: KeyedLimiter;
  readonly #verified: KeyedLimiter;

  constructor(readonly rate: Rate, readonly clock: Clock) {
    this.#unverified = new KeyedLimiter(rate, clock);
    this.#verified = new KeyedLimiter(rate, clock);
  }

  /** Counts one attempt from `address` presenting `token`; `identity` names a verified one. */
  async admit<P>(
    address: string,
    token: string | undefined,
    verify: (token: string | undefined) => Promise<P>,
    identity: (principal: P) => string,
  ): Promise<Admission<P>> {
    const shaped = hasTokenShape(token);
    if (!shaped && !this.#unverified.take(address)) return { limited: true };
    let verified: PromiseSettledResult<P>;
    try {
      verified = { status: "fulfilled", value: await verify(token) };
    } catch (reason) {
      verified = { status: "rejected", reason };
    }
    if (shaped) {
      const allowed = verified.status === "fulfilled"
        ? this.#verified.take(identity(verified.value))
        : this.#unverified.take(address);
      if (!allowed) return { limited: true };
    }
    return { limited: false, verified };
  }

  /** Takes `n` more attempts from a verified identity (work that costs more than one). */
  charge(identity: string, n: number): boolean {
    return this.#verified.take(identity, n);
  }
}
