import { beforeAll, describe, expect, it, test } from "vitest";
import { initTensorBackend } from "../tensor/backend.js";
import { initWeights } from "../model/trainable.js";
import { UserError } from "../util/errors.js";
import { TrainConfig } from "./config.js";
import { createTrainer } from "./trainer.js";
import { scoreEpisodes } from "./shaping.js";
import { createTrainingSetup } from "./setup.js";
import { createTinyTask } from "./testing/tiny-task.js";
import { analyzeTrajectory, stepsOfTrajectory, summarizeReflection } from "../eval/reflection.js";

const task = createTinyTask();
const model = { config: task.modelConfig, weights: initWeights(task.modelConfig, 3, 0.3), tokenizer: task.tokenizer };
const small = { promptsPerStep: 2, groupSize: 3, maxResponseTokens: 10, microBatchSize: 4, seed: 1 };

function setup(extra: Record<string, unknown> = {}) {
  const cfg = TrainConfig.parse({ ...small, ...extra });
  const s = createTrainingSetup(cfg, model, { retriever: task.retriever, examples: task.examples, template: task.template });
  return { cfg, s };
}

describe("trainer", () => {
  beforeAll(async () => {
    await initTensorBackend({ quiet: true });
  });

  it("keeps a reference model only when klCoef > 0, and KL is exactly 0 while policy = reference", async () => {
    const { s: noKl } = setup({ klCoef: 0 });
    expect(noKl.hasReference).toBe(false);
    expect(noKl.ggml!.reference).toBeUndefined();
    noKl.dispose();
    const { cfg, s } = setup({ klCoef: 0.001 });
    expect(s.hasReference).toBe(true);
    expect(s.ggml!.reference).toBeDefined();
    const out = (await createTrainer(cfg, s).step())!;
    expect(out.metrics.kl).toBe(0);
    expect(out.metrics.approx_kl).toBe(0); // π_old recomputed from the same weights: ratio exactly 1
    expect(out.metrics.clip_frac).toBe(0);
    // on-policy: the engine's sampling log-probs equal the trainer's recomputed ones (two implementations, one model)
    expect(out.metrics.rollout_logprob_diff).not.toBeNull();
    expect(out.metrics.rollout_logprob_diff!).toBeLessThan(1e-4);
    expect(out.trajectories).toHaveLength(cfg.promptsPerStep * cfg.groupSize);
    // at another sampling temperature the trainer's log-probs are those of softmax(logits / T), the sampler's
    const cold = setup({ klCoef: 0.001, temperature: 0.6 });
    const outCold = (await createTrainer(cold.cfg, cold.s).step())!;
    expect(outCold.metrics.rollout_logprob_diff).not.toBeNull();
    expect(outCold.metrics.rollout_logprob_diff!).toBeLessThan(1e-4);
    expect(outCold.metrics.approx_kl).toBe(0);
    cold.s.dispose();
    // one group per prompt, consecutive, sharing the question
    expect(out.trajectories[0].question).toBe(out.trajectories[2].question);
    s.dispose();
  });

  it("skips a step whose loss is NaN, leaves the weights alone, and stops after maxBadSteps with a clear error", async () => {
    const { cfg, s } = setup({ klCoef: 0, maxBadSteps: 2 });
    const pol = s.ggml!.policy;
    const real = pol.accumulate.bind(pol);
    pol.accumulate = (b, c, e) => {
      const r = real(b, c, e);
      r.logprobs.fill(NaN);
      return r;
    };
    const before = s.exportWeights();
    const trainer = createTrainer(cfg, s);
    const first = (await trainer.step())!;
    expect(first.metrics.skipped).toBe(true);
    expect(first.metrics.skip_reason).toMatch(/non-finite/);
    const after = s.exportWeights();
    for (const [k, t] of before) expect(after.get(k)!.data).toEqual(t.data);
    expect(s.training.optimizerSteps()).toBe(0);
    await expect(trainer.step()).rejects.toThrow(UserError);
    s.dispose();
  });

  it("retrieval bonus: each rollout is scored against its own question's gold passages (none named: recall null)", async () => {
    // gold passages: the even-numbered ones for questions 0, 4, 8, …, the odd-numbered ones for 2, 6, …; odd questions name none
    const parity = (k: number) => task.examples.map((_, j) => `p${j}`).filter((_, j) => j % 2 === (k / 2) % 2);
    const examples = task.examples.map((e, i) => (i % 2 ? e : { ...e, goldPassages: parity(i) }));
    const cfg = TrainConfig.parse({ ...small, klCoef: 0, promptsPerStep: 6, reward: { formatBonusWhen: "always" }, scaffolds: { "retrieval-bonus": { weight: 0.5 } } });
    const s = createTrainingSetup(cfg, model, { retriever: task.retriever, examples, template: task.template });
    const out = (await createTrainer(cfg, s).step())!;
    s.dispose();
    const question = (id: string) => Number(id.split(":")[2].slice(1).split("#")[0]); // "<step>:<i>:q<k>#<sample>"
    const recalls = out.trajectories.map((t) => {
      const k = question(t.id);
      if (k % 2) return null;
      return new Set((t.retrievedIds ?? []).flat().filter((p) => parity(k).includes(p))).size / parity(k).length;
    });
    expect(out.trajectories.map((t) => t.score.goldRecall)).toEqual(recalls);
    expect(recalls.some((r) => r === null) && recalls.some((r) => r !== null)).toBe(true);
    const plain = scoreEpisodes(out.trajectories.map((t) => ({ response: t.response, goldenAnswers: t.goldenAnswers!, eosText: s.backend.eosText, searches: t.searches })), cfg.reward);
    expect(out.trajectories.map((t) => t.reward)).toEqual(out.trajectories.map((t, i) => (t.score.valid ? plain[i].reward + 0.5 * (recalls[i] ?? 0) : 0)));
    expect(out.metrics["scaffold/retrieval-bonus/weight"]).toBe(0.5);
    const named = recalls.filter((r): r is number => r !== null);
    expect(out.metrics.gold_recall_mean).toBeCloseTo(named.reduce((a, b) => a + b, 0) / named.length, 12);
  });

  it("logs the reflection metrics of the step's rollouts (gold chain where the example has one, else the proxy)", async () => {
    const examples = task.examples.map((e, i) => (i % 2 ? e : { ...e, kind: "compositional", chainNames: [e.question.split(" ")[0], "nobody"] }));
    const cfg = TrainConfig.parse({ ...small, klCoef: 0, promptsPerStep: 4 });
    const s = createTrainingSetup(cfg, model, { retriever: task.retriever, examples, template: task.template });
    const out = (await createTrainer(cfg, s).step())!;
    s.dispose();
    const byId = new Map(examples.map((e) => [e.id, e]));
    const want = summarizeReflection(out.trajectories.map((t) => {
      const ex = byId.get(t.id.split(":")[2].split("#")[0])!;
      return analyzeTrajectory({ steps: stepsOfTrajectory(t), goldenAnswers: ex.goldenAnswers, correct: t.score.em === 1, ...(ex.chainNames ? { gold: { kind: ex.kind, chainNames: ex.chainNames } } : {}) });
    }));
    expect(want.gold).toBeGreaterThan(0);
    expect(want.gold).toBeLessThan(out.trajectories.length);
    expect(out.metrics).toMatchObject({ reflection_miss_rate: want.miss_rate, reflection_search_after_miss: want.search_after_miss, reflection_query_revision: want.query_revision, reflection_recovery: want.recovery });
    expect("reflection_miss_rate" in out.metrics).toBe(true);
  });

  it("updates the weights and keeps the run deterministic for a seed", async () => {
    const runOnce = async () => {
      const { cfg, s } = setup({ klCoef: 0 });
      const trainer = createTrainer(cfg, s);
      const ms = [(await trainer.step())!.metrics, (await trainer.step())!.metrics];
      const w = s.exportWeights().get("model.embed_tokens.weight")!.data;
      s.dispose();
      return { ms, w };
    };
    const a = await runOnce();
    const b = await runOnce();
    const strip = (m: object) => ({ ...m, seconds: 0, tokens_per_s: 0 });
    expect(a.ms.map(strip)).toEqual(b.ms.map(strip));
    expect(a.w).toEqual(b.w);
    expect(Array.from(a.w).some((x, i) => x !== model.weights.get("model.embed_tokens.weight")!.data[i])).toBe(true);
  });

  it("with several updates per step, later mini-batches use the log-probs from before the first update", async () => {
    const { cfg, s } = setup({ klCoef: 0, updatesPerStep: 2, lr: 0.05 });
    const out = (await createTrainer(cfg, s).step())!;
    expect(s.training.optimizerSteps()).toBe(2);
    expect(out.metrics.approx_kl).not.toBe(0); // the second mini-batch sees π_θ ≠ π_old
    s.dispose();
  });

  it("forced follow-up searches: a prompt's rollouts search once per hop before they may answer; the spliced tag trained only when asked", async () => {
    const extra = { klCoef: 0, promptsPerStep: 4, groupSize: 4, maxResponseTokens: 24 };
    const answersEarly = (t: { response: string }) => t.response.includes("<answer>") && !t.response.slice(0, t.response.indexOf("<answer>")).includes("</result>");
    const { cfg: plainCfg, s: plain } = setup(extra);
    const before = (await createTrainer(plainCfg, plain).step())!;
    plain.dispose();
    expect(before.trajectories.some(answersEarly)).toBe(true); // without the scaffold this model answers before searching

    const cfg = TrainConfig.parse({ ...small, ...extra, scaffolds: { "min-searches": { prob: 1, trained: false } } });
    const { s } = setup(extra);
    const out = (await createTrainer(cfg, s).step())!;
    expect(out.metrics["scaffold/min-searches/prob"]).toBe(1);
    expect(out.trajectories.some(answersEarly)).toBe(false);
    const forcedOf = (t: { interventions?: Record<string, number> }) => t.interventions?.["min-searches/forced_searches"] ?? 0;
    const forced = out.trajectories.filter((t) => forcedOf(t) > 0);
    expect(forced.length).toBeGreaterThan(0);
    expect(out.metrics["scaffold/min-searches/forced_searches_mean"]).toBeCloseTo(forced.reduce((n, t) => n + forcedOf(t), 0) / out.trajectories.length, 12);
    const searchId = task.tokenizer.encode("<search>")[0];
    for (const t of forced) {
      const i = t.segments.findIndex((g) => g.author === "env" && !g.trained && g.text.trim() === "<search>");
      expect(i).toBeGreaterThan(-1);
      expect(t.segments[i].tokenIds).toEqual([searchId]);
      const at = t.segments.slice(0, i).reduce((n, g) => n + g.tokenIds!.length, 0);
      expect(t.lossMask![at]).toBe(0);
    }
    s.dispose();

    // half of each group held (the first G/2 samples), the forced tag trained as the policy's token
    const half = TrainConfig.parse({ ...small, ...extra, scaffolds: { "min-searches": { prob: 1, share: 0.5, trained: true } } });
    const { s: s2 } = setup(extra);
    const out2 = (await createTrainer(half, s2).step())!;
    const forced2 = out2.trajectories.filter((t) => forcedOf(t) > 0);
    expect(forced2.length).toBeGreaterThan(0);
    for (const t of forced2) {
      expect(t.sample).toBeLessThan(2);
      const i = t.segments.findIndex((g) => g.author === "env" && g.trained && g.text.trim() === "<search>" && !g.logprobs);
      const at = t.segments.slice(0, i).reduce((n, g) => n + g.tokenIds!.length, 0);
      expect(t.lossMask![at]).toBe(1);
    }
    // the free half samples exactly what it samples without the scaffold (same seeds, same weights)
    out2.trajectories.forEach((t, i) => {
      if (t.sample! >= 2) expect(t.response).toBe(before.trajectories[i].response);
    });
    // the on-policy check covers the held rollouts too: every token the policy sampled, none the environment wrote
    expect(out2.metrics.rollout_logprob_diff).not.toBeNull();
    expect(out2.metrics.rollout_logprob_diff!).toBeLessThan(1e-4);
    s2.dispose();
  });

  it("scaffolds act on the rollouts min-searches holds only; their metrics are logged as scaffold/<name>/…", async () => {
    const extra = { klCoef: 0, promptsPerStep: 4, groupSize: 4, maxResponseTokens: 24, maxSearches: 3 };
    const cfg = TrainConfig.parse({
      ...small, ...extra,
      scaffolds: { "min-searches": { prob: 1, share: 0.5 }, "follow-up-picks": {}, "hop-curriculum": { stages: [{ untilStep: 5, maxHops: 3 }] } },
    });
    const { s } = setup(extra);
    const out = (await createTrainer(cfg, s).step())!;
    s.dispose();
    for (const t of out.trajectories) if (t.sample! >= 2) expect(t.interventions).toBeUndefined();
    expect(out.trajectories.some((t) => t.sample! < 2 && t.interventions)).toBe(true);
    expect(Object.keys(out.metrics).filter((k) => k.startsWith("scaffold/")).sort()).toEqual([
      "scaffold/follow-up-picks/searches_mean", "scaffold/hop-curriculum/max_hops", "scaffold/min-searches/forced_searches_mean", "scaffold/min-searches/prob",
    ]);
    expect(out.metrics["scaffold/hop-curriculum/max_hops"]).toBe(3);
    // without scaffolds no scaffold metric and no intervention
    const { cfg: plainCfg, s: plain } = setup(extra);
    const none = (await createTrainer(plainCfg, plain).step())!;
    plain.dispose();
    expect(Object.keys(none.metrics).some((k) => k.startsWith("scaffold/"))).toBe(false);
    expect(none.trajectories.every((t) => t.interventions === undefined)).toBe(true);
  });

  test.each([
    [{ klCoef: 0.01 }, "klCoef > 0 needs a reference model"],
    [{ updatesPerStep: 4 }, "must divide"],
  ])("rejects an inconsistent setup %o", (extra, msg) => {
    const cfg = TrainConfig.parse({ ...small, ...extra });
    const { s } = setup({ klCoef: 0 });
    expect(() => createTrainer(cfg, s)).toThrow(msg);
    s.dispose();
  });
});
