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
import { appendMetrics, createRunDir, readMetrics, readRunConfig, writeTrajectories } from "../../train/run.js";
import { createTrainReader, type StepTrajectory } from "../train-data.js";

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

/**
 * A large run for paging tests and the benchmark: the real trajectories of `srcDir`'s step 1 repeated over `steps`
 * steps of `perStep` (groups of 3 with fresh ids), and its first metrics line over `metricSteps` steps, written with
 * E's run writer (train/run.ts).
 */
export function replicateRun(srcDir: string, outDir: string, opts: { steps?: number; perStep?: number; metricSteps?: number } = {}): void {
  const steps = opts.steps ?? 100;
  const perStep = opts.perStep ?? 100;
  const real = createTrainReader().trajectories(srcDir, 1);
  const m0 = readMetrics(srcDir)[0];
  if (!real.length || !m0) throw new Error(`${srcDir} has no step-1 trajectories or metrics to replicate`);
  createRunDir(outDir, readRunConfig(srcDir));
  for (let s = 1; s <= steps; s++) {
    const rows: StepTrajectory[] = Array.from({ length: perStep }, (_, i) => {
      const g = `${s}:${Math.floor(i / 3)}:${real[i % real.length].exampleId ?? "q"}`;
      return { ...real[i % real.length], id: `${g}#${i % 3}`, exampleId: g };
    });
    writeTrajectories(outDir, s, rows);
  }
  for (let s = 1; s <= (opts.metricSteps ?? steps); s++) appendMetrics(outDir, { ...m0, step: s });
}
