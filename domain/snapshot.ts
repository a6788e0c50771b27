/**
 * A company's state as plain JSON and back, so a runtime can keep snapshots and recover
 * from one plus the events after it. Pure: the same state always gives the same JSON.
 */
import type { Agent, CompanyState, Conversation, SentRecord, Settings } from "./types.ts";

/** The snapshot format's version: a snapshot of another version is ignored (full replay). */
export const SNAPSHOT_VERSION = 1;

/** The JSON form of a state. */
export interface Snapshot {
  readonly v: number;
  readonly version: number;
  readonly settings: Settings;
  readonly users: [string, readonly string[]][];
  readonly agents: [string, Agent][];
  readonly conversations: [string, Conversation][];
  readonly queue: readonly string[];
  readonly webhookSince: number;
  readonly sent: [string, readonly SentRecord[]][];
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
    queue: state.queue,
    webhookSince: state.webhookSince,
    sent: [...state.sent],
  };
}

/** The state a snapshot holds, or null if it is of another format version. */
export function fromSnapshot(snapshot: Snapshot): CompanyState | null {
  if (snapshot.v !== SNAPSHOT_VERSION) return null;
  return {
    version: snapshot.version,
    settings: snapshot.settings,
    users: new Map(snapshot.users),
    agents: new Map(snapshot.agents),
    conversations: new Map(snapshot.conversations),
    queue: snapshot.queue,
    webhookSince: snapshot.webhookSince,
    sent: new Map(snapshot.sent),
  };
}
