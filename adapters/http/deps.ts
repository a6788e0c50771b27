/** What the HTTP app needs, and what its middleware hands the routes. */
import type { NodeShare } from "../../src/rate_limit.ts";
import type { ActorSystem } from "../../src/company_actor.ts";
import type { JwtVerifier, Principal } from "../../src/auth.ts";
import type { Logger } from "../../src/log.ts";
import type { Metrics } from "../../src/metrics.ts";
import type { TrustProxy } from "../../src/net_address.ts";
import type {
  BlobStore,
  CheckpointStore,
  Clock,
  EventLog,
  HistoryIndex,
  Ids,
} from "../../src/ports.ts";
import type { StoreHealth } from "../../src/store_health.ts";

/** What the HTTP app needs. */
export interface HttpDeps {
  readonly system: Pick<ActorSystem, "dispatch" | "actor">;
  readonly store: EventLog & HistoryIndex & CheckpointStore;
  readonly verifier: JwtVerifier;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly log: Logger;
  /** Origins allowed by CORS: `*` or a list. */
  readonly corsOrigins?: readonly string[] | "*";
  /** The folder of the pages; `static/` beside the project root by default. */
  readonly staticDir?: string;
  /** The largest request body, in bytes (default 32 KiB). */
  readonly maxBodyBytes?: number;
  /**
   * API requests per second per client address without a valid token, and per identity with
   * one (0 or unset: unlimited).
   */
  readonly httpRate?: number;
  /** Past one node: this node's share of the limits (see `NodeShare`). */
  readonly share?: NodeShare;
  /** Which peers' `X-Forwarded-For` names the client (0 or unset: nobody's). */
  readonly trustProxy?: TrustProxy;
  readonly metrics?: Metrics;
  /** Whether the store takes writes; `/readyz` answers 503 while it does not. */
  readonly health?: StoreHealth;
  /** Accepts webhook URLs on loopback and private addresses (tests, local development). */
  readonly webhookAllowPrivate?: boolean;
  /** Where attachments are stored (in memory when not given). */
  readonly blobs?: BlobStore;
  /** The largest attachment, in bytes (default `DEFAULT_MAX_ATTACHMENT_BYTES`, 10 MiB). */
  readonly maxAttachmentBytes?: number;
  /**
   * Mints demo tokens; given only when the server runs on its generated development secret,
   * so a configured deployment never hands out tokens.
   */
  readonly demo?: (
    claims: { company_id: string; user_id: string; role: string },
  ) => Promise<string>;
}

/** The app's variables: set by its middleware, read by the routes. */
export interface HttpEnv {
  Variables: {
    /** The caller, set by `authenticate` on the routes that need a token. */
    principal: Principal;
    /** The request's id (the caller's `X-Request-Id` when it sent a usable one). */
    requestId: string;
    /** The token's verification, started once (by the rate limiter or `authenticate`). */
    verification: Promise<Principal>;
  };
}
