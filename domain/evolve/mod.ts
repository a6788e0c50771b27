/**
 * `evolve`: how each event changes a company's state, and `fold` over many. Each event's
 * evolution is a small named function in the file of its concern.
 */
import { COPY, type Draft, foldDraft } from "../_draft.ts";
import { initialState } from "../state.ts";
import type { CompanyEvent, CompanyState } from "../types.ts";
import {
  conversationAssigned,
  conversationOpened,
  conversationQueued,
  conversationRated,
  conversationResolved,
  handedOff,
} from "./conversations.ts";
import { messageSent, messagesRead, noteAdded } from "./messages.ts";
import {
  agentStatusChanged,
  presenceReset,
  socketConnected,
  socketDisconnected,
} from "./presence.ts";
import { cannedResponsesSet, settingsChanged } from "./settings.ts";

/** Applies one event. Never validates, never throws; the given state is never changed. */
export function evolve(state: CompanyState, event: CompanyEvent): CompanyState {
  return evolveWith(state, event, COPY);
}

/** Folds events over a state (the initial one unless given); the given state is never changed. */
export function fold(events: Iterable<CompanyEvent>, state = initialState()): CompanyState {
  const draft = foldDraft();
  for (const event of events) state = evolveWith(state, event, draft);
  return state;
}

/** Applies one event, writing maps as `draft` allows. */
export function evolveWith(state: CompanyState, event: CompanyEvent, draft: Draft): CompanyState {
  switch (event.type) {
    case "SocketConnected":
      return socketConnected(state, event, draft);
    case "SocketDisconnected":
      return socketDisconnected(state, event, draft);
    case "AgentStatusChanged":
      return agentStatusChanged(state, event, draft);
    case "PresenceReset":
      return presenceReset(state, event);
    case "ConversationOpened":
      return conversationOpened(state, event, draft);
    case "HandedOff":
      return handedOff(state, event, draft);
    case "ConversationQueued":
      return conversationQueued(state, event, draft);
    case "ConversationAssigned":
    case "ConversationTransferred":
      return conversationAssigned(state, event, draft);
    case "ConversationResolved":
      return conversationResolved(state, event, draft);
    case "MessageSent":
      return messageSent(state, event, draft);
    case "MessagesRead":
      return messagesRead(state, event, draft);
    case "SettingsChanged":
      return settingsChanged(state, event);
    case "NoteAdded":
      return noteAdded(state, event);
    case "ConversationRated":
      return conversationRated(state, event, draft);
    case "CannedResponsesSet":
      return cannedResponsesSet(state, event);
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}
