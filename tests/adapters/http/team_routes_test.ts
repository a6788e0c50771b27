/**
 * The HTTP routes of a support team's tools (issue 15), called on the Hono app directly:
 * canned responses, attachments (limits, allow-list, content checks, who may read, how they
 * are served), and the agents' side of a conversation's history.
 */
import assert from "node:assert/strict";
import { MemoryBlobStore } from "../../../adapters/blob/mod.ts";
import { createHttpApp } from "../../../adapters/http/mod.ts";
import { MemoryEventStore } from "../../../adapters/store/mod.ts";
import { createJwtVerifier } from "../../../src/auth.ts";
import { ActorSystem } from "../../../src/company_actor.ts";
import { silentLogger } from "../../../src/log.ts";
import { FakeClock, RecordingPublisher, sequentialIds } from "../../_fakes.ts";
import { SECRET, tokenFor } from "../../_tokens.ts";

const PNG = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13);
const PDF = new TextEncoder().encode("%PDF-1.7\n%%EOF\n");

function setup(options: { maxAttachmentBytes?: number } = {}) {
  const store = new MemoryEventStore();
  const clock = new FakeClock();
  const system = new ActorSystem({ store, publisher: new RecordingPublisher(), clock });
  const blobs = new MemoryBlobStore();
  const app = createHttpApp({
    system,
    store,
    verifier: createJwtVerifier(SECRET),
    clock,
    ids: sequentialIds("file"),
    log: silentLogger,
    blobs,
    ...options,
  });
  /** Calls the app as `who` (company, user, role), with a JSON or raw body. */
  async function call(
    method: string,
    path: string,
    who?: [string, string, string],
    body?: { json?: unknown; raw?: Uint8Array<ArrayBuffer>; type?: string },
  ) {
    const headers: Record<string, string> = {};
    if (who) headers.authorization = `Bearer ${await tokenFor(...who)}`;
    if (body?.type) headers["content-type"] = body.type;
    if (body?.json !== undefined) headers["content-type"] = "application/json";
    const res = await app.request(path, {
      method,
      headers,
      body: body?.json !== undefined ? JSON.stringify(body.json) : body?.raw,
    });
    return res;
  }
  return { app, store, blobs, system, call };
}

const BOT: [string, string, string] = ["acme", "chatbot", "bot"];
const BOB: [string, string, string] = ["acme", "bob", "admin"];
const ALICE: [string, string, string] = ["acme", "alice", "user"];
const BEN: [string, string, string] = ["acme", "ben", "user"];
const GLOBEX: [string, string, string] = ["globex", "bob", "admin"];

// Canned responses ------------------------------------------------------------------------

const canned = [
  { shortcut: "hi", title: "Greeting", text: "Hello! How can I help you today?" },
  { shortcut: "refund-policy", title: "Refunds", text: "Refunds take 5 working days." },
];

Deno.test("PUT /api/v1/canned_responses with the bot token replaces the list; agents and the bot read it", async () => {
  const { call } = setup();
  const put = await call("PUT", "/api/v1/canned_responses", BOT, {
    json: { canned_responses: canned },
  });
  assert.equal(put.status, 200);
  assert.deepEqual(await put.json(), { canned_responses: canned });
  for (const who of [BOB, BOT]) {
    const got = await call("GET", "/api/v1/canned_responses", who);
    assert.equal(got.status, 200);
    assert.deepEqual(await got.json(), { canned_responses: canned });
  }
  // Replaced, not merged.
  const one = [canned[1]];
  await (await call("PUT", "/api/v1/canned_responses", BOT, { json: { canned_responses: one } }))
    .body?.cancel();
  assert.deepEqual(await (await call("GET", "/api/v1/canned_responses", BOB)).json(), {
    canned_responses: one,
  });
  // Another company has its own (none).
  assert.deepEqual(await (await call("GET", "/api/v1/canned_responses", GLOBEX)).json(), {
    canned_responses: [],
  });
});

Deno.test("canned responses: a user may not read them, an agent may not set them, no token is 401", async () => {
  const { call } = setup();
  assert.equal((await call("GET", "/api/v1/canned_responses", ALICE)).status, 403);
  const byAgent = await call("PUT", "/api/v1/canned_responses", BOB, {
    json: { canned_responses: canned },
  });
  assert.equal(byAgent.status, 403);
  assert.equal((await call("GET", "/api/v1/canned_responses")).status, 401);
});

Deno.test("canned responses: a bad list is refused whole with invalid_payload, and nothing is recorded", async () => {
  const { call, store } = setup();
  const bad = [
    { canned_responses: [canned[0], { ...canned[1], shortcut: "HI" }] }, // the same shortcut
    { canned_responses: [{ ...canned[0], shortcut: "two words" }] },
    { canned_responses: [{ ...canned[0], text: "   " }] },
    { canned_responses: [{ ...canned[0], text: "x".repeat(2001) }] },
    { canned_responses: [{ ...canned[0], extra: true }] },
    {
      canned_responses: Array.from(
        { length: 101 },
        (_, i) => ({ ...canned[0], shortcut: `s${i}` }),
      ),
    },
    { responses: canned },
  ];
  for (const json of bad) {
    const res = await call("PUT", "/api/v1/canned_responses", BOT, { json });
    const body = await res.json();
    assert.equal(res.status, 400, JSON.stringify(json).slice(0, 80));
    assert.equal(body.error.code, "invalid_payload");
  }
  const huge = {
    canned_responses: Array.from({ length: 60 }, (_, i) => ({
      shortcut: `s${i}`,
      title: "t",
      text: "é".repeat(1000),
    })),
  };
  const tooLarge = await call("PUT", "/api/v1/canned_responses", BOT, { json: huge });
  assert.equal(tooLarge.status, 413);
  assert.equal((await tooLarge.json()).error.code, "too_large");
  assert.equal(await store.version("acme"), 0, "nothing recorded");
});

// Attachments -----------------------------------------------------------------------------

Deno.test("POST /api/v1/attachments stores a user's file and answers its description", async () => {
  const { call, blobs } = setup();
  const res = await call("POST", "/api/v1/attachments?name=photo.png", ALICE, {
    raw: PNG,
    type: "image/png",
  });
  assert.equal(res.status, 201);
  assert.deepEqual(await res.json(), {
    id: "file-1",
    name: "photo.png",
    size: PNG.length,
    content_type: "image/png",
  });
  assert.equal(blobs.size, 1);
  const info = await blobs.info("acme", "file-1");
  assert.deepEqual([info?.uploader, info?.userId], [{ role: "user", userId: "alice" }, "alice"]);
});

Deno.test("POST /api/v1/attachments over MAX_ATTACHMENT_BYTES is too_large, a disallowed or mislabelled file invalid_payload; nothing is stored", async () => {
  const { call, blobs } = setup({ maxAttachmentBytes: 64 });
  const refusals: [string, string, Uint8Array<ArrayBuffer>, number, string][] = [
    ["big.png", "image/png", new Uint8Array(65).fill(1), 413, "too_large"],
    [
      "x.svg",
      "image/svg+xml",
      new TextEncoder().encode("<svg onload=alert(1)/>"),
      400,
      "invalid_payload",
    ],
    [
      "x.html",
      "text/html",
      new TextEncoder().encode("<script>alert(1)</script>"),
      400,
      "invalid_payload",
    ],
    [
      "x.png",
      "image/png",
      new TextEncoder().encode("<html><script></script>"),
      400,
      "invalid_payload",
    ],
    ["x.pdf", "application/pdf", PNG, 400, "invalid_payload"],
    ["x.txt", "text/plain", Uint8Array.of(0x61, 0, 0x62), 400, "invalid_payload"],
    ["x.bin", "application/octet-stream", PNG, 400, "invalid_payload"],
    ["empty.png", "image/png", new Uint8Array(0), 400, "invalid_payload"],
    // Names an object has of its own kind are no types either.
    ["x", "constructor", PNG, 400, "invalid_payload"],
    ["x", "__proto__", PNG, 400, "invalid_payload"],
  ];
  for (const [name, type, raw, status, code] of refusals) {
    const res = await call("POST", `/api/v1/attachments?name=${name}`, ALICE, { raw, type });
    assert.equal(res.status, status, name);
    assert.equal((await res.json()).error.code, code, name);
  }
  // No name, a bad name, a bot, no token.
  const png = { raw: PNG, type: "image/png" };
  for (
    const path of [
      "/api/v1/attachments",
      "/api/v1/attachments?name=%20x",
      "/api/v1/attachments?name=a%00b",
    ]
  ) {
    assert.equal((await call("POST", path, ALICE, png)).status, 400, path);
  }
  assert.equal((await call("POST", "/api/v1/attachments?name=a.png", BOT, png)).status, 403);
  assert.equal((await call("POST", "/api/v1/attachments?name=a.png", undefined, png)).status, 401);
  assert.equal(blobs.size, 0, "nothing stored");
  // Right at the limit it is taken.
  const atLimit = new Uint8Array(64);
  atLimit.set(PNG);
  const ok = await call("POST", "/api/v1/attachments?name=ok.png", ALICE, {
    raw: atLimit,
    type: "image/png",
  });
  assert.equal(ok.status, 201);
});

Deno.test("GET /api/v1/attachments/:id serves images inline and anything else as a download, never sniffed", async () => {
  const { call } = setup();
  const files: [string, string, Uint8Array<ArrayBuffer>][] = [
    ["a.png", "image/png", PNG],
    ['invoice ü "2".pdf', "application/pdf", PDF],
    ["notes.txt", "text/plain; charset=utf-8", new TextEncoder().encode("hello\n")],
  ];
  const ids: string[] = [];
  for (const [name, type, raw] of files) {
    const res = await call("POST", `/api/v1/attachments?name=${encodeURIComponent(name)}`, ALICE, {
      raw,
      type,
    });
    assert.equal(res.status, 201);
    ids.push((await res.json()).id);
  }
  const [png, pdf, txt] = await Promise.all(
    ids.map((id) => call("GET", `/api/v1/attachments/${id}`, ALICE)),
  );
  assert.equal(png.status, 200);
  assert.deepEqual(new Uint8Array(await png.arrayBuffer()), PNG);
  assert.equal(png.headers.get("content-type"), "image/png");
  assert.equal(
    png.headers.get("content-disposition"),
    `inline; filename="a.png"; filename*=UTF-8''a.png`,
  );
  assert.equal(pdf.headers.get("content-type"), "application/pdf");
  assert.equal(
    pdf.headers.get("content-disposition"),
    `attachment; filename="invoice _ _2_.pdf"; filename*=UTF-8''invoice%20%C3%BC%20%222%22.pdf`,
  );
  assert.equal(txt.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.match(txt.headers.get("content-disposition")!, /^attachment; /);
  for (const res of [png, pdf, txt]) {
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("content-security-policy"), "sandbox; default-src 'none'");
    assert.match(res.headers.get("cache-control")!, /^private/);
    if (!res.bodyUsed) await res.body?.cancel();
  }
});

Deno.test("GET /api/v1/attachments/:id: another user's or another company's token finds nothing; a bot is refused", async () => {
  const { call } = setup();
  const up = await call("POST", "/api/v1/attachments?name=a.png", ALICE, {
    raw: PNG,
    type: "image/png",
  });
  const { id } = await up.json();
  const status = async (
    who: [string, string, string] | undefined,
    path = `/api/v1/attachments/${id}`,
  ) => {
    const res = await call("GET", path, who);
    await res.body?.cancel();
    return res.status;
  };
  assert.equal(await status(ALICE), 200);
  assert.equal(await status(BOB), 200, "any agent of the company");
  assert.equal(await status(BEN), 404, "another user of the company");
  assert.equal(await status(GLOBEX), 404, "another company's agent");
  assert.equal(await status(["globex", "alice", "user"]), 404, "the same user id elsewhere");
  assert.equal(await status(BOT), 403);
  assert.equal(await status(undefined), 401);
  assert.equal(await status(ALICE, "/api/v1/attachments/..%2F..%2Fetc"), 404);
  // An agent's upload is nobody's conversation yet: its user may not read it until it is sent.
  const byBob = await call("POST", "/api/v1/attachments?name=b.pdf", BOB, {
    raw: PDF,
    type: "application/pdf",
  });
  const bobs = (await byBob.json()).id;
  assert.equal(await status(ALICE, `/api/v1/attachments/${bobs}`), 404);
  assert.equal(await status(["acme", "carol", "admin"], `/api/v1/attachments/${bobs}`), 200);
});

// History ---------------------------------------------------------------------------------

Deno.test("GET /api/v1/conversations/:user_id/messages shows agents the notes, never the user or the bot", async () => {
  const { call, system } = setup();
  const dispatch = (command: Parameters<typeof system.dispatch>[1]) =>
    system.dispatch("acme", command);
  await dispatch({
    type: "SendMessage",
    data: {
      sender: { userId: "alice", role: "user" },
      userId: "alice",
      text: "help",
      messageId: "m1",
      conversationId: "c1",
      at: 1,
    },
  });
  const noted = await dispatch({
    type: "AddNote",
    data: { agentId: "bob", userId: "alice", noteId: "n1", text: "private", at: 2 },
  });
  assert.ok(noted.ok);
  const page = async (who: [string, string, string]) =>
    (await (await call("GET", "/api/v1/conversations/alice/messages", who)).json()).messages;
  const forAgents = await page(BOB);
  assert.deepEqual(forAgents.map((m: { kind?: string; content: string }) => [m.kind, m.content]), [
    [undefined, "help"],
    ["note", "private"],
  ]);
  assert.deepEqual(forAgents[1], {
    kind: "note",
    id: "n1",
    seq: 4, // opened, queued, the message, the note
    conversation_id: "c1",
    user_id: "alice",
    agent_id: "bob",
    content: "private",
    timestamp: 0,
  });
  for (const who of [ALICE, BOT]) {
    assert.deepEqual((await page(who)).map((m: { content: string }) => m.content), ["help"]);
  }
});
