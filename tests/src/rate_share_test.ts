import assert from "node:assert/strict";
import { KeyedLimiter, type NodeShare, rate } from "../../src/rate_limit.ts";
import { FakeClock } from "../_fakes.ts";

Deno.test("rate(): past one node each node lets through its share, following the live node count", () => {
  const share: NodeShare = { nodes: 1 };
  const clock = new FakeClock();
  const limiter = new KeyedLimiter(rate(10, share), clock);
  const burst = () => {
    let n = 0;
    while (limiter.take("203.0.113.7")) n++;
    return n;
  };
  assert.equal(burst(), 20); // one node: the whole burst
  share.nodes = 4;
  clock.advance(10_000);
  assert.equal(burst(), 5); // four nodes: a quarter of it here
  assert.deepEqual({ ...rate(10) }, { perSecond: 10, burst: 20 });
});
