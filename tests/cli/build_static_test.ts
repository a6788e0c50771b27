import assert from "node:assert/strict";
import { bundleWidget, WIDGET_BUNDLE } from "../../cli/build_static.ts";

Deno.test("static/widget.js is the bundle its sources build now (run `deno task build:static`)", async () => {
  const committed = await Deno.readTextFile(new URL(`../../${WIDGET_BUNDLE}`, import.meta.url));
  assert.ok(
    committed === await bundleWidget(),
    `${WIDGET_BUNDLE} is stale: run \`deno task build:static\` and commit the result`,
  );
});
