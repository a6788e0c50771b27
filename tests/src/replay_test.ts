import assert from "node:assert/strict";
import { type CompanyEvent, fold } from "../../domain/mod.ts";
import { decode, encode } from "../../src/codec.ts";
import { audience, changes, exportLine, parseExport, replay } from "../../src/replay.ts";
import type { StoredEvent } from "../../src/ports.ts";
import {
  assigned,
  cannedSet,
  connected,
  handedOff,
  noted,
  opened,
  queued,
  rated,
  resolved,
} from "../domain/_spec.ts";

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

Deno.test("replay() of a team's day: notes reach agents only, a rating and canned responses show as changes, and the export round-trips", () => {
  const events = [
    ...history,
    noted({ agent: "bob", user: "ann", text: "VIP" }),
    resolved({ user: "ann", agent: "bob", returnToBot: false }),
    rated({ user: "ann", agent: "bob", score: 5, comment: "great" }),
    cannedSet([{ shortcut: "hi", title: "Hi", text: "Hello" }]),
  ];
  const stored = events.map((e, i) =>
    decode({ ...encode(e), seq: i + 1 } as StoredEvent) as StoredEvent<CompanyEvent>
  );
  const lines = stored.map(exportLine);
  const { steps } = replay(parseExport(lines.join("\n")));
  const note = steps.find((s) => s.event.type === "NoteAdded")!;
  assert.deepEqual(note.deliveries.map((d) => [audience(d), d.event]), [["all agents", "note"]]);
  assert.deepEqual(steps.at(-2)?.changes, ["ann rated 5"]);
  assert.deepEqual(steps.at(-1)?.changes, ["canned responses (1)"]);
  assert.deepEqual(fold(events), replay(stored).state);
});
