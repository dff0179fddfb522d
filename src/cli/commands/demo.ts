/** @module cli/commands/demo — `research demo`: the whole method on the synthetic world, end to end (`npm start`). */
import type { Command } from "commander";
import { intOption } from "../options.js";
import { UserError } from "../../util/errors.js";

export function register(program: Command): void {
  program
    .command("demo")
    .description("world → index → base model → GRPO → evaluation of ReSearch vs. the baselines and the oracle → DIR/report.json + report.md (resumable)")
    .option("--quick", "≤ 8 minutes: fewer GRPO steps and test questions (same world and base model)", false)
    .option("--out <dir>", "output directory (default runs/demo, or runs/demo-quick with --quick)")
    .option("--config <file>", "demo config (YAML/JSON, fields of DemoConfig)")
    .option("--base-model <dir>", "base model directory (default models/world-base)")
    .option("--train-config <file>", "GRPO config (default examples/train-quick.yaml)")
    .option("--steps <n>", "override: GRPO steps", intOption("--steps", 0))
    .option("--test <n>", "override: test questions evaluated", intOption("--test", 0))
    .option("--seeds <list>", "run the demo once per GRPO seed (e.g. 1,2,3) into DIR/seed-<n>/, then DIR/seeds.json + seeds.md: mean ± std of each headline number")
    .option("--benchmarks", "also evaluate every method on the world's four test benchmarks (MuSiQue-, HotpotQA-, 2Wiki-, Bamboogle-like) and print the paper's Table 2 (≈ 2× the evaluation time)")
    .option("--test-seed <n>", "evaluate on a fresh test-question sample from this seed (same test entities) instead of test.jsonl", intOption("--test-seed"))
    .addHelpText("after", "\nExamples:\n  research demo --quick\n  research demo --out runs/demo\n  research demo --seeds 1,2,3 --out runs/demo-seeds\n  research demo --benchmarks --test-seed 2\n  npm start\n")
    .action(async (opts: { quick: boolean; out?: string; config?: string; baseModel?: string; trainConfig?: string; steps?: number; test?: number; seeds?: string; benchmarks?: boolean; testSeed?: number }) => {
      const { DemoConfigSchema, runDemo } = await import("../../world/demo.js");
      const { readConfigFile } = await import("../../util/config-file.js");
      const raw: Record<string, unknown> = opts.config ? readConfigFile(opts.config) : {};
      raw.quick = opts.quick || raw.quick === true;
      if (opts.baseModel) raw.baseModel = opts.baseModel;
      if (opts.trainConfig) raw.trainConfig = opts.trainConfig;
      if (opts.steps !== undefined) raw[raw.quick ? "quickTrainSteps" : "trainSteps"] = opts.steps;
      if (opts.test !== undefined) raw[raw.quick ? "quickTestQuestions" : "testQuestions"] = opts.test;
      if (opts.benchmarks) raw.benchmarks = true;
      if (opts.testSeed !== undefined) raw.testQuestionSeed = opts.testSeed;
      const { parseSeeds } = await import("../../world/seeds.js");
      const seeds = opts.seeds === undefined ? undefined : parseSeeds(opts.seeds); // before any work: a bad list fails at once
      const parsed = DemoConfigSchema.safeParse(raw);
      if (!parsed.success) throw new UserError(`${opts.config ?? "demo config"}: ${parsed.error.issues[0].path.join(".")}: ${parsed.error.issues[0].message}`);
      const out = opts.out ?? (parsed.data.quick ? "runs/demo-quick" : "runs/demo") + (seeds ? "-seeds" : "");
      if (seeds) {
        const { runDemoSeeds } = await import("../../world/seeds.js");
        const { summary, dir } = await runDemoSeeds(out, parsed.data, seeds);
        const row = (k: string) => (summary.metrics[k] ? `  ${k.padEnd(24)} ${(summary.metrics[k].mean * 100).toFixed(1)} ± ${(summary.metrics[k].std * 100).toFixed(1)}` : "");
        process.stdout.write(`demo × ${seeds.length} seeds → ${dir}/seeds.md\n${["eval.research.em", "eval.research.f1", "eval.base-research.em"].map(row).filter(Boolean).join("\n")}\n`);
        return;
      }
      const { report, dir } = await runDemo(out, parsed.data);
      const rows = Object.entries(report.eval).map(([m, e]) => `  ${m.padEnd(14)} EM ${(e!.em * 100).toFixed(1).padStart(5)}  F1 ${(e!.f1 * 100).toFixed(1).padStart(5)}  searches ${e!.searches_mean.toFixed(2)}`);
      process.stdout.write(`demo → ${dir}/report.md\n${rows.join("\n")}\n`);
    });
}
