/**
 * @module train/session — a training run over a run directory: fresh or resumed from its last complete checkpoint,
 * stepping the trainer, appending metrics, writing trajectories and checkpoints, stopping cleanly on an abort signal
 * (SIGINT: checkpoint, then exit) or after too many NaN/Inf steps. The policy, engine and retriever come in built.
 * `runStepLoop` is the loop itself (step, checkpoint every N and at the end, stop on a signal or a budget), shared
 * by GRPO (`runSession`) and base-model pre-training (world/pretrain.ts).
 */
import { join } from "node:path";
import type { ModelConfig } from "../model/config.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { saveModel } from "../model/load.js";
import { encodeSafetensors } from "../model/safetensors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fs.js";
import type { TrainConfig } from "./config.js";
import { createTrainer, type StepMetrics, type StepOutput, type TrainerDeps } from "./trainer.js";
import {
  appendMetrics,
  createRunDir,
  latestCheckpoint,
  loadCheckpoint,
  runPaths,
  saveCheckpoint,
  truncateMetrics,
  writeTrajectories,
  type CheckpointState,
} from "./run.js";

export interface SessionOptions {
  runDir: string;
  config: TrainConfig;
  deps: TrainerDeps;
  modelConfig: ModelConfig;
  /** Saved with checkpoint weights when it is an HF or llama2.c tokenizer, so a checkpoint is a loadable model. */
  tokenizer?: Tokenizer;
  /** Continue from the last complete checkpoint of runDir (else runDir must be new or empty). */
  resume?: boolean;
  /** Abort (SIGINT): the current step is dropped or finished, a checkpoint is saved, and the run returns. */
  signal?: AbortSignal;
  onStep?(m: StepMetrics, out: StepOutput): void;
  /** Called once before the first step with the step to start from (0 = fresh) and the total. */
  onStart?(startStep: number, totalSteps: number): void;
}

export interface SessionResult {
  stepsDone: number;
  totalSteps: number;
  status: "finished" | "interrupted";
  lastCheckpoint: string | null;
}

/** One run's steps as the loop sees them. */
export interface StepLoop {
  /** Steps completed so far. */
  stepsDone(): number;
  /** The loop ends when stepsDone() reaches it. */
  totalSteps: number;
  checkpointEvery: number;
  /** Run one step; false: aborted mid-step, the state is as after the previous step. */
  step(signal?: AbortSignal): Promise<boolean>;
  /** Save a resumable checkpoint of the state after stepsDone() steps. */
  checkpoint(): void | Promise<void>;
  /** Checked before each step: true stops the run here (e.g. a time budget), as an abort does. */
  stopHere?(): boolean;
  signal?: AbortSignal;
}

/**
 * Step until `totalSteps`, an abort or `stopHere`: a checkpoint every `checkpointEvery` steps and after the last one;
 * a run that stops early saves one more unless its last step was just saved (`savedStep`: the step of the checkpoint
 * it resumed from, −1 if none).
 */
export async function runStepLoop(l: StepLoop, savedStep = -1): Promise<"finished" | "interrupted"> {
  const save = async () => {
    await l.checkpoint();
    savedStep = l.stepsDone();
  };
  while (l.stepsDone() < l.totalSteps) {
    if (l.signal?.aborted || l.stopHere?.()) break;
    if (!(await l.step(l.signal))) break;
    if (l.stepsDone() % l.checkpointEvery === 0 || l.stepsDone() === l.totalSteps) await save();
  }
  const interrupted = l.stepsDone() < l.totalSteps;
  if (interrupted && savedStep !== l.stepsDone()) await save();
  return interrupted ? "interrupted" : "finished";
}

export async function runSession(o: SessionOptions): Promise<SessionResult> {
  const { runDir, config: cfg, deps } = o;
  const trainer = createTrainer(cfg, deps);
  let metricsBytes = 0;
  let lastCheckpoint: string | null = null;
  let lastCheckpointStep = -1;

  if (o.resume) {
    writeJsonAtomic(runPaths(runDir).config, cfg); // e.g. a larger maxSteps given when resuming
    const ckpt = latestCheckpoint(runDir);
    if (ckpt) {
      const { weights, optimizer, state } = loadCheckpoint(ckpt);
      await trainer.training.load({ weights, optimizer, refs: state.refs });
      trainer.restore(state);
      truncateMetrics(runDir, state.metricsBytes);
      metricsBytes = state.metricsBytes;
      lastCheckpoint = ckpt.dir;
      lastCheckpointStep = state.step;
    } else {
      truncateMetrics(runDir, 0); // killed before its first checkpoint: start over in the same directory
    }
  } else createRunDir(runDir, cfg);

  o.onStart?.(trainer.stepsDone, trainer.totalSteps);
  const status = await runStepLoop(
    {
      stepsDone: () => trainer.stepsDone,
      totalSteps: trainer.totalSteps,
      checkpointEvery: cfg.checkpointEvery,
      signal: o.signal,
      async step(signal) {
        let out: StepOutput | null;
        try {
          out = await trainer.step(signal);
        } catch (e) {
          const partial = (e as { output?: StepOutput }).output;
          if (partial) record(partial); // the last bad step is logged before the run stops
          throw e;
        }
        if (out === null) return false; // aborted mid-step: the step was dropped, state is as after the previous one
        record(out);
        return true;
      },
      async checkpoint() {
        const saved = await trainer.training.save(trainer.stepsDone);
        const state: CheckpointState = { ...trainer.state(), metricsBytes, ...(saved.refs ? { refs: saved.refs } : {}) };
        lastCheckpoint = saveCheckpoint(
          runDir,
          { modelConfig: o.modelConfig, weights: saved.weights, optimizer: saved.optimizer, state },
          cfg.keepCheckpoints,
          (dir, weights) => writeModelDir(dir, o.modelConfig, weights, o.tokenizer),
        );
      },
    },
    lastCheckpointStep,
  );
  return { stepsDone: trainer.stepsDone, totalSteps: trainer.totalSteps, status, lastCheckpoint };

  function record(out: StepOutput) {
    metricsBytes = appendMetrics(runDir, out.metrics as unknown as Record<string, unknown>);
    if (cfg.logTrajectories > 0) writeTrajectories(runDir, out.metrics.step, out.trajectories.slice(0, cfg.logTrajectories));
    o.onStep?.(out.metrics, out);
  }
}

/** Weights + config (+ tokenizer files when the tokenizer can be saved) so a checkpoint loads as a model. */
function writeModelDir(dir: string, config: ModelConfig, weights: import("../model/weights.js").WeightMap, tokenizer?: Tokenizer): void {
  const kind = (tokenizer as (Tokenizer & { kind?: string }) | undefined)?.kind;
  if (tokenizer && (kind === "hf" || kind === "llama2c")) {
    saveModel(dir, { config, weights, tokenizer });
    return;
  }
  writeFileAtomic(join(dir, "model.safetensors"), encodeSafetensors(weights));
  writeJsonAtomic(join(dir, "config.json"), config);
}

/**
 * First SIGINT: abort (the session saves a checkpoint and returns). A second SIGINT exits at once.
 * Returns the signal and a function that removes the handler.
 */
export function abortOnSigint(onFirst?: () => void): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(130);
    onFirst?.();
    controller.abort();
  };
  process.on("SIGINT", handler);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", handler) };
}
