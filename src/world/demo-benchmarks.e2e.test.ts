import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { BENCHMARK_NAMES } from "./benchmarks.js";
import { buildWorld, writeWorld } from "./build.js";
import { WorldConfigSchema } from "./config.js";
import { DemoConfigSchema, runDemo } from "./demo.js";
import { DEMO_METHODS, type DemoReport } from "./demo-report.js";
import { PretrainConfigSchema, pretrainBaseModel } from "./pretrain.js";
import { runDemoSeeds, type SeedsSummary } from "./seeds.js";

describe("research demo: benchmarks, seeds, a fresh test sample (end to end, tiny)", () => {
  test("--seeds 1,2 with --benchmarks: per-seed runs, Table 2 over four benchmarks, reflection, seeds.json; --test-seed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "demo-bench-e2e-"));
    const worldDir = join(dir, "pt-world");
    writeWorld(buildWorld(WorldConfigSchema.parse({ seed: 1 })), worldDir);
    const model = join(dir, "base");
    await pretrainBaseModel(worldDir, model, PretrainConfigSchema.parse({ steps: 2, batchSize: 2, seqLen: 64, model: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 1024 } }), { quiet: true, log: () => {} });
    const trainCfg = join(dir, "train.yaml");
    writeFileSync(trainCfg, "topN: 1\ngroupSize: 2\npromptsPerStep: 2\nmaxResponseTokens: 24\nmaxSearches: 2\nklCoef: 0\nentropyCoef: 0\ncheckpointEvery: 1\nseed: 1\ntemperature: 0.5\n");
    const cfg = DemoConfigSchema.parse({ quick: true, baseModel: model, trainConfig: trainCfg, quickTrainSteps: 1, quickTestQuestions: 3, gatesEpisodes: 0, maxResponseTokens: 24, baselineMaxTokens: 4, concurrency: 3, benchmarks: true, benchmarkQuestions: 2 });
    const out = join(dir, "seeds");
    const { summary } = await runDemoSeeds(out, cfg, [1, 2]);
    expect(summary.seeds).toEqual([1, 2]);
    expect(JSON.parse(readFileSync(join(out, "seeds.json"), "utf8"))).toEqual(JSON.parse(JSON.stringify(summary)) as SeedsSummary);
    expect(readFileSync(join(out, "seeds.md"), "utf8")).toContain("| eval.research.em |");
    for (const seed of [1, 2]) {
      const rep = JSON.parse(readFileSync(join(out, `seed-${seed}`, "report.json"), "utf8")) as DemoReport;
      expect((rep.config.train as { seed: number }).seed).toBe(seed);
      expect(summary.metrics["eval.research.em"].values[String(seed)]).toBe(rep.eval.research!.em);
      // reflection per training step and per method
      expect(rep.train.steps[0]).toHaveProperty("reflection_miss_rate");
      expect(rep.eval.research!.reflection!.n).toBe(3);
      expect(rep.eval.research!.reflection!.gold).toBe(3);
      // the four benchmarks: every method and the oracle on each, and the paper's table
      const b = rep.benchmarks!;
      expect(Object.keys(b.by_benchmark)).toEqual([...BENCHMARK_NAMES]);
      for (const name of BENCHMARK_NAMES) {
        expect(Object.keys(b.by_benchmark[name]!.methods).sort()).toEqual([...DEMO_METHODS].sort());
        for (const m of DEMO_METHODS) expect(b.by_benchmark[name]!.methods[m]!.n, `${name} ${m}`).toBe(2);
        expect(b.by_benchmark[name]!.methods.oracle!.by_type).toBeDefined();
      }
      expect(b.table.header).toEqual(["Model", "Method", ...["HotpotQA", "2Wiki", "MuSiQue", "Bamboogle"].flatMap((x) => [`${x} EM`, `${x} F1`])]);
      expect(b.table.rows.map((r) => `${r[0]}/${r[1]}`)).toEqual(["world-base/Naive Generation", "world-base/Naive RAG", "world-base/Iter-RetGen", "world-base/IRCoT", "world-base/ReSearch", "world-trained/ReSearch"]);
      expect(b.table.rows.every((r) => r.slice(2).every((c) => /^\d+\.\d$/.test(c)))).toBe(true);
      const md = readFileSync(join(out, `seed-${seed}`, "report.md"), "utf8");
      expect(md).toContain("## The four test benchmarks");
      expect(md).toContain("### bamboogle (2 questions)");
      expect(md).toContain("| world-trained | ReSearch |");
      expect(existsSync(join(out, `seed-${seed}`, "eval-bench", "2wiki", "ircot", "summary.json"))).toBe(true);
      expect(existsSync(join(out, `seed-${seed}`, "eval-bench-oracle", "2wiki", "summary.json"))).toBe(true);
      // the same table from the CLI's code over the run directories
      const { runTableCommand } = await import("../eval/cli.js");
      const table = runTableCommand(BENCHMARK_NAMES.map((n) => join(out, `seed-${seed}`, "eval-bench", n)), { metrics: "em,f1" });
      expect(table).toBe(b.table_md);
    }
    // a fresh test sample over the same test entities, in its own eval directory (training reused)
    const fresh = await runDemo(join(out, "seed-1"), { ...cfg, seed: 1, benchmarks: undefined, testQuestionSeed: 5 });
    expect(fresh.report.test_sample).toMatchObject({ seed: 5, questions: { n: 3 } });
    const preds = readFileSync(join(out, "seed-1", "eval-test-s5", "research", "predictions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string });
    expect(preds.map((p) => p.id)).toEqual(["test-s5-0", "test-s5-1", "test-s5-2"]);
    expect(existsSync(join(out, "seed-1", "world", "test-s5.jsonl"))).toBe(true);
    expect(fresh.report.benchmarks).toBeUndefined();
  });
});
