/** `GET` and `PUT /api/v1/settings`: the company's settings, for its bot. */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Settings } from "../../../domain/mod.ts";
import { webhookTargetProblem } from "../../../src/webhooks.ts";
import type { HttpDeps, HttpEnv } from "../deps.ts";
import { accepted, fromStore, refuse } from "../errors.ts";
import { authenticate, jsonBody, requireRole, sized } from "../middleware.ts";
import { apiRoute, json } from "../openapi.ts";

/** The changes; every field optional. */
export const SettingsBody = z.object({
  assignment: z.enum(["manual", "auto"]).optional(),
  max_chats_per_agent: z.number().int().min(1).max(100).optional(),
  agent_grace_seconds: z.number().int().min(0).max(86_400).optional(),
  webhook_url: z.url({ protocol: /^https?$/ }).max(2048).nullable().optional(),
  webhook_secret: z.string().min(8).max(256).nullable().optional(),
}).strict();

const SettingsView = z.object({
  assignment: z.enum(["manual", "auto"]),
  max_chats_per_agent: z.number().int(),
  agent_grace_seconds: z.number().int(),
  webhook_url: z.string().nullable(),
  webhook_secret_set: z.boolean(),
}).openapi("Settings");

/** Settings as the API shows them; the webhook secret is never echoed back. */
function settingsView(s: Settings): z.output<typeof SettingsView> {
  return {
    assignment: s.assignment,
    max_chats_per_agent: s.maxChatsPerAgent,
    agent_grace_seconds: s.agentGraceSeconds,
    webhook_url: s.webhookUrl,
    webhook_secret_set: s.webhookSecret !== null,
  };
}

/** The settings routes. */
export function settingsRoutes(deps: HttpDeps) {
  const botOnly = requireRole("bot", "Settings need the company's bot token");
  const read = apiRoute({
    method: "get",
    path: "/api/v1/settings",
    summary: "The company's settings (bot token)",
    middleware: [authenticate(deps), botOnly] as const,
    responses: { 200: json(SettingsView) },
  });
  const change = apiRoute({
    method: "put",
    path: "/api/v1/settings",
    summary: "Change the company's settings (bot token); every field optional",
    middleware: [sized(8 * 1024), authenticate(deps), botOnly, jsonBody] as const,
    request: {
      body: { required: true, content: { "application/json": { schema: SettingsBody } } },
    },
    responses: { 200: json(SettingsView) },
  });
  return new OpenAPIHono<HttpEnv>()
    .openapi(read, async (c) => {
      const actor = deps.system.actor(c.get("principal").companyId);
      const state = await fromStore(() => actor.current());
      return c.json(settingsView(state.settings), 200);
    })
    .openapi(change, async (c) => {
      const p = c.req.valid("json");
      const target = p.webhook_url && !deps.webhookAllowPrivate
        ? webhookTargetProblem(p.webhook_url)
        : null;
      if (target) refuse("invalid_payload", `'webhook_url' ${target}`);
      const changes: Partial<Settings> = {
        ...(p.assignment === undefined ? {} : { assignment: p.assignment }),
        ...(p.max_chats_per_agent === undefined ? {} : { maxChatsPerAgent: p.max_chats_per_agent }),
        ...(p.agent_grace_seconds === undefined
          ? {}
          : { agentGraceSeconds: p.agent_grace_seconds }),
        ...(p.webhook_url === undefined ? {} : { webhookUrl: p.webhook_url }),
        ...(p.webhook_secret === undefined ? {} : { webhookSecret: p.webhook_secret }),
      };
      const outcome = accepted(
        await deps.system.dispatch(c.get("principal").companyId, {
          type: "ChangeSettings",
          data: { changes, at: deps.clock.now() },
        }),
      );
      if (outcome.result?.kind !== "settings") {
        throw new Error("ChangeSettings answers its settings");
      }
      return c.json(settingsView(outcome.result.settings), 200);
    });
}
