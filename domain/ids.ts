/**
 * The one rule every id (a company's, a user's, an agent's) follows at every edge: tokens,
 * socket payloads, HTTP bodies, paths and queries. Rooms and store keys are built only from
 * ids that passed it, so two distinct ids never name the same room or stream.
 * @module
 */

/** The longest id, in UTF-16 code units (JavaScript's `length`). */
export const MAX_ID_LENGTH = 256;

// C0, DEL and C1 control characters.
const CONTROL = /\p{Cc}/u;
// Unicode White_Space (and the BOM), as JavaScript's `\s` knows it.
const EDGE_SPACE = /^\s|\s$/u;

/**
 * Why `value` is not an id, or `null` when it is one: a well-formed Unicode string (no lone
 * surrogate, which storage would silently turn into U+FFFD and merge with another id) of 1 to
 * 256 characters, with no control character and no white space at either end. Nothing is
 * trimmed: " alice" is refused, never read as "alice".
 */
export function idProblem(value: unknown): string | null {
  if (typeof value !== "string") return "must be a string";
  if (value.length === 0) return "must not be empty";
  if (value.length > MAX_ID_LENGTH) return `must be at most ${MAX_ID_LENGTH} characters`;
  if (!value.isWellFormed()) return "must be well-formed Unicode (it holds a lone surrogate)";
  if (CONTROL.test(value)) return "must not hold control characters";
  if (EDGE_SPACE.test(value)) return "must not start or end with white space";
  return null;
}

/** Whether `value` is an id by the rule of `idProblem`. */
export function isId(value: unknown): value is string {
  return idProblem(value) === null;
}
