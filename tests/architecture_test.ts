import assert from "node:assert/strict";

/** Every import specifier in a TypeScript file. */
async function importsOf(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path);
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"([^"]+)"/g)].map((m) => m[1]);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await filesUnder(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("domain/ imports only domain/ and touches no clock, randomness or Deno API", async () => {
  for (const file of await filesUnder(`${root}/domain`)) {
    for (const spec of await importsOf(file)) {
      assert.match(spec, /^\.\.?\/([a-z_]+\/)*[a-z_]+\.ts$/, `${file} imports ${spec}`);
      const target = new URL(spec, `file://${file}`).pathname;
      assert.ok(target.startsWith(`${root}/domain/`), `${file} imports ${spec}, outside domain/`);
    }
    const text = await Deno.readTextFile(file);
    for (
      const banned of ["Deno.", "Date.now", "new Date", "Math.random", "crypto.", "setTimeout"]
    ) {
      assert.ok(!text.includes(banned), `${file} uses ${banned}`);
    }
  }
});

Deno.test("src/ never imports adapters/ or main.ts; imports are npm:, node: or relative", async () => {
  for (const file of await filesUnder(`${root}/src`)) {
    for (const spec of await importsOf(file)) {
      assert.ok(
        !spec.includes("adapters/") && !spec.endsWith("main.ts"),
        `${file} imports ${spec}`,
      );
    }
  }
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
  for (const [name, target] of Object.entries(config.imports as Record<string, string>)) {
    assert.match(
      target,
      /^npm:\/?[@a-z0-9./-]+@\d+\.\d+\.\d+\/?$/,
      `${name} → ${target} is not a pinned npm import`,
    );
  }
  for (const dir of ["domain", "src", "adapters", "tests"]) {
    for (const file of await filesUnder(`${root}/${dir}`)) {
      for (const spec of await importsOf(file)) {
        assert.ok(!/^(jsr:|https?:)/.test(spec), `${file} imports ${spec}`);
      }
    }
  }
});
