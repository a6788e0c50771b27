/**
 * `decide`: what a command does to a company, as events to record or a rejection. Each
 * command's decision is a small named function in the file of its concern.
 *
 * Every lifecycle transition is an event decided here, so a rule holds wherever the
 * command came from: the queue drains whenever an agent has room (auto mode), a
 * conversation is queued or assigned but never both, and no agent exceeds capacity.
 */
import { Plan } from "../assignment.ts";
import type { CompanyCommand, CompanyState, Decision } from "../types.ts";
import { claim, rate, release, resolve, transfer, transferToAgent } from "./conversations.ts";
import { addNote, markRead, postTranscript, sendMessage, typing } from "./messages.ts";
import { connect, disconnect, resetPresence, setAgentStatus } from "./presence.ts";
import { changeSettings, setCannedResponses } from "./settings.ts";
import { expireGrace } from "./timers.ts";

/** Decides what a command does to a company: events to record, or a rejection. */
export function decide(state: CompanyState, command: CompanyCommand): Decision {
  return decideWith(new Plan(state), command);
}

/** Decides into `plan`, which keeps the states its events pass through. */
export function decideWith(plan: Plan, command: CompanyCommand): Decision {
  switch (command.type) {
    case "Connect":
      return connect(plan, command.data);
    case "Disconnect":
      return disconnect(plan, command.data);
    case "SetAgentStatus":
      return setAgentStatus(plan, command.data);
    case "ResetPresence":
      return resetPresence(plan, command.data);
    case "TransferToAgent":
      return transferToAgent(plan, command.data);
    case "Claim":
      return claim(plan, command.data);
    case "Transfer":
      return transfer(plan, command.data);
    case "Release":
      return release(plan, command.data);
    case "Resolve":
      return resolve(plan, command.data);
    case "SendMessage":
      return sendMessage(plan, command.data);
    case "PostTranscript":
      return postTranscript(plan, command.data);
    case "Typing":
      return typing(plan, command.data);
    case "MarkRead":
      return markRead(plan, command.data);
    case "ChangeSettings":
      return changeSettings(plan, command.data);
    case "AddNote":
      return addNote(plan, command.data);
    case "Rate":
      return rate(plan, command.data);
    case "SetCannedResponses":
      return setCannedResponses(plan, command.data);
    case "ExpireGrace":
      return expireGrace(plan, command.data);
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}
