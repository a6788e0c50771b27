/** The pages (`static/`): the landing page, the user page, the agent console, the docs. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { secureHeaders } from "hono/secure-headers";
import { serveStatic } from "hono/serve-static";
import type { HttpDeps, HttpEnv } from "../deps.ts";
import { refuse } from "../errors.ts";
import { errors } from "../openapi.ts";

/** The only names served: one flat folder, a few file types. */
const PAGE = /^[a-z0-9_-]+\.(html|js|css|svg)$/;

/** What a page may load and who may frame it: itself only, plus the sockets. */
const pageHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    connectSrc: ["'self'", "ws:", "wss:"],
    imgSrc: ["'self'", "data:"],
    frameAncestors: ["'self'"],
  },
  xContentTypeOptions: true,
  referrerPolicy: "no-referrer",
  xFrameOptions: "SAMEORIGIN",
  // Only the headers the pages always had.
  crossOriginResourcePolicy: false,
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  strictTransportSecurity: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});

/** `/`, `/docs` and `/{file}`. */
export function pageRoutes(deps: Pick<HttpDeps, "staticDir">) {
  const root = deps.staticDir ?? new URL("../../../static/", import.meta.url).pathname;
  const serve = serveStatic<HttpEnv>({
    root,
    // The whole file, not a stream, so the answer has a Content-Length as it always had.
    getContent: async (path) => {
      try {
        const bytes = await Deno.readFile(path);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      } catch {
        return null;
      }
    },
    mimes: { svg: "image/svg+xml" },
    onFound: (_path, c) => {
      c.header("cache-control", "no-cache");
    },
    onNotFound: (_path, c) => refuse("not_found", `No page named ${c.req.param("file")}`),
  });
  const landing = createRoute({
    method: "get",
    path: "/",
    summary: "The landing page",
    responses: { 302: { description: "To /index.html" } },
  });
  const docs = createRoute({
    method: "get",
    path: "/docs",
    summary: "The API docs page",
    responses: { 302: { description: "To /docs.html" } },
  });
  const page = createRoute({
    method: "get",
    path: "/{file}",
    summary: "The pages: index.html, user.html, admin.html, docs.html and their scripts",
    request: { params: z.object({ file: z.string().regex(PAGE) }) },
    responses: { 200: { description: "The file" }, ...errors(404) },
  });
  return new OpenAPIHono<HttpEnv>()
    .openapi(landing, (c) => c.redirect("/index.html"))
    .openapi(docs, (c) => c.redirect("/docs.html"))
    .openapi(
      page,
      async (c, next) => {
        // Inside the handler, not as route middleware, so only a page gets the page headers:
        // a 404 (`onNotFound` throws before them) is answered as every other route's.
        await pageHeaders(c, async () => {
          c.res = (await serve(c, next)) as Response;
        });
        return c.res;
      },
      // A name outside PAGE is no route at all, not a bad request.
      (result, c) => {
        if (!result.success) refuse("not_found", `No route for GET ${c.req.path}`);
      },
    );
}
