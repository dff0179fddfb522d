/**
 * @module viewer/testing/make-run — a real run directory for the viewer's tests and the report example, laid out as
 * `research demo` writes one: `DIR/train/` (E's trainer + run writer: metrics.jsonl, trajectories/, checkpoints/)
 * and `DIR/eval/<label>-<dataset>/` (F's eval runner: predictions.jsonl, summary.json). The policy is the trainer's
 * own tiny search task, pre-trained for a few seconds so its rollouts carry tags and searches.
 */
import { join } from "node:path";
import { initTensorBackend } from "../../tensor/backend.js";
import { createTrainableModel } from "../../model/trainable.js";
import { createAdamW } from "../../model/optim.js";
import { createEngine, type Engine } from "../../model/generate.js";
import type { WeightMap } from "../../model/weights.js";
import { createNativeBackend } from "../../rollout/backends/native.js";
import { TrainConfig } from "../../train/config.js";
import { runSession } from "../../train/session.js";
import { createTinyTask, pretrainBaseModel, type TinyTask } from "../../train/testing/tiny-task.js";
import { runEval } from "../../eval/run.js";
import { research, createRolloutRunner } from "../../eval/methods/research.js";

export interface LiveRun {
  task: TinyTask;
  /** Run `n` more training steps in the same run directory (resumes from its last checkpoint). */
  train(steps: number): Promise<void>;
}

/** A pre-trained tiny base model (copies entities and values, searches in about half its episodes). */
export async function tinyBase(seed = 5): Promise<{ task: TinyTask; base: WeightMap }> {
  await initTensorBackend({ quiet: true });
  const task = createTinyTask({ seed, entities: 16, values: 12, dim: 32 });
  const base = pretrainBaseModel(task, { phases: [{ steps: 160, searchProb: 0.7 }], batch: 16, seed });
  return { task, base };
}

/** Train `steps` GRPO steps into `dir` (fresh, or resumed when `resume`). */
export async function trainRun(dir: string, task: TinyTask, weights: WeightMap, steps: number, resume = false): Promise<void> {
  const config = TrainConfig.parse({
    promptsPerStep: 4, groupSize: 3, lr: 2e-3, klCoef: 0, entropyCoef: 0, maxResponseTokens: 20, maxSteps: steps,
    microBatchSize: 12, seed: 3, weightDecay: 0, checkpointEvery: 1, keepCheckpoints: 1, topN: 1,
  });
  const policy = createTrainableModel(task.modelConfig, weights);
  const optimizer = createAdamW(policy.params, { lr: config.lr, weightDecay: 0 });
  const engine: Engine = createEngine({ config: task.modelConfig, weights, tokenizer: task.tokenizer }, { maxBatch: 16 });
  try {
    await runSession({
      runDir: dir,
      config,
      resume,
      modelConfig: task.modelConfig,
      deps: {
        policy, optimizer, backend: createNativeBackend({ engine }), syncWeights: (w) => engine.setWeights(w),
        retriever: task.retriever, examples: task.examples, eosId: task.tokenizer.eosId, template: task.template,
      },
    });
  } finally {
    optimizer.dispose();
    policy.dispose();
  }
}

/** Evaluate (sampled at temperature 1, seeded) the ReSearch method of `weights` on two halves of the task's questions into `DIR/eval/<label>-<half>`. */
export async function evalRuns(dir: string, task: TinyTask, weights: WeightMap, label: string): Promise<void> {
  const backend = createNativeBackend({ model: { config: task.modelConfig, weights, tokenizer: task.tokenizer } });
  const rollout = createRolloutRunner({ backend, retriever: task.retriever, template: task.template, maxResponseTokens: 20, topN: 1, temperature: 1, seed: 1 });
  const half = Math.ceil(task.examples.length / 2);
  const parts = { "tiny-a": task.examples.slice(0, half), "tiny-b": task.examples.slice(half) };
  for (const [dataset, items] of Object.entries(parts)) {
    await runEval({
      method: research, items, dataset, label, outDir: join(dir, "eval", `${label}-${dataset}`), quiet: true,
      ctx: { backend, retriever: task.retriever, topK: 1, gen: { maxTokens: 20, temperature: 0 }, rollout },
    });
  }
}

/** `DIR/train` after `steps` steps plus two evaluations; returns a handle to train on (the live-view test). */
export async function makeRun(dir: string, steps = 3): Promise<LiveRun> {
  const { task, base } = await tinyBase();
  const trainDir = join(dir, "train");
  await trainRun(trainDir, task, base, steps);
  await evalRuns(dir, task, base, "base");
  let done = steps;
  return {
    task,
    async train(n) {
      done += n;
      await trainRun(trainDir, task, base, done, true);
    },
  };
}
