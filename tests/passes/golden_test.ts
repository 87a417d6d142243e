import assert from "node:assert/strict";
import { GOLDEN_DIR, goldenPasses, runGolden } from "./golden.ts";

for (const [name, pass] of goldenPasses()) {
  Deno.test(`pass ${name}: before/after IR`, () => {
    const before = Deno.readTextFileSync(`${GOLDEN_DIR}${name}.before.ir`);
    const after = Deno.readTextFileSync(`${GOLDEN_DIR}${name}.after.ir`);
    const result = runGolden(pass, before);
    assert.notEqual(result, before, "the pass changed nothing");
    assert.equal(result, after);
  });
}
