/**
 * The sweep of dead nodes' sockets, one algorithm over two places presence is kept (Redis, and
 * memory for tests), so both take the same entries off the books in the same order.
 */
import type { Logger } from "../../src/log.ts";
import type { SocketHolder } from "../../src/ports.ts";
import { holderOf } from "./_identity.ts";

/** What the sweep needs from where presence is kept. Nodes are named as the books name them. */
export interface PresenceBooks {
  /** Takes or extends the sweeper's lease; false while another node sweeps. */
  claimSweep(): Promise<boolean>;
  /** Gives the sweeper's lease up. */
  releaseSweep(): Promise<void>;
  /** The nodes silent past the timeout, never the one asking. */
  deadNodes(): Promise<string[]>;
  /** The identities a node has entries for, a batch at a time. */
  identities(node: string): AsyncIterable<string[]>;
  /**
   * Looks at one identity of a dead `node`. If it still has a socket on a live node, or when
   * `forget`, the entries of every dead node are taken off the books; `node` stops listing the
   * identity once it has no entry of it. Resolves with one dead socket of an identity left with
   * no live socket, kept on the books until `forget`; otherwise with null.
   */
  settle(identity: string, node: string, forget: boolean): Promise<string | null>;
  /** Forgets a dead node that lists no identity any more. */
  retire(node: string): Promise<void>;
}

/** Calls `gone` for each identity whose sockets were all on dead nodes; returns how many went. */
export async function sweep(
  books: PresenceBooks,
  gone: (holder: SocketHolder, socketId: string) => Promise<void>,
  log: Logger,
): Promise<number> {
  if (!await books.claimSweep()) return 0;
  let went = 0;
  try {
    for (const node of await books.deadNodes()) {
      for await (const batch of books.identities(node)) {
        // A sweep that outlived its lease stops: another node may be sweeping now.
        if (!await books.claimSweep()) return went;
        const settled = await Promise.all(
          batch.map((identity) => settle(books, identity, node, gone, log)),
        );
        went += settled.filter(Boolean).length;
      }
      await books.retire(node);
    }
    return went;
  } finally {
    await books.releaseSweep().catch((error) =>
      log.warn("cluster sweeper lease release failed", { error: String(error) })
    );
  }
}

/** Settles one identity; true if it went (its `gone` resolved and its entries were forgotten). */
async function settle(
  books: PresenceBooks,
  identity: string,
  node: string,
  gone: (holder: SocketHolder, socketId: string) => Promise<void>,
  log: Logger,
): Promise<boolean> {
  const socketId = await books.settle(identity, node, false);
  if (socketId === null) return false;
  try {
    await gone(holderOf(identity), socketId);
  } catch (error) {
    // Kept on the books: the next sweep calls `gone` again.
    log.warn("cluster sweep: gone() failed, kept for the next sweep", {
      node,
      identity,
      error: String(error),
    });
    return false;
  }
  await books.settle(identity, node, true);
  return true;
}
