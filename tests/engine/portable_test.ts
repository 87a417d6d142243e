/**
 * The engine must run in browsers: no module it loads, transitively, may
 * use a Deno or Node API.
 */

import assert from "node:assert/strict";

Deno.test("the engine's module graph uses no Deno or Node API", async () => {
  const entry = new URL("../../runtime/engine/mod.ts", import.meta.url);
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry.href],
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(stdout));
  const modules: { specifier: string }[] = info.modules;
  assert.ok(modules.length > 20);
  for (const { specifier } of modules) {
    assert.ok(
      specifier.startsWith("file:"),
      `${specifier} is not local source`,
    );
    const source = await Deno.readTextFile(new URL(specifier));
    assert.doesNotMatch(source, /\bDeno\.|from "node:|require\(/, specifier);
  }
});
