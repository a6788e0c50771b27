/**
 * Whether the event store takes writes, as the last write found. A full disk refuses writes
 * while reads still work: the server then runs degraded (connects and reads work, writes
 * answer `unavailable`), and readiness says so until a write succeeds again.
 */

/** The store's write health, told by every writer and read by the readiness probe. */
export class StoreHealth {
  #failure: string | null = null;
  #since = 0;

  /** Whether the last write succeeded (or none failed yet). */
  get writable(): boolean {
    return this.#failure === null;
  }

  /** Why writes fail, while they do. */
  get reason(): string | null {
    return this.#failure;
  }

  /** Since when writes fail (Unix ms), while they do. */
  get since(): number {
    return this.#since;
  }

  /** A write failed with `error`. */
  failed(error: unknown, now = Date.now()): void {
    if (this.#failure === null) this.#since = now;
    this.#failure = error instanceof Error ? error.message : String(error);
  }

  /** A write succeeded. */
  succeeded(): void {
    this.#failure = null;
  }
}
