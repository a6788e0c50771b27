/**
 * Write coalescing: it patches engine.io internals, so these tests notice an upgrade that
 * silently disables it: a batch leaves in one TCP write, and the internals are found.
 */
import assert from "node:assert/strict";
import type { Delivery } from "../../../domain/mod.ts";
import { EventEmitter } from "node:events";
import { coalesceWrites, missingInternals } from "../../../adapters/socketio/_coalesce.ts";
import { SocketIoPublisher } from "../../../adapters/socketio/mod.ts";
import { startEngine } from "./_harness.ts";

/** The server side of a client's socket: its engine.io connection and the TCP socket under it. */
function serverSide(engine: Awaited<ReturnType<typeof startEngine>>, id: string) {
  const conn = engine.server.io.of("/").sockets.get(id)!.conn as unknown as {
    transport: { name: string; send(packets: unknown[]): void; socket: { _socket: Tcp } };
  };
  return { conn, transport: conn.transport, tcp: conn.transport.socket._socket };
}

/** The parts of a `net.Socket` that reach the system: one call of either is one write. */
interface Tcp {
  writableLength: number;
  _write(...args: unknown[]): void;
  _writev?(...args: unknown[]): void;
}

/** Counts the writes `tcp` hands to the system, and the packets each `send` is given. */
function spy(transport: { send(packets: unknown[]): void }, tcp: Tcp) {
  const seen = { writes: 0, sends: [] as number[] };
  const { _write, _writev } = tcp;
  tcp._write = function (...args) {
    seen.writes++;
    return _write.apply(this, args);
  };
  if (_writev) {
    tcp._writev = function (...args) {
      seen.writes++;
      return _writev.apply(this, args);
    };
  }
  const send = transport.send;
  transport.send = function (packets) {
    seen.sends.push(packets.length);
    return send.call(this, packets);
  };
  return seen;
}

Deno.test("coalescing: a delivery batch of several frames to one socket leaves in one TCP write", async () => {
  const engine = await startEngine();
  try {
    const bob = await engine.connect("acme", "bob", "agent");
    await bob.next("user_list");
    const { transport, tcp } = serverSide(engine, bob.socket.id!);
    assert.equal(tcp.writableLength, 0, "nothing is waiting to be written before the batch");
    const seen = spy(transport, tcp);
    const batch: Delivery[] = ["x", "y", "z"].map((user_id) => ({
      to: { kind: "agents" },
      event: "typing",
      payload: { user_id, typing: true },
    }));
    const publisher = new SocketIoPublisher();
    publisher.bind(engine.server.io);
    publisher.publish("acme", batch);
    for (const user_id of ["x", "y", "z"]) {
      assert.deepEqual(await bob.next("typing"), { user_id, typing: true });
    }
    assert.deepEqual(seen.sends, [3], "the batch is handed to the transport at once");
    assert.equal(seen.writes, 1, "and written at once");
  } finally {
    await engine.close();
  }
});

Deno.test("coalescing: missingInternals() finds what it patches on a real connection, and names what a changed one lacks", async () => {
  const engine = await startEngine();
  try {
    const bob = await engine.connect("acme", "bob", "agent");
    const { conn, transport } = serverSide(engine, bob.socket.id!);
    assert.equal(transport.name, "websocket");
    assert.equal(missingInternals(conn, transport), null);
    const noTcp = { name: "websocket", writable: true, send() {} };
    assert.match(missingInternals(conn, noTcp)!, /no TCP socket at socket._socket/);
    assert.match(missingInternals({}, transport)!, /no flush\(\)/);
    assert.match(
      missingInternals(conn, { name: "websocket", socket: transport.socket })!,
      /no send\(packets\) or writable flag/,
    );
    assert.equal(missingInternals(conn, { name: "polling" }), null, "polling is left alone");
  } finally {
    await engine.close();
  }
});

Deno.test("coalescing: coalesceWrites() reports once what a connection lacks, and patches nothing", () => {
  const engine = new EventEmitter();
  const problems: string[] = [];
  coalesceWrites({ engine } as never, (problem) => problems.push(problem));
  for (let i = 0; i < 2; i++) {
    const conn = Object.assign(new EventEmitter(), {
      flush() {},
      transport: { name: "websocket", writable: true, send() {}, socket: {} },
    });
    const send = conn.transport.send;
    engine.emit("connection", conn);
    assert.equal(conn.transport.send, send, "a transport without what is patched is left as is");
  }
  assert.deepEqual(problems, [
    "engine.io's WebSocket transport has no TCP socket at socket._socket to cork",
  ]);
});

Deno.test("coalescing: a connection that starts on long-polling is left alone, then corked once upgraded", async () => {
  const engine = await startEngine();
  try {
    const token = await engine.token("acme", "bob", "agent");
    const bob = engine.raw({
      auth: { token },
      transports: ["polling", "websocket"],
      upgrade: true,
    });
    await bob.connected();
    await new Promise<void>((resolve) => {
      const engineSocket = bob.socket.io.engine;
      if (engineSocket.transport.name === "websocket") resolve();
      else engineSocket.once("upgrade", () => resolve());
    });
    await bob.request("history", { user_id: "alice" }); // the server has the upgrade too
    const { transport } = serverSide(engine, bob.socket.id!);
    assert.equal(transport.name, "websocket");
    assert.ok(Object.hasOwn(transport, "send"), "the upgraded transport's send is corked");
  } finally {
    await engine.close();
  }
});
