/** Arbitrary ids for property tests: lone surrogates, white space, control characters, lengths. */
import fc from "fast-check";

/** Characters that ids must not hold, or hold only inside, and a few that look alike. */
const TRICKY = [
  "\ud800",
  "\udbff",
  "\udc00",
  "\udfff",
  "\ud83d\ude00",
  "\ufffd",
  " ",
  "\t",
  "\n",
  "\u00a0",
  "\u2028",
  "\u3000",
  "\ufeff",
  "\u0000",
  "\u001f",
  "\u007f",
  "\u0085",
  "a",
  "é",
  "%",
  ":",
  '"',
  "[",
];

/** Strings at the length limits: 0, 1, 256 and 257 code units, in one and two-unit characters. */
export const EDGE_LENGTHS = [
  "",
  "a",
  "a".repeat(256),
  "a".repeat(257),
  "\ud83d\ude00".repeat(128),
  `${"\ud83d\ude00".repeat(128)}a`,
  " ".repeat(256),
];

/** Any string an attacker might present as an id, with the shapes that matter drawn often. */
export const anyId: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 6 }),
  fc.constantFrom(...EDGE_LENGTHS, "X\ud800", "X\ud801", "X\ufffd", " alice", "alice ", "C "),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.tuple(fc.string({ maxLength: 4 }), fc.constantFrom(...TRICKY), fc.string({ maxLength: 4 }))
    .map((parts) => parts.join("")),
);
