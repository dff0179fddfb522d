/** @module cli/commands/world — `research world build|oracle|pretrain`: the synthetic multi-hop world and its base model. */
import type { Command } from "commander";
import { getOrCreateGroup } from "../group.js";
import { UserError } from "../../util/errors.js";

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UserError(`--${name} must be an integer, got "${v}"`);
  return n;
};

export function register(program: Command): void {
  const world = getOrCreateGroup(program, "world", "the synthetic multi-hop world: build it, measure the oracle, pre-train its base model");

  world
    .command("build")
    .description("generate the world from a seed: corpus.jsonl, pretrain/train/test.jsonl (FlashRAG QA), manifest.json, tokenizer.json")
    .option("--seed <n>", "generator seed", int("seed"), 1)
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
          `(test ≥2 hops: ${(q.test.multiHopRate * 100).toFixed(1)}%, by hops ${JSON.stringify(q.test.byHops)}); shared-name rate ${manifest.sharedNameRate}\n`,
      );
    });

  world
    .command("oracle")
    .description("follow each question's gold chain with the real BM25 retriever: the EM ceiling this retriever allows")
    .option("--world <dir>", "world directory (from `world build`)", "world")
    .option("--split <split>", "which questions: pretrain | train | test", "test")
    .option("--top-n <n>", "passages per query", int("top-n"), 1)
    .option("--out <file>", "write the full report (per question) as JSON")
    .addHelpText("after", "\nExample:\n  research world oracle --world runs/world --top-n 1\n")
    .action(async (opts: { world: string; split: string; topN: number; out?: string }) => {
      const { readWorldQuestions } = await import("../../world/build.js");
      const { readCorpusFile } = await import("../../world/cli-support.js");
      const { memoryBm25Retriever, runOracle } = await import("../../world/oracle.js");
      if (!["pretrain", "train", "test"].includes(opts.split)) throw new UserError(`--split must be pretrain, train or test, got "${opts.split}"`);
      const qs = readWorldQuestions(opts.world, opts.split as "test");
      const retriever = memoryBm25Retriever(await readCorpusFile(opts.world));
      const rep = await runOracle(qs, retriever, { topN: opts.topN });
      if (opts.out) {
        const { writeJsonAtomic } = await import("../../util/fs.js");
        writeJsonAtomic(opts.out, rep);
      }
      process.stdout.write(`oracle (${opts.split}, top-${rep.topN}, BM25): n=${rep.n} EM=${rep.em.toFixed(3)} hop recall=${rep.hop_recall.toFixed(3)}\n`);
      for (const [h, b] of Object.entries(rep.by_hops)) process.stdout.write(`  ${h}-hop: n=${b.n} EM=${b.em.toFixed(3)}\n`);
    });
}
