/** What the Socket.IO edge is built from. */
import type { ActorSystem } from "../../src/company_actor.ts";
import type { JwtVerifier } from "../../src/auth.ts";
import type { Logger } from "../../src/log.ts";
import type { Metrics } from "../../src/metrics.ts";
import type { TrustProxy } from "../../src/net_address.ts";
import type { BlobStore, Clock, EventLog, HistoryIndex, Ids } from "../../src/ports.ts";
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
  /** Where attachments are stored; without it, a message naming one is answered `not_found`. */
  readonly blobs?: BlobStore;
}
