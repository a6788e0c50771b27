/** `POST /transfer_to_agent` (docs/design.md §5.1): the chatbot hands a user over to the agents. */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { JsonValue } from "../../../domain/mod.ts";
import { Id } from "../../schemas.ts";
import type { HttpDeps, HttpEnv } from "../deps.ts";
import { accepted, refuse } from "../errors.ts";
import { authenticate, jsonBody, requireRole, sized } from "../middleware.ts";
import { apiRoute, json } from "../openapi.ts";

const JsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(JsonValue),
    z.record(z.string(), JsonValue),
  ])
).openapi("JsonValue");

/** The body; `context` is optional, as the predecessor's was. */
export const TransferBody = z.object({
  user_id: Id,
  company_id: Id,
  context: z.union([
    z.string(),
    z.array(JsonValue),
    z.record(z.string(), JsonValue),
    z.null(),
  ]).optional(),
});

const Transferred = z.object({
  ok: z.literal(true),
  user_id: z.string(),
  conversation_id: z.string().optional(),
  seq: z.number().int().optional(),
});

/** The handoff route, for a bot token of the company named in the body. */
export function handoffRoutes(deps: HttpDeps) {
  const route = apiRoute({
    method: "post",
    path: "/transfer_to_agent",
    summary: "Hand a user over to the agents (bot token of that company)",
    middleware: [
      sized(deps.maxBodyBytes ?? 32 * 1024),
      authenticate(deps),
      requireRole("bot", "Only a bot token can hand users over"),
      jsonBody,
    ] as const,
    request: {
      body: { required: true, content: { "application/json": { schema: TransferBody } } },
    },
    responses: { 200: json(Transferred) },
  });
  return new OpenAPIHono<HttpEnv>().openapi(route, async (c) => {
    const caller = c.get("principal");
    const { user_id, company_id, context } = c.req.valid("json");
    if (company_id !== caller.companyId) {
      refuse("forbidden", "The token does not belong to this company");
    }
    const outcome = accepted(
      await deps.system.dispatch(company_id, {
        type: "TransferToAgent",
        data: {
          userId: user_id,
          context: context ?? "",
          conversationId: deps.ids.next(),
          at: deps.clock.now(),
        },
      }),
    );
    const handedOff = outcome.events.find((e) => e.type === "HandedOff");
    return c.json({
      ok: true as const,
      user_id,
      conversation_id: handedOff?.data.conversationId,
      seq: handedOff?.seq,
    }, 200);
  });
}
