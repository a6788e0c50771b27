/** Token buckets: a steady rate with room for bursts, per socket and per client address. */
import type { Clock } from "./ports.ts";

/** Events per second and the burst allowed; a rate of 0 turns the limit off. */
export interface Rate {
  readonly perSecond: number;
  readonly burst: number;
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
