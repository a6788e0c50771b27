/**
 * Joining: a socket admitted to its company is counted in presence (its identity's oldest
 * closed past the limit), brought in step with the log (a resume replays what it missed, or
 * gets `resync_required`), recorded online, and put in its rooms. A Connect the store refused
 * is recorded again later, with backoff, while the socket stays.
 */
import type { Delivery, SocketRole } from "../../domain/mod.ts";
import type { Principal } from "../../src/auth.ts";
import type { Outcome } from "../../src/company_actor.ts";
import type { Holder, Presence } from "../../src/presence.ts";
import type { KeyedLimiter } from "../../src/rate_limit.ts";
import { planResume, type ReplayPages } from "../../src/resume.ts";
import type { SocketDeps } from "./deps.ts";
import { endSocket } from "./errors.ts";
import { roomOf } from "./publisher.ts";
import type { ChatServer, ChatSocket } from "./schemas.ts";

/** Who a socket is in its company, and the rooms it joins. */
export interface Caller extends Holder {
  readonly role: SocketRole;
  readonly rooms: readonly string[];
}

/** The caller a principal connects as: an agent, or else a user. */
export function callerOf(principal: Principal): Caller {
  const { companyId, userId } = principal;
  const role = principal.role === "agent" ? "agent" : "user";
  const rooms = [roomOf(companyId, { kind: role, userId })];
  rooms.push(roomOf(companyId, { kind: role === "agent" ? "agents" : "users" }));
  return { companyId, role, userId, rooms };
}

/** What joining needs, built once per server. */
export interface Joining {
  readonly deps: SocketDeps;
  readonly io: ChatServer;
  readonly presence: Presence;
  /** Replayed events per company: past the rate, a resume gets `resync_required`. */
  readonly replays: KeyedLimiter;
  readonly window: number;
  readonly maxSockets: number;
}

/**
 * Counts the socket in presence, closing its identity's oldest one past the limit, and joins
 * it; a join that fails ends the socket with `unavailable`.
 */
export function openSocket(
  ctx: Joining,
  socket: ChatSocket,
  caller: Caller,
  lastSeq: number | undefined,
): void {
  // One socket more than the limit: the identity's oldest is told why, then closed.
  for (const oldest of ctx.presence.open(caller, socket.id)) {
    const old = ctx.io.of("/").sockets.get(oldest);
    if (!old) continue;
    endSocket(old, {
      code: "conflict",
      reason: "too_many_sockets",
      message:
        `Too many connections for this identity (at most ${ctx.maxSockets}): the oldest was closed`,
    });
  }
  join(ctx, socket, caller, lastSeq).catch((cause) => {
    ctx.deps.log.error("socket.join_failed", { error: String(cause) });
    ctx.deps.publisher.release(socket.id);
    endSocket(socket, { code: "unavailable", message: "Could not connect; try again" });
  });
}

/**
 * Brings the socket in step with its company: deliveries meant for it are kept from the
 * moment it is held until the actor has recorded its Connect; a resuming socket first
 * gets what it missed after `lastSeq` from the log, a page at a time, or `resync_required`
 * past the window. Then the kept deliveries go out and the socket joins its rooms, in one
 * turn: in seq order, nothing missed, nothing twice.
 */
async function join(
  ctx: Joining,
  socket: ChatSocket,
  caller: Caller,
  lastSeq: number | undefined,
): Promise<void> {
  const { deps } = ctx;
  const { companyId, role, userId } = caller;
  const actor = deps.system.actor(companyId);
  const resumed = lastSeq !== undefined;
  if (resumed) await actor.current(); // loaded, so its version is what has been published
  // Same turn: everything up to `upTo` was published before the hold, the rest is kept.
  // The socket also leaves the room of its own id, so what is addressed to it is kept too.
  socket.leave(socket.id);
  deps.publisher.hold(socket.id, companyId, role, userId);
  const upTo = actor.state.version;
  // Null when the socket closed during its join: nothing is recorded for it.
  const connected = ctx.presence.connect(caller, socket.id, resumed);
  if (!connected) return void deps.publisher.release(socket.id);
  let pages: ReplayPages | undefined;
  let resync: { from_seq: number; to_seq: number } | undefined;
  if (resumed && upTo > lastSeq) {
    const plan = planResume(deps.store, companyId, { role, userId }, lastSeq, upTo, ctx.window);
    if (plan.kind === "replay" && ctx.replays.take(companyId, plan.events)) pages = plan.pages;
    else resync = { from_seq: lastSeq + 1, to_seq: upTo }; // the gap, both ends included
  }
  const sent = new Set<unknown>();
  const emit = ({ event, payload }: Omit<Delivery, "to">) => {
    // A message kept for an absent side may also have been kept live while this socket was held.
    if (event === "message") {
      if (sent.has(payload.id)) return;
      sent.add(payload.id);
    }
    socket.emit(event, payload);
  };
  for await (const page of pages ?? []) {
    if (!socket.connected) break;
    page.forEach(emit);
  }
  if (resync) socket.emit("resync_required", resync);
  const outcome = await connected;
  // The store refusing writes (a full disk) is no reason to refuse the socket: it reads.
  const unrecorded = !outcome.ok && outcome.error.code === "unavailable";
  if ((!outcome.ok && !unrecorded) || !socket.connected) {
    deps.publisher.release(socket.id);
    return refused(socket, outcome);
  }
  deps.publisher.release(socket.id).forEach(emit);
  socket.join([socket.id, ...caller.rooms]);
  // The store refused the Connect: the socket stays in its rooms and is told nothing about
  // presence (no `user_list`, nobody told it came online) until a retry records it; the
  // recorded Connect's deliveries then go out as usual.
  if (unrecorded) ctx.presence.retryConnect(caller, socket.id, resumed);
}

/** A Connect the actor refused ends the socket with the refusal. */
function refused(socket: ChatSocket, outcome: Outcome): void {
  if (outcome.ok) return;
  endSocket(socket, { code: outcome.error.code, message: outcome.error.message });
}
