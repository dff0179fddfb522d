import { beforeAll, describe, expect, it, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initTensorBackend } from "../tensor/backend.js";
import { initWeights } from "../model/trainable.js";
import { UserError } from "../util/errors.js";
import { TrainConfig } from "./config.js";
import { createTrainer, rolloutExampleOf } from "./trainer.js";
import { scoreEpisodes } from "./shaping.js";
import { createTrainingSetup } from "./setup.js";
import { createTinyTask } from "./testing/tiny-task.js";

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
    expect(noKl.reference).toBeUndefined();
    noKl.dispose();
    const { cfg, s } = setup({ klCoef: 0.001 });
    expect(s.reference).toBeDefined();
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
    const real = s.policy.tokenLogprobs;
    s.policy.tokenLogprobs = (b) => {
      const r = real(b);
      return { logprobs: tf.mul(r.logprobs, NaN) as tf.Tensor2D, entropy: r.entropy };
    };
    const before = s.policy.exportWeights();
    const trainer = createTrainer(cfg, s);
    const first = (await trainer.step())!;
    expect(first.metrics.skipped).toBe(true);
    expect(first.metrics.skip_reason).toMatch(/non-finite/);
    const after = s.policy.exportWeights();
    for (const [k, t] of before) expect(after.get(k)!.data).toEqual(t.data);
    expect(s.optimizer.stepCount).toBe(0);
    await expect(trainer.step()).rejects.toThrow(UserError);
    s.dispose();
  });

  it("retrieval bonus: each rollout is scored against its own question's gold passages (none named: recall null)", async () => {
    // gold passages: the even-numbered ones for questions 0, 4, 8, …, the odd-numbered ones for 2, 6, …; odd questions name none
    const parity = (k: number) => task.examples.map((_, j) => `p${j}`).filter((_, j) => j % 2 === (k / 2) % 2);
    const examples = task.examples.map((e, i) => (i % 2 ? e : { ...e, goldPassages: parity(i) }));
    const cfg = TrainConfig.parse({ ...small, klCoef: 0, promptsPerStep: 6, reward: { retrievalBonus: 0.5, formatBonusWhen: "always" } });
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
    expect(out.metrics.retrieval_bonus).toBe(0.5);
    const named = recalls.filter((r): r is number => r !== null);
    expect(out.metrics.gold_recall_mean).toBeCloseTo(named.reduce((a, b) => a + b, 0) / named.length, 12);
  });

  it("updates the weights and keeps the run deterministic for a seed", async () => {
    const runOnce = async () => {
      const { cfg, s } = setup({ klCoef: 0 });
      const trainer = createTrainer(cfg, s);
      const ms = [(await trainer.step())!.metrics, (await trainer.step())!.metrics];
      const w = s.policy.exportWeights().get("model.embed_tokens.weight")!.data;
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
    expect(s.optimizer.stepCount).toBe(2);
    expect(out.metrics.approx_kl).not.toBe(0); // the second mini-batch sees π_θ ≠ π_old
    s.dispose();
  });

  it("forces a first search by appending the prefix to the prompt (never trained on), scored with the prefix", async () => {
    const cfg = TrainConfig.parse({ ...small, klCoef: 0, curriculum: { forcedSearchProb: 1, forcedSearchAnnealSteps: 10, forcedPrefix: " <think> </think> <search>" } });
    const { s } = setup({ klCoef: 0 });
    const out = (await createTrainer(cfg, s).step())!;
    expect(out.metrics.forced_search_prob).toBe(1);
    for (const t of out.trajectories) {
      expect(t.forced).toBe(true);
      expect(t.prompt.endsWith("<search>")).toBe(true);
      expect(t.promptIds!.at(-1)).toBe(task.tokenizer.encode("<search>")[0]);
    }
    s.dispose();
  });

  it("forced follow-up searches: a prompt's rollouts search once per hop before they may answer; the spliced tag trained only when asked", async () => {
    const extra = { klCoef: 0, promptsPerStep: 4, groupSize: 4, maxResponseTokens: 24 };
    const answersEarly = (t: { response: string }) => t.response.includes("<answer>") && !t.response.slice(0, t.response.indexOf("<answer>")).includes("</result>");
    const { cfg: plainCfg, s: plain } = setup(extra);
    const before = (await createTrainer(plainCfg, plain).step())!;
    plain.dispose();
    expect(before.trajectories.some(answersEarly)).toBe(true); // without the scaffold this model answers before searching

    const cfg = TrainConfig.parse({ ...small, ...extra, curriculum: { forcedFollowUpProb: 1, forcedFollowUpFrom: 0 } });
    const { s } = setup(extra);
    const out = (await createTrainer(cfg, s).step())!;
    expect(out.metrics.forced_follow_up_prob).toBe(1);
    expect(out.trajectories.some(answersEarly)).toBe(false);
    const forced = out.trajectories.filter((t) => (t.forcedSearches ?? 0) > 0);
    expect(forced.length).toBeGreaterThan(0);
    expect(out.metrics.forced_searches_mean).toBeCloseTo(forced.reduce((n, t) => n + t.forcedSearches!, 0) / out.trajectories.length, 12);
    const searchId = task.tokenizer.encode("<search>")[0];
    for (const t of forced) {
      const i = t.segments.findIndex((g) => g.kind === "tool" && g.text.trim() === "<search>");
      expect(i).toBeGreaterThan(-1);
      expect(t.segments[i].tokenIds).toEqual([searchId]);
      const at = t.segments.slice(0, i).reduce((n, g) => n + g.tokenIds!.length, 0);
      expect(t.lossMask![at]).toBe(0);
    }
    s.dispose();

    // half of each group held (the first G/2 samples), the forced tag trained as the policy's token
    const half = TrainConfig.parse({ ...small, ...extra, curriculum: { forcedFollowUpProb: 1, forcedFollowUpShare: 0.5, forcedFollowUpTrained: true } });
    const { s: s2 } = setup(extra);
    const out2 = (await createTrainer(half, s2).step())!;
    const forced2 = out2.trajectories.filter((t) => (t.forcedSearches ?? 0) > 0);
    expect(forced2.length).toBeGreaterThan(0);
    for (const t of forced2) {
      expect(t.sample).toBeLessThan(2);
      const i = t.segments.findIndex((g) => g.kind === "policy" && g.text.trim() === "<search>" && !g.logprobs);
      const at = t.segments.slice(0, i).reduce((n, g) => n + g.tokenIds!.length, 0);
      expect(t.lossMask![at]).toBe(1);
    }
    // the free half samples exactly what it samples without the scaffold (same seeds, same weights)
    out2.trajectories.forEach((t, i) => {
      if (t.sample! >= 2) expect(t.response).toBe(before.trajectories[i].response);
    });
    s2.dispose();

  });

  it("forcedFollowUpQuery gold: held samples of a forced prompt get the gold chain's follow-up entities as queries", () => {
    const e = { id: "q", question: "Where was the spouse of Ann born?", goldenAnswers: ["Oslo"], hops: 2, chainNames: ["Ann", "Bob"] };
    const curriculum = (extra: object) => TrainConfig.parse({ curriculum: { forcedFollowUpShare: 0.5, ...extra } });
    expect(rolloutExampleOf(e, "1:0:q", true, curriculum({ forcedFollowUpQuery: "gold" }), 8)).toEqual({
      id: "1:0:q", question: e.question, goldenAnswers: ["Oslo"], minSearches: 2, minSearchesSamples: 4, forcedQueries: [null, "Bob"],
    });
    expect(rolloutExampleOf(e, "1:0:q", true, curriculum({}), 8).forcedQueries).toBeUndefined(); // default: the policy writes them
    expect(rolloutExampleOf(e, "1:0:q", false, curriculum({ forcedFollowUpQuery: "gold" }), 8)).toEqual({ id: "1:0:q", question: e.question, goldenAnswers: ["Oslo"] });
    expect(rolloutExampleOf({ ...e, hops: 1, chainNames: ["Ann"] }, "x", true, curriculum({ forcedFollowUpQuery: "gold" }), 8).forcedQueries).toBeUndefined();
    // entities the question names are no hint (a comparison's second name): the policy copies them from the question
    const cmp = { ...e, question: "Who was born first, Ann or Bob?", chainNames: ["Ann", "Bob"] };
    expect(rolloutExampleOf(cmp, "x", true, curriculum({ forcedFollowUpQuery: "gold" }), 8).forcedQueries).toBeUndefined();
    const three = { ...e, question: "Who founded the employer of the spouse of Ann?", hops: 3, chainNames: ["Ann", "Bob", "Acme"] };
    expect(rolloutExampleOf(three, "x", true, curriculum({ forcedFollowUpQuery: "gold" }), 8).forcedQueries).toEqual([null, "Bob", "Acme"]);
    // mention: random names of the question and the last result for every held sample; gold-mention: gold for the
    // first half of the held
    expect(rolloutExampleOf(e, "x", true, curriculum({ forcedFollowUpQuery: "mention" }), 8)).toMatchObject({ followUpMentions: true, minSearchesSamples: 4 });
    expect(rolloutExampleOf(e, "x", true, curriculum({ forcedFollowUpQuery: "mention" }), 8).forcedQueries).toBeUndefined();
    expect(rolloutExampleOf(e, "x", true, curriculum({ forcedFollowUpQuery: "gold-mention" }), 8)).toMatchObject({ followUpMentions: true, forcedQueries: [null, "Bob"], forcedQueriesSamples: 2 });
    expect(rolloutExampleOf(e, "x", false, curriculum({ forcedFollowUpQuery: "mention" }), 8).followUpMentions).toBeUndefined();
    expect(rolloutExampleOf(e, "x", true, curriculum({ forcedFollowUpAnswer: "mention" }), 8)).toMatchObject({ answerMentions: true, minSearchesSamples: 4 });
    expect(rolloutExampleOf(e, "x", false, curriculum({ forcedFollowUpAnswer: "mention" }), 8).answerMentions).toBeUndefined();
    expect(rolloutExampleOf(e, "x", true, curriculum({}), 8).answerMentions).toBeUndefined();
  });

  it("refuses a forced first search with a chat template", () => {
    const cfg = TrainConfig.parse({ ...small, klCoef: 0, curriculum: { forcedSearchProb: 0.5 } });
    const { s } = setup({ klCoef: 0 });
    expect(() => createTrainer(cfg, { ...s, template: "research-instruct" })).toThrow(/chat template/);
    s.dispose();
  });

  test.each([
    [{ klCoef: 0.01 }, "klCoef > 0 needs a reference model"],
    [{ updatesPerStep: 4 }, "must divide"],
  ])("rejects an inconsistent setup %o", (extra, msg) => {
    const cfg = TrainConfig.parse({ ...small, ...extra });
    const { s } = setup({ klCoef: 0 });
    expect(() => createTrainer(cfg, { ...s, reference: undefined })).toThrow(msg);
    s.dispose();
  });
});
