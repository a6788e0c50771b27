import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { loadSecret } from "../../src/secret.ts";

Deno.test("loadConfig() defaults: port 8080, ./data, KV file inside it, any origin", () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.dataDir, "./data");
  assert.equal(c.kvPath, "./data/events.kv");
  assert.equal(c.jwtSecret, undefined);
  assert.equal(c.corsOrigins, "*");
});

Deno.test("loadConfig() reads every variable", () => {
  const c = loadConfig({
    PORT: "9000",
    DATA_DIR: "/tmp/x/",
    JWT_SECRET: "0123456789abcdef0123",
    CORS_ORIGINS: "https://a.example, https://b.example",
    LOG_LEVEL: "warn",
    MAX_MESSAGE_LENGTH: "500",
  });
  assert.equal(c.port, 9000);
  assert.equal(c.kvPath, "/tmp/x/events.kv");
  assert.deepEqual(c.corsOrigins, ["https://a.example", "https://b.example"]);
  assert.equal(c.logLevel, "warn");
  assert.equal(c.maxMessageLength, 500);
});

Deno.test("loadConfig() names the variable of a wrong value", () => {
  for (
    const [name, value] of [["PORT", "eighty"], ["PORT", "70000"], ["JWT_SECRET", "short"], [
      "LOG_LEVEL",
      "loud",
    ]]
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
