/**
 * @module cli/commands/train — `research train`: GRPO training with search (ReSearch), into a resumable run directory.
 */
import type { Command } from "commander";
import { UserError } from "../../util/errors.js";
import { intOption } from "../options.js";

export function register(program: Command): void {
  program
    .command("train")
    .description("Train a policy with GRPO to reason with search (ReSearch); resumable run directory with metrics and checkpoints")
    .option("--config <file>", "training config, YAML or JSON (see src/train/config.ts; unknown keys are errors)")
    .option("--out <dir>", "run directory (default: runs/train-<date>-<time>)")
    .option("--resume <dir>", "continue the run in <dir> from its last complete checkpoint")
    .option("--max-steps <n>", "stop after N steps (overrides the config; with --resume, extends the run)", intOption("--max-steps", 1))
    .option("--checkpoint-every <n>", "checkpoint every N steps (overrides the config)", intOption("--checkpoint-every", 1))
    .option("--seed <s>", "seed for data order, sampling and curriculum (overrides the config)", intOption("--seed", -(2 ** 31)))
    .option("--quiet", "no progress bar")
    .addHelpText(
      "after",
      `
Examples:
  research train --config examples/train-quick.yaml --out runs/grpo --max-steps 20
  research train --resume runs/grpo

The run directory holds config.json, metrics.jsonl (one line per step), trajectories/step-N.jsonl and
checkpoints/step-N/ (a loadable model dir + optimizer, RNG and data cursor). Ctrl-C saves a checkpoint and exits.`,
    )
    .action(async (flags: Record<string, string | number | boolean | undefined>) => {
      const { resolveTrainConfig } = await import("../../train/config.js");
      const { readConfigFile } = await import("../../util/config-file.js");
      const { readRunConfig } = await import("../../train/run.js");
      let runDir: string;
      let raw: Record<string, unknown>;
      const resume = typeof flags.resume === "string";
      if (resume) {
        if (flags.config || flags.out || flags.seed !== undefined || flags.checkpointEvery !== undefined)
          throw new UserError("--resume continues a run with its own config: only --max-steps and --quiet may be given with it");
        runDir = flags.resume as string;
        raw = readRunConfig(runDir) as Record<string, unknown>;
      } else {
        if (!flags.config) throw new UserError("give --config FILE (or --resume RUN_DIR)");
        raw = readConfigFile(flags.config as string);
        runDir = (flags.out as string | undefined) ?? `runs/train-${new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}`;
      }
      if (flags.maxSteps !== undefined) raw.maxSteps = flags.maxSteps;
      if (flags.checkpointEvery !== undefined) raw.checkpointEvery = flags.checkpointEvery;
      if (flags.seed !== undefined) raw.seed = flags.seed;
      const cfg = resolveTrainConfig(raw, resume ? `${runDir}/config.json` : (flags.config as string));

      const [{ initTensorBackend }, { loadModel }, { loadQAArray }, { openRetriever }, { createTrainingSetup }, { runSession, abortOnSigint }, { createProgress }, { trainExampleOf }] =
        await Promise.all([
          import("../../tensor/backend.js"),
          import("../../model/load.js"),
          import("../../data/qa.js"),
          import("../../retrieval/index.js"),
          import("../../train/setup.js"),
          import("../../train/session.js"),
          import("../../util/progress.js"),
          import("../../train/sampler.js"),
        ]);
      await initTensorBackend();
      const model = await loadModel(cfg.model);
      const qa = await loadQAArray(cfg.data);
      const examples = qa.map((q, i) => trainExampleOf(q, `${cfg.data}: record ${i + 1} (id ${q.id})`));
      const retriever = await openRetriever(cfg.retrieverUrl ? { url: cfg.retrieverUrl } : { index: cfg.index! });
      const setup = createTrainingSetup(cfg, model, { retriever, examples });
      const quiet = flags.quiet === true;
      const sig = abortOnSigint(() => process.stderr.write("\ninterrupted: finishing the step boundary and saving a checkpoint (Ctrl-C again to quit now)\n"));
      let bar: ReturnType<typeof createProgress> | undefined;
      try {
        process.stderr.write(`training ${cfg.model} on ${examples.length} questions → ${runDir}\n`);
        const result = await runSession({
          runDir,
          config: cfg,
          deps: setup,
          modelConfig: model.config,
          tokenizer: model.tokenizer,
          resume,
          signal: sig.signal,
          onStart: (start, total) => {
            bar = createProgress("train", total, { quiet, fields: "reward {reward} f1 {f1} searches/rollout {searches}" });
            bar.update(start, { reward: "-", f1: "-", searches: "-" });
          },
          onStep: (m) => bar?.update(m.step, { reward: m.reward_mean.toFixed(3), f1: m.answer_f1_mean.toFixed(3), searches: m.searches_mean.toFixed(2) }),
        });
        bar?.stop();
        process.stderr.write(
          `${result.status === "finished" ? "finished" : "interrupted"} at step ${result.stepsDone}/${result.totalSteps}; last checkpoint ${result.lastCheckpoint ?? "none"}\n` +
            (result.status === "interrupted" ? `resume with: research train --resume ${runDir}\n` : ""),
        );
      } finally {
        bar?.stop();
        sig.dispose();
        setup.dispose();
        await retriever.close?.();
      }
    });
}
