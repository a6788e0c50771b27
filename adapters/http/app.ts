/**
 * The HTTP edge (Hono with `@hono/zod-openapi`): one definition per route validates its input,
 * types its answers and documents it at `/openapi.json`. Handlers parse, build a command,
 * dispatch it and map the outcome; what they refuse they throw, and `onError` answers it.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { describe } from "../schemas.ts";
import type { HttpDeps, HttpEnv } from "./deps.ts";
import { answerError, refuse } from "./errors.ts";
import { rateLimit, requestLog } from "./middleware.ts";
import { DOCUMENT, json } from "./openapi.ts";
import { attachmentRoutes } from "./routes/attachments.ts";
import { cannedResponseRoutes } from "./routes/canned_responses.ts";
import { conversationRoutes } from "./routes/conversations.ts";
import { demoRoutes } from "./routes/demo.ts";
import { eventRoutes } from "./routes/events.ts";
import { handoffRoutes } from "./routes/handoff.ts";
import { operationRoutes } from "./routes/operations.ts";
import { pageRoutes } from "./routes/pages.ts";
import { settingsRoutes } from "./routes/settings.ts";

/** The HTTP app. */
export type HttpApp = OpenAPIHono<HttpEnv>;

/** Builds the HTTP app. */
export function createHttpApp(deps: HttpDeps): HttpApp {
  const app = new OpenAPIHono<HttpEnv>({
    defaultHook: (result) => {
      if (!result.success) refuse("invalid_payload", describe(result.error));
    },
  });
  const origins = deps.corsOrigins ?? "*";
  app.use("*", cors({ origin: origins === "*" ? "*" : [...origins] }));
  app.use(
    "*",
    requestId({
      // The caller's id, cut to 64 characters, whatever it holds (it is only logged and echoed).
      limitLength: 64,
      generator: (c) => (c.req.header("x-request-id") ?? "").slice(0, 64) || crypto.randomUUID(),
    }),
  );
  app.use("*", requestLog(deps));
  app.onError((error, c) => answerError(error, c, deps.log));
  app.notFound((c) => refuse("not_found", `No route for ${c.req.method} ${c.req.path}`));

  // Before every API route, the demo's token minting included.
  const limited = rateLimit(deps);
  app.use("/transfer_to_agent", limited);
  app.use("/api/*", limited);

  app.route("/", operationRoutes(deps));
  app.route("/", demoRoutes(deps));
  app.route("/", handoffRoutes(deps));
  app.route("/", conversationRoutes(deps));
  app.route("/", eventRoutes(deps));
  app.route("/", settingsRoutes(deps));
  app.route("/", cannedResponseRoutes(deps));
  app.route("/", attachmentRoutes(deps));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  let document: unknown;
  app.openapi(
    createRoute({
      method: "get",
      path: "/openapi.json",
      summary: "This document",
      responses: { 200: json(z.object({}).passthrough(), "The OpenAPI 3.1 document") },
    }),
    // Built on first use, once every route is registered.
    (c) => c.json((document ??= app.getOpenAPI31Document(DOCUMENT)) as object, 200),
  );
  // Last: `/{file}` would otherwise answer for `/openapi.json`.
  app.route("/", pageRoutes(deps));
  return app;
}
