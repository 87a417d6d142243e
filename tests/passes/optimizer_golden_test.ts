import assert from "node:assert/strict";
import { parseGraph } from "../../src/ir/parser.ts";
import { printGraph } from "../../src/ir/printer.ts";
import {
  OPTIMIZER_GOLDEN_CASES,
  OPTIMIZER_GOLDEN_DIR,
  runOptimizerGolden,
} from "./optimizer_golden.ts";

for (const name of OPTIMIZER_GOLDEN_CASES) {
  Deno.test(`pass optimizer: before/after IR (${name})`, () => {
    const base = `${OPTIMIZER_GOLDEN_DIR}${name}`;
    const before = Deno.readTextFileSync(`${base}.before.ir`);
    const after = Deno.readTextFileSync(`${base}.after.ir`);
    const result = runOptimizerGolden(before);
    assert.notEqual(result, before, "the pass changed nothing");
    assert.equal(result, after);
    // The training-step graph's text form reads back to itself.
    assert.equal(printGraph(parseGraph(result)), result);
  });
}
