/** What the Socket.IO edge is built from. */
import type { NodeShare } from "../../src/rate_limit.ts";
import type { ActorSystem } from "../../src/company_actor.ts";
import type { JwtVerifier } from "../../src/auth.ts";
import type { Logger } from "../../src/log.ts";
import type { Metrics } from "../../src/metrics.ts";
import type { TrustProxy } from "../../src/net_address.ts";
import type {
  BlobStore,
  Clock,
  EventLog,
  HistoryIndex,
  Ids,
  SharedPresence,
} from "../../src/ports.ts";
import type { SocketIoPublisher } from "./publisher.ts";

/** What the socket server needs. */
export interface SocketDeps {
  readonly system: Pick<ActorSystem, "dispatch" | "actor">;
  readonly store: EventLog & HistoryIndex;
  readonly publisher: SocketIoPublisher;
  readonly verifier: JwtVerifier;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly log: Logger;
  readonly corsOrigins?: readonly string[] | "*";
  /** The longest message content, in characters (default 4000). */
  readonly maxMessageLength?: number;
  /**
   * Client events per second per socket; connection attempts per second per client address
   * without a valid token, and per user with one.
   */
  readonly socketRate?: number;
  readonly connectRate?: number;
  /** Past one node: this node's share of the per-address and per-company limits. */
  readonly share?: NodeShare;
  /** Which peers' `X-Forwarded-For` names the client (0 or unset: nobody's). */
  readonly trustProxy?: TrustProxy;
  /** The first wait before recording again a presence the store refused (default 1000 ms). */
  readonly presenceRetryMs?: number;
  readonly metrics?: Metrics;
  /** Sockets per user (or agent) per company; one more closes the oldest (default 10). */
  readonly maxSocketsPerUser?: number;
  /** The most events a resume replays (default `RESUME_WINDOW`); past it, `resync_required`. */
  readonly resumeWindow?: number;
  /** Replayed events per second per company (default `RESUME_RATE`); past it, a resync. */
  readonly resumeRate?: number;
  /** Presence's delays (tests); its timers are the clock's. */
  readonly presenceTiming?: { flapWindowMs?: number; offlineDelayMs?: number };
  /** Past one node: sockets counted across the nodes. */
  readonly sharedPresence?: SharedPresence;
  /** Registers what counts this node's sockets again when the shared books lost them. */
  readonly onSharedPresenceLost?: (reopen: () => void) => void;
  /** Where attachments are stored; without it, a message naming one is answered `not_found`. */
  readonly blobs?: BlobStore;
}
