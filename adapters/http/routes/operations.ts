/** What operators probe: `/healthz` (alive), `/readyz` (the store answers and takes writes), `/metrics`. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { HttpDeps, HttpEnv } from "../deps.ts";
import { refuse } from "../errors.ts";
import { ErrorBody, errors, json } from "../openapi.ts";

const Ok = z.object({ ok: z.literal(true) });
const NotReady = ErrorBody.extend({
  ok: z.literal(false),
  reason: z.enum(["store_unreachable", "store_refuses_writes"]),
});
const PROMETHEUS: string = "text/plain; version=0.0.4";

/** The probes. */
export function operationRoutes(deps: HttpDeps) {
  const healthz = createRoute({
    method: "get",
    path: "/healthz",
    summary: "Liveness",
    responses: { 200: json(Ok) },
  });
  const readyz = createRoute({
    method: "get",
    path: "/readyz",
    summary: "Readiness: the event store answers, and takes writes",
    responses: { 200: json(Ok), 503: json(NotReady, "Not ready, with the reason") },
  });
  const metrics = createRoute({
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics",
    responses: {
      200: { description: "Text format 0.0.4", content: { [PROMETHEUS]: { schema: z.string() } } },
      ...errors(404),
    },
  });
  return new OpenAPIHono<HttpEnv>()
    .openapi(healthz, (c) => c.json({ ok: true as const }, 200))
    .openapi(readyz, async (c) => {
      try {
        await within(2000, deps.store.version("\u0000readyz"));
      } catch (error) {
        deps.log.warn("readyz.store_unhealthy", { error: String(error) });
        return c.json({
          ok: false as const,
          reason: "store_unreachable" as const,
          error: { code: "unavailable" as const, message: "The event store does not answer" },
        }, 503);
      }
      const health = deps.health;
      if (health) {
        // One small write tells whether the store takes writes (a full disk still reads).
        try {
          await within(2000, deps.store.saveCheckpoint("\u0000readyz", deps.clock.now()));
          health.succeeded();
        } catch (error) {
          health.failed(error, deps.clock.now());
          const since = new Date(health.since).toISOString();
          return c.json({
            ok: false as const,
            reason: "store_refuses_writes" as const,
            error: {
              code: "unavailable" as const,
              message: `The event store refuses writes since ${since} (${health.reason}): ` +
                "connects and reads work, whatever records an event answers 'unavailable'",
            },
          }, 503);
        }
      }
      return c.json({ ok: true as const }, 200);
    })
    .openapi(metrics, (c) => {
      if (!deps.metrics) refuse("not_found", "Metrics are off");
      return c.newResponse(deps.metrics.render(), 200, {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
      });
    });
}

/** `promise`, or a rejection after `ms`. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
