/**
 * One actor per company: a mailbox of commands, drained in batches. Each batch is decided
 * against the current state, its events are appended in one store transaction (group
 * commit), and only then is the state advanced, the deliveries published and every
 * command answered.
 *
 * Past one node, every node that serves a company runs its actor: each writes with the log's
 * expected-version check (a loser catches up and decides again), and each delivers to its own
 * sockets from the log (`follow`), whichever node wrote. One of them, the holder of the company's
 * runner lease, runs its timers and webhooks (docs/design.md, "Cluster").
 *
 * An actor with nothing due (nobody online, no timer, no webhook backlog) goes to sleep after
 * `idleSeconds` without a command: it snapshots what it has not, clears its company's due mark
 * and leaves memory; the next command loads it again. Start-up loads only the marked companies.
 *
 * Over 400 lines: the actor and its system; the mailbox, commit, recovery, snapshot and sleep
 * paths share the actor's private state, so they stay in one class.
 */
import {
  anyAgentOnline,
  type CompanyCommand,
  type CompanyEvent,
  type CompanyState,
  type DecisionResult,
  type Delivery,
  evolve,
  fold,
  fromSnapshot,
  initialState,
  pendingTimers,
  type Rejection,
  routed,
  type SentRecord,
  type Snapshot,
  step,
  toSnapshot,
} from "../domain/mod.ts";
import { decode, encode, eventOf } from "./codec.ts";
import {
  AppendTooLargeError,
  ConflictRetriesExhaustedError,
  VersionConflictError,
} from "./errors.ts";
import type {
  CancelTimer,
  Clock,
  ClusterBus,
  DueWork,
  EventLog,
  Leases,
  Publisher,
  SnapshotStore,
  StoredEvent,
} from "./ports.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { StoreHealth } from "./store_health.ts";

import { EVENT_VERSION } from "./upcast.ts";

export { EVENT_VERSION };

/** A command's answer: its stored events, or why it was refused. */
export type Outcome =
  | {
    readonly ok: true;
    readonly events: readonly StoredEvent<CompanyEvent>[];
    /** A resent message: what the first send became. */
    readonly duplicateOf?: SentRecord;
    /** What the ack shows, as of just after this command's own events. */
    readonly result?: DecisionResult;
  }
  | { readonly ok: false; readonly error: Rejection };

/**
 * Told about every commit, after the deliveries went out (webhooks): on the node that runs the
 * company, of every event, whichever node wrote it.
 */
export interface CommitObserver {
  committed(
    companyId: string,
    events: readonly StoredEvent<CompanyEvent>[],
    state: CompanyState,
  ): void;
  /** This node became the company's runner: work an earlier runner left is picked up. */
  running?(companyId: string, state: CompanyState): void;
}

/** What an actor needs past one node. */
export interface ActorCluster {
  readonly bus: ClusterBus;
  readonly leases: Leases;
  /** How long a runner lease lasts unrenewed, in ms (`NODE_TIMEOUT_SECONDS`). */
  readonly leaseMs: number;
}

/** The name of a company's runner lease. */
export function runnerLease(companyId: string): string {
  return JSON.stringify(["runner", companyId]);
}

/** What an actor needs from the runtime. */
export interface ActorDeps {
  readonly store: EventLog & SnapshotStore & DueWork;
  readonly publisher: Publisher;
  readonly clock: Clock;
  readonly log?: Logger;
  readonly observer?: CommitObserver;
  /** Commands decided and committed together at most (default 256). */
  readonly maxBatch?: number;
  /** A snapshot is kept every this many events (default 1000), or twice the conversations. */
  readonly snapshotEvery?: number;
  readonly metrics?: Metrics;
  /** Told whether each append reached the store (readiness). */
  readonly health?: StoreHealth;
  /**
   * An actor of an `ActorSystem` with nothing due leaves memory after this many seconds
   * without a command (`ACTOR_IDLE_SECONDS`); unset or 0: never.
   */
  readonly idleSeconds?: number;
  /** Work outside the actor that keeps its company in memory (a webhook backlog). */
  readonly keepAwake?: (companyId: string, state: CompanyState) => boolean | Promise<boolean>;
  /** Set when this node is one of several: see `ActorCluster`. */
  readonly cluster?: ActorCluster;
}

/** Where an actor lives: the system that made it, which lets it go when it sleeps. */
interface ActorHome {
  /** The company's current actor (a new one after this one slept). */
  actor(companyId: string): CompanyActor;
  /** Forgets an actor that went to sleep. */
  release(actor: CompanyActor): void;
}

// Events after which the timers the state asks for may have changed.
const TIMER_EVENTS = new Set<CompanyEvent["type"]>([
  "SocketConnected",
  "SocketDisconnected",
  "ConversationQueued",
  "ConversationAssigned",
  "ConversationTransferred",
  "ConversationResolved",
  "SettingsChanged",
  "PresenceReset",
]);

interface Job {
  /** null: a barrier, answered once everything queued before it is committed. */
  readonly command: CompanyCommand | null;
  readonly resolve: (outcome: Outcome) => void;
  /** Appends of this job that lost to another writer so far. */
  conflicts?: number;
  /** The actor's own request to sleep, if it is still idle when the job comes up. */
  readonly sleep?: true;
  /** Apply what other nodes appended (see `follow`). */
  readonly follow?: true;
}

/**
 * Appends a command may lose to another writer (each followed by a catch-up and a new
 * decision) before it is answered `unavailable`: a stream that keeps moving is contended
 * past what retrying fixes, and retrying without end would hold the mailbox forever.
 */
export const MAX_APPEND_ATTEMPTS = 4;

/**
 * Past one node, writers on several nodes race for one company as a matter of course: a command
 * may lose more often, and each loss is followed by a short random wait (up to 2^n ms after the
 * n-th), so the racing nodes fall out of step instead of colliding again at once.
 */
export const CLUSTER_APPEND_ATTEMPTS = 12;

/** The answer of the actor's own commands, which nobody awaits. */
const NO_ANSWER = (_: Outcome) => {};

const CONTENDED: Rejection = {
  code: "unavailable",
  message: "Too many writers raced for this company; nothing was recorded, try again",
};

const UNAVAILABLE: Rejection = {
  code: "unavailable",
  message: "The event store is unavailable; nothing was recorded, try again",
};

/** Serializes one company's commands; distinct companies never wait on each other. */
export class CompanyActor {
  #state: CompanyState = initialState();
  #mailbox: Job[] = [];
  #draining: Promise<void> = Promise.resolve();
  #running = false;
  #loaded = false;
  /** Presence seen by an earlier process is still to be reset, before the next command. */
  #resetPending = false;
  /** Cancels the armed timer, if any. */
  #cancelTimer: CancelTimer | undefined;
  #snapshotVersion = 0;
  /** Whether this actor has saved a snapshot yet. */
  #snapshotted = false;
  /** This company's share of a snapshot period in [0, 1), from its id. */
  readonly #phase: number;
  #snapshotting: Promise<void> | null = null;
  #stopped = false;
  /** The store marks the company due: set before the first append after a load. */
  #marked = false;
  /** When the last command or barrier was queued; sleep waits `idleSeconds` from it. */
  #lastActive: number;
  #cancelIdle: CancelTimer | undefined;
  /** Gone to sleep: whatever still holds this actor is passed on to the company's new one. */
  #asleep = false;
  /** This node runs the company's timers and webhooks: always on one node; by lease past it. */
  #runner: boolean;
  /** Cancels the next renewal of the runner lease. */
  #cancelLease: CancelTimer | undefined;
  /** A follow job is in the mailbox. */
  #following = false;

  constructor(
    readonly companyId: string,
    readonly deps: ActorDeps,
    readonly home?: ActorHome,
  ) {
    this.#phase = phaseOf(companyId);
    this.#runner = deps.cluster === undefined;
    this.#lastActive = deps.clock.now();
    this.#armIdle();
  }

  /** Commands waiting in the mailbox. */
  get depth(): number {
    return this.#mailbox.length;
  }

  /** The state as of the last commit. */
  get state(): CompanyState {
    return this.#asleep ? this.home!.actor(this.companyId).state : this.#state;
  }

  /** Whether the actor is in memory (false once it went to sleep). */
  get awake(): boolean {
    return !this.#asleep;
  }

  /** Start-up found the company marked due: no need to mark it before appending. */
  markedDue(): void {
    this.#marked = true;
  }

  /** Whether this node runs the company's timers and webhooks. */
  get runner(): boolean {
    return this.#runner;
  }

  /**
   * The log reached `version` (another node appended): the events this actor has not applied
   * are read from the log, applied and delivered to this node's sockets, in order, between its
   * commands. An actor not loaded yet reads them when it loads.
   */
  follow(version: number): void {
    if (this.#asleep || !this.#loaded || this.#following || version <= this.#state.version) return;
    this.#following = true;
    this.#enqueue({ command: null, resolve: NO_ANSWER, follow: true });
  }

  /** Queues a command; resolves once its events are durable and delivered, or it is refused. */
  dispatch(command: CompanyCommand): Promise<Outcome> {
    return new Promise((resolve) => this.#enqueue({ command, resolve }));
  }

  #enqueue(job: Job): void {
    if (this.#asleep) return this.home!.actor(this.companyId).#enqueue(job);
    if (!job.sleep && !job.follow) this.#lastActive = this.deps.clock.now();
    this.#mailbox.push(job);
    if (!this.#running) {
      this.#running = true;
      this.#draining = this.#drain();
    }
  }

  /** The state once the log is loaded and every command queued so far is committed. */
  async current(): Promise<CompanyState> {
    const outcome = await new Promise<Outcome>((resolve) =>
      this.#enqueue({ command: null, resolve })
    );
    if (!outcome.ok) throw new Error(outcome.error.message);
    return this.state;
  }

  /** Resolves when every queued command has been answered. */
  async idle(): Promise<void> {
    while (this.#running) await this.#draining;
  }

  /** Cancels the actor's timer; commands still queued are answered first. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelIdle?.();
    this.#cancelLease?.();
    await this.idle();
    await this.#snapshotting;
    await this.#releaseRunner();
  }

  /** Arms one timer for the earliest of the state's pending timers. */
  #schedule(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    if (this.#stopped || !this.#runner) return;
    const timers = pendingTimers(this.#state);
    if (timers.length === 0) return;
    const next = timers.reduce((a, b) => (b.due < a.due ? b : a));
    this.#cancelTimer = this.deps.clock.setTimer(() => {
      this.#cancelTimer = undefined;
      // A timer runs outside any caller: what fails here is logged, never thrown at the process.
      try {
        if (this.deps.clock.now() < next.due) return this.#schedule();
        this.dispatch(next.command);
      } catch (error) {
        this.deps.log?.error("actor.timer_failed", {
          company: this.companyId,
          error: String(error),
        });
      }
    }, next.due - this.deps.clock.now());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#mailbox.length > 0) {
        if (this.#mailbox[0].sleep) {
          this.#mailbox.shift();
          if (await this.#sleep()) return;
          continue;
        }
        if (this.#mailbox[0].follow) {
          this.#mailbox.shift();
          this.#following = false;
          await this.#followLog();
          continue;
        }
        if (!this.#loaded && !(await this.#load())) {
          this.#mailbox.splice(0).forEach((job) => job.resolve({ ok: false, error: UNAVAILABLE }));
          return;
        }
        if (this.#resetPending) {
          this.#resetPending = false;
          const reset: CompanyCommand = {
            type: "ResetPresence",
            data: { at: this.deps.clock.now() },
          };
          this.#mailbox.unshift({ command: reset, resolve: NO_ANSWER });
        }
        const batch = this.#takeBatch();
        // Past one node, a read (a barrier) sees what any node wrote before it was asked.
        if (this.deps.cluster && batch.some((job) => job.command === null)) {
          await this.#followLog();
        }
        try {
          await this.#process(batch);
        } catch (error) {
          // A bug, not the store (its faults are answered in #recover): the batch is refused and
          // the actor keeps serving. Answering a command twice is harmless: the first answer holds.
          this.deps.log?.error("actor.batch_failed", {
            company: this.companyId,
            error: String(error),
          });
          // Jobs a recovery put back in the mailbox will still run: only the others are refused.
          const queued = new Set(this.#mailbox);
          for (const job of batch) {
            if (!queued.has(job)) job.resolve({ ok: false, error: UNAVAILABLE });
          }
        }
      }
    } finally {
      // Cleared in the same turn as the empty check, so a command queued next starts a drain.
      this.#running = false;
      this.#armIdle();
    }
  }

  /** The commands to decide together: up to `maxBatch`, and up to the next sleep or follow job. */
  #takeBatch(): Job[] {
    const max = Math.min(this.#mailbox.length, this.deps.maxBatch ?? 256);
    let end = 1;
    while (end < max && !this.#mailbox[end].sleep && !this.#mailbox[end].follow) end++;
    return this.#mailbox.splice(0, end);
  }

  /** Arms the idle timer, if sleeping is on and none is armed, for `idleSeconds` after activity. */
  #armIdle(): void {
    const idleMs = (this.deps.idleSeconds ?? 0) * 1000;
    if (!idleMs || !this.home || this.#cancelIdle || this.#stopped || this.#asleep) return;
    const left = this.#lastActive + idleMs - this.deps.clock.now();
    // Idle already (an attempt found work due): look again a whole period later.
    this.#cancelIdle = this.deps.clock.setTimer(() => {
      this.#cancelIdle = undefined;
      if (this.deps.clock.now() - this.#lastActive < idleMs) return this.#armIdle();
      this.#enqueue({ command: null, resolve: NO_ANSWER, sleep: true });
    }, left > 0 ? left : idleMs);
  }

  /**
   * Leaves memory if the company is still idle and nothing is due: nobody online (the state's
   * presence, which every Connect and Disconnect passes through, is the authority), no timer,
   * no webhook backlog. The state is snapshotted if it moved since the last snapshot, then the
   * due mark is cleared. True if it slept; false if it stays (a command came in meanwhile).
   */
  async #sleep(): Promise<boolean> {
    const idleMs = (this.deps.idleSeconds ?? 0) * 1000;
    if (this.#stopped || !this.home || this.deps.clock.now() - this.#lastActive < idleMs) {
      return false;
    }
    // Never loaded: nothing to save, and a mark it did not write is not its to clear.
    if (!this.#loaded) return this.#mailbox.length === 0 && this.#retire();
    const state = this.#state;
    if (this.#resetPending || state.users.size > 0 || anyAgentOnline(state)) return false;
    if (pendingTimers(state).length > 0) return false;
    try {
      if (await this.deps.keepAwake?.(this.companyId, state)) return false;
    } catch (error) {
      this.deps.log?.warn("actor.sleep_check_failed", {
        company: this.companyId,
        error: String(error),
      });
      return false;
    }
    await this.#snapshotting;
    if (state.version > this.#snapshotVersion) {
      try {
        await this.deps.store.saveSnapshot(this.companyId, state.version, toSnapshot(state));
        this.#snapshotVersion = state.version;
      } catch (error) {
        // It sleeps all the same: waking replays the log from the previous snapshot.
        this.deps.log?.warn("snapshot.failed", { company: this.companyId, error: String(error) });
      }
    }
    // Unmarked before the clear is written: an append from here on marks it again, after it.
    // Past one node only the runner clears it: another node's actor may sleep while the runner
    // still has work due.
    this.#marked = false;
    if (this.#runner) {
      try {
        await this.deps.store.clearDue(this.companyId);
      } catch (error) {
        // Left marked: the next start-up loads the company, finds nothing due, and it sleeps.
        this.deps.log?.warn("actor.unmark_failed", {
          company: this.companyId,
          error: String(error),
        });
      }
    }
    if (this.#mailbox.length > 0 || this.#stopped) return false;
    this.#retire();
    await this.#releaseRunner();
    return true;
  }

  /** Leaves memory: the system forgets this actor, and the next command makes a new one. */
  #retire(): true {
    this.#asleep = true;
    this.#cancelTimer?.();
    this.#cancelIdle?.();
    this.#cancelLease?.();
    this.#state = initialState();
    this.home!.release(this);
    this.deps.log?.debug("actor.slept", { company: this.companyId });
    return true;
  }

  /** Rebuilds the state from the log; presence seen by an earlier process is reset. */
  async #load(): Promise<boolean> {
    try {
      const kept = await this.deps.store.loadSnapshot(this.companyId);
      const start = kept ? fromSnapshot(kept.snapshot as Snapshot) : null;
      this.#snapshotVersion = start?.version ?? 0;
      this.#state = await this.#catchUp(start ?? initialState());
      this.#loaded = true;
    } catch (error) {
      this.deps.log?.error("actor.load_failed", { company: this.companyId, error: String(error) });
      return false;
    }
    // Past one node, presence belongs to the live nodes: a dead node's sockets are recorded
    // gone by the survivors (`SharedPresence.sweep`), never by whoever loads the company next.
    this.#resetPending = this.deps.cluster === undefined;
    if (this.deps.cluster) this.#holdRunner();
    else this.#schedule();
    return true;
  }

  /**
   * Takes or renews the company's runner lease, and again every third of its length while the
   * actor is awake. The holder arms the timers and runs the webhooks; a node that loses the lease
   * (a partition, a slow renewal) stops arming them. The log fences what a stale runner writes:
   * a timer's command decided on old state loses its append and is decided again.
   */
  #holdRunner(): void {
    const cluster = this.deps.cluster;
    if (!cluster || this.#stopped || this.#asleep) return;
    this.#cancelLease?.();
    this.#cancelLease = undefined;
    const name = runnerLease(this.companyId);
    const renew = () => {
      if (this.#stopped || this.#asleep) return;
      this.#cancelLease = this.deps.clock.setTimer(() => {
        this.#cancelLease = undefined;
        this.#holdRunner();
      }, cluster.leaseMs / 3);
    };
    cluster.leases.hold(name, cluster.leaseMs).catch((error) => {
      this.deps.log?.warn("actor.lease_failed", { company: this.companyId, error: String(error) });
      return false;
    }).then((held) => {
      if (this.#stopped || this.#asleep) {
        if (held) cluster.leases.release(name).catch(() => {});
        return;
      }
      const was = this.#runner;
      this.#runner = held;
      if (held && !was) {
        this.deps.log?.info("actor.running", { company: this.companyId });
        this.#schedule();
        this.#safely("actor.observer_failed", () => {
          this.deps.observer?.running?.(this.companyId, this.#state);
        });
      } else if (!held && was) {
        this.deps.log?.warn("actor.lease_lost", { company: this.companyId });
        this.#cancelTimer?.();
        this.#cancelTimer = undefined;
      }
      renew();
    });
  }

  /** Gives up the runner lease, if this node holds it. */
  async #releaseRunner(): Promise<void> {
    const cluster = this.deps.cluster;
    if (!cluster || !this.#runner) return;
    this.#runner = false;
    await cluster.leases.release(runnerLease(this.companyId)).catch((error) =>
      this.deps.log?.warn("actor.lease_release_failed", {
        company: this.companyId,
        error: String(error),
      })
    );
  }

  /**
   * Applies what other writers appended after this actor's state, as if it had written it:
   * the state advances, this node's sockets get the deliveries, the observer hears of the
   * events. A read that fails is logged and tried again a second later.
   */
  async #followLog(): Promise<void> {
    try {
      await this.#applyLog();
    } catch (error) {
      this.deps.log?.error("actor.follow_failed", {
        company: this.companyId,
        error: String(error),
      });
      if (!this.#stopped) {
        this.deps.clock.setTimer(() => this.follow(this.#state.version + 1), 1000);
      }
    }
  }

  /** Reads the log after the state and applies it, a page at a time; throws what the read throws. */
  async #applyLog(): Promise<void> {
    let state = this.#state;
    let stored: StoredEvent<CompanyEvent>[] = [];
    let out: Delivery[] = [];
    const apply = () => {
      if (stored.length === 0) return;
      this.#applied(stored, out, state);
      stored = [];
      out = [];
    };
    for await (const raw of this.deps.store.read(this.companyId, { after: state.version })) {
      const e = decode(raw);
      if (e.seq !== state.version + 1) {
        throw new Error(`the log of ${this.companyId} skips from ${state.version} to ${e.seq}`);
      }
      const event = eventOf(e);
      const next = evolve(state, event);
      out.push(...routed(state, event, () => next));
      state = next;
      stored.push(e);
      if (stored.length >= 500) apply();
    }
    apply();
  }

  /** Events another node wrote, now applied: the same effects as the actor's own commit. */
  #applied(
    stored: StoredEvent<CompanyEvent>[],
    out: Delivery[],
    state: CompanyState,
  ): void {
    this.#state = state;
    this.#safely("actor.publish_failed", () => this.deps.publisher.publish(this.companyId, out));
    if (stored.some((e) => TIMER_EVENTS.has(e.type))) this.#schedule();
    this.#notify(stored, state);
  }

  /** Tells the observer of committed events, on the node that runs the company. */
  #notify(stored: StoredEvent<CompanyEvent>[], state: CompanyState): void {
    const observer = this.deps.observer;
    if (!observer || !this.#runner || stored.length === 0) return;
    this.#safely("actor.observer_failed", () => observer.committed(this.companyId, stored, state));
  }

  async #catchUp(state: CompanyState): Promise<CompanyState> {
    const events: CompanyEvent[] = [];
    for await (const e of this.deps.store.read(this.companyId, { after: state.version })) {
      events.push(eventOf(decode(e)));
      if (events.length >= 10_000) state = fold(events.splice(0), state);
    }
    return fold(events, state);
  }

  async #process(batch: Job[]): Promise<void> {
    const base = this.#state;
    let state = base;
    const events: CompanyEvent[] = [];
    const out: Delivery[] = [];
    const ephemeral: Delivery[] = [];
    // Every answer waits for the commit: a refusal was decided on state that must hold too.
    const answers: ((stored: StoredEvent<CompanyEvent>[]) => void)[] = [];
    for (const job of batch) {
      if (job.command === null) {
        answers.push(() => job.resolve({ ok: true, events: [] }));
        continue;
      }
      const stepped = step(state, job.command);
      this.deps.metrics?.commands.inc({ type: job.command.type });
      if (!stepped.ok) {
        this.deps.metrics?.rejections.inc({ code: stepped.rejection.code });
        answers.push(() => job.resolve({ ok: false, error: stepped.rejection }));
        continue;
      }
      const from = events.length;
      events.push(...stepped.events);
      out.push(...stepped.deliveries);
      ephemeral.push(...stepped.ephemeral);
      state = stepped.state;
      const to = events.length;
      const { duplicateOf, result } = stepped;
      answers.push((stored) => {
        job.resolve({
          ok: true,
          events: stored.slice(from, to),
          ...(duplicateOf ? { duplicateOf } : {}),
          ...(result ? { result } : {}),
        });
      });
    }
    if (events.length > 0) {
      const started = performance.now();
      try {
        // Marked before anything that could be due is durable, so start-up never misses it.
        // Past one node, before every append: another node's runner may have cleared it.
        if (!this.#marked || this.deps.cluster) {
          await this.deps.store.markDue(this.companyId);
          this.#marked = true;
        }
        await this.deps.store.append(this.companyId, base.version, events.map(encode));
      } catch (error) {
        return await this.#recover(error, batch);
      }
      this.deps.health?.succeeded();
      const metrics = this.deps.metrics;
      if (metrics) {
        metrics.appendSeconds.observe((performance.now() - started) / 1000);
        metrics.batchSize.observe(events.length);
        for (const e of events) metrics.events.inc({ type: e.type });
      }
    }
    this.#state = state;
    // The events are durable: nothing after this point may undo them or stop the answers.
    this.#safely("actor.publish_failed", () => this.deps.publisher.publish(this.companyId, out));
    this.#broadcast(ephemeral);
    const stored = events.map((e, i) => ({ ...e, seq: base.version + i + 1, v: EVENT_VERSION }));
    for (const answer of answers) answer(stored);
    if (events.some((e) => TIMER_EVENTS.has(e.type))) this.#schedule();
    this.#notify(stored, state);
    // Spaced by the state's size too, so a large company does not spend more on snapshots than
    // on its events; recovery then replays at most about twice the state's size.
    const every = Math.max(this.deps.snapshotEvery ?? 1000, 2 * state.conversations.size);
    // The first one waits a share of a period more, fixed per company, so companies that run
    // alike (or start together) do not all snapshot at once.
    const due = this.#snapshotted ? every : every * (1 + this.#phase);
    if (state.version - this.#snapshotVersion >= due) this.#snapshot(state);
  }

  /**
   * Sends the other nodes what no event carries (typing), for their sockets; what is addressed
   * to one socket is for a socket of this node.
   */
  #broadcast(ephemeral: readonly Delivery[]): void {
    const bus = this.deps.cluster?.bus;
    const shared = bus ? ephemeral.filter((d) => d.to.kind !== "socket") : [];
    if (shared.length === 0) return;
    this.#safely("actor.broadcast_failed", () => bus!.broadcast(this.companyId, shared));
  }

  /** Runs `effect`; a throw is logged with the company, never passed on. */
  #safely(msg: string, effect: () => void): void {
    try {
      effect();
    } catch (error) {
      this.deps.log?.error(msg, { company: this.companyId, error: String(error) });
    }
  }

  /** Saves a snapshot beside the chat path; recovery then replays only the events after it. */
  #snapshot(state: CompanyState): void {
    if (this.#snapshotting) return;
    this.#snapshotting = this.deps.store.saveSnapshot(
      this.companyId,
      state.version,
      toSnapshot(state),
    )
      .then(() => {
        this.#snapshotVersion = state.version;
        this.#snapshotted = true;
      })
      .catch((error) =>
        this.deps.log?.warn("snapshot.failed", { company: this.companyId, error: String(error) })
      )
      .finally(() => (this.#snapshotting = null));
  }

  /** Past one node, waits a random while after a lost race (see `CLUSTER_APPEND_ATTEMPTS`). */
  async #backOff(jobs: Job[]): Promise<void> {
    if (!this.deps.cluster) return;
    const lost = Math.max(...jobs.map((job) => job.conflicts ?? 0));
    const ms = Math.random() * 2 ** Math.min(lost, 7);
    await new Promise<void>((resolve) => this.deps.clock.setTimer(resolve, ms));
  }

  /** A failed append: the state is unchanged; decide again, split, or answer `unavailable`. */
  async #recover(error: unknown, jobs: Job[]): Promise<void> {
    if (error instanceof VersionConflictError) {
      // Another writer moved the stream: apply what it wrote (delivered here as if written
      // here), then decide these again, each at most `attempts` times in all.
      const attempts = this.deps.cluster ? CLUSTER_APPEND_ATTEMPTS : MAX_APPEND_ATTEMPTS;
      try {
        await this.#applyLog();
        for (const job of jobs) job.conflicts = (job.conflicts ?? 0) + 1;
        const exhausted = jobs.filter((job) => job.conflicts! >= attempts);
        this.#mailbox.unshift(...jobs.filter((job) => job.conflicts! < attempts));
        if (exhausted.length === 0) return await this.#backOff(jobs);
        // Contention, not a failing store: readiness is left alone, and the senders may retry.
        const exhaustedError = new ConflictRetriesExhaustedError(this.companyId, attempts, error);
        this.deps.log?.error("actor.contended", {
          company: this.companyId,
          error: String(exhaustedError),
        });
        for (const job of exhausted) job.resolve({ ok: false, error: CONTENDED });
        return;
      } catch (readError) {
        error = readError;
      }
    }
    if (error instanceof AppendTooLargeError) {
      if (jobs.length > 1) {
        const half = Math.ceil(jobs.length / 2);
        this.#mailbox.unshift(...jobs.slice(half));
        return await this.#process(jobs.slice(0, half));
      }
      jobs[0]?.resolve({ ok: false, error: { code: "too_large", message: error.message } });
      return;
    }
    this.deps.log?.error("store.append_failed", { company: this.companyId, error: String(error) });
    this.deps.health?.failed(error, this.deps.clock.now());
    for (const job of jobs) {
      // The reset after a load did not land: it goes first again with the next command.
      if (job.command?.type === "ResetPresence" && job.resolve === NO_ANSWER) {
        this.#resetPending = true;
      }
      // A barrier asks for the state as of the last commit, which this failure left as it was.
      job.resolve(
        job.command === null ? { ok: true, events: [] } : { ok: false, error: UNAVAILABLE },
      );
    }
    // A timer whose command failed must fire again; not at once, the store is struggling.
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    if (!this.#stopped) this.#cancelTimer = this.deps.clock.setTimer(() => this.#schedule(), 1000);
  }
}

/** A number in [0, 1) spread evenly over ids (FNV-1a, then murmur3's finalizer to mix). */
function phaseOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return ((hash ^ (hash >>> 16)) >>> 0) / 2 ** 32;
}

/** Creates company actors on first use and keeps them until they sleep (`idleSeconds`). */
export class ActorSystem {
  readonly #actors = new Map<string, CompanyActor>();
  readonly #home: ActorHome = {
    actor: (companyId) => this.actor(companyId),
    release: (actor) => {
      if (this.#actors.get(actor.companyId) === actor) this.#actors.delete(actor.companyId);
    },
  };

  constructor(readonly deps: ActorDeps) {}

  /** The actor of `companyId`, created if needed (loaded by its first command). */
  actor(companyId: string): CompanyActor {
    let actor = this.#actors.get(companyId);
    if (!actor) {
      actor = new CompanyActor(companyId, this.deps, this.#home);
      this.#actors.set(companyId, actor);
    }
    return actor;
  }

  /** Whether `companyId`'s actor is in memory. */
  awake(companyId: string): boolean {
    return this.#actors.has(companyId);
  }

  /** How many company actors run (are in memory). */
  get size(): number {
    return this.#actors.size;
  }

  /** Commands waiting in all mailboxes. */
  get depth(): number {
    let n = 0;
    for (const a of this.#actors.values()) n += a.depth;
    return n;
  }

  /** Sends a command to a company's actor. */
  dispatch(companyId: string, command: CompanyCommand): Promise<Outcome> {
    return this.actor(companyId).dispatch(command);
  }

  /**
   * A company's log reached `version` (a `LogFeed` says so): its actor, if in memory, delivers
   * what it has not applied. One not in memory reads the log when it loads.
   */
  moved(companyId: string, version: number): void {
    this.#actors.get(companyId)?.follow(version);
  }

  /**
   * Past one node: takes the companies that have work due and no runner (their runner's node
   * died, or none loaded them since), by their runner lease, and loads them here, where their
   * timers and webhooks then run. Returns how many it took.
   */
  async adopt(): Promise<number> {
    const cluster = this.deps.cluster;
    if (!cluster) return 0;
    let taken = 0;
    for await (const companyId of this.deps.store.dueStreams()) {
      if (this.#actors.has(companyId)) continue; // its own actor renews or takes the lease
      if (!(await cluster.leases.hold(runnerLease(companyId), cluster.leaseMs))) continue;
      taken++;
      const actor = this.actor(companyId);
      actor.markedDue();
      await actor.current().catch((error) => {
        this.deps.log?.error("actor.adopt_failed", { company: companyId, error: String(error) });
      });
    }
    return taken;
  }

  /** Resolves once every actor has answered what it was sent. */
  async idle(): Promise<void> {
    await Promise.all([...this.#actors.values()].map((a) => a.idle()));
  }

  /**
   * Loads the companies the store marks due, so timers (grace periods) run, presence an
   * earlier process saw is reset and webhooks resume after a restart without waiting for
   * someone to connect; the others stay asleep until their next command. Returns the loaded
   * states.
   */
  async recover(): Promise<Map<string, CompanyState>> {
    const states = new Map<string, CompanyState>();
    for await (const companyId of this.deps.store.dueStreams()) {
      const actor = this.actor(companyId);
      actor.markedDue();
      try {
        states.set(companyId, await actor.current());
      } catch (error) {
        // One company that does not load (a read error, an event from a newer engine) must not
        // keep the others from starting: it stays marked due and loads on its next command,
        // whose failure is answered `unavailable` to that company alone.
        this.deps.log?.error("actor.recover_failed", { company: companyId, error: String(error) });
      }
    }
    return states;
  }

  /** Stops every actor's timers and waits for what they were sent. */
  async stop(): Promise<void> {
    await Promise.all([...this.#actors.values()].map((a) => a.stop()));
  }
}
