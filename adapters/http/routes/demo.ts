/** The try-it demo: tokens for a fresh demo company, only on the generated development secret. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { HttpDeps, HttpEnv } from "../deps.ts";
import { refuse } from "../errors.ts";
import { errors, json } from "../openapi.ts";

const DemoTokens = z.object({
  company_id: z.string(),
  user_id: z.string(),
  agent_id: z.string(),
  user: z.string(),
  agent: z.string(),
  bot: z.string(),
});

/** `GET /api/v1/demo` and `POST /api/v1/demo/tokens`. */
export function demoRoutes(deps: HttpDeps) {
  const status = createRoute({
    method: "get",
    path: "/api/v1/demo",
    summary: "Whether the try-it demo is on (only with the generated development secret)",
    responses: { 200: json(z.object({ enabled: z.boolean() })), ...errors(429) },
  });
  const tokens = createRoute({
    method: "post",
    path: "/api/v1/demo/tokens",
    summary: "Fresh demo tokens for a visitor, an agent and the bot of a new demo company",
    responses: { 200: json(DemoTokens), ...errors(404, 429, 500) },
  });
  return new OpenAPIHono<HttpEnv>()
    .openapi(status, (c) => c.json({ enabled: deps.demo !== undefined }, 200))
    .openapi(tokens, async (c) => {
      const mint = deps.demo;
      if (!mint) refuse("not_found", "The demo is off: the server runs with a configured secret");
      // Each demo is a company of its own, so abandoned demos never fill anyone's capacity.
      const session = crypto.randomUUID().slice(0, 8);
      const visitor = `visitor-${session}`;
      const company = `demo-${session}`;
      return c.json({
        company_id: company,
        user_id: visitor,
        agent_id: "agent-demo",
        user: await mint({ company_id: company, user_id: visitor, role: "user" }),
        agent: await mint({ company_id: company, user_id: "agent-demo", role: "admin" }),
        bot: await mint({ company_id: company, user_id: "demo-bot", role: "bot" }),
      }, 200);
    });
}
