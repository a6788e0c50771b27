import assert from "node:assert/strict";
import fc from "fast-check";
import { idProblem, isId, MAX_ID_LENGTH } from "../../domain/mod.ts";
import { anyId } from "../_ids.ts";

Deno.test("isId() accepts ordinary ids of 1 to 256 characters, spaces inside included", () => {
  for (
    const id of ["a", "alice", "42", "Jane Doe", "é", "\ud83d\ude00", "X\ufffd", "a".repeat(256)]
  ) {
    assert.equal(idProblem(id), null, JSON.stringify(id));
  }
  assert.equal(isId("\ud83d\ude00".repeat(128)), true, "256 code units in surrogate pairs");
});

Deno.test("idProblem() refuses lone surrogates, control characters, edge white space and bad lengths, and never trims", () => {
  const refused: [unknown, RegExp][] = [
    ["", /empty/],
    ["a".repeat(257), /at most 256/],
    [`${"\ud83d\ude00".repeat(128)}a`, /at most 256/],
    ["x\ud800", /well-formed/],
    ["\udc00", /well-formed/],
    ["\ud800\ud800", /well-formed/],
    ["a\u0000b", /control/],
    ["a\u007f", /control/],
    ["\u0085a", /control/],
    ["\ta", /control/],
    [" alice", /white space/],
    ["alice ", /white space/],
    ["C\u00a0", /white space/],
    ["\u3000a", /white space/],
    ["\ufeffa", /white space/],
    [" ", /white space/],
    [42, /string/],
    [null, /string/],
  ];
  for (const [value, why] of refused) {
    assert.match(idProblem(value) ?? "accepted", why, JSON.stringify(value));
    assert.equal(isId(value), false);
  }
});

Deno.test("isId() holds exactly for well-formed strings of 1–256 units with no control character and no edge space", () => {
  fc.assert(
    fc.property(anyId, (id) => {
      const expected = id.isWellFormed() && id.length >= 1 && id.length <= MAX_ID_LENGTH &&
        !/\p{Cc}/u.test(id) && id.trim() === id;
      assert.equal(isId(id), expected, JSON.stringify(id));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("two distinct ids stay distinct once encoded as UTF-8, as store keys are", () => {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  fc.assert(
    fc.property(anyId, (id) => {
      if (!isId(id)) return;
      // A lone surrogate would come back as U+FFFD, merging "X\ud800" with "X\ufffd".
      assert.equal(decoder.decode(encoder.encode(id)), id);
    }),
    { numRuns: 2000 },
  );
});
