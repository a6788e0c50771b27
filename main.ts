/** Composition root: config → store → actor system → HTTP + Socket.IO on one port. */
import { KvEventStore } from "./adapters/store/mod.ts";
import { startServer } from "./adapters/server.ts";
import { SocketIoPublisher } from "./adapters/socketio/socket_server.ts";
import { createJwtVerifier, signToken } from "./src/auth.ts";
import type { CompanyState } from "./domain/mod.ts";
import { ActorSystem } from "./src/company_actor.ts";
import { ConfigError, loadConfig } from "./src/config.ts";
import { createLogger } from "./src/log.ts";
import { Metrics } from "./src/metrics.ts";
import { randomIds, systemClock } from "./src/ports.ts";
import { loadSecret } from "./src/secret.ts";
import { recoverAll, WebhookDispatcher } from "./src/webhooks.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  await Deno.mkdir(config.dataDir, { recursive: true });
  const secret = await loadSecret(config.jwtSecret, config.dataDir);
  const store = await KvEventStore.open(config.kvPath);
  const publisher = new SocketIoPublisher();
  const metrics = new Metrics();
  const webhooks = new WebhookDispatcher({
    store,
    log,
    stateOf: (id): CompanyState => system.actor(id).state,
  });
  const system: ActorSystem = new ActorSystem({
    store,
    publisher,
    clock: systemClock,
    log,
    observer: webhooks,
    snapshotEvery: config.snapshotEvery,
    metrics,
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
    maxSocketsPerUser: config.maxSocketsPerUser,
    metrics,
    // The try-it demo mints tokens, so it exists only on the generated development secret.
    ...(secret.generated ? { demo: (claims) => signToken(secret.key, claims, 4 * 3600) } : {}),
  }, { port: config.port, hostname: config.hostname });

  log.info("server.listening", { port: server.port, kv: config.kvPath });
  console.log(
    `Live-chat engine listening on http://localhost:${server.port} (events in ${config.kvPath})`,
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
    await server.close();
    await system.stop();
    await webhooks.stop();
    await store.flushIndex().catch(() => {}); // what is left is indexed at the next start
    store.close();
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
