/**
 * The OpenAPI 3.1 document of the HTTP routes, built from the same zod schemas that
 * validate the requests, so the docs cannot drift from what the server accepts.
 */
import { z } from "zod";
import { ERROR_CODES } from "../../domain/mod.ts";
import { Id } from "../schemas.ts";

const error = {
  description: "An error",
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "message"],
            properties: {
              code: {
                enum: [...ERROR_CODES],
              },
              message: { type: "string" },
            },
          },
        },
      },
    },
  },
};

const json = (schema: unknown, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});

/** Shared schemas (recursive ones, such as any JSON value) end up in `components.schemas`. */
const shared: Record<string, unknown> = {};

function body(schema: z.ZodType): unknown {
  const generated = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  const { $schema: _, $defs, ...rest } = generated as Record<string, unknown>;
  // JSON Schema's local `#/$defs/x` becomes the document's `#/components/schemas/x`.
  const hoist = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/'));
  for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, unknown>)) {
    shared[name] = hoist(def);
  }
  return { required: true, content: { "application/json": { schema: hoist(rest) } } };
}

function queryParameters(schema: z.ZodObject): unknown[] {
  const { properties = {} } = z.toJSONSchema(schema, { io: "input" }) as {
    properties?: Record<string, unknown>;
  };
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: "query",
    required: false,
    schema: s,
  }));
}

/** A path's id follows the same rule as a body's. */
function idPath(name: string) {
  const { $schema: _, ...schema } = z.toJSONSchema(Id) as Record<string, unknown>;
  return { name, in: "path", required: true, schema };
}
const userPath = idPath("user_id");
const message = {
  type: "object",
  properties: {
    from: { type: "string" },
    content: { type: "string" },
    timestamp: { type: "integer", description: "Unix seconds" },
    id: { type: "string" },
    seq: { type: "integer" },
    conversation_id: { type: "string" },
    user_id: { type: "string" },
    role: { enum: ["user", "agent", "bot"] },
  },
};
const settings = {
  type: "object",
  properties: {
    assignment: { enum: ["manual", "auto"] },
    max_chats_per_agent: { type: "integer" },
    agent_grace_seconds: { type: "integer" },
    webhook_url: { type: ["string", "null"] },
    webhook_secret_set: { type: "boolean" },
  },
};
const errors = {
  "400": error,
  "401": error,
  "403": error,
  "413": error,
  "429": error,
  "503": error,
};
const bearer = [{ bearer: [] }];

/** The document; `schemas` are the request schemas of the app. */
export function openApiDocument(schemas: {
  transfer: z.ZodType;
  settings: z.ZodType;
  transcript: z.ZodType;
  history: z.ZodObject;
  events: z.ZodObject;
}): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "Live-chat engine HTTP API",
      version: "1.0.0",
      description:
        "The chatbot's and operators' HTTP API. Realtime traffic runs over Socket.IO on the same port; its events are documented in the README (\"Socket events\").",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      // Filled while the paths below are built.
      schemas: shared,
    },
    paths: {
      "/transfer_to_agent": {
        post: {
          summary: "Hand a user over to the agents (bot token of that company)",
          security: bearer,
          requestBody: body(schemas.transfer),
          responses: {
            "200": json({
              type: "object",
              properties: {
                ok: { const: true },
                user_id: { type: "string" },
                conversation_id: { type: "string" },
                seq: { type: "integer" },
              },
            }),
            ...errors,
          },
        },
      },
      "/api/v1/conversations/{user_id}/messages": {
        get: {
          summary: "A user's history, oldest first, paginated by seq (bot, agent, or that user)",
          security: bearer,
          parameters: [userPath, ...queryParameters(schemas.history)],
          responses: {
            "200": json({
              type: "object",
              properties: {
                messages: { type: "array", items: message },
                has_more: { type: "boolean" },
              },
            }),
            ...errors,
          },
        },
        post: {
          summary: "Record the bot's transcript from before the handoff (bot token)",
          security: bearer,
          parameters: [userPath],
          requestBody: body(schemas.transcript),
          responses: {
            "201": json({
              type: "object",
              properties: {
                ok: { const: true },
                messages: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: { id: { type: "string" }, seq: { type: "integer" } },
                  },
                },
              },
            }, "Recorded"),
            ...errors,
          },
        },
      },
      "/api/v1/settings": {
        get: {
          summary: "The company's settings (bot token)",
          security: bearer,
          responses: { "200": json(settings), ...errors },
        },
        put: {
          summary: "Change the company's settings (bot token); every field optional",
          security: bearer,
          requestBody: body(schemas.settings),
          responses: { "200": json(settings), ...errors },
        },
      },
      "/api/v1/companies/{company_id}/events": {
        get: {
          summary:
            "The company's event log as NDJSON, paginated (admin-only: an agent token of that company)",
          security: bearer,
          parameters: [
            idPath("company_id"),
            ...queryParameters(schemas.events),
          ],
          responses: {
            "200": {
              description:
                "One event a line: {seq, type, at, v, data}; the header X-Next-After gives the next page's `after`",
              content: { "application/x-ndjson": { schema: { type: "string" } } },
            },
            ...errors,
          },
        },
      },
      "/api/v1/demo": {
        get: {
          summary: "Whether the try-it demo is on (only with the generated development secret)",
          responses: {
            "200": json({ type: "object", properties: { enabled: { type: "boolean" } } }),
          },
        },
      },
      "/api/v1/demo/tokens": {
        post: {
          summary: "Fresh demo tokens for a visitor, an agent and the bot of a new demo company",
          responses: {
            "200": json({
              type: "object",
              properties: {
                company_id: { type: "string" },
                user_id: { type: "string" },
                agent_id: { type: "string" },
                user: { type: "string" },
                agent: { type: "string" },
                bot: { type: "string" },
              },
            }),
            "404": error,
          },
        },
      },
      "/healthz": { get: { summary: "Liveness", responses: { "200": json({ type: "object" }) } } },
      "/readyz": {
        get: {
          summary: "Readiness: the event store answers",
          responses: { "200": json({ type: "object" }), "503": error },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: {
            "200": {
              description: "Text format 0.0.4",
              content: { "text/plain": { schema: { type: "string" } } },
            },
          },
        },
      },
      "/openapi.json": {
        get: { summary: "This document", responses: { "200": json({ type: "object" }) } },
      },
      "/docs": {
        get: { summary: "The API docs page", responses: { "200": { description: "HTML" } } },
      },
      "/": {
        get: {
          summary: "The landing page",
          responses: { "302": { description: "To /index.html" } },
        },
      },
      "/{file}": {
        get: {
          summary: "The pages: index.html, user.html, admin.html, docs.html and their scripts",
          parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" } }],
          responses: { "200": { description: "The file" }, "404": error },
        },
      },
    },
  };
}
