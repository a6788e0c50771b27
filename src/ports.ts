/**
 * The ports the runtime depends on: storage (log, snapshots, checkpoints, history index, due work), the
 * publisher, the clock and ids.
 * Adapters implement them; `src/` never reaches a transport or a database directly.
 */
import type { Delivery } from "../domain/mod.ts";

/** An event as the store keeps it: the export format of docs/design.md §3. */
export type StoredEvent<E extends NewEvent = NewEvent> = E & {
  readonly seq: number;
  readonly v: number;
};

/** An event to append: the store assigns `seq`. */
export interface NewEvent {
  readonly type: string;
  readonly at: number;
  readonly data: unknown;
  readonly v?: number;
}

/*
 * Storage is five small ports, after Emmett's event store (read, append, aggregate) with
 * snapshots, checkpoints and projections behind their own interfaces. Each reader asks for
 * the ports it uses (the actor: log, snapshots and the due-work index; webhooks: log and
 * checkpoints; resume and history: log and history index), so a new store, or a test double,
 * can be written port by port. One database usually holds all five, hence `Storage`, which the
 * composition opens and closes.
 */

/** The event log: one append-only stream of events per company. */
export interface EventLog {
  /** The stream's version: the `seq` of its last event, 0 when empty. */
  version(stream: string): Promise<number>;
  /**
   * Appends all `events` or none, only if the stream is at `expectedVersion`;
   * returns the new version. Throws `VersionConflictError` for a stale writer and
   * `AppendTooLargeError` when the batch exceeds what one transaction holds.
   */
  append(stream: string, expectedVersion: number, events: readonly NewEvent[]): Promise<number>;
  /** The events with `seq > after`, in order, at most `limit` of them. */
  read(stream: string, options?: { after?: number; limit?: number }): AsyncIterable<StoredEvent>;
  /** Every stream that has events. */
  streams(): AsyncIterable<string>;
}

/** A stream's latest snapshot of its folded state, so recovery replays only what follows. */
export interface SnapshotStore {
  /** Keeps a snapshot of a stream's folded state at `version` (replacing the previous one). */
  saveSnapshot(stream: string, version: number, snapshot: unknown): Promise<void>;
  /** The latest snapshot of a stream, if any. */
  loadSnapshot(stream: string): Promise<{ version: number; snapshot: unknown } | null>;
}

/** Consumers' positions in the log (a company's webhook deliveries). */
export interface CheckpointStore {
  /** A consumer's position in the log (0 if it has none). */
  checkpoint(name: string): Promise<number>;
  /** Saves a consumer's position. */
  saveCheckpoint(name: string, seq: number): Promise<void>;
}

/**
 * Each user's history: the events of a stream that concern them, found without reading the
 * whole stream. The index decides which events those are by its `HistoryRule` (the engine's
 * is `historyUsers` in src/history.ts); an append feeds it, nobody tags events by hand.
 */
export interface HistoryIndex {
  /** The last `limit` events of `userId`'s history with `seq < before`, in ascending order. */
  readHistory(
    stream: string,
    userId: string,
    options: { before?: number; limit: number },
  ): Promise<StoredEvent[]>;
  /** Writes what the index has deferred; the engine calls it when it closes. */
  flushIndex(): Promise<void>;
}

/**
 * The companies that must be loaded at start-up: those that may have work due without anyone
 * asking (a grace timer, a webhook backlog, presence an earlier process saw and a restart must
 * reset). The actor marks its company before the first append after it loads, and clears the
 * mark only when it goes to sleep with nothing due, so a company that is not marked has
 * nothing to run until its next command. Start-up reads this index, not every stream.
 */
export interface DueWork {
  /** Marks `stream` as one to load at start-up (marking it again changes nothing). */
  markDue(stream: string): Promise<void>;
  /** Removes the mark: the stream has nothing due until its next append. */
  clearDue(stream: string): Promise<void>;
  /** Every marked stream (every stream, if the store has not built its index yet). */
  dueStreams(): AsyncIterable<string>;
}

/** Which users' histories an appended event belongs to. */
export type HistoryRule = (event: NewEvent) => readonly string[];

/** Every storage port on one database: what the composition opens, flushes and closes. */
export interface Storage extends EventLog, SnapshotStore, CheckpointStore, HistoryIndex, DueWork {
  /** Releases the store at once; what the index deferred and did not flush is left. */
  close(): void;
}

/** What is known of a stored file (an attachment) besides its bytes. */
export interface BlobInfo {
  readonly id: string;
  /** The file name its uploader gave. */
  readonly name: string;
  /** In bytes. */
  readonly size: number;
  /** The media type, from the allow-list (`src/attachments.ts`). */
  readonly contentType: string;
  readonly uploader: { readonly role: "user" | "agent"; readonly userId: string };
  /**
   * The end user whose conversation the file is in, who may read it: the uploader, for a user's
   * file; for an agent's, the user it was first sent to (null until then).
   */
  readonly userId: string | null;
  /** When it was stored (Unix ms). */
  readonly at: number;
}

/**
 * Files sent with messages, per company, beside the log: the log records what a message
 * carried (`MessageSent.attachments`), the blob store the bytes. Files under `DATA_DIR` by
 * default (`adapters/blob/`); a PostgreSQL store, so that every node of a cluster serves every
 * file, is to come with `DATABASE_URL` behind this same port.
 */
export interface BlobStore {
  /** Stores a file; it is found (`info`, `open`) only once all of it is stored. */
  put(companyId: string, info: BlobInfo, bytes: Uint8Array): Promise<void>;
  /** A file's info, or null if the company has no such file. */
  info(companyId: string, id: string): Promise<BlobInfo | null>;
  /** A file's bytes, or null if the company has no such file. */
  open(companyId: string, id: string): Promise<ReadableStream<Uint8Array> | null>;
  /**
   * Puts a file into `userId`'s conversation if it is in nobody's yet (an agent's file, sent
   * for the first time). Resolves with its info after, or null if there is no such file or it
   * is in another user's conversation. Two calls for one file never both assign it.
   */
  assign(companyId: string, id: string, userId: string): Promise<BlobInfo | null>;
}

/** Carries deliveries to the sockets of one company. */
export interface Publisher {
  publish(companyId: string, deliveries: readonly Delivery[]): void;
}

/** Cancels a timer; calling it after the timer fired, or twice, does nothing. */
export type CancelTimer = () => void;

/**
 * The time, in Unix milliseconds, and timers that run by it. Whatever waits for a time (grace
 * periods, backoff, token expiry) asks the clock, so a test's clock can own every such wait.
 */
export interface Clock {
  now(): number;
  /** Runs `fn` once, `ms` from now (at once for 0 or less); returns what cancels it. */
  setTimer(fn: () => void, ms: number): CancelTimer;
}

/** Fresh unique ids. */
export interface Ids {
  next(): string;
}

/** The longest delay `setTimeout` holds (~24.8 days); callers re-check the time when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The machine's clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    return () => clearTimeout(timer);
  },
};

/** Random UUIDs. */
export const randomIds: Ids = { next: () => crypto.randomUUID() };

/*
 * Past one node (docs/design.md, "Cluster"): every node may write every company (the log's
 * expected-version check decides), and every node delivers to its own sockets from the log,
 * so nothing depends on a best-effort broadcast. The ports below are what that needs from
 * the log (a feed of where streams grew) and from the shared bus (Redis): ephemeral
 * deliveries, presence across nodes, node liveness and leases. One node needs none of them.
 */

/** A log that tells followers which streams grew, so each node can deliver from the log. */
export interface LogFeed {
  /**
   * Calls `moved(stream, version)` for streams that grew by appends committed after `follow`
   * was called (by any node), each with the stream's version as of some time after the append;
   * a stream may be reported more than once, never with a version that goes back for one
   * stream. No committed append is ever missed, even one whose writer died right after the
   * commit, or one that committed after a later one. Resolves once following has begun;
   * returns what stops it.
   */
  follow(moved: (stream: string, version: number) => void): Promise<() => Promise<void>>;
}

/** What the nodes of a cluster share besides the log (Redis). */
export interface ClusterBus {
  /** This node's name (`NODE_ID`). */
  readonly nodeId: string;
  /** Sends deliveries that no event carries (typing) to every other node's sockets. */
  broadcast(companyId: string, deliveries: readonly Delivery[]): void;
  /** Receives the other nodes' broadcasts; returns what stops it. */
  onBroadcast(handler: (companyId: string, deliveries: readonly Delivery[]) => void): () => void;
  /**
   * Another node's hint that a stream grew (sent after each append); a speed-up only, since
   * `LogFeed` is the authority. Returns what stops it.
   */
  onAppended(handler: (stream: string, version: number) => void): () => void;
  /** Says this node appended to `stream` up to `version` (best effort). */
  appended(stream: string, version: number): void;
}

/** Who holds a socket, as presence keys it: one identity of a company. */
export interface SocketHolder {
  readonly companyId: string;
  readonly role: "user" | "agent";
  readonly userId: string;
}

/**
 * Sockets per identity across the nodes that are alive. A node's sockets count until the
 * node closes them or is found dead (silent for `NODE_TIMEOUT_SECONDS`).
 */
export interface SharedPresence {
  /** Counts a socket of `holder` open on this node. */
  open(holder: SocketHolder, socketId: string): Promise<void>;
  /** Removes a socket of this node; resolves with the identity's sockets left on live nodes. */
  close(holder: SocketHolder, socketId: string): Promise<number>;
  /**
   * Takes the sockets of nodes found dead off the books, calling `gone` for each identity
   * left with no socket anywhere (with one of its dead sockets); an entry whose `gone`
   * rejected is kept for the next sweep. Returns how many identities went.
   */
  sweep(gone: (holder: SocketHolder, socketId: string) => Promise<void>): Promise<number>;
  /** How many nodes are alive now (this one included). */
  liveNodes(): Promise<number>;
}

/** Named leases, held by one node at a time until they lapse (one runner per company). */
export interface Leases {
  /** Takes `name` for `ttlMs`, or extends it if this node holds it; true if this node holds it. */
  hold(name: string, ttlMs: number): Promise<boolean>;
  /** Gives `name` up if this node holds it. */
  release(name: string): Promise<void>;
}
