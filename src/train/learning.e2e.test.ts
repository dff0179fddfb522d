/**
 * The real learning test (issue 7): a tiny policy on the trainer's own synthetic search task learns, from the reward
 * alone, to search before answering. Base model: pre-trained here on content-free tag-formatted text (it can copy,
 * knows no fact, searches in ~5% of episodes). GRPO with the exact ReSearch reward must lift both the search rate
 * and the mean answer F1 by ≥ 0.3 within a bounded number of steps.
 */
import { describe, expect, it } from "vitest";
import { initTensorBackend } from "../tensor/backend.js";
import { TrainConfig } from "./config.js";
import { createTrainingSetup } from "./setup.js";
import { createTrainer, type StepMetrics } from "./trainer.js";
import { createTinyTask, pretrainBaseModel } from "./testing/tiny-task.js";

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("GRPO learns to search from the reward alone", () => {
  it("raises search rate and answer F1 by ≥ 0.3 from near zero", async () => {
    await initTensorBackend({ quiet: true });
    const task = createTinyTask();
    const t0 = Date.now();
    const base = pretrainBaseModel(task);
    const pretrainS = (Date.now() - t0) / 1000;
    const cfg = TrainConfig.parse({ promptsPerStep: 8, groupSize: 5, lr: 2e-3, klCoef: 0, entropyCoef: 0.001, maxResponseTokens: 24, maxSteps: 60, microBatchSize: 40, seed: 3, weightDecay: 0 });
    const deps = createTrainingSetup(cfg, { config: task.modelConfig, weights: base, tokenizer: task.tokenizer }, {
      retriever: task.retriever,
      examples: task.examples,
      template: task.template,
      maxBatch: 64,
    });
    const trainer = createTrainer(cfg, deps);
    const log: StepMetrics[] = [];
    const window = 4;
    for (let s = 0; s < cfg.maxSteps!; s++) {
      const out = await trainer.step();
      log.push(out!.metrics);
      const m = out!.metrics;
      if (process.env.TRAIN_TEST_VERBOSE)
        console.log(`step ${m.step} search ${m.search_rate.toFixed(2)} f1 ${m.answer_f1_mean.toFixed(2)} fmt ${m.format_rate.toFixed(2)} r ${m.reward_mean.toFixed(2)} ${m.seconds.total.toFixed(2)}s`);
      if (log.length >= 2 * window) {
        const first = log.slice(0, window);
        const last = log.slice(-window);
        if (mean(last.map((x) => x.search_rate)) - mean(first.map((x) => x.search_rate)) >= 0.35 && mean(last.map((x) => x.answer_f1_mean)) - mean(first.map((x) => x.answer_f1_mean)) >= 0.35) break;
      }
    }
    const first = log.slice(0, window);
    const last = log.slice(-window);
    const start = { search: mean(first.map((x) => x.search_rate)), f1: mean(first.map((x) => x.answer_f1_mean)) };
    const end = { search: mean(last.map((x) => x.search_rate)), f1: mean(last.map((x) => x.answer_f1_mean)) };
    console.log(`pretrain ${pretrainS.toFixed(1)}s; ${log.length} GRPO steps in ${((Date.now() - t0) / 1000 - pretrainS).toFixed(1)}s; search ${start.search.toFixed(2)} → ${end.search.toFixed(2)}, F1 ${start.f1.toFixed(2)} → ${end.f1.toFixed(2)}`);
    const lpDiff = Math.max(...log.map((m) => m.rollout_logprob_diff ?? Infinity));
    console.log(`max |rollout − trainer| log-prob difference over the run: ${lpDiff.toExponential(2)}`);
    expect(lpDiff).toBeLessThan(1e-3); // rollouts are on-policy: the engine and the trainable model agree
    expect(start.search).toBeLessThan(0.2);
    expect(start.f1).toBeLessThan(0.2);
    expect(end.search - start.search).toBeGreaterThanOrEqual(0.3);
    expect(end.f1 - start.f1).toBeGreaterThanOrEqual(0.3);
  });
});
