/**
 * `GET` and `PUT /api/v1/canned_responses`: the replies a company's agents insert by typing `/`
 * and a shortcut. The bot sets them (like the settings), agents read them; kept as events in
 * the company's log, so bounded to fit one event.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { CannedResponse } from "../../../domain/mod.ts";
import type { HttpDeps, HttpEnv } from "../deps.ts";
import { accepted, fromStore, refuse } from "../errors.ts";
import { authenticate, jsonBody, requireRole, sized } from "../middleware.ts";
import { apiRoute, json } from "../openapi.ts";

/** The most canned responses a company keeps. */
export const MAX_CANNED_RESPONSES = 100;
/** The longest text of one, in characters. */
export const MAX_CANNED_TEXT = 2000;
/** The largest body: the whole list is one event of the log, which holds 64 KB. */
export const MAX_CANNED_BODY_BYTES = 48 * 1024;

const notBlank = (s: string) => s.trim() !== "";

const Canned = z.object({
  shortcut: z.string().regex(
    /^[\p{L}\p{N}_-]{1,32}$/u,
    "must be 1–32 letters, digits, '-' or '_' (what follows '/' in the reply box)",
  ),
  title: z.string().min(1).max(100).refine(notBlank, "must not be blank"),
  text: z.string().min(1).max(MAX_CANNED_TEXT).refine(notBlank, "must not be blank"),
}).strict().openapi("CannedResponse");

/** The whole list; shortcuts are unique, whatever their case. */
export const CannedBody = z.object({
  canned_responses: z.array(Canned).max(MAX_CANNED_RESPONSES),
}).strict().superRefine((body, ctx) => {
  const seen = new Set<string>();
  body.canned_responses.forEach((r, i) => {
    const key = r.shortcut.toLowerCase();
    if (seen.has(key)) {
      ctx.addIssue({
        code: "custom",
        path: ["canned_responses", i, "shortcut"],
        message: `'${r.shortcut}' is used twice`,
      });
    }
    seen.add(key);
  });
});

const CannedList = z.object({ canned_responses: z.array(Canned) }).openapi("CannedResponses");

function view(responses: readonly CannedResponse[]): z.output<typeof CannedList> {
  return {
    canned_responses: responses.map(({ shortcut, title, text }) => ({ shortcut, title, text })),
  };
}

/** The canned responses routes. */
export function cannedResponseRoutes(deps: HttpDeps) {
  const read = apiRoute({
    method: "get",
    path: "/api/v1/canned_responses",
    summary: "The company's canned responses (bot or agent token)",
    middleware: [authenticate(deps)] as const,
    responses: { 200: json(CannedList) },
  });
  const replace = apiRoute({
    method: "put",
    path: "/api/v1/canned_responses",
    summary:
      `Replace the company's canned responses (bot token): at most ${MAX_CANNED_RESPONSES}, ` +
      `unique shortcuts`,
    middleware: [
      sized(MAX_CANNED_BODY_BYTES),
      authenticate(deps),
      requireRole("bot", "Canned responses are set with the company's bot token"),
      jsonBody,
    ] as const,
    request: {
      body: { required: true, content: { "application/json": { schema: CannedBody } } },
    },
    responses: { 200: json(CannedList) },
  });
  return new OpenAPIHono<HttpEnv>()
    .openapi(read, async (c) => {
      const caller = c.get("principal");
      if (caller.role === "user") {
        refuse("forbidden", "Canned responses are for the company's agents and its bot");
      }
      const state = await fromStore(() => deps.system.actor(caller.companyId).current());
      return c.json(view(state.cannedResponses), 200);
    })
    .openapi(replace, async (c) => {
      const responses = c.req.valid("json").canned_responses;
      accepted(
        await deps.system.dispatch(c.get("principal").companyId, {
          type: "SetCannedResponses",
          data: { responses, at: deps.clock.now() },
        }),
      );
      return c.json(view(responses), 200);
    });
}
