/**
 * @module world/seeds — `research demo --seeds 1,2,3`: the demo once per GRPO seed (DIR/seed-<n>/), then the mean ±
 * sample standard deviation (n − 1 in the denominator; 0 for one run) of each headline number over the runs'
 * report.json files → DIR/seeds.json + DIR/seeds.md. The aggregation is pure (`aggregateSeeds`).
 */
import { mean, std } from "../util/stats.js";
import { UserError } from "../util/errors.js";
import { DEMO_METHODS, REFLECTION_FIELDS, type DemoReport, type MethodReport } from "./demo-report.js";

/** "1,2,3" → [1, 2, 3]: distinct integers, at least one. */
export function parseSeeds(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  const seeds = parts.map((p) => (/^-?\d+$/.test(p) ? Number(p) : NaN));
  const bad = parts.find((_, i) => !Number.isSafeInteger(seeds[i]));
  if (bad !== undefined || parts.length === 0) throw new UserError(`--seeds: expected a comma-separated list of integers such as 1,2,3, got "${text}"`);
  if (new Set(seeds).size !== seeds.length) throw new UserError(`--seeds: a seed is listed twice in "${text}"`);
  return seeds;
}

/** The headline numbers of one report, flattened to `path → value` (missing numbers are left out). */
export function headlineNumbers(rep: DemoReport): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (k: string, v: number | null | undefined) => {
    if (typeof v === "number" && Number.isFinite(v)) out[k] = v;
  };
  const method = (prefix: string, m: MethodReport | undefined) => {
    if (!m) return;
    put(`${prefix}.em`, m.em);
    put(`${prefix}.f1`, m.f1);
    put(`${prefix}.searches_mean`, m.searches_mean);
    for (const [h, b] of Object.entries(m.by_hops)) put(`${prefix}.by_hops.${h}.em`, b.em);
    for (const [t, b] of Object.entries(m.by_type ?? {})) put(`${prefix}.by_type.${t}.em`, b.em);
    const r = m.reflection;
    if (r) for (const k of ["miss_rate", "search_after_miss", "query_revision", "recovery"] as const) put(`${prefix}.reflection.${k}`, r[k]);
  };
  for (const m of DEMO_METHODS) method(`eval.${m}`, rep.eval[m]);
  for (const [k, c] of Object.entries(rep.checks ?? {})) put(`checks.${k}`, c.value);
  const steps = rep.train.steps;
  if (steps.length) {
    put("train.answer_f1_first10", mean(steps.slice(0, 10).map((s) => s.answer_f1_mean)));
    put("train.answer_f1_last10", mean(steps.slice(-10).map((s) => s.answer_f1_mean)));
    put("train.searches_last10", mean(steps.slice(-10).map((s) => s.searches_mean)));
    for (const f of REFLECTION_FIELDS) {
      const xs = steps.slice(-10).flatMap((s) => (typeof s[f] === "number" ? [s[f] as number] : []));
      if (xs.length) put(`train.${f}_last10`, mean(xs));
    }
  }
  for (const [b, bench] of Object.entries(rep.benchmarks?.by_benchmark ?? {})) {
    if (!bench) continue;
    for (const m of DEMO_METHODS) {
      const e = bench.methods[m];
      if (!e) continue;
      put(`benchmarks.${b}.${m}.em`, e.em);
      put(`benchmarks.${b}.${m}.f1`, e.f1);
    }
  }
  return out;
}

export interface SeedStat {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single run. */
  std: number;
  min: number;
  max: number;
  /** Runs that have this number (a number missing in some runs is averaged over the others). */
  n: number;
  values: Record<string, number>;
}

export interface SeedsSummary {
  seeds: number[];
  /** Every headline number: mean ± std over the seeds' reports. */
  metrics: Record<string, SeedStat>;
  /** Per check: in how many runs it passed, of those that evaluated it. */
  checks: Record<string, { passed: number; of: number }>;
}

export function aggregateSeeds(runs: { seed: number; report: DemoReport }[]): SeedsSummary {
  if (!runs.length) throw new UserError("no demo reports to aggregate");
  const per = runs.map((r) => ({ seed: r.seed, nums: headlineNumbers(r.report) }));
  const keys: string[] = [];
  for (const p of per) for (const k of Object.keys(p.nums)) if (!keys.includes(k)) keys.push(k);
  const metrics: Record<string, SeedStat> = {};
  for (const k of keys) {
    const have = per.filter((p) => k in p.nums);
    const xs = have.map((p) => p.nums[k]);
    metrics[k] = { mean: mean(xs), std: std(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length, values: Object.fromEntries(have.map((p) => [String(p.seed), p.nums[k]])) };
  }
  const checks: SeedsSummary["checks"] = {};
  for (const r of runs)
    for (const [k, c] of Object.entries(r.report.checks ?? {})) {
      const e = (checks[k] ??= { passed: 0, of: 0 });
      if (c.pass !== null) {
        e.of++;
        if (c.pass) e.passed++;
      }
    }
  return { seeds: runs.map((r) => r.seed), metrics, checks };
}

/** Shares and EMs in %, counts (searches) as they are. */
const isShare = (k: string) => !/searches/.test(k) && !k.startsWith("checks.em_vs_best_baseline");

export function renderSeedsMarkdown(s: SeedsSummary): string {
  const f = (k: string, x: number) => (isShare(k) ? (100 * x).toFixed(1) : x.toFixed(2));
  const lines = [
    `# ReSearch demo over ${s.seeds.length} GRPO seeds (${s.seeds.join(", ")})`,
    ``,
    `Mean ± sample standard deviation over the runs (EM, F1 and shares in %; searches per question and the baseline ratio as they are).`,
    ``,
    `| number | mean ± std | min | max | ${s.seeds.map((x) => `seed ${x}`).join(" | ")} |`,
    `|---|---|---|---|${s.seeds.map(() => "---").join("|")}|`,
    ...Object.entries(s.metrics).map(([k, m]) => `| ${k} | ${f(k, m.mean)} ± ${f(k, m.std)} | ${f(k, m.min)} | ${f(k, m.max)} | ${s.seeds.map((x) => (m.values[String(x)] === undefined ? "—" : f(k, m.values[String(x)]))).join(" | ")} |`),
    ``,
    `| check | passed |`,
    `|---|---|`,
    ...Object.entries(s.checks).map(([k, c]) => `| ${k} | ${c.passed} of ${c.of} |`),
  ];
  return lines.join("\n") + "\n";
}

/**
 * The demo once per seed into `outDir/seed-<n>/` (each resumable, like one demo), then `outDir/seeds.json` and
 * `outDir/seeds.md`. The seed is the GRPO seed (DemoConfig.seed); the world and base model stay the same.
 */
export async function runDemoSeeds(outDir: string, cfg: import("./demo.js").DemoConfig, seeds: number[]): Promise<{ summary: SeedsSummary; dir: string }> {
  const { join, resolve } = await import("node:path");
  const { writeFileAtomic, writeJsonAtomic } = await import("../util/fs.js");
  const { runDemo } = await import("./demo.js");
  const dir = resolve(outDir);
  const runs: { seed: number; report: DemoReport }[] = [];
  for (const [i, seed] of seeds.entries()) {
    process.stderr.write(`[seeds ${i + 1}/${seeds.length}] demo with GRPO seed ${seed} → ${join(dir, `seed-${seed}`)}\n`);
    const { report } = await runDemo(join(dir, `seed-${seed}`), { ...cfg, seed });
    runs.push({ seed, report });
  }
  const summary = aggregateSeeds(runs);
  writeJsonAtomic(join(dir, "seeds.json"), summary);
  writeFileAtomic(join(dir, "seeds.md"), renderSeedsMarkdown(summary));
  return { summary, dir };
}
