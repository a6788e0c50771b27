/**
 * A support team's day through real sockets and HTTP (issue 15): private notes and a transfer's
 * note, an agent's own status in every tab, availability for users, read receipts for agents,
 * ratings with their webhook, attachments sent in messages, and who may read each of them.
 */
import assert from "node:assert/strict";
import { webhookReceiver } from "../../e2e/_webhook_receiver.ts";
import { type Client, startEngine } from "./_harness.ts";

type Engine = Awaited<ReturnType<typeof startEngine>>;
type Message = { id: string; seq: number; content: string; attachments?: File[] };
type File = { id: string; name: string; size: number; content_type: string };
type Note = {
  id: string;
  seq: number;
  conversation_id: string;
  user_id: string;
  agent_id: string;
  content: string;
  timestamp: number;
  to_agent_id?: string;
};
type Ack = { ok: boolean; error?: { code: string }; [key: string]: unknown };

const PNG = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13);
const PDF = new TextEncoder().encode("%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n");

/** Uploads a file as `user` of `company`; the answer's status and body. */
async function upload(
  engine: Engine,
  who: [company: string, user: string, role: string],
  name: string,
  type: string,
  bytes: Uint8Array<ArrayBuffer>,
) {
  const res = await fetch(`${engine.url}/api/v1/attachments?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { authorization: `Bearer ${await engine.token(...who)}`, "content-type": type },
    body: bytes,
  });
  return { status: res.status, body: await res.json() };
}

/** Downloads a file as `who`: the status, the headers, and the bytes when it was found. */
async function download(engine: Engine, who: [string, string, string], id: string) {
  const res = await fetch(`${engine.url}/api/v1/attachments/${id}`, {
    headers: { authorization: `Bearer ${await engine.token(...who)}` },
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes };
}

/**
 * Waits until `client` has received everything sent to it before now: a round trip (an event
 * the server answers, refused, after whatever it emitted to the socket before).
 */
async function settled(client: Client): Promise<void> {
  const answer = await client.request<Ack>("round_trip", {});
  assert.equal(answer.error?.code, "invalid_payload");
}

/** Alice writes; bob (auto-assigned) and carol are the company's agents. */
async function team(engine: Engine) {
  const bob = await engine.connect("acme", "bob", "admin");
  const carol = await engine.connect("acme", "carol", "admin");
  const alice = await engine.connect("acme", "alice", "user");
  const asked = await alice.request<Ack>("message", { content: "my order is late" });
  assert.equal(asked.ok, true);
  await bob.nextWhere<Message>("message", (m) => m.content === "my order is late");
  await carol.nextWhere<Message>("message", (m) => m.content === "my order is late");
  return { bob, carol, alice };
}

Deno.test("socket: a private note reaches the company's agents and never the user, live, resumed or in history", async () => {
  const engine = await startEngine();
  try {
    const { bob, carol, alice } = await team(engine);
    const globex = await engine.connect("globex", "bob", "admin");
    const ack = await bob.request<Ack>("note", { user_id: "alice", content: "VIP customer" });
    assert.equal(ack.ok, true);
    const note = await carol.next<Note>("note");
    assert.deepEqual(
      [note.id, note.seq, note.user_id, note.agent_id, note.content],
      [ack.id, ack.seq, "alice", "bob", "VIP customer"],
    );
    assert.equal(typeof note.conversation_id, "string");
    assert.equal((await bob.next<Note>("note")).id, ack.id, "the author's tabs get it too");

    // A reply after the note reaches alice: by then the note would have reached her too.
    await bob.request("message", { user_id: "alice", content: "on it" });
    await alice.nextWhere<Message>("message", (m) => m.content === "on it");
    await settled(globex);
    assert.deepEqual(alice.all("note"), []);
    assert.deepEqual(globex.all("note"), [], "nothing crosses companies");

    // History: agents read the note among the messages, the user never.
    type Page = { messages: { kind?: string; content: string }[] };
    const agentPage = await carol.request<Page>("history", { user_id: "alice" });
    assert.deepEqual(agentPage.messages.map((m) => [m.kind ?? "message", m.content]), [
      ["message", "my order is late"],
      ["note", "VIP customer"],
      ["message", "on it"],
    ]);
    const userPage = await alice.request<Page>("history", {});
    assert.deepEqual(userPage.messages.map((m) => m.content), ["my order is late", "on it"]);
    const http = await fetch(`${engine.url}/api/v1/conversations/alice/messages`, {
      headers: { authorization: `Bearer ${await engine.token("acme", "alice", "user")}` },
    });
    assert.ok(!JSON.stringify(await http.json()).includes("VIP customer"));

    // A resume from the start replays the note to an agent, never to the user.
    const back = await engine.connect("acme", "alice", "user", "auth", { last_seq: 0 });
    await back.nextWhere<Message>("message", (m) => m.content === "on it");
    await settled(back);
    assert.deepEqual(back.all("note"), []);
    const carol2 = await engine.connect("acme", "carol", "admin", "auth", { last_seq: 0 });
    assert.equal((await carol2.next<Note>("note")).content, "VIP customer");

    // Only agents write notes; another company's agent finds no such conversation.
    const refused = await alice.request<Ack>("note", { user_id: "alice", content: "hi" });
    assert.equal(refused.error?.code, "forbidden");
    const elsewhere = await globex.request<Ack>("note", { user_id: "alice", content: "hi" });
    assert.equal(elsewhere.error?.code, "not_found");
    const blank = await bob.request<Ack>("note", { user_id: "alice", content: " " });
    assert.equal(blank.error?.code, "invalid_payload");
  } finally {
    await engine.close();
  }
});

Deno.test("socket: a transfer's note reaches the receiving agent as a note, not the user", async () => {
  const engine = await startEngine();
  try {
    const { bob, carol, alice } = await team(engine);
    const view = await bob.nextWhere<{ assignee: string }>(
      "conversation",
      (c) => c.assignee !== null,
    );
    // Auto assignment gave alice to one of them: that one hands her to the other.
    const [from, to, toId] = view.assignee === "bob" ? [bob, carol, "carol"] : [carol, bob, "bob"];
    const moved = await from.request<Ack>("transfer", {
      user_id: "alice",
      agent_id: toId,
      note: "wants a refund, order 123",
    });
    assert.equal(moved.ok, true);
    const note = await to.next<Note>("note");
    assert.deepEqual([note.content, note.to_agent_id, note.user_id], [
      "wants a refund, order 123",
      toId,
      "alice",
    ]);
    await from.request("message", { user_id: "alice", content: "carol will help" });
    await alice.nextWhere<Message>("message", (m) => m.content === "carol will help");
    assert.deepEqual(alice.all("note"), []);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: an agent's second tab and a reload are told its own status; the agents list includes itself", async () => {
  const engine = await startEngine();
  try {
    type Status = { agent_id: string; status: string };
    const bob = await engine.connect("acme", "bob", "admin");
    assert.equal(
      (await bob.nextWhere<Status>("agent_status", (s) => s.agent_id === "bob")).status,
      "available",
    );
    await bob.request("status", { status: "away" });
    const tab = await engine.connect("acme", "bob", "admin");
    const own = await tab.nextWhere<Status>("agent_status", (s) => s.agent_id === "bob");
    assert.equal(own.status, "away", "a second tab shows the status chosen in the first");
    await bob.close();
    await tab.close();
    const reloaded = await engine.connect("acme", "bob", "admin");
    const again = await reloaded.nextWhere<Status>("agent_status", (s) => s.agent_id === "bob");
    assert.equal(again.status, "away", "a reload shows it too");
    await settled(reloaded);
    assert.equal(
      reloaded.all<Status>("agent_status").filter((s) => s.agent_id === "bob").length,
      1,
      "told once",
    );
  } finally {
    await engine.close();
  }
});

Deno.test("socket: users are told whether an agent is available on connect and on each flip only", async () => {
  const engine = await startEngine();
  try {
    type Availability = { agents_online: boolean };
    const alice = await engine.connect("acme", "alice", "user");
    assert.deepEqual(await alice.next<Availability>("availability"), { agents_online: false });
    const bob = await engine.connect("acme", "bob", "admin");
    assert.deepEqual(await alice.next<Availability>("availability"), { agents_online: true });
    // A second agent changes nothing for users; another company's users hear nothing.
    const other = await engine.connect("globex", "zoe", "user");
    assert.deepEqual(await other.next<Availability>("availability"), { agents_online: false });
    const carol = await engine.connect("acme", "carol", "admin");
    await carol.request("status", { status: "away" });
    await bob.request("status", { status: "away" });
    assert.deepEqual(await alice.next<Availability>("availability"), { agents_online: false });
    await bob.request("status", { status: "available" });
    assert.deepEqual(await alice.next<Availability>("availability"), { agents_online: true });
    await bob.close();
    assert.deepEqual(await alice.next<Availability>("availability"), { agents_online: false });
    await settled(alice);
    assert.deepEqual(alice.all<Availability>("availability").map((a) => a.agents_online), [
      false,
      true,
      false,
      true,
      false,
    ]);
    await settled(other);
    assert.equal(other.all("availability").length, 1);
    // The user still writes while nobody is available: kept for the agents.
    const kept = await alice.request<Ack>("message", { content: "anyone there?" });
    assert.equal(kept.ok, true);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: agents see the user's read receipts on their messages, and how far she read on connect", async () => {
  const engine = await startEngine();
  try {
    const { bob, alice } = await team(engine);
    const sent = await bob.request<Ack>("message", { user_id: "alice", content: "shipped today" });
    const m = await alice.nextWhere<Message>("message", (x) => x.content === "shipped today");
    assert.equal(m.seq, sent.seq);
    await alice.request("read", { seq: m.seq });
    assert.deepEqual(
      await bob.nextWhere<{ role: string }>("read", (r) => r.role === "user"),
      { user_id: "alice", reader: "alice", role: "user", seq: m.seq },
    );
    const later = await engine.connect("acme", "dave", "admin");
    const view = await later.nextWhere<{ user_id: string; user_read_seq?: number }>(
      "conversation",
      (c) => c.user_id === "alice",
    );
    assert.equal(view.user_read_seq, m.seq);
  } finally {
    await engine.close();
  }
});

Deno.test("socket: a user rates a resolved conversation once; agents and the webhook see it, nobody else", async () => {
  const hooks = await webhookReceiver();
  const engine = await startEngine();
  try {
    const bot = await engine.token("acme", "chatbot", "bot");
    const set = await fetch(`${engine.url}/api/v1/settings`, {
      method: "PUT",
      headers: { authorization: `Bearer ${bot}`, "content-type": "application/json" },
      body: JSON.stringify({ webhook_url: hooks.url }),
    });
    assert.equal(set.status, 200);
    await set.body?.cancel();
    const { bob, carol, alice } = await team(engine);
    const ben = await engine.connect("acme", "ben", "user");
    const globex = await engine.connect("globex", "bob", "admin");
    const early = await alice.request<Ack>("rate", { score: 5 });
    assert.equal(early.error?.code, "conflict", "not before it is resolved");
    const view = await bob.nextWhere<{ assignee: string }>(
      "conversation",
      (c) => c.assignee !== null,
    );
    const holder = view.assignee === "bob" ? bob : carol;
    assert.equal(
      (await holder.request<Ack>("resolve", { user_id: "alice", return_to_bot: false })).ok,
      true,
    );
    const rated = await alice.request<Ack>("rate", { score: 4, comment: "quick, thanks" });
    assert.equal(rated.ok, true);
    type Rating = { seq: number; user_id: string; agent_id: string; score: number };
    const seen = await carol.next<Rating & { comment: string }>("rating");
    assert.deepEqual(
      [seen.seq, seen.user_id, seen.agent_id, seen.score, seen.comment],
      [rated.seq, "alice", view.assignee, 4, "quick, thanks"],
    );
    const shown = await alice.nextWhere<{ rating?: unknown }>("conversation", (c) => !!c.rating);
    assert.deepEqual(shown.rating, { score: 4, comment: "quick, thanks" });
    assert.equal((await alice.request<Ack>("rate", { score: 1 })).error?.code, "conflict");

    // Another user has nothing to rate and hears nothing; an agent may not rate; nothing
    // crosses companies.
    assert.equal((await ben.request<Ack>("rate", { score: 1 })).error?.code, "not_found");
    assert.equal((await bob.request<Ack>("rate", { score: 1 })).error?.code, "forbidden");
    assert.equal((await alice.request<Ack>("rate", { score: 9 })).error?.code, "invalid_payload");
    await settled(ben);
    await settled(globex);
    assert.deepEqual(ben.all("rating"), []);
    assert.ok(!ben.all<{ rating?: unknown }>("conversation").some((c) => c.rating));
    assert.deepEqual(globex.all("rating"), []);
    assert.deepEqual(
      alice.all("rating"),
      [],
      "the user's own view shows it; `rating` is for agents",
    );

    // The agents' history holds it; the webhook announces it.
    type Page = { messages: { kind?: string; score?: number }[] };
    const page = await carol.request<Page>("history", { user_id: "alice" });
    assert.equal(page.messages.find((m) => m.kind === "rating")?.score, 4);
    await hooks.until(1);
    const ratedCall = () => hooks.accepted.find((r) => r.body.type === "conversation.rated");
    while (!ratedCall()) await hooks.until(hooks.accepted.length + 1);
    assert.deepEqual(ratedCall()!.body.data, {
      agent_id: view.assignee,
      score: 4,
      comment: "quick, thanks",
    });
  } finally {
    await engine.close();
    await hooks.close();
  }
});

Deno.test("socket: files sent with messages are listed in them and readable only by that conversation's user and the company's agents", async () => {
  const engine = await startEngine();
  try {
    const { bob, alice } = await team(engine);
    await engine.connect("acme", "ben", "user");
    // Alice sends a picture.
    const picture = await upload(
      engine,
      ["acme", "alice", "user"],
      "screen shot.png",
      "image/png",
      PNG,
    );
    assert.equal(picture.status, 201);
    assert.deepEqual(picture.body, {
      id: picture.body.id,
      name: "screen shot.png",
      size: PNG.length,
      content_type: "image/png",
    });
    const sent = await alice.request<Ack>("message", {
      content: "see the error",
      attachments: [picture.body.id],
    });
    assert.equal(sent.ok, true);
    const got = await bob.nextWhere<Message>("message", (m) => m.content === "see the error");
    assert.deepEqual(got.attachments, [picture.body]);

    const asAgent = await download(engine, ["acme", "bob", "admin"], picture.body.id);
    assert.equal(asAgent.status, 200);
    assert.deepEqual(asAgent.bytes, PNG);
    assert.equal(asAgent.headers.get("content-type"), "image/png");
    assert.equal(asAgent.headers.get("x-content-type-options"), "nosniff");
    assert.match(asAgent.headers.get("content-disposition")!, /^inline; /);
    assert.match(asAgent.headers.get("content-security-policy")!, /sandbox/);
    assert.equal((await download(engine, ["acme", "alice", "user"], picture.body.id)).status, 200);
    assert.equal((await download(engine, ["acme", "ben", "user"], picture.body.id)).status, 404);
    assert.equal((await download(engine, ["globex", "bob", "admin"], picture.body.id)).status, 404);
    assert.equal((await download(engine, ["acme", "chatbot", "bot"], picture.body.id)).status, 403);

    // Bob sends a PDF: alice may read it once it is sent to her, ben never.
    const invoice = await upload(
      engine,
      ["acme", "bob", "admin"],
      "invoice.pdf",
      "application/pdf",
      PDF,
    );
    assert.equal(invoice.status, 201);
    assert.equal((await download(engine, ["acme", "alice", "user"], invoice.body.id)).status, 404);
    // Alice cannot send a file that is not hers.
    const stolen = await alice.request<Ack>("message", {
      content: "x",
      attachments: [invoice.body.id],
    });
    assert.equal(stolen.error?.code, "not_found");
    const reply = await bob.request<Ack>("message", {
      user_id: "alice",
      content: "",
      attachments: [invoice.body.id],
    });
    assert.equal(reply.ok, true, "a file alone is a message");
    const pdf = await alice.nextWhere<Message>("message", (m) => m.attachments !== undefined);
    assert.deepEqual(pdf.attachments, [invoice.body]);
    const asUser = await download(engine, ["acme", "alice", "user"], invoice.body.id);
    assert.equal(asUser.status, 200);
    assert.deepEqual(asUser.bytes, PDF);
    assert.match(asUser.headers.get("content-disposition")!, /^attachment; filename="invoice.pdf"/);
    assert.equal((await download(engine, ["acme", "ben", "user"], invoice.body.id)).status, 404);
    // Once in alice's conversation, it goes into no other.
    const elsewhere = await bob.request<Ack>("message", {
      user_id: "ben",
      content: "for you",
      attachments: [invoice.body.id],
    });
    assert.equal(elsewhere.error?.code, "not_found");
    // History lists the files with the messages.
    type Page = { messages: Message[] };
    const page = await alice.request<Page>("history", {});
    assert.deepEqual(page.messages.flatMap((m) => m.attachments ?? []), [
      picture.body,
      invoice.body,
    ]);
    // An unknown id is not found, and nothing is sent.
    const unknown = await alice.request<Ack>("message", { content: "x", attachments: ["nope"] });
    assert.equal(unknown.error?.code, "not_found");
  } finally {
    await engine.close();
  }
});
