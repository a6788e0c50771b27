/** The HTTP edge: `createHttpApp(deps)` builds the Hono app the server runs. */
export { createHttpApp, type HttpApp } from "./app.ts";
export type { HttpDeps } from "./deps.ts";
