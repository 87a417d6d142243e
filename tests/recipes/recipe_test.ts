import assert from "node:assert/strict";
import {
  gammaFor,
  parseRecipe,
  RECIPE_NAMES,
  RecipeError,
} from "../../src/recipes/mod.ts";

Deno.test("the recipe table: formats, widths, outlier treatments, defaults", () => {
  const row = (name: string) => {
    const r = parseRecipe(name);
    return [
      r.format,
      r.bits.weight,
      r.bits.activation,
      r.bits.gradient,
      r.outliers,
    ];
  };
  assert.deepEqual(RECIPE_NAMES, [
    "fp32",
    "fp16",
    "int8",
    "int8-a1",
    "int8-a2",
    "int12",
    "int16",
  ]);
  assert.deepEqual(row("int8"), ["bfp", 8, 8, 8, "none"]);
  assert.deepEqual(row("int8-a1"), ["bfp", 8, 8, 8, "split"]);
  assert.deepEqual(row("int8-a2"), ["bfp", 8, 8, 8, "tile"]);
  assert.deepEqual(row("int12"), ["bfp", 12, 12, 12, "none"]);
  assert.deepEqual(row("int16"), ["bfp", 16, 16, 16, "none"]);
  assert.equal(parseRecipe("fp16").format, "f16");
  assert.equal(parseRecipe("fp32").format, "f32");
  const a1 = parseRecipe("int8-a1");
  assert.equal(a1.outlierBits, 12);
  assert.equal(a1.gamma, 5);
  assert.deepEqual(a1.rounding, { train: "stochastic", eval: "nearest" });
  assert.deepEqual(a1.granularity, {
    weight: "tensor",
    activation: "tensor",
    gradient: "tensor",
  });
  assert.equal(a1.attentionInt, false);
  assert.equal(a1.name, "int8-a1");
});

Deno.test("overrides change only the knobs they name", () => {
  const r = parseRecipe("int8-a2", {
    gamma: 6,
    rounding: "nearest",
    bits: { gradient: 12 },
    attentionInt: true,
    layerGamma: { "/bert/encoder/layer.11/": 4 },
  });
  assert.deepEqual(r.bits, { weight: 8, activation: 8, gradient: 12 });
  assert.deepEqual(r.rounding, { train: "nearest", eval: "nearest" });
  assert.equal(r.gamma, 6);
  assert.equal(r.attentionInt, true);
  assert.equal(gammaFor(r, "/bert/encoder/layer.11/output/dense/MatMul"), 4);
  assert.equal(gammaFor(r, "/bert/encoder/layer.1/output/dense/MatMul"), 6);
  const row = parseRecipe("int8", { granularity: { weight: "column" } });
  assert.deepEqual(row.granularity, {
    weight: "column",
    activation: "tensor",
    gradient: "tensor",
  });
  assert.deepEqual(parseRecipe("int12", { bits: 10 }).bits, {
    weight: 10,
    activation: 10,
    gradient: 10,
  });
  assert.deepEqual(
    parseRecipe("int8", { rounding: { eval: "stochastic" } }).rounding,
    { train: "stochastic", eval: "stochastic" },
  );
});

/** The RecipeError `f` throws. */
function refusal(f: () => unknown): RecipeError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof RecipeError, String(e));
    return e;
  }
  assert.fail("no error");
}

Deno.test("bad recipes are refused with the field at fault and a clear sentence", () => {
  const unknown = refusal(() => parseRecipe("int9"));
  assert.equal(unknown.field, "name");
  assert.equal(unknown.recipe, "int9");
  assert.equal(
    unknown.message,
    "Unknown precision recipe 'int9'; use one of: fp32, fp16, int8, int8-a1, int8-a2, int12, int16.",
  );
  const zero = refusal(() => parseRecipe("int8", { gamma: 0 }));
  assert.equal(zero.field, "gamma");
  assert.equal(zero.value, 0);
  assert.match(
    zero.message,
    /^The outlier threshold γ must be a finite number > 0, got 0 \(gamma\)\.$/,
  );
  assert.equal(
    refusal(() => parseRecipe("int8-a1", { gamma: -5 })).field,
    "gamma",
  );
  assert.match(
    refusal(() => parseRecipe("int8-a2", { gamma: 5.00390625 })).message,
    /more than 8 significant bits/,
  );
  assert.match(
    refusal(() => parseRecipe("int8-a2", { gamma: 5.1 })).message,
    /^The outlier threshold γ must be an f32 value such as 5 or 4\.5, got 5\.1/,
  );
  const layer = refusal(() =>
    parseRecipe("int8-a2", { layerGamma: { "/bert/pooler/": 0 } })
  );
  assert.equal(layer.field, "layerGamma./bert/pooler/");
  for (const bits of [1, 17, 8.5]) {
    const e = refusal(() => parseRecipe("int8", { bits }));
    assert.equal(e.field, "bits.weight");
    assert.match(
      e.message,
      /^A BFP width must be a whole number of bits from 2 to 16/,
    );
  }
  assert.equal(
    refusal(() => parseRecipe("int8-a1", { outlierBits: 20 })).field,
    "outlierBits",
  );
  const role = refusal(() => parseRecipe("int8", { bits: { bias: 8 } }));
  assert.equal(role.field, "bits.bias");
  assert.equal(
    role.message,
    "Unknown operand role 'bias' in bits; use weight, activation or gradient.",
  );
  assert.equal(
    refusal(() =>
      parseRecipe("int8", {
        rounding: "up" as unknown as "nearest",
      })
    ).field,
    "rounding.train",
  );
  assert.equal(
    refusal(() =>
      parseRecipe("int8", {
        granularity: "block" as unknown as "row",
      })
    ).field,
    "granularity.weight",
  );
});

Deno.test("knobs a recipe would ignore are refused, not dropped", () => {
  assert.match(
    refusal(() => parseRecipe("int8", { gamma: 6 })).message,
    /^Recipe int8 does not treat outliers, so 'gamma' does not apply/,
  );
  assert.equal(refusal(() => parseRecipe("fp32", { bits: 8 })).field, "bits");
  assert.equal(
    refusal(() => parseRecipe("fp16", { rounding: "nearest" })).field,
    "rounding",
  );
  assert.equal(
    refusal(() => parseRecipe("int8-a2", { outlierBits: 12 })).field,
    "outlierBits",
  );
  assert.equal(
    refusal(() => parseRecipe("int8-a1", { granularity: "row" })).field,
    "granularity.activation",
  );
  assert.equal(
    refusal(() => parseRecipe("fp32", { attentionInt: true })).field,
    "attentionInt",
  );
});
