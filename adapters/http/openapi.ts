/**
 * What the routes' `createRoute` definitions share: the error body, the JSON content helper,
 * bearer security, and the document's header. The document itself is generated from the
 * routes, so it lists exactly the schemas that validate.
 */
import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import { ERROR_CODES } from "../../domain/mod.ts";
import type { STATUS } from "./errors.ts";

/** `{ error: { code, message } }`, every refusal's body. */
export const ErrorBody = z.object({
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }),
}).openapi("Error");

/** A JSON response of `schema`. */
export function json<S extends z.ZodType>(schema: S, description = "OK") {
  return { description, content: { "application/json": { schema } } };
}

/** The error responses a route may give, by status. */
export function errors<S extends (typeof STATUS)[keyof typeof STATUS]>(...statuses: S[]) {
  return Object.fromEntries(statuses.map((s) => [s, json(ErrorBody, "An error")])) as Record<
    S,
    ReturnType<typeof json<typeof ErrorBody>>
  >;
}

/** What a route with a token may answer besides its own result. */
export const API_ERRORS = [400, 401, 403, 413, 429, 503, 500] as const;

/** The routes that take `Authorization: Bearer <JWT>`. */
const bearer = [{ bearer: [] }];

/** A route of the token API: `createRoute` with bearer security and `API_ERRORS` added. */
export function apiRoute<P extends string, R extends Omit<RouteConfig, "path"> & { path: P }>(
  config: R,
) {
  return createRoute({
    ...config,
    security: bearer,
    responses: { ...config.responses, ...errors(...API_ERRORS) },
  });
}

/** The document's fixed parts; the paths come from the routes. */
export const DOCUMENT = {
  openapi: "3.1.0",
  info: {
    title: "Live-chat engine HTTP API",
    version: "1.0.0",
    description:
      "The chatbot's and operators' HTTP API. Realtime traffic runs over Socket.IO on the same port; its events are documented in the README (\"Socket events\").",
  },
};
