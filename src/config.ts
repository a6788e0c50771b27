/**
 * Settings from environment variables, validated at start-up. A wrong value stops the
 * server with one line naming the variable.
 */
import { z } from "zod";
import type { LogLevel } from "./log.ts";
import { type Cidr, parseCidr, type TrustProxy } from "./net_address.ts";

/** The engine's settings. */
export interface Config {
  readonly port: number;
  readonly hostname: string;
  readonly dataDir: string;
  /** The KV database path; defaults to `<dataDir>/events.kv`. */
  readonly kvPath: string;
  /** The HS256 secret; unset means "generate one in the data directory". */
  readonly jwtSecret: string | undefined;
  readonly logLevel: LogLevel;
  /** Origins allowed to connect; `*` (any) by default, since tokens are bearer credentials. */
  readonly corsOrigins: readonly string[] | "*";
  /** The longest message content, in characters. */
  readonly maxMessageLength: number;
  /** Client events per second per socket (0: no limit); bursts of twice that. */
  readonly socketRate: number;
  /** Connection attempts per second per client address (0: no limit). */
  readonly connectRate: number;
  /** HTTP API requests per second per client address (0: no limit). */
  readonly httpRate: number;
  /** Sockets one user (or agent) may hold in a company; one more closes the oldest. */
  readonly maxSocketsPerUser: number;
  /** A snapshot of a company's state every this many events. */
  readonly snapshotEvery: number;
  /** A company with nothing due leaves memory after this many seconds idle (0: never). */
  readonly actorIdleSeconds: number;
  /** Asymmetric verification: a PEM public key or a JWKS URL, with its algorithm(s). */
  readonly jwtPublicKey: string | undefined;
  readonly jwtJwksUrl: string | undefined;
  readonly jwtAlgorithms: readonly string[];
  /** Required `iss` and `aud` claims, when set. */
  readonly jwtIssuer: string | undefined;
  readonly jwtAudience: string | undefined;
  /** Which peers' `X-Forwarded-For` names the client: a hop count, or proxy ranges; 0: none. */
  readonly trustProxy: TrustProxy;
  /** Webhooks may target loopback and private addresses (tests, local development). */
  readonly webhookAllowPrivate: boolean;
  /** PostgreSQL holds the log (and every other storage port) when set; else Deno KV. */
  readonly databaseUrl: string | undefined;
  /** Redis is the nodes' shared bus when set (required with more than one node). */
  readonly redisUrl: string | undefined;
  /** This node's name in logs, metrics and presence. */
  readonly nodeId: string;
  /** A node silent this long is dead; survivors record its sockets as disconnected. */
  readonly nodeTimeoutSeconds: number;
  /** The largest attachment, in bytes. */
  readonly maxAttachmentBytes: number;
}

/** A setting with a wrong value. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly variable: string, detail: string) {
    super(`Invalid ${variable}: ${detail}`);
  }
}

const integer = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, "must be a whole number").transform(Number).pipe(
    z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`),
  );

const SCHEMA = {
  PORT: integer(0, 65535).default(8080),
  HOST: z.string().trim().min(1).default("0.0.0.0"),
  DATA_DIR: z.string().trim().min(1, "must not be empty").default("./data"),
  KV_PATH: z.string().trim().min(1, "must not be empty").optional(),
  JWT_SECRET: z.string().min(16, "must be at least 16 characters long").optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  CORS_ORIGINS: z.string().trim().default("*"),
  MAX_MESSAGE_LENGTH: integer(1, 8000).default(4000),
  // An upload is held in memory while it is checked: 100 MiB at most.
  MAX_ATTACHMENT_BYTES: integer(1, 100 * 1024 * 1024).default(10 * 1024 * 1024),
  RATE_LIMIT_SOCKET: integer(0, 1_000_000).default(100),
  RATE_LIMIT_CONNECT: integer(0, 1_000_000).default(200),
  RATE_LIMIT_HTTP: integer(0, 1_000_000).default(200),
  SNAPSHOT_EVERY: integer(10, 10_000_000).default(1000),
  ACTOR_IDLE_SECONDS: integer(0, 7 * 86_400).default(300),
  // 0 means the default, as unset does.
  MAX_SOCKETS_PER_USER: integer(0, 1000).default(10).transform((n) => n || 10),
  JWT_PUBLIC_KEY: z.string().trim().includes("BEGIN PUBLIC KEY", {
    message: "must be a PEM public key",
  })
    .optional(),
  JWT_JWKS_URL: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).optional(),
  JWT_ALGORITHMS: z.string().trim().regex(/^(RS|PS|ES)(256|384|512)(,(RS|PS|ES)(256|384|512))*$/, {
    message: "must list asymmetric algorithms such as RS256,ES256",
  }).optional(),
  JWT_ISSUER: z.string().trim().min(1).optional(),
  JWT_AUDIENCE: z.string().trim().min(1).optional(),
  TRUST_PROXY: z.string().trim().default("0").transform((value, ctx): TrustProxy => {
    if (/^\d{1,2}$/.test(value)) return Number(value);
    const ranges = value.split(",").map((part) => parseCidr(part));
    if (ranges.every((r): r is Cidr => r !== null)) return ranges;
    ctx.addIssue({
      code: "custom",
      message:
        "must be a hop count such as 1, or proxy addresses or CIDR ranges separated by commas",
    });
    return z.NEVER;
  }),
  WEBHOOK_ALLOW_PRIVATE: z.enum(["true", "false"], { message: "must be true or false" })
    .default("false"),
  DATABASE_URL: z.string().trim().regex(/^postgres(ql)?:\/\/\S+$/, {
    message: "must be a postgres:// URL",
  }).optional(),
  REDIS_URL: z.string().trim().regex(/^rediss?:\/\/\S+$/, { message: "must be a redis:// URL" })
    .optional(),
  NODE_ID: z.string().trim().regex(/^[A-Za-z0-9._-]{1,64}$/, {
    message: "must be 1 to 64 letters, digits, dots, dashes or underscores",
  }).optional(),
  NODE_TIMEOUT_SECONDS: integer(2, 3600).default(15),
} as const;

/**
 * What a server needs beyond valid settings: with `DATABASE_URL`, a key every node shares (a
 * secret generated on one node's disk would not verify another node's tokens). Throws a
 * `ConfigError` naming `JWT_SECRET` otherwise. The `log` tool reads the same settings without it.
 */
export function checkServerConfig(config: Config): void {
  if (!config.databaseUrl || config.jwtSecret || config.jwtPublicKey || config.jwtJwksUrl) return;
  throw new ConfigError(
    "JWT_SECRET",
    "is required with DATABASE_URL (or set JWT_PUBLIC_KEY or JWT_JWKS_URL)",
  );
}

/** Reads the settings from `env` (the process environment by default). */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const read = <K extends keyof typeof SCHEMA>(name: K): z.output<(typeof SCHEMA)[K]> => {
    const raw = env[name] === "" ? undefined : env[name];
    const result = SCHEMA[name].safeParse(raw);
    if (!result.success) {
      throw new ConfigError(name, result.error.issues[0]?.message ?? "invalid value");
    }
    return result.data as z.output<(typeof SCHEMA)[K]>;
  };
  const dataDir = read("DATA_DIR");
  const origins = read("CORS_ORIGINS");
  const databaseUrl = read("DATABASE_URL");
  const redisUrl = read("REDIS_URL");
  if (redisUrl && !databaseUrl) {
    throw new ConfigError("DATABASE_URL", "is required with REDIS_URL: the nodes share their log");
  }
  return {
    port: read("PORT"),
    hostname: read("HOST"),
    dataDir,
    kvPath: read("KV_PATH") ?? `${dataDir.replace(/\/+$/, "")}/events.kv`,
    jwtSecret: read("JWT_SECRET"),
    logLevel: read("LOG_LEVEL"),
    corsOrigins: origins === "*" ? "*" : origins.split(",").map((o) => o.trim()).filter(Boolean),
    maxMessageLength: read("MAX_MESSAGE_LENGTH"),
    socketRate: read("RATE_LIMIT_SOCKET"),
    connectRate: read("RATE_LIMIT_CONNECT"),
    httpRate: read("RATE_LIMIT_HTTP"),
    snapshotEvery: read("SNAPSHOT_EVERY"),
    actorIdleSeconds: read("ACTOR_IDLE_SECONDS"),
    maxSocketsPerUser: read("MAX_SOCKETS_PER_USER"),
    jwtPublicKey: read("JWT_PUBLIC_KEY"),
    jwtJwksUrl: read("JWT_JWKS_URL"),
    jwtAlgorithms: (read("JWT_ALGORITHMS") ?? "RS256").split(","),
    jwtIssuer: read("JWT_ISSUER"),
    jwtAudience: read("JWT_AUDIENCE"),
    trustProxy: read("TRUST_PROXY"),
    webhookAllowPrivate: read("WEBHOOK_ALLOW_PRIVATE") === "true",
    databaseUrl,
    redisUrl,
    nodeId: read("NODE_ID") ?? `node-${crypto.randomUUID().slice(0, 8)}`,
    nodeTimeoutSeconds: read("NODE_TIMEOUT_SECONDS"),
    maxAttachmentBytes: read("MAX_ATTACHMENT_BYTES"),
  };
}
