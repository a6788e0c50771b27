/**
 * Presence decisions: sockets connect and disconnect, agents choose a status, and a
 * restarted runtime resets what an earlier process saw.
 */
import { type Plan, reject } from "../assignment.ts";
import { isOnline, socketsOf } from "../state.ts";
import { deliveries } from "../routing.ts";
import type { CommandOf, CompanyEvent, Decision } from "../types.ts";

/**
 * A socket opens; an agent coming online takes queued conversations (auto mode). Presence is
 * recorded per identity: another tab of someone online records nothing and is sent what a
 * first socket would be sent about the present (its on-connect deliveries).
 */
export function connect(plan: Plan, data: CommandOf<"Connect">["data"]): Decision {
  const { userId, role, socketId, at, resumed } = data;
  const state = plan.state;
  if (role === "bot") return reject("forbidden", "Bot tokens are for the HTTP API only");
  const sockets = socketsOf(state, role, userId);
  if (sockets.includes(socketId)) return plan.done();
  if (sockets.length > 0) {
    const event: CompanyEvent = { type: "SocketConnected", at, data: { userId, role, socketId } };
    const notify = deliveries(state, event).filter((d) => d.to.kind === "socket");
    return { ok: true, events: [], notify };
  }
  const comingOnline = role === "agent" && !isOnline(state.agents.get(userId));
  const event = resumed ? { userId, role, socketId, resumed } : { userId, role, socketId };
  plan.emit({ type: "SocketConnected", at, data: event });
  return (comingOnline ? plan.drain(at) : plan).done();
}

/**
 * A socket closes; one never seen open changes nothing. When the identity's last socket
 * closed (`last`), whichever of its sockets is recorded goes with it.
 */
export function disconnect(plan: Plan, data: CommandOf<"Disconnect">["data"]): Decision {
  const { userId, role, socketId, at, last } = data;
  if (role === "bot") return plan.done();
  const sockets = socketsOf(plan.state, role, userId);
  const gone = sockets.includes(socketId) ? [socketId] : last ? sockets : [];
  for (const id of gone) {
    plan.emit({ type: "SocketDisconnected", at, data: { userId, role, socketId: id } });
  }
  return plan.done();
}

/** An online agent becomes available (and may take queued conversations) or away. */
export function setAgentStatus(plan: Plan, data: CommandOf<"SetAgentStatus">["data"]): Decision {
  const { agentId, status, at } = data;
  const agent = plan.state.agents.get(agentId);
  if (!isOnline(agent)) return reject("not_found", "Connect before setting a status");
  if (agent!.status === status) return plan.done();
  plan.emit({ type: "AgentStatusChanged", at, data: { agentId, status } });
  return (status === "available" ? plan.drain(at) : plan).done();
}

/** A runtime starts: presence seen by an earlier process is gone, if there was any. */
export function resetPresence(plan: Plan, data: CommandOf<"ResetPresence">["data"]): Decision {
  const state = plan.state;
  if (state.users.size === 0 && ![...state.agents.values()].some(isOnline)) return plan.done();
  return plan.emit({ type: "PresenceReset", at: data.at, data: {} }).done();
}
