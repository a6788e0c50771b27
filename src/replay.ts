/**
 * Export and replay of a company's log. An export is NDJSON, one stored event a line
 * (docs/design.md §3), with secrets redacted. Replay folds it through the real `evolve` and
 * `deliveries` and says, event by event, what changed and who received what.
 */
import {
  type CompanyEvent,
  type CompanyState,
  deliveries,
  type Delivery,
  evolve,
  fold,
  fromSnapshot,
  initialState,
  type Snapshot,
  toSnapshot,
} from "../domain/mod.ts";
import { decode, eventOf } from "./codec.ts";
import type { EventLog, SnapshotStore, StoredEvent } from "./ports.ts";

/** What secrets become in an export. */
export const REDACTED = "[redacted]";

/** One export line: the stored event (decoded: see `decode`), with the webhook secret redacted. */
export function exportLine(e: StoredEvent): string {
  const data = e.type === "SettingsChanged" && (e.data as Record<string, unknown>).webhookSecret
    ? { ...(e.data as Record<string, unknown>), webhookSecret: REDACTED }
    : e.data;
  return JSON.stringify({ seq: e.seq, type: e.type, at: e.at, v: e.v, data });
}

/** Parses an export; a bad line is an error naming its number. Events come out upcast. */
export function parseExport(text: string): StoredEvent<CompanyEvent>[] {
  const out: StoredEvent<CompanyEvent>[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let e: StoredEvent;
    try {
      e = JSON.parse(line);
    } catch {
      throw new Error(`Line ${i + 1} is not JSON`);
    }
    if (typeof e?.seq !== "number" || typeof e.type !== "string" || typeof e.at !== "number") {
      throw new Error(`Line ${i + 1} is not an event: it needs seq, type, at, v and data`);
    }
    const expected = (out.at(-1)?.seq ?? e.seq - 1) + 1;
    if (e.seq !== expected) {
      throw new Error(`Line ${i + 1}: seq ${e.seq} where ${expected} was expected`);
    }
    out.push(decode({ ...e, v: e.v ?? 1 }));
  });
  return out;
}

/** One replayed event: what it changed, and who received what. */
export interface Step {
  readonly event: StoredEvent<CompanyEvent>;
  readonly changes: string[];
  readonly deliveries: Delivery[];
}

/** Folds events (from the start of the log) up to `until`, recording each step. */
export function replay(
  events: readonly StoredEvent<CompanyEvent>[],
  options: { until?: number } = {},
): { state: CompanyState; steps: Step[] } {
  let state = initialState();
  const steps: Step[] = [];
  for (const event of events) {
    if (options.until !== undefined && event.seq > options.until) break;
    const e = eventOf(event);
    const out = deliveries(state, e);
    const next = evolve(state, e);
    steps.push({ event, changes: changes(state, next), deliveries: out });
    state = next;
  }
  return { state, steps };
}

/**
 * The changes that matter: conversation status and assignee, ratings, queue, presence, canned
 * responses, settings.
 */
export function changes(before: CompanyState, after: CompanyState): string[] {
  const out: string[] = [];
  // A closed conversation leaves the open ones: it is kept as the user's last closed one.
  for (const [userId, was] of before.conversations) {
    if (after.conversations.has(userId)) continue;
    const closed = after.closed.get(userId)?.conversation;
    out.push(`${userId}: ${was.status} → ${closed?.id === was.id ? closed.status : "closed"}`);
  }
  for (const [userId, c] of after.conversations) {
    const was = before.conversations.get(userId);
    if (!was || was.id !== c.id) out.push(`conversation ${c.id} of ${userId} opened (${c.status})`);
    else if (was.status !== c.status || was.assignee !== c.assignee) {
      out.push(
        `${userId}: ${was.status} → ${c.status}${c.assignee ? ` (assignee ${c.assignee})` : ""}`,
      );
    }
  }
  if ([...before.queue].join() !== [...after.queue].join()) {
    out.push(`queue [${[...after.queue].join(", ")}]`);
  }
  for (const [id, a] of after.agents) {
    const was = before.agents.get(id);
    const online = a.sockets.length > 0;
    if ((was?.sockets.length ?? 0) > 0 !== online) {
      out.push(`agent ${id} ${online ? "online" : "offline"}`);
    }
    if (was && was.status !== a.status) out.push(`agent ${id} ${a.status}`);
  }
  for (const id of new Set([...before.users.keys(), ...after.users.keys()])) {
    if (before.users.has(id) !== after.users.has(id)) {
      out.push(`user ${id} ${after.users.has(id) ? "online" : "offline"}`);
    }
  }
  for (const [userId, c] of after.conversations) {
    const was = before.conversations.get(userId);
    if (c.rating && was?.rating !== c.rating) out.push(`${userId} rated ${c.rating.score}`);
  }
  // The closed ones are a persistent map: the same map when none of them changed.
  for (const [userId, { conversation: c }] of before.closed === after.closed ? [] : after.closed) {
    const was = before.closed.get(userId)?.conversation;
    if (c.rating && was?.rating !== c.rating) out.push(`${userId} rated ${c.rating.score}`);
  }
  if (before.cannedResponses !== after.cannedResponses) {
    out.push(`canned responses (${after.cannedResponses.length})`);
  }
  if (before.settings !== after.settings) {
    const changed = Object.keys(after.settings).filter((k) =>
      after.settings[k as keyof typeof after.settings] !==
        before.settings[k as keyof typeof before.settings]
    );
    out.push(`settings ${changed.join(", ")}`);
  }
  return out;
}

/** Whether a step concerns a user (its event or one of its deliveries names them). */
export function concerns(step: Step, userId: string): boolean {
  const data = step.event.data as Record<string, unknown>;
  return data.userId === userId || data.agentId === userId ||
    step.deliveries.some((d) =>
      (d.to.kind === "user" || d.to.kind === "agent") && d.to.userId === userId
    );
}

/** A delivery's audience in words. */
export function audience(d: Delivery): string {
  switch (d.to.kind) {
    case "agents":
      return "all agents";
    case "users":
      return "all users";
    case "socket":
      return `socket ${d.to.socketId}`;
    default:
      return `${d.to.kind} ${d.to.userId}`;
  }
}

/** The company's state as the engine would load it: its latest snapshot plus the tail. */
export async function liveState(
  store: EventLog & SnapshotStore,
  companyId: string,
): Promise<CompanyState> {
  const kept = await store.loadSnapshot(companyId);
  let state = (kept && fromSnapshot(kept.snapshot as Snapshot)) ?? initialState();
  const tail: CompanyEvent[] = [];
  for await (const e of store.read(companyId, { after: state.version })) {
    tail.push(eventOf(decode(e)));
  }
  state = fold(tail, state);
  return state;
}

/**
 * The company's state folded from the first event of its log, no snapshot used (at most
 * `upTo` events): what a copy of the log must rebuild.
 */
export async function foldLog(
  log: EventLog,
  companyId: string,
  { upTo }: { upTo?: number } = {},
): Promise<CompanyState> {
  let state = initialState();
  let chunk: CompanyEvent[] = [];
  // Folded a chunk at a time: one fold copies the state's maps once for all its events.
  for await (const e of log.read(companyId, { limit: upTo })) {
    chunk.push(eventOf(decode(e)));
    if (chunk.length === 1000) [state, chunk] = [fold(chunk, state), []];
  }
  return fold(chunk, state);
}

/** The parts of two states that differ (secrets compared redacted), as readable lines. */
export function differences(replayed: CompanyState, live: CompanyState): string[] {
  const a = comparable(replayed);
  const b = comparable(live);
  const out: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = JSON.stringify(a[key]);
    const y = JSON.stringify(b[key]);
    if (x !== y) out.push(`${key}: replayed ${truncate(x)} but live ${truncate(y)}`);
  }
  return out;
}

function comparable(state: CompanyState): Record<string, unknown> {
  const s = toSnapshot(state) as unknown as Record<string, unknown>;
  const settings = s.settings as Record<string, unknown>;
  return {
    ...s,
    settings: { ...settings, webhookSecret: settings.webhookSecret ? REDACTED : null },
  };
}

function truncate(s: string | undefined): string {
  return s === undefined ? "nothing" : s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
