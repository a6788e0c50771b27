/**
 * A real session (sockets, handoff, assignment, chat, resolve) is recorded, exported,
 * replayed offline, and the replay's deliveries are exactly what the live clients received.
 */
import assert from "node:assert/strict";
import type { Delivery } from "../../domain/mod.ts";
import { exportLine, parseExport, replay } from "../../src/replay.ts";
import { type Client, startEngine } from "../adapters/socketio/_harness.ts";

type Member = { client: Client; socketId: string; role: "user" | "agent"; userId: string };

function reaches(d: Delivery, m: Member): boolean {
  if (d.except === m.socketId) return false;
  switch (d.to.kind) {
    case "socket":
      return d.to.socketId === m.socketId;
    case "agents":
      return m.role === "agent";
    case "agent":
      return m.role === "agent" && d.to.userId === m.userId;
    case "user":
      return m.role === "user" && d.to.userId === m.userId;
    case "users":
      return m.role === "user";
  }
}

Deno.test("replay: an exported session replays offline to exactly the deliveries its live clients received", async () => {
  const engine = await startEngine();
  try {
    const bot = await engine.token("acme", "chatbot", "bot");
    const bob = await engine.connect("acme", "bob", "admin");
    await bob.next("user_list");
    const alice = await engine.connect("acme", "alice", "user");
    await bob.next("user_connected");
    const res = await fetch(`${engine.url}/transfer_to_agent`, {
      method: "POST",
      headers: { authorization: `Bearer ${bot}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: "alice", company_id: "acme", context: { topic: "refund" } }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await alice.nextWhere<{ status: string }>("conversation", (c) => c.status === "assigned");
    await bob.nextWhere<{ status: string }>("conversation", (c) => c.status === "assigned");
    await alice.request("message", { to: "admin", content: "my parcel is late" });
    await bob.nextWhere<{ content: string }>("message", (m) => m.content === "my parcel is late");
    await bob.request("message", { to: "user", user_id: "alice", content: "it ships today" });
    await alice.nextWhere<{ content: string }>("message", (m) => m.content === "it ships today");
    await bob.request("read", { user_id: "alice", seq: await engine.store.version("acme") });
    await alice.next("read");
    await bob.request("resolve", { user_id: "alice", return_to_bot: true });
    await alice.nextWhere<{ status: string }>("conversation", (c) => c.status === "bot");
    const members: Member[] = [
      { client: bob, socketId: bob.socket.id!, role: "agent", userId: "bob" },
      { client: alice, socketId: alice.socket.id!, role: "user", userId: "alice" },
    ];
    const dave = await engine.connect("acme", "dave", "admin"); // watches bob leave
    await alice.close();
    await bob.next("user_disconnected");
    await bob.close();
    await dave.nextWhere<{ agent_id: string; status: string }>(
      "agent_status",
      (s) => s.agent_id === "bob" && s.status === "offline",
    );

    // Export through the HTTP route an operator would use, then replay offline.
    const agent = await engine.token("acme", "dave", "admin");
    const exported = await fetch(`${engine.url}/api/v1/companies/acme/events?after=0&limit=1000`, {
      headers: { authorization: `Bearer ${agent}` },
    }).then((r) => r.text());
    const fromStore: string[] = [];
    for await (const e of engine.store.read("acme")) fromStore.push(exportLine(e));
    assert.equal(exported, `${fromStore.join("\n")}\n`);
    const { steps } = replay(parseExport(exported));

    for (const m of members) {
      const connected = steps.find((s) =>
        s.event.type === "SocketConnected" && s.event.data.socketId === m.socketId
      )!;
      const gone = steps.find((s) =>
        s.event.type === "SocketDisconnected" && s.event.data.socketId === m.socketId
      );
      const expected = steps
        .filter((s) =>
          s.event.seq >= connected.event.seq && (!gone || s.event.seq < gone.event.seq)
        )
        .flatMap((s) => s.deliveries.filter((d) => reaches(d, m)))
        .map((d) => ({ event: d.event, payload: d.payload }));
      const live = m.client.received.filter((r) => r.event !== "connect_error");
      assert.ok(live.length > 5, `${m.userId} received ${live.length} events`);
      assert.deepEqual(live, expected, `deliveries of ${m.userId}`);
    }

    const forbidden = await fetch(`${engine.url}/api/v1/companies/acme/events`, {
      headers: { authorization: `Bearer ${await engine.token("acme", "alice", "user")}` },
    });
    assert.equal(forbidden.status, 403);
    await forbidden.body?.cancel();
    const otherCompany = await fetch(`${engine.url}/api/v1/companies/acme/events`, {
      headers: { authorization: `Bearer ${await engine.token("globex", "gina", "admin")}` },
    });
    assert.equal(otherCompany.status, 403);
    await otherCompany.body?.cancel();
  } finally {
    await engine.close();
  }
});
