/** Composition root: config → engine (adapters/engine.ts) → serve → signals. */
import { RedisCluster } from "./adapters/cluster/redis.ts";
import { createEngine, type OpenStorage } from "./adapters/engine.ts";
import { PostgresEventStore } from "./adapters/store/mod.ts";
import { checkServerConfig, type Config, ConfigError, loadConfig } from "./src/config.ts";
import { createLogger, type Logger } from "./src/log.ts";
import { loadSecret, saveSecret, type Secret } from "./src/secret.ts";
import type { StoreHealth } from "./src/store_health.ts";

/** A running server: where it listens, and how to stop it. */
export interface Running {
  readonly port: number;
  readonly secret: Secret;
  readonly health: StoreHealth;
  stop(): Promise<void>;
}

/**
 * Starts the engine of `config`. Nothing at start-up needs to write: on a full disk it
 * serves reads, and what needs a write (the generated secret's file, the store's format
 * marker, each company's presence reset) is done once writes succeed again.
 *
 * With `DATABASE_URL` the log is in PostgreSQL and nothing is written to the file system
 * (Deno Deploy allows only /tmp); with `REDIS_URL` too, this process is one node of a cluster.
 */
export async function start(
  config: Config,
  log: Logger,
  openStorage?: OpenStorage,
): Promise<Running> {
  checkServerConfig(config);
  const shared = config.databaseUrl !== undefined;
  if (!shared) await Deno.mkdir(config.dataDir, { recursive: true });
  // Every node verifies with the configured key; a node never generates one of its own.
  const secret: Secret = shared && config.jwtSecret === undefined
    ? { key: crypto.getRandomValues(new Uint8Array(32)), generated: false }
    : await loadSecret(config.jwtSecret, config.dataDir);
  const postgres = config.databaseUrl
    ? await PostgresEventStore.open(config.databaseUrl, { log, applicationName: config.nodeId })
    : undefined;
  const redis = config.redisUrl
    ? await RedisCluster.connect(config.redisUrl, {
      nodeId: config.nodeId,
      nodeTimeoutSeconds: config.nodeTimeoutSeconds,
      log,
    }).catch(async (error) => {
      await postgres?.close();
      throw error;
    })
    : undefined;
  // The try-it demo mints tokens, so it exists only on the generated development secret.
  const engine = await createEngine({
    ...config,
    log,
    secret: secret.key,
    demo: secret.generated,
    openStorage,
    storage: postgres,
    blobs: postgres?.blobs,
    feed: postgres,
    cluster: redis && {
      bus: redis.bus,
      presence: redis.presence,
      leases: redis.leases,
      onPresenceLost: (handler) => redis.onPresenceLost(handler),
      nodeTimeoutSeconds: config.nodeTimeoutSeconds,
    },
  });
  await engine.start();
  const server = await engine.listen({ port: config.port, hostname: config.hostname });
  log.info("server.listening", {
    port: server.port,
    store: postgres ? "postgresql" : config.kvPath,
    bus: redis ? "redis" : "none",
  });

  let saving: ReturnType<typeof setTimeout> | undefined;
  if (secret.saved === false) {
    log.warn("secret.unsaved", { path: secret.path });
    const save = () => {
      saving = setTimeout(async () => {
        try {
          if (await saveSecret(secret)) log.info("secret.saved", { path: secret.path });
          // Another process wrote one meanwhile: tokens minted here fail after a restart.
          else log.error("secret.replaced", { path: secret.path });
        } catch {
          save();
        }
      }, 5000);
    };
    save();
  }
  return {
    port: server.port,
    secret,
    health: engine.health,
    async stop() {
      clearTimeout(saving);
      await engine.close();
      await redis?.close();
      await postgres?.close();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, config.redisUrl ? { node: config.nodeId } : {});
  const running = await start(config, log);
  const { secret } = running;
  // Never the database URL: it may hold a password.
  const where = config.databaseUrl ? "PostgreSQL" : config.kvPath;
  console.log(
    `Live-chat engine listening on http://localhost:${running.port} (events in ${where})`,
  );
  if (secret.generated) {
    console.log(
      `No JWT_SECRET set: using the generated development secret in ${secret.path}.\n` +
        `Mint tokens with: deno task token --company acme --user alice --role user\n` +
        `           (or: npx -y deno@2.9.6 task token --company acme --user alice --role admin)`,
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("server.stopping", { signal });
    // Deno Deploy sends SIGKILL 5 s after SIGINT: a drain that takes longer is cut short here.
    const timer = setTimeout(() => {
      log.error("server.stop_timeout", { signal });
      Deno.exit(1);
    }, 4_500);
    await running.stop();
    clearTimeout(timer);
    Deno.exit(0);
  };
  // A failing stop must still end the process, with a code that says so.
  const stopOn = (signal: string) =>
    stop(signal).catch((error) => {
      log.error("server.stop_failed", { signal, error: String(error) });
      Deno.exit(1);
    });
  Deno.addSignalListener("SIGINT", () => stopOn("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stopOn("SIGTERM"));
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : `Cannot start: ${error}`);
    Deno.exit(1);
  }
}
