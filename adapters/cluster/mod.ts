/** The shared bus of a cluster: on Redis, and in memory for tests. @module */
export { DEFAULT_NODE_TIMEOUT_SECONDS, RedisCluster, type RedisClusterOptions } from "./redis.ts";
export { MemoryCluster, NodeKilledError } from "./memory.ts";
export type { ClusterNode } from "./cluster_node.ts";
