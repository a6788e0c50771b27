/** Event store adapters. @module */
export { MemoryEventStore } from "./memory_event_store.ts";
export { KvEventStore, type KvStoreOptions } from "./kv/mod.ts";
export { PostgresEventStore, type PostgresStoreOptions } from "./postgres/mod.ts";
