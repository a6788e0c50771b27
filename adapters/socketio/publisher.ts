/** Deliveries to rooms: which room an audience is, and the publisher that emits to them. */
import { type Audience, type Delivery, reaches, type SocketRole } from "../../domain/mod.ts";
import { type Logger, silentLogger } from "../../src/log.ts";
import type { Publisher } from "../../src/ports.ts";
import { holdWrites } from "./_coalesce.ts";
import type { ChatServer } from "./schemas.ts";

/**
 * The room of an audience inside a company: the JSON of its kind, company and id. It never
 * throws (JSON escapes a lone surrogate, where `encodeURIComponent` threw), no two audiences
 * share a room whatever their ids, and none looks like a socket's own room (an engine.io id).
 */
export function roomOf(companyId: string, to: Audience): string {
  switch (to.kind) {
    case "socket":
      return to.socketId;
    case "user":
      return JSON.stringify(["u", companyId, to.userId]);
    case "agent":
      return JSON.stringify(["a", companyId, to.userId]);
    case "agents":
      return JSON.stringify(["agents", companyId]);
    case "users":
      return JSON.stringify(["users", companyId]);
    default: {
      const _exhaustive: never = to;
      return _exhaustive;
    }
  }
}

/** Emits deliveries to Socket.IO rooms; bound to its server by `attachSocketServer`. */
export class SocketIoPublisher implements Publisher {
  #io: ChatServer | null = null;
  /** Sockets being resumed: their live deliveries wait until the replay is out. */
  readonly #held = new Map<
    string,
    { companyId: string; role: SocketRole; userId: string; buffer: Delivery[] }
  >();

  #log: Logger = silentLogger;

  /** Emits on `io` from now on, logging what fails to `log`. */
  bind(io: ChatServer, log: Logger = silentLogger): void {
    this.#io = io;
    this.#log = log;
  }

  /** Emits each delivery; one that fails is logged and skipped, and never reaches the caller. */
  publish(companyId: string, deliveries: readonly Delivery[]): void {
    const io = this.#io;
    if (!io || deliveries.length === 0) return;
    const rooms = deliveries.map((d) => roomOf(companyId, d.to));
    let release: (() => void) | undefined;
    try {
      release = deliveries.length > 1 ? holdWrites(io, new Set(rooms)) : undefined;
    } catch (error) {
      this.#failed(companyId, "hold", error);
    }
    this.#emit(io, companyId, deliveries, rooms);
    try {
      release?.();
    } catch (error) {
      this.#failed(companyId, "flush", error);
    }
  }

  #emit(
    io: ChatServer,
    companyId: string,
    deliveries: readonly Delivery[],
    rooms: string[],
  ): void {
    const members = io.of("/").adapter.rooms;
    for (const [i, delivery] of deliveries.entries()) {
      const { to, except, event, payload } = delivery;
      try {
        const target = io.to(rooms[i]);
        if (except === undefined) target.emit(event, payload);
        // A copy for the sender's other tabs costs nothing when the sender has none.
        else if (!onlyMember(members.get(rooms[i]), except)) {
          target.except(except).emit(event, payload);
        }
        if (this.#held.size === 0) continue;
        for (const [socketId, held] of this.#held) {
          if (
            held.companyId === companyId && except !== socketId &&
            reaches(to, { role: held.role, userId: held.userId, socketId })
          ) {
            held.buffer.push(delivery);
          }
        }
      } catch (error) {
        this.#failed(companyId, event, error);
      }
    }
  }

  #failed(company: string, event: string, error: unknown): void {
    this.#log.error("publish.delivery_failed", { company, event, error: String(error) });
  }

  /** Starts keeping what would reach a socket that is not yet in its rooms. */
  hold(socketId: string, companyId: string, role: SocketRole, userId: string): void {
    this.#held.set(socketId, { companyId, role, userId, buffer: [] });
  }

  /** Stops keeping, and returns what was kept, in order. */
  release(socketId: string): Delivery[] {
    const held = this.#held.get(socketId);
    this.#held.delete(socketId);
    return held?.buffer ?? [];
  }
}

function onlyMember(room: ReadonlySet<string> | undefined, socketId: string): boolean {
  return room === undefined || (room.size === 1 && room.has(socketId));
}
