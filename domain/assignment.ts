/**
 * The assignment engine: a `Plan` collects a decision's events, applying each to a working
 * state so later steps see them, and `drain` hands queued conversations to agents with room.
 */
import { evolve } from "./evolve/mod.ts";
import { isOnline, loadOf } from "./state.ts";
import { conversationView } from "./views.ts";
import type {
  CompanyEvent,
  CompanyState,
  Conversation,
  Decision,
  DecisionResult,
  ErrorCode,
} from "./types.ts";

/** Events decided so far, applied to a working state so later steps see them. */
export class Plan {
  readonly events: CompanyEvent[] = [];
  /** The state before each event, then after the last. */
  readonly states: CompanyState[];
  state: CompanyState;

  constructor(readonly before: CompanyState) {
    this.state = before;
    this.states = [before];
  }

  /** Records an event and applies it. */
  emit(event: CompanyEvent): this {
    this.events.push(event);
    this.state = evolve(this.state, event);
    this.states.push(this.state);
    return this;
  }

  /** The user's conversation as of the events so far (one must exist). */
  conversation(userId: string): Conversation {
    return this.state.conversations.get(userId)!;
  }

  /** The user's current conversation id, opening a new one if there is none or it was closed. */
  ensureConversation(userId: string, freshId: string, at: number): string {
    const existing = this.state.conversations.get(userId);
    if (existing) return existing.id;
    this.emit({ type: "ConversationOpened", at, data: { conversationId: freshId, userId } });
    return freshId;
  }

  /**
   * In auto mode, assigns queued conversations, first come first served, while an agent
   * has room. A released conversation never goes straight back to the agent who released it.
   */
  drain(at: number): this {
    if (this.state.settings.assignment !== "auto") return this;
    let assigned = true;
    while (assigned && pickAgent(this.state) !== undefined) {
      assigned = false;
      for (const userId of this.state.queue) {
        const agentId = pickAgent(this.state, this.conversation(userId).releasedBy);
        if (agentId === undefined) continue;
        const conversationId = this.conversation(userId).id;
        this.emit({
          type: "ConversationAssigned",
          at,
          data: { conversationId, userId, agentId, by: "auto" },
        });
        assigned = true;
        break;
      }
    }
    return this;
  }

  /** The decision: the events so far, and the answer for the command's ack if it has one. */
  done(result?: DecisionResult): Decision {
    return result === undefined
      ? { ok: true, events: this.events }
      : { ok: true, events: this.events, result };
  }

  /** The conversation of `userId` as agents see it after the events so far, as an ack's result. */
  conversationResult(userId: string): DecisionResult {
    const c = this.state.conversations.get(userId);
    return { kind: "conversation", conversation: c ? conversationView(this.state, c, true) : null };
  }
}

/** A refusal, as a decision. */
export function reject(code: ErrorCode, message: string): Decision {
  return { ok: false, rejection: { code, message } };
}

/**
 * The agent auto-assignment picks: connected, available, with room; the least loaded,
 * then the one assigned least recently, then by id so the choice is deterministic.
 */
export function pickAgent(state: CompanyState, avoid?: string | null): string | undefined {
  let best: { id: string; load: number; last: number } | undefined;
  for (const [id, agent] of state.agents) {
    if (id === avoid || !isOnline(agent) || agent.status !== "available") continue;
    const load = loadOf(state, id);
    if (load >= state.settings.maxChatsPerAgent) continue;
    const candidate = { id, load, last: agent.lastAssignedSeq };
    if (
      !best || load < best.load || (load === best.load && candidate.last < best.last) ||
      (load === best.load && candidate.last === best.last && id < best.id)
    ) best = candidate;
  }
  return best?.id;
}
