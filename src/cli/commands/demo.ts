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
    .addHelpText("after", "\nExamples:\n  research demo --quick\n  research demo --out runs/demo\n  npm start\n")
    .action(async (opts: { quick: boolean; out?: string; config?: string; baseModel?: string; trainConfig?: string; steps?: number; test?: number }) => {
      const { DemoConfigSchema, runDemo } = await import("../../world/demo.js");
      const { readConfigFile } = await import("../../util/config-file.js");
      const raw: Record<string, unknown> = opts.config ? readConfigFile(opts.config) : {};
      raw.quick = opts.quick || raw.quick === true;
      if (opts.baseModel) raw.baseModel = opts.baseModel;
      if (opts.trainConfig) raw.trainConfig = opts.trainConfig;
      if (opts.steps !== undefined) raw[raw.quick ? "quickTrainSteps" : "trainSteps"] = opts.steps;
      if (opts.test !== undefined) raw[raw.quick ? "quickTestQuestions" : "testQuestions"] = opts.test;
      const parsed = DemoConfigSchema.safeParse(raw);
      if (!parsed.success) throw new UserError(`${opts.config ?? "demo config"}: ${parsed.error.issues[0].path.join(".")}: ${parsed.error.issues[0].message}`);
      const out = opts.out ?? (parsed.data.quick ? "runs/demo-quick" : "runs/demo");
      const { report, dir } = await runDemo(out, parsed.data);
      const rows = Object.entries(report.eval).map(([m, e]) => `  ${m.padEnd(14)} EM ${(e!.em * 100).toFixed(1).padStart(5)}  F1 ${(e!.f1 * 100).toFixed(1).padStart(5)}  searches ${e!.searches_mean.toFixed(2)}`);
      process.stdout.write(`demo → ${dir}/report.md\n${rows.join("\n")}\n`);
    });
}
