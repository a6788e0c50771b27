/**
 * A company's state as plain JSON and back, so a runtime can keep snapshots and recover
 * from one plus the events after it. Pure: the same state always gives the same JSON.
 */
import { PMap } from "./_pmap.ts";
import { PQueue } from "./_pqueue.ts";
import { countLoads, isAvailable, seqKey } from "./state.ts";
import type {
  Agent,
  CannedResponse,
  Closed,
  CompanyState,
  Conversation,
  SentAge,
  SentRecord,
  Settings,
} from "./types.ts";

/**
 * The snapshot format's version: a snapshot of another version is ignored (full replay).
 * 2: only open conversations, client ids of the last day with their times.
 * 3: conversations with the seq they were opened at; each user's last closed one, for a day.
 * 4: the queue as `[userId, key]`, first to last (keys order it; the next keys follow them).
 *    Later additions that an older snapshot simply lacks are read with their empty value, so
 *    they need no new version: the canned responses (none), a conversation's read mark,
 *    resolver and rating (absent).
 */
export const SNAPSHOT_VERSION = 4;

/** The JSON form of a state. */
export interface Snapshot {
  readonly v: number;
  readonly version: number;
  readonly settings: Settings;
  readonly users: [string, readonly string[]][];
  readonly agents: [string, Agent][];
  readonly conversations: [string, Conversation][];
  readonly queue: readonly [string, number][];
  readonly webhookSince: number;
  readonly sent: [string, readonly SentRecord[]][];
  readonly sentOrder: [string, SentAge][];
  readonly closed: [string, Closed][];
  /** Absent in snapshots written before canned responses existed. */
  readonly cannedResponses?: readonly CannedResponse[];
}

/** The snapshot of a state. */
export function toSnapshot(state: CompanyState): Snapshot {
  return {
    v: SNAPSHOT_VERSION,
    version: state.version,
    settings: state.settings,
    users: [...state.users],
    agents: [...state.agents],
    conversations: [...state.conversations],
    queue: state.queue.entries(),
    webhookSince: state.webhookSince,
    sent: [...state.sent],
    sentOrder: [...state.sentOrder],
    closed: [...state.closed],
    cannedResponses: state.cannedResponses,
  };
}

/** The state a snapshot holds, or null if it is of another format version. */
export function fromSnapshot(snapshot: Snapshot): CompanyState | null {
  if (snapshot.v !== SNAPSHOT_VERSION) return null;
  const agents = new Map(snapshot.agents);
  let onlineAgents = 0;
  let availableAgents = 0;
  for (const agent of agents.values()) {
    if (agent.sockets.length > 0) onlineAgents++;
    if (isAvailable(agent)) availableAgents++;
  }
  return {
    version: snapshot.version,
    settings: snapshot.settings,
    users: new Map(snapshot.users),
    agents,
    onlineAgents,
    availableAgents,
    conversations: PMap.from(snapshot.conversations),
    queue: PQueue.from(snapshot.queue),
    loads: countLoads(snapshot.conversations.map(([, c]) => c)),
    webhookSince: snapshot.webhookSince,
    sent: PMap.from(snapshot.sent),
    sentOrder: PMap.from(snapshot.sentOrder),
    closed: PMap.from(snapshot.closed),
    closedOrder: PMap.from(snapshot.closed.map(([userId, c]) => [seqKey(c.seq), userId])),
    cannedResponses: snapshot.cannedResponses ?? [],
  };
}
