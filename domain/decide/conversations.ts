/**
 * Conversation lifecycle decisions: the bot hands a user over; agents claim, transfer,
 * release and resolve. Each answers with the conversation as agents see it afterwards.
 */
import { type Plan, reject } from "../assignment.ts";
import {
  currentConversation,
  hasRoom,
  isOnline,
  openConversation,
  resolvedConversation,
} from "../state.ts";
import { conversationView } from "../views.ts";
import type { CommandOf, Decision } from "../types.ts";

/** The bot hands a user over with its context; a conversation with the bot is queued. */
export function transferToAgent(
  plan: Plan,
  data: CommandOf<"TransferToAgent">["data"],
): Decision {
  const { userId, context, at } = data;
  const conversationId = plan.ensureConversation(userId, data.conversationId, at);
  plan.emit({ type: "HandedOff", at, data: { conversationId, userId, context } });
  if (plan.conversation(userId).status !== "bot") return plan.done();
  return plan.emit({
    type: "ConversationQueued",
    at,
    data: { conversationId, userId, reason: "handoff" },
  }).drain(at).done();
}

/** An agent with room takes a waiting conversation; taking one's own again changes nothing. */
export function claim(plan: Plan, data: CommandOf<"Claim">["data"]): Decision {
  const { agentId, userId, at } = data;
  const conversation = openConversation(plan.state, userId);
  if (!conversation) return reject("not_found", `No open conversation with user '${userId}'`);
  if (conversation.assignee === agentId) return plan.done(plan.conversationResult(userId));
  if (conversation.status === "assigned") {
    return reject("conflict", "Another agent has already taken this conversation");
  }
  if (!hasRoom(plan.state, agentId)) return reject("conflict", "You are at your chat capacity");
  return plan.emit({
    type: "ConversationAssigned",
    at,
    data: { conversationId: conversation.id, userId, agentId, by: "claim" },
  }).done(plan.conversationResult(userId));
}

/**
 * The assignee hands the conversation to another online agent with room; a note given with it
 * is also recorded as a private note, so the receiving agent (every agent) is shown it.
 */
export function transfer(plan: Plan, data: CommandOf<"Transfer">["data"]): Decision {
  const { agentId, userId, toAgentId, note, noteId, at } = data;
  const state = plan.state;
  const conversation = openConversation(state, userId);
  if (!conversation) return reject("not_found", `No open conversation with user '${userId}'`);
  if (conversation.assignee !== agentId) {
    return reject("forbidden", "Only the assigned agent can transfer a conversation");
  }
  if (toAgentId === agentId) return reject("invalid_payload", "Transfer to another agent");
  if (!isOnline(state.agents.get(toAgentId))) {
    return reject("not_found", `Agent '${toAgentId}' is not online`);
  }
  if (!hasRoom(state, toAgentId)) {
    return reject("conflict", `Agent '${toAgentId}' is at capacity`);
  }
  const conversationId = conversation.id;
  plan.emit({
    type: "ConversationTransferred",
    at,
    data: { conversationId, userId, fromAgentId: agentId, toAgentId, note },
  });
  if (note.trim() !== "" && noteId !== undefined) {
    plan.emit({
      type: "NoteAdded",
      at,
      data: { noteId, conversationId, userId, agentId, text: note, toAgentId },
    });
  }
  return plan.drain(at).done(plan.conversationResult(userId));
}

/** The assignee puts the conversation back at the front of the queue. */
export function release(plan: Plan, data: CommandOf<"Release">["data"]): Decision {
  const { agentId, userId, at } = data;
  const conversation = openConversation(plan.state, userId);
  if (!conversation) return reject("not_found", `No open conversation with user '${userId}'`);
  if (conversation.assignee !== agentId) {
    return reject("forbidden", "Only the assigned agent can release a conversation");
  }
  return plan.emit({
    type: "ConversationQueued",
    at,
    data: { conversationId: conversation.id, userId, reason: "released", agentId },
  }).drain(at).done(plan.conversationResult(userId));
}

/** The assignee (or any agent, for a waiting conversation) resolves it. */
export function resolve(plan: Plan, data: CommandOf<"Resolve">["data"]): Decision {
  const { agentId, userId, returnToBot, at } = data;
  const conversation = openConversation(plan.state, userId);
  if (!conversation) return reject("not_found", `No open conversation with user '${userId}'`);
  if (conversation.status === "assigned" && conversation.assignee !== agentId) {
    return reject("forbidden", "Only the assigned agent can resolve this conversation");
  }
  plan.emit({
    type: "ConversationResolved",
    at,
    data: { conversationId: conversation.id, userId, agentId, returnToBot },
  }).drain(at);
  if (returnToBot) return plan.done(plan.conversationResult(userId));
  // A closed conversation left the state: answer with it as it was closed.
  const closed = resolvedConversation(conversation);
  return plan.done({
    kind: "conversation",
    conversation: conversationView(plan.state, closed, true),
  });
}

/** The highest and lowest scores of a rating. */
export const MIN_SCORE = 1;
export const MAX_SCORE = 5;

/**
 * The user rates their conversation (the open one, or the one closed last while it is kept),
 * once, after an agent resolved it.
 */
export function rate(plan: Plan, data: CommandOf<"Rate">["data"]): Decision {
  const { userId, score, at } = data;
  if (!Number.isInteger(score) || score < MIN_SCORE || score > MAX_SCORE) {
    return reject("invalid_payload", `A score is a whole number from ${MIN_SCORE} to ${MAX_SCORE}`);
  }
  const conversation = currentConversation(plan.state, userId);
  if (!conversation) return reject("not_found", "No conversation to rate");
  if (conversation.resolvedBy === undefined) {
    return reject("conflict", "A conversation can be rated once an agent has resolved it");
  }
  if (conversation.rating) return reject("conflict", "This conversation is already rated");
  const comment = data.comment?.trim() ? data.comment : null;
  return plan.emit({
    type: "ConversationRated",
    at,
    data: {
      conversationId: conversation.id,
      userId,
      agentId: conversation.resolvedBy,
      score,
      comment,
    },
  }).done();
}
