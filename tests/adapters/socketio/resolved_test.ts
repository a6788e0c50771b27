/**
 * A resolved conversation, through real sockets: its history, a resume across the resolve,
 * a late read, and its export and replay read as they did while resolved conversations
 * stayed in the live state.
 */
import assert from "node:assert/strict";
import { decode } from "../../../src/codec.ts";
import { exportLine, parseExport, replay } from "../../../src/replay.ts";
import { startEngine } from "./_harness.ts";

type Message = { from: string; content: string; seq: number; conversation_id: string };
type View = { conversation_id: string; status: string; assignee: string | null; unread: number };

Deno.test("socket: a resolved conversation's history, resume, late read receipt and export are as before", async () => {
  const engine = await startEngine();
  try {
    const bob = await engine.connect("acme", "bob", "admin");
    const alice = await engine.connect("acme", "alice", "user");
    const asked = await alice.request("message", { to: "admin", content: "help" });
    assert.equal(asked.ok, true);
    await bob.nextWhere<Message>("message", (m) => m.content === "help");
    await alice.close();
    const bye = await bob.request("message", { user_id: "alice", content: "bye" });
    assert.equal(bye.ok, true);
    const closed = await bob.request<{ ok: boolean; conversation: View }>("resolve", {
      user_id: "alice",
      return_to_bot: false,
    });
    assert.equal(closed.ok, true);
    assert.equal(closed.conversation.status, "resolved");
    const conversationId = closed.conversation.conversation_id;

    // History, for the agent and for the user: both messages, in the resolved conversation.
    const expected = [["alice", "help", conversationId], ["bob", "bye", conversationId]];
    const history = (m: { messages: Message[] }) =>
      m.messages.map((x) => [x.from, x.content, x.conversation_id]);
    assert.deepEqual(history(await bob.request("history", { user_id: "alice" })), expected);

    // Alice comes back, resuming from the start: the log's messages, and her conversation,
    // resolved, with the goodbye unread.
    const back = await engine.connect("acme", "alice", "user", "auth", { last_seq: 0 });
    const view = await back.next<View & { user_id: string }>("conversation");
    assert.deepEqual(
      [view.conversation_id, view.status, view.assignee, view.unread],
      [conversationId, "resolved", null, 1],
    );
    const goodbye = await back.nextWhere<Message>("message", (m) => m.content === "bye");
    assert.deepEqual(back.all<Message>("message").map((m) => m.content), ["help", "bye"]);
    assert.deepEqual(history(await back.request("history", {})), expected);

    // She reads the goodbye: recorded, and the agents are told.
    const read = await back.request<{ ok: boolean; seq: number }>("read", { seq: goodbye.seq });
    assert.deepEqual(read, { ok: true, seq: goodbye.seq });
    const receipt = await bob.next<{ user_id: string; reader: string; seq: number }>("read");
    assert.deepEqual([receipt.user_id, receipt.reader, receipt.seq], [
      "alice",
      "alice",
      goodbye.seq,
    ]);

    // The export holds the resolution, and its replay shows it in the timeline.
    const lines: string[] = [];
    for await (const e of engine.store.read("acme")) lines.push(exportLine(decode(e)));
    const resolvedLine = lines.map((l) => JSON.parse(l)).find((e) =>
      e.type === "ConversationResolved"
    );
    assert.deepEqual(resolvedLine.data, {
      conversationId,
      userId: "alice",
      agentId: "bob",
      returnToBot: false,
    });
    const { steps } = replay(parseExport(lines.join("\n")));
    const step = steps.find((s) => s.event.type === "ConversationResolved")!;
    assert.deepEqual(step.changes, ["alice: assigned → resolved"]);
    assert.ok(
      steps.some((s) => s.event.type === "MessagesRead"),
      "the late read receipt is in the log",
    );
  } finally {
    await engine.close();
  }
});
