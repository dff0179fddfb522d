import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { buildWorld, writeWorld } from "./build.js";
import { WorldConfigSchema } from "./config.js";
import { DemoConfigSchema, runDemo } from "./demo.js";
import { DEMO_METHODS } from "./demo-report.js";
import { PretrainConfigSchema, pretrainBaseModel } from "./pretrain.js";

describe("research demo (end to end, tiny)", () => {
  test("world → index → tiny base model → 1 GRPO step → 6 methods + oracle → report; a rerun resumes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "demo-e2e-"));
    const worldDir = join(dir, "pt-world");
    writeWorld(buildWorld(WorldConfigSchema.parse({ seed: 1 })), worldDir);
    const model = join(dir, "base");
    await pretrainBaseModel(worldDir, model, PretrainConfigSchema.parse({ steps: 2, batchSize: 2, seqLen: 64, model: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 1024 } }), { quiet: true, log: () => {} });
    const trainCfg = join(dir, "train.yaml");
    writeFileSync(trainCfg, "topN: 1\ngroupSize: 2\npromptsPerStep: 2\nmaxResponseTokens: 24\nmaxSearches: 1\nklCoef: 0\nentropyCoef: 0\ncheckpointEvery: 1\nseed: 1\ntemperature: 0.5\n");
    const cfg = DemoConfigSchema.parse({ quick: true, baseModel: model, trainConfig: trainCfg, quickTrainSteps: 1, quickTestQuestions: 3, gatesEpisodes: 3, maxResponseTokens: 24, baselineMaxTokens: 4, concurrency: 3 });
    const out = join(dir, "demo");
    const { report } = await runDemo(out, cfg);
    expect(Object.keys(report.eval).sort()).toEqual([...DEMO_METHODS].sort());
    expect(report.eval.oracle!.em).toBe(1);
    expect(report.train.steps).toHaveLength(1);
    for (const m of DEMO_METHODS) expect(report.eval[m]!.n, m).toBe(3);
    for (const f of ["report.json", "report.md", "curve-reward.svg", "train/metrics.jsonl", "eval/research/predictions.jsonl", "eval/ircot/summary.json"]) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, "curve-reward.svg"), "utf8")).toMatch(/^<svg/);
    // the gates sample at the GRPO rollouts' temperature (quick: a third of gatesEpisodes)
    expect(JSON.parse(readFileSync(join(out, "base-gates.json"), "utf8"))).toMatchObject({ episodes: 1, temperature: 0.5 });
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("| research | 3 |");
    // EM by question type, for every method (the oracle's from its gold-chain items)
    for (const m of DEMO_METHODS) expect(Object.values(report.eval[m]!.by_type!).reduce((a, b) => a + b.n, 0), m).toBe(3);
    expect(report.eval.oracle!.by_type).toEqual(Object.fromEntries(Object.entries(report.eval.research!.by_type!).map(([t, b]) => [t, { n: b.n, em: 1 }])));
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("| question type | n | EM base-research | EM research |");
    // a rerun reuses everything: same evaluation numbers
    const again = await runDemo(out, cfg);
    expect(again.report.eval).toEqual(report.eval);
    // other base weights: the directory is refused, not silently mixed
    const other = join(dir, "base2");
    await pretrainBaseModel(worldDir, other, PretrainConfigSchema.parse({ seed: 2, steps: 1, batchSize: 2, seqLen: 64, model: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 1024 } }), { quiet: true, log: () => {} });
    await expect(runDemo(out, { ...cfg, baseModel: other })).rejects.toThrow(/different base model/);
    // a directory from before the hash was recorded is refused too
    rmSync(join(out, "base-model.json"));
    await expect(runDemo(out, cfg)).rejects.toThrow(/made before demo directories recorded/);
  });
});
