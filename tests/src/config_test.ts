import assert from "node:assert/strict";
import { checkServerConfig, ConfigError, loadConfig } from "../../src/config.ts";
import { loadSecret, saveSecret } from "../../src/secret.ts";

Deno.test("loadConfig() defaults: port 8080, ./data, KV file inside it, any origin", () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.dataDir, "./data");
  assert.equal(c.kvPath, "./data/events.kv");
  assert.equal(c.jwtSecret, undefined);
  assert.equal(c.corsOrigins, "*");
  assert.equal(c.maxAttachmentBytes, 10 * 1024 * 1024);
});

Deno.test("loadConfig() reads every variable", () => {
  const c = loadConfig({
    PORT: "9000",
    DATA_DIR: "/tmp/x/",
    JWT_SECRET: "0123456789abcdef0123",
    CORS_ORIGINS: "https://a.example, https://b.example",
    LOG_LEVEL: "warn",
    MAX_MESSAGE_LENGTH: "500",
    MAX_ATTACHMENT_BYTES: "1048576",
  });
  assert.equal(c.port, 9000);
  assert.equal(c.kvPath, "/tmp/x/events.kv");
  assert.deepEqual(c.corsOrigins, ["https://a.example", "https://b.example"]);
  assert.equal(c.logLevel, "warn");
  assert.equal(c.maxMessageLength, 500);
  assert.equal(c.maxAttachmentBytes, 1048576);
});

Deno.test("loadConfig() names the variable of a wrong value", () => {
  for (
    const [name, value] of [
      ["PORT", "eighty"],
      ["PORT", "70000"],
      ["JWT_SECRET", "short"],
      ["LOG_LEVEL", "loud"],
      ["MAX_ATTACHMENT_BYTES", "0"],
      ["MAX_ATTACHMENT_BYTES", "10MB"],
    ]
  ) {
    assert.throws(() => loadConfig({ [name]: value }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, new RegExp(`^Invalid ${name}: `));
      return true;
    });
  }
});

Deno.test("loadSecret() generates a random owner-only secret once and reuses it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await loadSecret(undefined, `${dir}/data`);
    assert.ok(first.generated);
    assert.equal((await Deno.stat(first.path!)).mode! & 0o777, 0o600);
    const again = await loadSecret(undefined, `${dir}/data`);
    assert.deepEqual(again.key, first.key);
    const elsewhere = await loadSecret(undefined, `${dir}/other`);
    assert.notDeepEqual(elsewhere.key, first.key);
    const configured = await loadSecret("configured-secret-value", `${dir}/data`);
    assert.equal(configured.generated, false);
    assert.equal(new TextDecoder().decode(configured.key), "configured-secret-value");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() WEBHOOK_ALLOW_PRIVATE is off unless set to true; another value stops start-up", () => {
  assert.equal(loadConfig({}).webhookAllowPrivate, false);
  assert.equal(loadConfig({ WEBHOOK_ALLOW_PRIVATE: "true" }).webhookAllowPrivate, true);
  assert.equal(loadConfig({ WEBHOOK_ALLOW_PRIVATE: "false" }).webhookAllowPrivate, false);
  assert.throws(
    () => loadConfig({ WEBHOOK_ALLOW_PRIVATE: "yes" }),
    /^ConfigError: Invalid WEBHOOK_ALLOW_PRIVATE: must be true or false$/,
  );
});

Deno.test("loadConfig() TRUST_PROXY trusts nobody by default, or a hop count, or proxy addresses and ranges", () => {
  assert.equal(loadConfig({}).trustProxy, 0);
  assert.equal(loadConfig({ TRUST_PROXY: "1" }).trustProxy, 1);
  const ranges = loadConfig({ TRUST_PROXY: "10.0.0.0/8, 192.0.2.7,fd00::/8" }).trustProxy;
  assert.ok(Array.isArray(ranges));
  assert.deepEqual(ranges.map((r) => r.prefix), [8, 32, 8]);
  for (const bad of ["yes", "10.0.0.0/33", "10.0.0.1,", "-1", "1.5", "100"]) {
    assert.throws(() => loadConfig({ TRUST_PROXY: bad }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^Invalid TRUST_PROXY: must be a hop count such as 1, or proxy/);
      return true;
    }, bad);
  }
});

Deno.test("saveSecret() places the whole file or none: a failed write leaves nothing, an existing secret is kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const secret = { key: new TextEncoder().encode("x".repeat(43)), generated: true };
    await assert.rejects(saveSecret({ ...secret, path: `${dir}/missing/jwt_secret` }));
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no file, not even a temporary one");
    assert.equal(await saveSecret({ ...secret, path: `${dir}/jwt_secret` }), true);
    assert.equal((await Deno.stat(`${dir}/jwt_secret`)).mode! & 0o777, 0o600);
    const other = { key: new TextEncoder().encode("y".repeat(43)), generated: true };
    assert.equal(await saveSecret({ ...other, path: `${dir}/jwt_secret` }), false);
    assert.equal((await Deno.readTextFile(`${dir}/jwt_secret`)).trim(), "x".repeat(43));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["jwt_secret"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() MAX_SOCKETS_PER_USER defaults to 10, 0 means the default, and a bad value names it", () => {
  assert.equal(loadConfig({}).maxSocketsPerUser, 10);
  assert.equal(loadConfig({ MAX_SOCKETS_PER_USER: "0" }).maxSocketsPerUser, 10);
  assert.equal(loadConfig({ MAX_SOCKETS_PER_USER: "3" }).maxSocketsPerUser, 3);
  for (const value of ["many", "-1", "5000"]) {
    assert.throws(
      () => loadConfig({ MAX_SOCKETS_PER_USER: value }),
      /^ConfigError: Invalid MAX_SOCKETS_PER_USER: /,
    );
  }
});

Deno.test("loadConfig() ACTOR_IDLE_SECONDS defaults to 300, 0 means never, and a bad value names it", () => {
  assert.equal(loadConfig({}).actorIdleSeconds, 300);
  assert.equal(loadConfig({ ACTOR_IDLE_SECONDS: "0" }).actorIdleSeconds, 0);
  assert.equal(loadConfig({ ACTOR_IDLE_SECONDS: "60" }).actorIdleSeconds, 60);
  for (const value of ["soon", "-1", "1.5", "999999999"]) {
    assert.throws(
      () => loadConfig({ ACTOR_IDLE_SECONDS: value }),
      /^ConfigError: Invalid ACTOR_IDLE_SECONDS: /,
    );
  }
});

Deno.test("config: the cluster's variables are checked, and a server on PostgreSQL needs a shared key", () => {
  assert.throws(() => loadConfig({ NODE_TIMEOUT_SECONDS: "1" }), /NODE_TIMEOUT_SECONDS/);
  assert.throws(() => loadConfig({ DATABASE_URL: "mysql://x" }), /DATABASE_URL/);
  assert.throws(() => loadConfig({ REDIS_URL: "redis://127.0.0.1:6379" }), /DATABASE_URL/);
  assert.throws(() => loadConfig({ NODE_ID: "a b" }), /NODE_ID/);
  const pg = loadConfig({ DATABASE_URL: "postgres://u@h/db" }); // the log tool needs no key
  assert.throws(() => checkServerConfig(pg), /JWT_SECRET/);
  checkServerConfig(loadConfig({ DATABASE_URL: "postgres://u@h/db", JWT_SECRET: "x".repeat(32) }));
  const node = loadConfig({ NODE_ID: "node-1", NODE_TIMEOUT_SECONDS: "5" });
  assert.equal(node.nodeId, "node-1");
  assert.equal(node.nodeTimeoutSeconds, 5);
  assert.match(loadConfig({}).nodeId, /^node-/);
});
