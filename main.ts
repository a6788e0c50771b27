/** Composition root: config → store → actor system → HTTP + Socket.IO on one port. */
import { KvEventStore } from "./adapters/store/mod.ts";
import { startServer } from "./adapters/server.ts";
import { SocketIoPublisher } from "./adapters/socketio/socket_server.ts";
import { createJwtVerifier, signToken } from "./src/auth.ts";
import type { CompanyState } from "./domain/mod.ts";
import { ActorSystem } from "./src/company_actor.ts";
import { type Config, ConfigError, loadConfig } from "./src/config.ts";
import { createLogger, type Logger } from "./src/log.ts";
import { Metrics } from "./src/metrics.ts";
import { type EventStore, randomIds, systemClock } from "./src/ports.ts";
import { loadSecret, saveSecret, type Secret } from "./src/secret.ts";
import { StoreHealth } from "./src/store_health.ts";
import { recoverAll, WebhookDispatcher } from "./src/webhooks.ts";

/** A running engine: where it listens, and how to stop it. */
export interface Engine {
  readonly port: number;
  readonly secret: Secret;
  readonly health: StoreHealth;
  stop(): Promise<void>;
}

/** The event store as the engine uses it: Deno KV's, or one wrapping it (tests). */
export type OpenStore = (
  path: string,
  options: { log: Logger; metrics: Metrics },
) => Promise<EventStore & { flushIndex(): Promise<void> }>;

/**
 * Starts the engine of `config`. Nothing at start-up needs to write: on a full disk it
 * serves reads, and what needs a write (the generated secret's file, the store's format
 * marker, each company's presence reset) is done once writes succeed again.
 */
export async function start(
  config: Config,
  log: Logger,
  openStore: OpenStore = (path, options) => KvEventStore.open(path, options),
): Promise<Engine> {
  await Deno.mkdir(config.dataDir, { recursive: true });
  const secret = await loadSecret(config.jwtSecret, config.dataDir);
  const metrics = new Metrics();
  const store = await openStore(config.kvPath, { log, metrics }).catch((error) => {
    // SQLite needs room for its shared-memory file to open a database it did not leave open.
    throw new Error(`the event store ${config.kvPath} does not open (${error}); is the disk full?`);
  });
  const publisher = new SocketIoPublisher();
  const health = new StoreHealth();
  const webhooks = new WebhookDispatcher({
    store,
    log,
    stateOf: (id): CompanyState => system.actor(id).state,
    allowPrivate: config.webhookAllowPrivate,
  });
  const system: ActorSystem = new ActorSystem({
    store,
    publisher,
    clock: systemClock,
    log,
    observer: webhooks,
    snapshotEvery: config.snapshotEvery,
    metrics,
    health,
  });
  metrics.gauge("chat_actors", "Company actors running.", () => system.size);
  metrics.gauge(
    "chat_mailbox_depth",
    "Commands waiting in the actors' mailboxes.",
    () => system.depth,
  );
  metrics.gauge("chat_webhook_backlog", "Webhook calls being attempted.", () => webhooks.backlog);
  log.info("actors.recovered", { companies: await recoverAll(system, webhooks) });
  const server = await startServer({
    system,
    store,
    publisher,
    verifier: createJwtVerifier({
      secret: secret.key,
      publicKeyPem: config.jwtPublicKey,
      jwksUrl: config.jwtJwksUrl,
      algorithms: config.jwtAlgorithms,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
    }),
    clock: systemClock,
    ids: randomIds,
    log,
    corsOrigins: config.corsOrigins,
    maxMessageLength: config.maxMessageLength,
    socketRate: config.socketRate,
    connectRate: config.connectRate,
    httpRate: config.httpRate,
    trustProxy: config.trustProxy,
    health,
    webhookAllowPrivate: config.webhookAllowPrivate,
    metrics,
    // The try-it demo mints tokens, so it exists only on the generated development secret.
    ...(secret.generated ? { demo: (claims) => signToken(secret.key, claims, 4 * 3600) } : {}),
  }, { port: config.port, hostname: config.hostname });

  log.info("server.listening", { port: server.port, kv: config.kvPath });
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
    health,
    async stop() {
      clearTimeout(saving);
      await server.close();
      await system.stop();
      await webhooks.stop();
      await store.flushIndex().catch(() => {}); // what is left is indexed at the next start
      store.close();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const engine = await start(config, log);
  const { secret } = engine;
  console.log(
    `Live-chat engine listening on http://localhost:${engine.port} (events in ${config.kvPath})`,
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
    const timer = setTimeout(() => Deno.exit(1), 10_000);
    await engine.stop();
    clearTimeout(timer);
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : `Cannot start: ${error}`);
    Deno.exit(1);
  }
}
