/**
 * Every gradient rule the autodiff pass knows, one per operator, gathered
 * from the rule tables of each operator family.
 *
 * @module
 */

import { elementwiseRules } from "./elementwise.ts";
import { lsqRules } from "./lsq.ts";
import { matmulRules } from "./matmul.ts";
import { normalizationRules } from "./normalization.ts";
import type { RuleTable } from "./rule.ts";
import { shapeRules } from "./shape.ts";
import { trainingRules } from "./training.ts";

export type { GradContext, GradRule, RuleTable } from "./rule.ts";
export { AutodiffError } from "./rule.ts";

const RULES: RuleTable = Object.freeze({
  ...elementwiseRules,
  ...lsqRules,
  ...matmulRules,
  ...normalizationRules,
  ...shapeRules,
  ...trainingRules,
});

/** The gradient rules by operator name. */
export function gradientRules(): RuleTable {
  return RULES;
}
