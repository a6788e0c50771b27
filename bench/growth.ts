/**
 * The pure domain's cost per message against a company's history: `deno run bench/growth.ts
 * [domain dir] [sizes…]`. Builds N past (resolved) conversations straight as events, folds
 * them, then times one `step` of a `SendMessage` in an open conversation, and the snapshot's
 * size. The domain directory may be an older copy, to compare.
 */
import type * as Domain from "../domain/mod.ts";
import type { CompanyEvent } from "../domain/mod.ts";

/**
 * The events of `n` past conversations, each opened, queued, written in and resolved, one
 * every `spacingMs` from `t0`.
 */
export function pastConversations(n: number, t0 = 0, spacingMs = 1): CompanyEvent[] {
  const events: CompanyEvent[] = [];
  for (let i = 0; i < n; i++) {
    const userId = `past${i}`;
    const conversationId = `pc${i}`;
    const at = t0 + i * spacingMs;
    events.push(
      { type: "ConversationOpened", at, data: { conversationId, userId } },
      { type: "ConversationQueued", at, data: { conversationId, userId, reason: "message" } },
      {
        type: "MessageSent",
        at,
        data: {
          messageId: `pm${i}`,
          conversationId,
          userId,
          senderId: userId,
          senderRole: "user",
          text: "hello",
          clientId: `k${i}`,
        },
      },
      {
        type: "ConversationResolved",
        at,
        data: { conversationId, userId, agentId: "a0", returnToBot: false },
      },
    );
  }
  return events;
}

/** Microseconds per `step` of a message, after `n` past conversations, and the snapshot's bytes. */
export function perMessage(domain: typeof Domain, n: number, messages = 20_000) {
  let state = domain.fold(pastConversations(n));
  const open = (c: Domain.CompanyCommand) => {
    const s = domain.step(state, c);
    if (s.ok) state = s.state;
  };
  open({ type: "Connect", data: { userId: "a0", role: "agent", socketId: "sa0", at: 1e12 } });
  for (let u = 0; u < 20; u++) {
    open({ type: "Connect", data: { userId: `u${u}`, role: "user", socketId: `s${u}`, at: 1e12 } });
  }
  const send = (i: number): Domain.CompanyCommand => {
    const user = `u${i % 20}`;
    return {
      type: "SendMessage",
      data: {
        sender: { userId: user, role: "user" },
        userId: user,
        text: "hi",
        messageId: `m${i}`,
        conversationId: `c${user}`,
        clientId: `cl${i}`,
        at: 1e12 + i,
      },
    };
  };
  for (let i = 0; i < 2000; i++) open(send(i)); // warm-up: conversations open
  const t0 = performance.now();
  for (let i = 2000; i < 2000 + messages; i++) open(send(i));
  const micros = ((performance.now() - t0) * 1000) / messages;
  return { micros, snapshotBytes: JSON.stringify(domain.toSnapshot(state)).length };
}

if (import.meta.main) {
  const dir = Deno.args[0] ?? new URL("../domain/", import.meta.url).pathname;
  const sizes = Deno.args.slice(1).map(Number);
  const domain: typeof Domain = await import(`${dir.replace(/\/$/, "")}/mod.ts`);
  for (const n of sizes.length ? sizes : [100, 1000, 10_000, 100_000]) {
    const messages = n >= 10_000 && dir.includes("base") ? 2000 : 20_000;
    const r = perMessage(domain, n, messages);
    console.log(`${n} past: ${r.micros.toFixed(2)} µs/message, snapshot ${r.snapshotBytes} B`);
  }
}
