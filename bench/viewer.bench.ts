/**
 * Viewer responsiveness on a large run: 10,000 real trajectories (a tiny GRPO run's rollouts, E's writer, repeated
 * over 100 steps of 100) and 1,000 metrics lines. Times the API calls the page makes (a page of groups over all steps,
 * cold and cached; one step; the step list; all eight charts) and `research report`. `--steps=N` metrics lines
 * (default 1000). Prints a table and writes bench/results/viewer.json.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createViewerApp } from "../src/viewer/server.js";
import { writeReport } from "../src/viewer/report.js";
import { replicateRun, tinyBase, trainRun } from "../src/viewer/testing/make-run.js";
import { writeJsonAtomic } from "../src/util/fs.js";

const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
};

export async function main(): Promise<void> {
  const metricSteps = arg("steps", 1000);
  const root = mkdtempSync(join(tmpdir(), "viewer-bench-"));
  try {
    // 1) real trajectories and metrics from a 2-step run, repeated to 10,000 / metricSteps
    const { task, base } = await tinyBase();
    await trainRun(join(root, "seed"), task, base, 2);
    const dir = join(root, "big");
    replicateRun(join(root, "seed"), dir, { steps: 100, perStep: 100, metricSteps });

    // 2) the API calls of the page
    const app = await createViewerApp([dir]);
    const time = async (label: string, url: string) => {
      const t0 = performance.now();
      const r = await app.inject({ method: "GET", url });
      if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
      return { call: label, ms: performance.now() - t0, bytes: r.body.length };
    };
    const rows = [
      await time("groups, all steps, filter (cold: parses 100 files)", "/api/groups?run=big&step=all&minSearches=1&page=5"),
      await time("groups, all steps, text filter (cached)", "/api/groups?run=big&step=all&text=e1&page=2"),
      await time("groups, one step", "/api/groups?run=big&step=50"),
      await time("step list (100 steps, counts)", "/api/steps?run=big"),
      await time("version (live poll)", "/api/version"),
      await time(`charts (8 × ${metricSteps} steps, cold)`, "/api/charts"),
      await time("charts (cached)", "/api/charts"),
    ];
    await app.close();
    const t0 = performance.now();
    await writeReport({ dirs: [dir], out: join(root, "report.html") });
    rows.push({ call: `research report (10,000 trajectories, ${metricSteps} steps)`, ms: performance.now() - t0, bytes: 0 });

    console.log("| call | ms | response bytes |\n|---|---:|---:|");
    for (const r of rows) console.log(`| ${r.call} | ${r.ms.toFixed(1)} | ${r.bytes || "–"} |`);
    const cold = rows[0].ms;
    const warm = rows[1].ms;
    console.log(`cached / cold page of groups over 10,000 trajectories: ${(warm / cold).toFixed(3)}`);
    writeJsonAtomic(join(process.cwd(), "bench", "results", "viewer.json"), { trajectories: 10_000, metricSteps, rows, cachedOverCold: warm / cold, at: new Date().toISOString() });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
