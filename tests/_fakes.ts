/** Test doubles shared by the runtime and adapter tests. */
import type { Delivery } from "../domain/mod.ts";
import type {
  CancelTimer,
  Clock,
  Ids,
  NewEvent,
  Publisher,
  Storage,
  StoredEvent,
} from "../src/ports.ts";

/** Records every published delivery with its company. */
export class RecordingPublisher implements Publisher {
  readonly published: { companyId: string; delivery: Delivery }[] = [];
  publish(companyId: string, deliveries: readonly Delivery[]): void {
    for (const delivery of deliveries) this.published.push({ companyId, delivery });
  }
}

/**
 * A clock that moves only when told, and owns the timers set on it: `advance` fires each
 * timer that falls due, in order of due time, with `now()` at that time. Nothing runs by
 * itself (a timer set for 0 ms waits for `advance(0)`), so a test steps through grace
 * periods and backoff without sleeping.
 */
export class FakeClock implements Clock {
  #timers: FakeTimer[] = [];
  #armed: { test: (delay: number) => boolean; resolve: (delay: number) => void }[] = [];
  #order = 0;

  constructor(public time = 1_764_043_200_000) {}

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, ms: number): CancelTimer {
    const timer = { due: this.time + Math.max(ms, 0), order: this.#order++, fn };
    this.#timers.push(timer);
    const delay = timer.due - this.time;
    this.#armed = this.#armed.filter((w) => (w.test(delay) ? (w.resolve(delay), false) : true));
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** The delays from now of the timers still armed, soonest first. */
  pending(): number[] {
    return this.#timers.map((t) => t.due - this.time).sort((a, b) => a - b);
  }

  /**
   * Resolves with the delay of an armed timer that passes `test` (one already armed, or the
   * next one set): how a test waits for the code under test to start waiting. Rejects after
   * `withinMs` of real time, naming what is armed, rather than hang.
   */
  armed(test: (delay: number) => boolean = () => true, withinMs = 5000): Promise<number> {
    const now = this.#timers.map((t) => t.due - this.time).find(test);
    if (now !== undefined) return Promise.resolve(now);
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    const waiter = { test, resolve: (delay: number) => (clearTimeout(guard), resolve(delay)) };
    const guard = setTimeout(() => {
      this.#armed = this.#armed.filter((w) => w !== waiter);
      reject(new Error(`no such timer was armed; armed: [${this.pending().join(", ")}] ms`));
    }, withinMs);
    this.#armed.push(waiter);
    return promise;
  }

  /** Moves the time `ms` forward, firing every timer due by then, each at its due time. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const next = this.#timers
        .filter((t) => t.due <= until)
        .sort((a, b) => a.due - b.due || a.order - b.order)[0];
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.time = Math.max(this.time, next.due);
      next.fn();
    }
    this.time = until;
  }
}

interface FakeTimer {
  readonly due: number;
  /** Timers due at one time fire in the order they were set. */
  readonly order: number;
  readonly fn: () => void;
}

/** Ids `id-1`, `id-2`, … */
export function sequentialIds(prefix = "id"): Ids {
  let n = 0;
  return { next: () => `${prefix}-${++n}` };
}

/** What Deno KV throws when a commit finds the disk full (reads still work). */
export function diskFullError(): Error {
  return new TypeError("database or disk is full");
}

/** Wraps a store: counts appends and can be told to fail them, or every write (a full disk). */
export class FlakyStore implements Storage {
  appends = 0;
  failing = false;
  /** Every write throws as Deno KV does on a full disk. */
  full = false;
  constructor(readonly inner: Storage) {}
  version(stream: string): Promise<number> {
    return this.inner.version(stream);
  }
  append(stream: string, expected: number, events: readonly NewEvent[]): Promise<number> {
    this.appends++;
    if (this.full) return Promise.reject(diskFullError());
    if (this.failing) return Promise.reject(new Error("disk on fire"));
    return this.inner.append(stream, expected, events);
  }
  read(stream: string, options?: { after?: number; limit?: number }): AsyncIterable<StoredEvent> {
    return this.inner.read(stream, options);
  }
  readHistory(
    stream: string,
    userId: string,
    options: { before?: number; limit: number },
  ): Promise<StoredEvent[]> {
    return this.inner.readHistory(stream, userId, options);
  }
  flushIndex(): Promise<void> {
    return this.inner.flushIndex();
  }
  saveSnapshot(stream: string, version: number, snapshot: unknown): Promise<void> {
    if (this.full) return Promise.reject(diskFullError());
    return this.inner.saveSnapshot(stream, version, snapshot);
  }
  loadSnapshot(stream: string): Promise<{ version: number; snapshot: unknown } | null> {
    return this.inner.loadSnapshot(stream);
  }
  streams(): AsyncIterable<string> {
    return this.inner.streams();
  }
  checkpoint(name: string): Promise<number> {
    return this.inner.checkpoint(name);
  }
  saveCheckpoint(name: string, seq: number): Promise<void> {
    if (this.full) return Promise.reject(diskFullError());
    return this.inner.saveCheckpoint(name, seq);
  }
  markDue(stream: string): Promise<void> {
    if (this.full) return Promise.reject(diskFullError());
    return this.inner.markDue(stream);
  }
  clearDue(stream: string): Promise<void> {
    if (this.full) return Promise.reject(diskFullError());
    return this.inner.clearDue(stream);
  }
  dueStreams(): AsyncIterable<string> {
    return this.inner.dueStreams();
  }
  close(): void {
    this.inner.close();
  }
}

/** A Deno KV handle whose writes throw as on a full disk while `full.value` is true. */
export function fullDiskKv(kv: Deno.Kv, full: { value: boolean }): Deno.Kv {
  const refuse = () => Promise.reject(diskFullError());
  const wrapOp = (op: Deno.AtomicOperation): Deno.AtomicOperation => {
    const proxy: Deno.AtomicOperation = new Proxy(op, {
      get(target, key) {
        if (key === "commit") return () => (full.value ? refuse() : target.commit());
        const value = Reflect.get(target, key);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const result = value.apply(target, args);
          return result === target ? proxy : result;
        };
      },
    });
    return proxy;
  };
  return new Proxy(kv, {
    get(target, key) {
      if (key === "atomic") return () => wrapOp(target.atomic());
      if (key === "set" || key === "delete") {
        return (...args: unknown[]) =>
          full.value
            ? refuse()
            : (Reflect.get(target, key) as (...a: unknown[]) => unknown).apply(target, args);
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A logger that keeps every line, and resolves waiters when a line with a message arrives. */
export class RecordingLogger {
  readonly lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  #waiters: Waiter[] = [];
  readonly debug = this.#line("debug");
  readonly info = this.#line("info");
  readonly warn = this.#line("warn");
  readonly error = this.#line("error");

  #line(level: string) {
    return (msg: string, fields: Record<string, unknown> = {}) => {
      this.lines.push({ level, msg, fields });
      const seen = this.lines.filter((l) => l.msg === msg).length;
      this.#waiters = this.#waiters.filter((w) => {
        if (w.msg !== msg || seen < w.count) return true;
        w.resolve(fields);
        return false;
      });
    };
  }

  /** The fields of the `count`th line with `msg` (waits for it if not there yet). */
  next(msg: string, count = 1): Promise<Record<string, unknown>> {
    const line = this.lines.filter((l) => l.msg === msg)[count - 1];
    if (line) return Promise.resolve(line.fields);
    return new Promise((resolve) => this.#waiters.push({ msg, count, resolve }));
  }
}

interface Waiter {
  readonly msg: string;
  readonly count: number;
  readonly resolve: (fields: Record<string, unknown>) => void;
}
