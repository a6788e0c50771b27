import assert from "node:assert/strict";
import { type CompanyEvent, fold } from "../../domain/mod.ts";
import { changes, replay } from "../../src/replay.ts";
import type { StoredEvent } from "../../src/ports.ts";
import { assigned, connected, handedOff, opened, queued, resolved } from "../domain/_spec.ts";

const history: CompanyEvent[] = [
  connected({ user: "bob", role: "agent" }),
  opened({ user: "ann" }),
  handedOff({ user: "ann", context: "help" }),
  queued({ user: "ann" }),
  assigned({ user: "ann", agent: "bob" }),
];

Deno.test("changes() reports a resolution: closed, or back to the bot", () => {
  const before = fold(history);
  const close = resolved({ user: "ann", agent: "bob", returnToBot: false });
  assert.deepEqual(changes(before, fold([close], before)), ["ann: assigned → resolved"]);
  const toBot = resolved({ user: "ann", agent: "bob", returnToBot: true });
  assert.deepEqual(changes(before, fold([toBot], before)), ["ann: assigned → bot"]);
});

Deno.test("replay() shows the resolution in the timeline of a log", () => {
  const events = [...history, resolved({ user: "ann", agent: "bob", returnToBot: false })];
  const stored = events.map((e, i): StoredEvent<CompanyEvent> => ({
    seq: i + 1,
    type: e.type,
    at: e.at,
    v: 1,
    data: e.data,
  } as StoredEvent<CompanyEvent>));
  const { steps } = replay(stored);
  assert.deepEqual(steps.at(-1)?.changes, ["ann: assigned → resolved"]);
});
