/** What one node of a cluster is handed of the shared bus. */
import type { ClusterBus, Leases, SharedPresence } from "../../src/ports.ts";

/** What a node of a cluster uses of the shared bus: `RedisCluster`, or `MemoryCluster.node()`. */
export interface ClusterNode {
  readonly bus: ClusterBus;
  readonly presence: SharedPresence;
  readonly leases: Leases;
  /**
   * Calls `handler` when this node finds its sockets counted nowhere any more (the shared
   * books were lost, or it was taken for dead): it should open them again. Returns what stops it.
   */
  onPresenceLost(handler: () => void): () => void;
}
