/**
 * The chatbot hears back: lifecycle events (and users' ratings) POSTed to the company's
 * webhook, signed with HMAC-SHA256, each with a stable id. Driven from the log with a saved checkpoint, so
 * delivery is at least once and a restart resumes where it stopped; it runs beside the
 * actors and never holds up the chat path.
 */
import type { CompanyEvent, CompanyState, Settings } from "../domain/mod.ts";
import { decode } from "./codec.ts";
import type { CommitObserver } from "./company_actor.ts";
import type { Logger } from "./log.ts";
import {
  type CheckpointStore,
  type Clock,
  type EventLog,
  type StoredEvent,
  systemClock,
} from "./ports.ts";
import { isPublicAddress, parseIp } from "./net_address.ts";

/** The webhook event types. */
export type WebhookType =
  | "handoff.queued"
  | "conversation.assigned"
  | "conversation.transferred"
  | "conversation.resolved"
  | "conversation.rated";

/** The JSON body of one webhook call. */
export interface WebhookBody {
  readonly id: string;
  readonly type: WebhookType;
  readonly company_id: string;
  readonly user_id: string;
  readonly conversation_id: string;
  readonly at: number;
  readonly data: Record<string, unknown>;
}

/** The webhook body for a stored event, or null if the event is not announced. */
export function webhookBody(companyId: string, e: StoredEvent<CompanyEvent>): WebhookBody | null {
  const base = (type: WebhookType, d: { userId: string; conversationId: string }) => ({
    id: webhookId(companyId, e.seq),
    type,
    company_id: companyId,
    user_id: d.userId,
    conversation_id: d.conversationId,
    at: e.at,
  });
  switch (e.type) {
    case "ConversationQueued":
      return {
        ...base("handoff.queued", e.data),
        data: { reason: e.data.reason, ...(e.data.agentId ? { agent_id: e.data.agentId } : {}) },
      };
    case "ConversationAssigned":
      return {
        ...base("conversation.assigned", e.data),
        data: { agent_id: e.data.agentId, by: e.data.by },
      };
    case "ConversationTransferred":
      return {
        ...base("conversation.transferred", e.data),
        data: {
          from_agent_id: e.data.fromAgentId,
          to_agent_id: e.data.toAgentId,
          note: e.data.note,
        },
      };
    case "ConversationResolved":
      return {
        ...base("conversation.resolved", e.data),
        data: { agent_id: e.data.agentId, return_to_bot: e.data.returnToBot },
      };
    case "ConversationRated":
      return {
        ...base("conversation.rated", e.data),
        data: { agent_id: e.data.agentId, score: e.data.score, comment: e.data.comment },
      };
    default:
      return null;
  }
}

/** The stable id of the webhook call for event `seq` of a company. */
export function webhookId(companyId: string, seq: number): string {
  return `evt_${encodeURIComponent(companyId)}_${seq}`;
}

/** `sha256=<hex>`: the HMAC-SHA256 of `body` with `secret`. */
export async function sign(secret: string, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [
      "sign",
    ],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(body)));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Loads the companies with work due (the store's due-work index) and restarts the webhook
 * deliveries a stop left unfinished; returns how many companies it loaded.
 */
export async function recoverAll(
  system: { recover(): Promise<Map<string, CompanyState>> },
  webhooks: WebhookDispatcher,
): Promise<number> {
  const states = await system.recover();
  for (const [companyId, state] of states) if (state.settings.webhookUrl) webhooks.kick(companyId);
  return states.size;
}

// Names that reach the machine itself or a cloud's metadata service without DNS.
const INTERNAL_NAMES =
  /^(localhost|.+\.localhost|metadata|metadata\.google\.internal|metadata\.goog)$/;

const INTERNAL = "points at a loopback, private, link-local or metadata address";

/**
 * Why the webhook URL may not be called, judged without DNS (an IP literal, `localhost`,
 * a metadata name, a scheme other than http(s)), or null if it may.
 */
export function webhookTargetProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return "must be an http(s) URL";
  // The URL parser has already turned 2130706433, 0x7f.1 and the like into dotted form.
  const host = parsed.hostname.replace(/\.$/, "").toLowerCase();
  if (INTERNAL_NAMES.test(host)) return INTERNAL;
  if (parseIp(host) && !isPublicAddress(host)) return INTERNAL;
  return null;
}

/** A host's addresses (A and AAAA records). */
export type ResolveHost = (host: string) => Promise<string[]>;

/** Both record types through `Deno.resolveDns`; throws only if neither lookup answers. */
export async function resolveHost(host: string): Promise<string[]> {
  const lookups = await Promise.allSettled([
    Deno.resolveDns(host, "A"),
    Deno.resolveDns(host, "AAAA"),
  ]);
  const found = lookups.flatMap((l) => (l.status === "fulfilled" ? l.value : []));
  if (found.length === 0 && lookups[0].status === "rejected") throw lookups[0].reason;
  return found;
}

/**
 * Why the webhook URL may not be called now: `webhookTargetProblem`, or its host resolving
 * to any address that is not public. Null if it may.
 */
export async function checkWebhookTarget(
  url: string,
  resolve: ResolveHost = resolveHost,
): Promise<string | null> {
  const problem = webhookTargetProblem(url);
  if (problem) return problem;
  const host = new URL(url).hostname.replace(/\.$/, "");
  if (parseIp(host)) return null;
  const addresses = await resolve(host);
  if (addresses.length === 0) return "does not resolve to any address";
  const internal = addresses.find((a) => !isPublicAddress(a));
  return internal === undefined ? null : `resolves to ${internal}, which is not a public address`;
}

/** What the dispatcher needs. */
export interface WebhookDeps {
  readonly store: EventLog & CheckpointStore;
  readonly log?: Logger;
  /** The company's current state (from its actor): settings and `webhookSince`. */
  readonly stateOf: (companyId: string) => CompanyState;
  readonly fetch?: typeof fetch;
  /** Times the waits between attempts (the system clock by default). */
  readonly clock?: Clock;
  /** First retry delay in ms (doubles each attempt up to `maxDelayMs`). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** One attempt's time limit in ms. */
  readonly timeoutMs?: number;
  /** Lets webhooks reach loopback and private addresses (tests, local development). */
  readonly allowPrivate?: boolean;
  /** Looks a webhook host up before each attempt (`Deno.resolveDns` by default). */
  readonly resolveHost?: ResolveHost;
}

/** Delivers each company's lifecycle events in order, retrying with backoff until accepted. */
export class WebhookDispatcher implements CommitObserver {
  readonly #running = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  readonly #stop = new AbortController();
  #backlog = 0;

  constructor(readonly deps: WebhookDeps) {}

  /** Events committed but not yet delivered or skipped, across companies (an estimate). */
  get backlog(): number {
    return this.#backlog;
  }

  committed(
    companyId: string,
    events: readonly StoredEvent<CompanyEvent>[],
    state: CompanyState,
  ): void {
    if (!state.settings.webhookUrl && !this.#running.has(companyId)) return;
    if (!events.some((e) => webhookBody(companyId, e))) return;
    this.kick(companyId);
  }

  /** This node became the company's runner: deliveries an earlier runner left go on here. */
  running(companyId: string, state: CompanyState): void {
    this.backlogged(companyId, state).catch((error) =>
      this.deps.log?.warn("webhook.resume_failed", { company: companyId, error: String(error) })
    );
  }

  /**
   * Whether the company has webhook work left, which keeps its actor in memory: a delivery
   * loop running, or, with a URL set, a checkpoint behind `state.version` (a loop is then
   * started to catch it up).
   */
  async backlogged(companyId: string, state: CompanyState): Promise<boolean> {
    if (this.#running.has(companyId)) return true;
    if (!state.settings.webhookUrl) return false;
    if ((await this.deps.store.checkpoint(`webhooks:${companyId}`)) >= state.version) return false;
    this.kick(companyId);
    return true;
  }

  /** Starts (or re-runs) a company's delivery loop. */
  kick(companyId: string): void {
    if (this.#stop.signal.aborted) return;
    if (this.#running.has(companyId)) {
      this.#again.add(companyId);
      return;
    }
    const run = this.#deliver(companyId)
      .catch((error) =>
        this.deps.log?.error("webhook.loop_failed", { company: companyId, error: String(error) })
      )
      .finally(() => {
        this.#running.delete(companyId);
        if (this.#again.delete(companyId)) this.kick(companyId);
      });
    this.#running.set(companyId, run);
  }

  /** Stops retrying; resolves when every loop has ended. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#running.values());
  }

  async #deliver(companyId: string): Promise<void> {
    const { store } = this.deps;
    const checkpoint = `webhooks:${companyId}`;
    const saved = await store.checkpoint(checkpoint);
    let cursor = saved;
    try {
      for await (const event of store.read(companyId, { after: cursor })) {
        if (this.#stop.signal.aborted) return;
        const body = webhookBody(companyId, decode(event));
        if (body && this.#target(companyId, event.seq)) {
          this.#backlog++;
          try {
            if (!(await this.#send(companyId, event.seq, body))) return;
          } finally {
            this.#backlog--;
          }
          await store.saveCheckpoint(checkpoint, event.seq);
        }
        cursor = event.seq;
      }
    } finally {
      if (cursor > saved) await store.saveCheckpoint(checkpoint, cursor);
    }
  }

  /** The settings to announce event `seq` with, or null if it is not to be announced. */
  #target(companyId: string, seq: number): Settings | null {
    const { settings, webhookSince } = this.deps.stateOf(companyId);
    // Events from before the webhook URL was (re)configured are not announced to it.
    return settings.webhookUrl && seq > webhookSince ? settings : null;
  }

  /** POSTs until a 2xx answer; false if stopped first. Each attempt reads the settings anew. */
  async #send(companyId: string, seq: number, body: WebhookBody): Promise<boolean> {
    const raw = JSON.stringify(body);
    const doFetch = this.deps.fetch ?? fetch;
    let delay = this.deps.baseDelayMs ?? 500;
    for (let attempt = 1;; attempt++) {
      const settings = this.#target(companyId, seq);
      if (!settings) return true; // the URL changed or was removed: nothing left to send
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "x-event-id": body.id,
        "user-agent": "live-chat-engine-webhooks",
      };
      if (settings.webhookSecret) headers["x-signature"] = await sign(settings.webhookSecret, raw);
      if (await this.#reachable(settings.webhookUrl!, body.id, attempt)) {
        try {
          const res = await doFetch(settings.webhookUrl!, {
            method: "POST",
            headers,
            body: raw,
            // A redirect could lead anywhere, an internal address included: it counts as a failure.
            redirect: "manual",
            signal: AbortSignal.any([
              this.#stop.signal,
              AbortSignal.timeout(this.deps.timeoutMs ?? 10_000),
            ]),
          });
          await res.body?.cancel();
          if (res.ok) return true;
          // A 4xx other than a timeout or a rate limit will not change on retry: retrying it
          // forever would hold back every later event of the company.
          if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
            this.deps.log?.error("webhook.dropped", { id: body.id, status: res.status, attempt });
            return true;
          }
          this.deps.log?.warn("webhook.rejected", { id: body.id, status: res.status, attempt });
        } catch (error) {
          if (this.#stop.signal.aborted) return false;
          this.deps.log?.warn("webhook.failed", { id: body.id, error: String(error), attempt });
        }
      }
      if (!(await this.#wait(delay))) return false;
      delay = Math.min(delay * 2, this.deps.maxDelayMs ?? 60_000);
    }
  }

  /**
   * Whether the URL may be called now; checked at each attempt, since a name may resolve
   * elsewhere now than when it was set. A refusal counts as a failed attempt.
   */
  async #reachable(url: string, id: string, attempt: number): Promise<boolean> {
    if (this.deps.allowPrivate) return true;
    try {
      const refused = await checkWebhookTarget(url, this.deps.resolveHost);
      if (refused === null) return true;
      this.deps.log?.warn("webhook.refused_target", {
        id,
        reason: `'webhook_url' ${refused}`,
        attempt,
      });
    } catch (error) {
      this.deps.log?.warn("webhook.failed", { id, error: String(error), attempt });
    }
    return false;
  }

  #wait(ms: number): Promise<boolean> {
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const cancel = (this.deps.clock ?? systemClock).setTimer(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        cancel();
        resolve(false);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
