import assert from "node:assert/strict";
import { erf } from "../../src/ops/erf.ts";

/** Reference values of erf (CPython's math.erf, correctly rounded here). */
const TABLE: readonly [number, number][] = [
  [1e-10, 1.1283791670955126e-10],
  [0.1, 0.1124629160182849],
  [0.3, 0.3286267594591274],
  [0.5, 0.5204998778130465],
  [0.9, 0.7969082124228322],
  [1, 0.8427007929497149],
  [1.5, 0.9661051464753108],
  [1.7, 0.9837904585907745],
  [2, 0.9953222650189527],
  [2.2, 0.9981371537020182],
  [2.5, 0.999593047982555],
  [3, 0.9999779095030014],
  [3.5, 0.9999992569016276],
  [4, 0.9999999845827421],
  [4.5, 0.9999999998033839],
  [5.5, 0.9999999999999927],
  [5.99, 1],
];

Deno.test("erf matches reference values to ~1e-15, odd in x", () => {
  for (const [x, want] of TABLE) {
    for (const [arg, expected] of [[x, want], [-x, -want]]) {
      const got = erf(arg);
      assert.ok(
        Math.abs(got - expected) <= 4e-15 * Math.abs(expected),
        `erf(${arg}) = ${got}, want ${expected}`,
      );
    }
  }
});

Deno.test("erf at the edges", () => {
  assert.equal(erf(0), 0);
  assert.equal(erf(6), 1);
  assert.equal(erf(-Infinity), -1);
  assert.ok(Number.isNaN(erf(NaN)));
});
