/**
 * What both edges (HTTP and Socket.IO) accept as an id, a number in a query, and free JSON.
 * One definition, so a payload, a body, a path and a query follow the same rule.
 */
import { z } from "zod";
import { idProblem, MAX_ID_LENGTH } from "../domain/mod.ts";

/** An id by the domain's rule (`idProblem`); refused with its reason, never trimmed. */
export const Id = z.string()
  .refine((value) => idProblem(value) === null, {
    error: (issue) => idProblem(issue.input) ?? "must be an id",
  })
  .meta({
    minLength: 1,
    maxLength: MAX_ID_LENGTH,
    description:
      "Well-formed Unicode, 1–256 characters, no control character, no white space at either end",
  });

/** A whole number in plain decimal digits, as a query gives it ("16"; never "0x10" or "1e1"). */
export const Digits = z.string()
  .regex(/^[0-9]{1,15}$/, "must be a whole number in decimal digits")
  .transform(Number);

/** How deep free JSON (a handoff's `context`, any body or payload) may nest. */
export const MAX_JSON_DEPTH = 32;
/** How many values (arrays, objects, and what they hold) free JSON may count. */
export const MAX_JSON_VALUES = 10_000;

/**
 * Why a parsed JSON value is too deep or too big, or `null`. Iterative, so a hostile nesting
 * cannot overflow the stack here (recursive schemas did, and answered 503 instead of 400).
 */
export function jsonProblem(value: unknown): string | null {
  const stack: [unknown, number][] = [[value, 1]];
  let count = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (++count > MAX_JSON_VALUES) return `must hold at most ${MAX_JSON_VALUES} values`;
    if (node === null || typeof node !== "object") continue;
    if (depth > MAX_JSON_DEPTH) return `must nest at most ${MAX_JSON_DEPTH} levels deep`;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      stack.push([child, depth + 1]);
    }
  }
  return null;
}

/** One line naming each wrong field, as both edges answer a refused payload. */
export function describe(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length ? `'${i.path.join(".")}' ${i.message}` : i.message))
    .join("; ");
}
