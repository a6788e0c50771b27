/** A local HTTP server that records webhook calls; it can fail the first attempts. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createHmac, timingSafeEqual } from "node:crypto";

export interface Received {
  readonly id: string | null;
  readonly signature: string | null;
  readonly raw: string;
  readonly body: { id: string; type: string; user_id: string; data: Record<string, unknown> };
}

/** Starts the receiver on 127.0.0.1; the first `failFirst` attempts answer 500. */
export async function webhookReceiver(options: { failFirst?: number } = {}) {
  let attempts = 0;
  const control = { failing: false };
  const accepted: Received[] = [];
  const all: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const attemptWaiters: { n: number; resolve: () => void }[] = [];
  // node:http rather than Deno.serve: @hono/node-server swaps the global Response.
  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (raw += chunk));
    req.on("end", () => {
      const got: Received = {
        id: req.headers["x-event-id"] as string ?? null,
        signature: req.headers["x-signature"] as string ?? null,
        raw,
        body: JSON.parse(raw),
      };
      all.push(got);
      for (const w of attemptWaiters.splice(0)) {
        if (all.length >= w.n) w.resolve();
        else attemptWaiters.push(w);
      }
      if (attempts++ < (options.failFirst ?? 0) || control.failing) {
        res.writeHead(500).end("try later");
        return;
      }
      accepted.push(got);
      for (const w of waiters.splice(0)) {
        if (accepted.length >= w.n) w.resolve();
        else waiters.push(w);
      }
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    /** While true, every call is answered 500. */
    set failing(value: boolean) {
      control.failing = value;
    },
    accepted,
    all,
    /** Resolves once `n` calls were accepted. */
    until(n: number): Promise<void> {
      if (accepted.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    /** Resolves once `n` calls arrived, accepted or not. */
    attempts(n: number): Promise<void> {
      if (all.length >= n) return Promise.resolve();
      return new Promise((resolve) => attemptWaiters.push({ n, resolve }));
    },
    /**
     * Whether a call's signature is `sha256=` and the hex HMAC-SHA256 of its raw body with
     * `secret`, computed here with node:crypto rather than by the server's own signer.
     */
    verifies(r: Received, secret: string): boolean {
      const expected = `sha256=${createHmac("sha256", secret).update(r.raw).digest("hex")}`;
      const got = new TextEncoder().encode(r.signature ?? "");
      const want = new TextEncoder().encode(expected);
      return got.length === want.length && timingSafeEqual(got, want);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
