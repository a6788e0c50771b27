/**
 * The chatbot hears back: lifecycle events POSTed to the company's webhook, signed with
 * HMAC-SHA256, each with a stable id. Driven from the log with a saved checkpoint, so
 * delivery is at least once and a restart resumes where it stopped; it runs beside the
 * actors and never holds up the chat path.
 */
import type { CompanyEvent, CompanyState, Settings } from "../domain/mod.ts";
import { decode } from "./codec.ts";
import type { CommitObserver } from "./company_actor.ts";
import type { Logger } from "./log.ts";
import type { EventStore, StoredEvent } from "./ports.ts";

/** The webhook event types. */
export type WebhookType =
  | "handoff.queued"
  | "conversation.assigned"
  | "conversation.transferred"
  | "conversation.resolved";

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

/** Loads every company and restarts the webhook deliveries a stop left unfinished. */
export async function recoverAll(
  system: { recover(): Promise<Map<string, CompanyState>> },
  webhooks: WebhookDispatcher,
): Promise<number> {
  const states = await system.recover();
  for (const [companyId, state] of states) if (state.settings.webhookUrl) webhooks.kick(companyId);
  return states.size;
}

/** What the dispatcher needs. */
export interface WebhookDeps {
  readonly store: EventStore;
  readonly log?: Logger;
  /** The company's current state (from its actor): settings and `webhookSince`. */
  readonly stateOf: (companyId: string) => CompanyState;
  readonly fetch?: typeof fetch;
  /** First retry delay in ms (doubles each attempt up to `maxDelayMs`). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** One attempt's time limit in ms. */
  readonly timeoutMs?: number;
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
      try {
        const res = await doFetch(settings.webhookUrl!, {
          method: "POST",
          headers,
          body: raw,
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
      if (!(await this.#wait(delay))) return false;
      delay = Math.min(delay * 2, this.deps.maxDelayMs ?? 60_000);
    }
  }

  #wait(ms: number): Promise<boolean> {
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
