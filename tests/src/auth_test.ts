import assert from "node:assert/strict";
import { AuthError, createJwtVerifier, signToken } from "../../src/auth.ts";
import { SECRET, token, unsignedToken } from "../_tokens.ts";

const verifier = createJwtVerifier(SECRET);
const claims = { company_id: "acme", user_id: "alice", role: "user" };

async function refusal(t: string | undefined): Promise<string> {
  try {
    await verifier.verify(t);
  } catch (error) {
    assert.ok(error instanceof AuthError);
    assert.ok(error.message.startsWith(`${error.reason}: `));
    return error.reason;
  }
  assert.fail("the token was accepted");
}

Deno.test("JwtVerifier accepts a valid token and maps admin and agent to the agent role", async () => {
  const p = await verifier.verify(await token(claims));
  assert.deepEqual({ ...p, expiresAt: 0 }, {
    companyId: "acme",
    userId: "alice",
    role: "user",
    expiresAt: 0,
  });
  assert.equal((await verifier.verify(await token({ ...claims, role: "admin" }))).role, "agent");
  assert.equal((await verifier.verify(await token({ ...claims, role: "agent" }))).role, "agent");
  assert.equal((await verifier.verify(await token({ ...claims, role: "bot" }))).role, "bot");
});

Deno.test("JwtVerifier reads numeric ids as strings", async () => {
  const p = await verifier.verify(await token({ company_id: 7, user_id: 42, role: "user" }));
  assert.equal(p.companyId, "7");
  assert.equal(p.userId, "42");
});

Deno.test("JwtVerifier refuses each bad token with its own reason", async () => {
  assert.equal(await refusal(undefined), "missing_token");
  assert.equal(await refusal(""), "missing_token");
  assert.equal(await refusal("not.a.jwt"), "malformed_token");
  assert.equal(await refusal("garbage"), "malformed_token");
  assert.equal(
    await refusal(await token(claims, new TextEncoder().encode("another-secret-entirely-0000"))),
    "bad_signature",
  );
  assert.equal(await refusal(unsignedToken(claims)), "unsupported_algorithm");
  assert.equal(
    await refusal(await token({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 })),
    "expired",
  );
  assert.equal(await refusal(await token({ user_id: "alice", role: "user" })), "missing_claim");
  assert.equal(await refusal(await token({ company_id: "acme", role: "user" })), "missing_claim");
  assert.equal(
    await refusal(await token({ company_id: "acme", user_id: "alice" })),
    "missing_claim",
  );
  assert.equal(await refusal(await token({ ...claims, exp: undefined })), "missing_claim");
  assert.equal(await refusal(await token({ ...claims, role: "superuser" })), "unknown_role");
  assert.equal(await refusal(await token({ ...claims, role: "constructor" })), "unknown_role");
  assert.equal(await refusal(await token({ ...claims, user_id: { id: 1 } })), "invalid_claim");
});

Deno.test("JwtVerifier refuses an RS256-headed token signed with the secret as an HMAC key", async () => {
  // HS/RS confusion: a token that names another algorithm is refused whatever its signature.
  const [, payload] = (await token(claims)).split(".");
  const header = btoa(JSON.stringify({ alg: "RS256", typ: "JWT" })).replace(/=+$/, "");
  const data = new TextEncoder().encode(`${header}.${payload}`);
  const key = await crypto.subtle.importKey(
    "raw",
    SECRET,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sig = btoa(
    String.fromCharCode(...new Uint8Array(await crypto.subtle.sign("HMAC", key, data))),
  )
    .replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  assert.equal(await refusal(`${header}.${payload}.${sig}`), "unsupported_algorithm");
});

Deno.test("signToken() makes tokens the verifier accepts, expiring after the ttl", async () => {
  const t = await signToken(SECRET, claims, 60);
  const p = await verifier.verify(t);
  assert.ok(Math.abs(p.expiresAt - (Date.now() + 60_000)) < 2_000);
});

Deno.test("JwtVerifier keeps a verified token until its exp, and a kept token then expires", async () => {
  let clock = Date.now();
  const fresh = createJwtVerifier({ secret: SECRET, now: () => clock });
  const t = await signToken(SECRET, claims, 60);
  const first = await fresh.verify(t);
  assert.deepEqual(await fresh.verify(t), first);
  // The same claims under another signature are checked on their own.
  const forged = `${t.slice(0, t.lastIndexOf(".") + 1)}${"A".repeat(43)}`;
  await assert.rejects(
    () => fresh.verify(forged),
    (e) => (e as AuthError).reason === "bad_signature",
  );
  clock = first.expiresAt + 1_000;
  await assert.rejects(() => fresh.verify(t), (e) => (e as AuthError).reason === "expired");
});

Deno.test("JwtVerifier with a public key accepts RS256 and refuses an HS256 token keyed with that public key", async () => {
  const { exportSPKI, generateKeyPair, SignJWT } = await import("jose");
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const pem = await exportSPKI(publicKey);
  const rs = createJwtVerifier({
    publicKeyPem: pem,
    issuer: "https://idp.example",
    audience: "chat",
  });
  const sign = (
    alg: string,
    key: Parameters<InstanceType<typeof SignJWT>["sign"]>[0],
    extra: Record<string, unknown> = {},
  ) =>
    new SignJWT({
      ...claims,
      exp: Math.floor(Date.now() / 1000) + 60,
      iss: "https://idp.example",
      aud: "chat",
      ...extra,
    })
      .setProtectedHeader({ alg })
      .sign(key);
  assert.equal((await rs.verify(await sign("RS256", privateKey))).userId, "alice");
  // The classic confusion: the public key's PEM text used as an HMAC secret.
  const confused = await sign("HS256", new TextEncoder().encode(pem));
  await assert.rejects(
    rs.verify(confused),
    (e: unknown) => e instanceof AuthError && e.reason === "unsupported_algorithm",
  );
  await assert.rejects(
    rs.verify(await sign("RS256", privateKey, { iss: "https://evil.example" })),
    { name: "AuthError" },
  );
  await assert.rejects(rs.verify(await sign("RS256", privateKey, { aud: "other" })), {
    name: "AuthError",
  });
  await assert.rejects(
    rs.verify(unsignedToken(claims)),
    (e: unknown) => e instanceof AuthError && e.reason === "unsupported_algorithm",
  );
});

Deno.test("JwtVerifier with a JWKS URL verifies tokens by their key id", async () => {
  const { exportJWK, generateKeyPair, SignJWT } = await import("jose");
  const { createServer } = await import("node:http");
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const server = createServer((_req, res) =>
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }))
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const verifier = createJwtVerifier({
      jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
      algorithms: ["ES256"],
    });
    const token = await new SignJWT({ ...claims, exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .sign(privateKey);
    assert.equal((await verifier.verify(token)).companyId, "acme");
    const other = await generateKeyPair("ES256");
    const forged = await new SignJWT({ ...claims, exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .sign(other.privateKey);
    await assert.rejects(
      verifier.verify(forged),
      (e: unknown) => e instanceof AuthError && e.reason === "bad_signature",
    );
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Signs `header`.`claims` with HS256 by hand (jose will not sign an unknown `crit`). */
async function signedWith(header: Record<string, unknown>, claims: Record<string, unknown>) {
  const b64 = (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...bytes)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const part = (o: unknown) => b64(new TextEncoder().encode(JSON.stringify(o)));
  const input = `${part(header)}.${part({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}`;
  const key = await crypto.subtle.importKey(
    "raw",
    SECRET,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return `${input}.${b64(new Uint8Array(mac))}`;
}

Deno.test("JwtVerifier refuses a token with a 'crit' extension as malformed_token, not as an unsupported algorithm", async () => {
  // HS256 is the accepted algorithm and the signature is good: what is wrong is the token
  // itself, which demands an extension no one here understands (RFC 7515 §4.1.11).
  const critical = await signedWith(
    {
      alg: "HS256",
      typ: "JWT",
      crit: ["urn:example:must-understand"],
      "urn:example:must-understand": true,
    },
    claims,
  );
  assert.equal(await refusal(critical), "malformed_token");
  const badCrit = await signedWith({ alg: "HS256", crit: "not-a-list" }, claims);
  assert.equal(await refusal(badCrit), "malformed_token");
  // The same hand-signed token without `crit` is accepted, so the signing here is sound.
  assert.equal((await verifier.verify(await signedWith({ alg: "HS256" }, claims))).userId, "alice");
});

Deno.test("JwtVerifier refuses ids that break the edges' rule as invalid_claim, never trimming them", async () => {
  for (
    const [name, value] of [
      ["company_id", "C "],
      ["company_id", " "],
      ["user_id", " alice"],
      ["user_id", "x\ud800"],
      ["user_id", "a\u0000"],
      ["user_id", "u".repeat(257)],
    ] as const
  ) {
    assert.equal(await refusal(await token({ ...claims, [name]: value })), "invalid_claim", value);
  }
  assert.equal(
    (await verifier.verify(await token({ ...claims, user_id: "u".repeat(256) }))).userId.length,
    256,
  );
});
