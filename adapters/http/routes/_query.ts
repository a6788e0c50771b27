/** How the routes read a number from the query string. */
import { z } from "@hono/zod-openapi";
import { Digits } from "../../schemas.ts";

/**
 * An optional number in decimal digits, checked by `number`. An empty value (`?limit=`) is
 * not given, and a repeated name counts its first value, as `c.req.query()` reads it.
 */
export function queryNumber(number: z.ZodNumber) {
  return z.preprocess((value) => {
    const first = Array.isArray(value) ? value[0] : value;
    return first === "" ? undefined : first;
  }, Digits.pipe(number).optional());
}
