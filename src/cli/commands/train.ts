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
    .option("--backend <kind>", "where steps 4–6 (forward/backward, AdamW) run: in-process (default) or tinker (a Tinker-compatible service: hosted Tinker, SkyRL-tx, research serve trainer)")
    .option("--base-url <url>", "with --backend tinker: the service root, e.g. http://127.0.0.1:8001 (API key from env TINKER_API_KEY, sent as X-API-Key); with --resume: the service moved here")
    .option("--base-model <name>", "with --backend tinker: the service's base model (research serve trainer: a directory under its --models); rollouts run locally on --config's model, which must be the same model")
    .option("--lora-rank <n>", "with --backend tinker: LoRA rank (0 = full fine-tune; research serve trainer supports only 0)", intOption("--lora-rank", 0), 0)
    .option("--quiet", "no progress bar")
    .addHelpText(
      "after",
      `
Examples:
  research train --config examples/train-quick.yaml --out runs/grpo --max-steps 20
  research train --resume runs/grpo
  research serve trainer --models models/ --port 8001 &
  research train --config train.yaml --backend tinker --base-url http://127.0.0.1:8001 --base-model stories260K

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
        if (flags.config || flags.out || flags.seed !== undefined || flags.checkpointEvery !== undefined || flags.backend || flags.baseModel)
          throw new UserError("--resume continues a run with its own config: only --max-steps, --base-url and --quiet may be given with it");
        runDir = flags.resume as string;
        raw = readRunConfig(runDir) as Record<string, unknown>;
        if (typeof flags.baseUrl === "string") {
          if (!raw.tinker) throw new UserError("--base-url: this run does not train through a Tinker service");
          raw.tinker = { ...(raw.tinker as object), baseUrl: flags.baseUrl };
        }
      } else {
        if (!flags.config) throw new UserError("give --config FILE (or --resume RUN_DIR)");
        raw = readConfigFile(flags.config as string);
        runDir = (flags.out as string | undefined) ?? `runs/train-${new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}`;
      }
      if (!resume) {
        const backend = (flags.backend as string | undefined) ?? "in-process";
        if (backend !== "in-process" && backend !== "tinker") throw new UserError(`--backend: expected in-process or tinker, got "${backend}"`);
        if (backend === "tinker") {
          if (!flags.baseUrl || !flags.baseModel) throw new UserError("--backend tinker needs --base-url URL and --base-model NAME");
          raw.tinker = { baseUrl: flags.baseUrl, baseModel: flags.baseModel, loraRank: flags.loraRank ?? 0 };
        } else if (flags.baseUrl || flags.baseModel || (flags.loraRank ?? 0) !== 0) throw new UserError("--base-url, --base-model and --lora-rank go with --backend tinker");
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
      if (cfg.tinker) {
        const { checkTinkerConfig } = await import("../../train/tinker-client.js");
        checkTinkerConfig(cfg, resume ? `${runDir}/config.json` : (flags.config as string));
      }
      const setup = createTrainingSetup(cfg, model, { retriever, examples, ...(cfg.tinker ? { tinker: cfg.tinker } : {}) });
      const quiet = flags.quiet === true;
      const sig = abortOnSigint(() => process.stderr.write("\ninterrupted: finishing the step boundary and saving a checkpoint (Ctrl-C again to quit now)\n"));
      let bar: ReturnType<typeof createProgress> | undefined;
      try {
        process.stderr.write(`training ${cfg.model} on ${examples.length} questions${cfg.tinker ? ` through ${cfg.tinker.baseUrl} (${cfg.tinker.baseModel})` : ""} → ${runDir}\n`);
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
