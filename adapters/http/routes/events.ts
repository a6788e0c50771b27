/** `GET /api/v1/companies/{company_id}/events`: the company's log as NDJSON, for its admins. */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { decode } from "../../../src/codec.ts";
import { exportLine } from "../../../src/replay.ts";
import { Id } from "../../schemas.ts";
import type { HttpDeps, HttpEnv } from "../deps.ts";
import { fromStore, refuse } from "../errors.ts";
import { authenticate, pathFirst, requireRole } from "../middleware.ts";
import { apiRoute } from "../openapi.ts";
import { queryNumber } from "./_query.ts";

/** The path's company, checked by the same id rule as a body's. */
const CompanyPath = z.object({ company_id: Id });

/** `?after=SEQ&limit=N`; an empty value means "not given". */
export const EventsQuery = z.object({
  after: queryNumber(z.number().int().min(0)),
  limit: queryNumber(z.number().int().min(1).max(5000)),
});

// Typed as any media type: the route's types read `application/x-ndjson` as no JSON they know.
const NDJSON: string = "application/x-ndjson";

/** The export route, for an agent token of that company. */
export function eventRoutes(deps: HttpDeps) {
  const route = apiRoute({
    method: "get",
    path: "/api/v1/companies/{company_id}/events",
    summary:
      "The company's event log as NDJSON, paginated (admin-only: an agent token of that company)",
    middleware: [
      authenticate(deps),
      requireRole("agent", "The log is for the company's admins (agents)"),
      pathFirst(CompanyPath, (caller, { company_id }) => {
        if (caller.companyId !== company_id) {
          refuse("forbidden", "The token does not belong to this company");
        }
      }),
    ] as const,
    request: { params: CompanyPath, query: EventsQuery },
    responses: {
      200: {
        description:
          "One event a line: {seq, type, at, v, data}; the header X-Next-After gives the next page's `after`",
        content: { [NDJSON]: { schema: z.string() } },
      },
    },
  });
  return new OpenAPIHono<HttpEnv>().openapi(route, async (c) => {
    const { after = 0, limit = 1000 } = c.req.valid("query");
    const companyId = c.get("principal").companyId;
    const lines: string[] = [];
    let last = after;
    await fromStore(async () => {
      for await (const e of deps.store.read(companyId, { after, limit })) {
        lines.push(exportLine(decode(e)));
        last = e.seq;
      }
    });
    return c.newResponse(lines.length ? `${lines.join("\n")}\n` : "", 200, {
      "content-type": "application/x-ndjson; charset=utf-8",
      "x-next-after": String(last),
    });
  });
}
