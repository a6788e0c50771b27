/**
 * The connection pool (postgres.js). `bigint` columns come back as numbers: seqs, versions and
 * positions stay far below 2^53. `xid8` stays text (it is only compared in SQL).
 */
import postgres from "postgres";

/** How the store connects. */
export interface ConnectOptions {
  /** Connections in the pool (postgres.js's `max`; default 10). */
  readonly maxConnections?: number;
  /** The `application_name` the server shows for this node's connections. */
  readonly applicationName?: string;
}

/** Opens a pool to `url` (connections are made on first use). */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.maxConnections ?? 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? "chat-engine" },
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (n: number) => String(n),
        parse: (s: string) => Number(s),
      },
    },
  });
}

/** The pool. */
export type Sql = postgres.Sql<{ bigint: number }>;
/** A transaction's connection. */
export type Tx = postgres.TransactionSql<{ bigint: number }>;
