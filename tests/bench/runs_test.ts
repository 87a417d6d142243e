import assert from "node:assert/strict";
import { join } from "node:path";
import { publishTable, runPlan, type RunRecord } from "../../bench/runs.ts";

Deno.test("a driver keeps finished runs, plans the rest, and puts its table between the markers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const metrics = (epoch: number): RunRecord => ({
      history: [{ epoch }],
    });
    const finished = join(dir, "a");
    const resumedOnly = join(dir, "b");
    await Deno.mkdir(finished);
    await Deno.mkdir(resumedOnly);
    await Deno.writeTextFile(
      join(finished, "metrics.json"),
      JSON.stringify(metrics(2)),
    );
    // Metrics stopping short of the last epoch: the run is not finished.
    await Deno.writeTextFile(
      join(resumedOnly, "metrics.json"),
      JSON.stringify(metrics(1)),
    );
    const runs = await runPlan<RunRecord>(
      [
        { dir: finished, args: [] },
        { dir: resumedOnly, args: [] },
        { dir: join(dir, "c"), args: [] },
      ],
      2,
      true,
    );
    assert.deepEqual(runs, [metrics(2)]);

    const results = join(dir, "RESULTS.md");
    await Deno.writeTextFile(
      results,
      "intro\n<!-- t:start -->\nold\n<!-- t:end -->\nrest\n",
    );
    await publishTable("| new |\n", join(dir, "out"), "t", results);
    assert.equal(
      await Deno.readTextFile(results),
      "intro\n<!-- t:start -->\n| new |\n<!-- t:end -->\nrest\n",
    );
    assert.equal(
      await Deno.readTextFile(join(dir, "out", "table.md")),
      "| new |\n",
    );
    await publishTable("| other |\n", join(dir, "out"), "u", results);
    assert.match(await Deno.readTextFile(results), /\| new \|/, "no markers");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
