/** @module cli/commands/world — `research world build|oracle|pretrain`: the synthetic multi-hop world and its base model. */
import type { Command } from "commander";
import { getOrCreateGroup } from "../group.js";
import { UserError } from "../../util/errors.js";
import { intOption, numberOption } from "../options.js";

export function register(program: Command): void {
  const world = getOrCreateGroup(program, "world", "the synthetic multi-hop world: build it, measure the oracle, pre-train its base model");

  world
    .command("build")
    .description("generate the world from a seed: corpus.jsonl, pretrain/train/test.jsonl (FlashRAG QA), the four test benchmarks bench-{musique,hotpotqa,2wiki,bamboogle}.jsonl, manifest.json, tokenizer.json")
    .option("--seed <n>", "generator seed", intOption("--seed"), 1)
    .option("--out <dir>", "output directory", "world")
    .option("--small", "a small world (tests, --quick demo)", false)
    .option("--config <file>", "world config (YAML/JSON, fields of WorldConfig) overriding the defaults")
    .addHelpText("after", "\nExample:\n  research world build --seed 1 --out runs/world\n")
    .action(async (opts: { seed: number; out: string; small: boolean; config?: string }) => {
      const { loadWorldConfig } = await import("../../world/cli-support.js");
      const { buildWorld, writeWorld } = await import("../../world/build.js");
      const { worldVocab } = await import("../../world/vocab.js");
      const { saveWordLevelTokenizer } = await import("../../world/tokenizer.js");
      const config = loadWorldConfig({ seed: opts.seed, small: opts.small, file: opts.config });
      const w = buildWorld(config);
      const manifest = writeWorld(w, opts.out);
      saveWordLevelTokenizer(opts.out, worldVocab(w), 2048);
      const q = manifest.questions;
      process.stdout.write(
        `world seed ${config.seed} → ${opts.out}: ${manifest.passages} passages; questions pretrain ${q.pretrain.n}, train ${q.train.n}, test ${q.test.n} ` +
          `(test ≥2 hops: ${(q.test.multiHopRate * 100).toFixed(1)}%, by hops ${JSON.stringify(q.test.byHops)}); shared-name rate ${manifest.sharedNameRate}\n` +
          `test benchmarks: ${Object.entries(manifest.benchmarks).map(([b, x]) => `${b} ${x.n}`).join(", ")} (bench-<name>.jsonl)\n`,
      );
    });

  world
    .command("oracle")
    .description("follow each question's gold chain with the real BM25 retriever: the EM ceiling this retriever allows")
    .option("--world <dir>", "world directory (from `world build`)", "world")
    .option("--split <split>", "which questions: pretrain | train | test", "test")
    .option("--top-n <n>", "passages per query", intOption("--top-n", 1), 1)
    .option("--index <dir>", "search this index directory (research index) instead of an in-memory BM25 over the world's corpus")
    .option("--out <file>", "write the full report (per question) as JSON")
    .addHelpText("after", "\nExample:\n  research world oracle --world runs/world --top-n 1\n")
    .action(async (opts: { world: string; split: string; topN: number; index?: string; out?: string }) => {
      const { readWorldQuestions } = await import("../../world/build.js");
      const { readCorpusFile } = await import("../../world/cli-support.js");
      const { runOracle } = await import("../../world/oracle.js");
      const { memoryBm25Retriever } = await import("../../retrieval/memory.js");
      if (!["pretrain", "train", "test"].includes(opts.split)) throw new UserError(`--split must be pretrain, train or test, got "${opts.split}"`);
      const qs = readWorldQuestions(opts.world, opts.split as "test");
      const { openRetriever } = await import("../../retrieval/index.js");
      const retriever = opts.index ? await openRetriever({ index: opts.index }) : memoryBm25Retriever(await readCorpusFile(opts.world));
      const rep = await runOracle(qs, retriever, { topN: opts.topN }).finally(() => retriever.close?.());
      if (opts.out) {
        const { writeJsonAtomic } = await import("../../util/fs.js");
        writeJsonAtomic(opts.out, rep);
      }
      process.stdout.write(`oracle (${opts.split}, top-${rep.topN}, BM25): n=${rep.n} EM=${rep.em.toFixed(3)} hop recall=${rep.hop_recall.toFixed(3)}\n`);
      for (const [h, b] of Object.entries(rep.by_hops)) process.stdout.write(`  ${h}-hop: n=${b.n} EM=${b.em.toFixed(3)}\n`);
    });

  registerPretrain(world);
}

export function registerPretrain(world: Command): void {
  world
    .command("pretrain")
    .description("pre-train the world's base model (HF format + word-level tokenizer.json) on the pre-training split; resumable")
    .option("--world <dir>", "world directory (from `world build`)", "world")
    .option("--out <dir>", "model directory to write", "models/world-base")
    .option("--config <file>", "pre-training config (YAML/JSON, fields of PretrainConfig)")
    .option("--steps <n>", "override: optimizer steps", intOption("--steps", 1))
    .option("--max-minutes <n>", "override: stop and save after this many minutes", numberOption("--max-minutes", 0))
    .option("--stop-at <step>", "override: stop and save after this step (deterministic early stop)", intOption("--stop-at", 0))
    .option("--gates <n>", "after training, sample this many ReSearch episodes on RL-train questions and print the gates (0 = skip)", intOption("--gates", 0), 64)
    .option("--gates-temperature <t>", "sampling temperature of the gates' episodes (0 = greedy; the demo uses its GRPO rollouts' temperature)", numberOption("--gates-temperature", 0), 1)
    .addHelpText("after", "\nExample:\n  research world build --out runs/world && research world pretrain --world runs/world --out models/world-base --max-minutes 60\n")
    .action(async (opts: { world: string; out: string; config?: string; steps?: number; maxMinutes?: number; stopAt?: number; gates: number; gatesTemperature: number }) => {
      const { readConfigFile } = await import("../../util/config-file.js");
      const { PretrainConfigSchema, pretrainBaseModel } = await import("../../world/pretrain.js");
      const raw: Record<string, unknown> = opts.config ? readConfigFile(opts.config) : {};
      if (opts.steps !== undefined) raw.steps = opts.steps;
      if (opts.maxMinutes !== undefined) raw.maxMinutes = opts.maxMinutes;
      if (opts.stopAt !== undefined) raw.stopAt = opts.stopAt;
      const parsed = PretrainConfigSchema.safeParse(raw);
      if (!parsed.success) throw new UserError(`${opts.config ?? "pretrain config"}: ${parsed.error.issues[0].path.join(".")}: ${parsed.error.issues[0].message}`);
      const { abortOnSigint } = await import("../../train/session.js");
      const sig = abortOnSigint(() => process.stderr.write("\ninterrupted: finishing the step, then saving a checkpoint and the model (Ctrl-C again to quit now)\n"));
      let r: Awaited<ReturnType<typeof pretrainBaseModel>>;
      try {
        r = await pretrainBaseModel(opts.world, opts.out, parsed.data, { signal: sig.signal });
      } finally {
        sig.dispose();
      }
      process.stdout.write(`base model → ${r.outDir}: ${r.params} parameters, ${r.steps} steps in ${(r.seconds / 60).toFixed(1)} min, final loss ${r.finalLoss.toFixed(3)}\n`);
      if (opts.gates > 0) {
        const { runGates, formatGates } = await import("../../world/gates.js");
        const g = await runGates({ modelDir: opts.out, worldDir: opts.world, n: opts.gates, topN: parsed.data.researchTopN, maxSearches: parsed.data.maxSearches, seed: parsed.data.seed, temperature: opts.gatesTemperature });
        process.stdout.write(formatGates(g) + "\n");
        const { writeJsonAtomic } = await import("../../util/fs.js");
        writeJsonAtomic(`${opts.out}/gates.json`, g);
      }
    });
}
