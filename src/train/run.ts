/**
 * @module train/run — the run directory of a GRPO training run:
 *
 *   RUN_DIR/config.json                  resolved training config
 *   RUN_DIR/metrics.jsonl                one JSON line per step
 *   RUN_DIR/trajectories/step-000001.jsonl  the step's sampled trajectories with rewards
 *   RUN_DIR/checkpoints/step-000010/     a loadable model dir (model.safetensors, config.json, tokenizer), optimizer.safetensors,
 *                                        state.json (step, RNG state, data cursor, metrics offset); last K kept
 *
 * A checkpoint is written in a temporary directory and renamed into place, so a kill never leaves a half one.
 * Resuming truncates metrics.jsonl to the offset recorded in the checkpoint: the lines before stay byte for byte.
 * Base-model pre-training (world/pretrain.ts) uses the same checkpoints and metrics code with its own metrics file
 * name (`RunLayout`) and its own checkpoint state (any `{ step }` record).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import type { ModelConfig } from "../model/config.js";
import type { WeightMap } from "../model/weights.js";
import { encodeSafetensors, readSafetensors } from "../model/safetensors.js";
import { appendJsonl, writeFileAtomic, writeJsonAtomic } from "../util/fs.js";
import { UserError } from "../util/errors.js";
import type { DataCursor } from "./sampler.js";

export interface CheckpointState {
  /** Steps completed (the next step to run is `step + 1`, 1-based in logs). */
  step: number;
  cursor: DataCursor;
  rng: number[];
  /** Consecutive NaN/Inf steps so far. */
  badSteps: number;
  /** Optimizer bookkeeping that is not a tensor (e.g. Adam's step count). */
  optimizer: Record<string, number>;
  /** Byte length of metrics.jsonl right after this step's line. */
  metricsBytes: number;
  /** Training-backend references (train/backend.ts TrainingState.refs), e.g. the Tinker weights path. */
  refs?: Record<string, string>;
}

export interface Checkpoint<S extends { step: number } = CheckpointState> {
  dir: string;
  state: S;
}

/** File names inside a run directory that differ between runs of different kinds (default: a GRPO run's). */
export interface RunLayout {
  /** The metrics log, one JSON line per step (default metrics.jsonl). */
  metrics?: string;
}

export const runPaths = (dir: string, layout: RunLayout = {}) => ({
  config: join(dir, "config.json"),
  metrics: join(dir, layout.metrics ?? "metrics.jsonl"),
  trajectories: join(dir, "trajectories"),
  checkpoints: join(dir, "checkpoints"),
});

export const stepName = (step: number) => `step-${String(step).padStart(6, "0")}`;

/** Create a fresh run directory; refuses to overwrite one that already has steps (use --resume). */
export function createRunDir(dir: string, config: unknown): void {
  const p = runPaths(dir);
  if (existsSync(p.metrics) && statSync(p.metrics).size > 0)
    throw new UserError(`${dir} already holds a run (metrics.jsonl is not empty): resume it with --resume ${dir}, or pick another --out`);
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(p.config, config);
  writeFileAtomic(p.metrics, "");
}

export function readRunConfig(dir: string): unknown {
  const p = runPaths(dir).config;
  if (!existsSync(p)) throw new UserError(`${dir} is not a run directory (no config.json)`);
  try {
    return JSON.parse(readFileSync(p, "utf8"));
  } catch (e) {
    throw new UserError(`${p}: invalid JSON (${(e as Error).message})`);
  }
}

export function appendMetrics(dir: string, record: Record<string, unknown>, layout?: RunLayout): number {
  const p = runPaths(dir, layout).metrics;
  appendJsonl(p, record);
  return statSync(p).size;
}

export function readMetrics(dir: string, layout?: RunLayout): Record<string, unknown>[] {
  const p = runPaths(dir, layout).metrics;
  if (!existsSync(p)) return [];
  return readFileSync(p, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch (e) {
        throw new UserError(`${p}:${i + 1}: invalid JSON (${(e as Error).message})`);
      }
    });
}

/** Cut metrics.jsonl back to the checkpoint's offset (lines of steps after the checkpoint go; the rest stay as is). */
export function truncateMetrics(dir: string, bytes: number, layout?: RunLayout): void {
  const p = runPaths(dir, layout).metrics;
  const size = existsSync(p) ? statSync(p).size : 0;
  if (size < bytes) throw new UserError(`${p} has ${size} bytes, fewer than the ${bytes} its checkpoint recorded: the run directory was changed`);
  truncateSync(p, bytes);
}

export function writeTrajectories(dir: string, step: number, rows: unknown[]): void {
  writeFileAtomic(join(runPaths(dir).trajectories, `${stepName(step)}.jsonl`), rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : ""));
}

export interface CheckpointContents<S extends { step: number } = CheckpointState> {
  modelConfig: ModelConfig;
  weights: WeightMap;
  optimizer: WeightMap;
  state: S;
}

/** Write a checkpoint atomically (temp dir + rename), then delete all but the last `keep`. Returns its directory. */
export function saveCheckpoint<S extends { step: number }>(
  dir: string,
  c: CheckpointContents<S>,
  keep: number,
  writeModel: (dir: string, weights: WeightMap) => void = (d, w) => {
    writeFileAtomic(join(d, "model.safetensors"), encodeSafetensors(w));
    writeJsonAtomic(join(d, "config.json"), c.modelConfig);
  },
): string {
  const root = runPaths(dir).checkpoints;
  mkdirSync(root, { recursive: true });
  const name = stepName(c.state.step);
  const tmp = join(root, `.${name}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  writeModel(tmp, c.weights);
  writeFileAtomic(join(tmp, "optimizer.safetensors"), encodeSafetensors(c.optimizer));
  writeJsonAtomic(join(tmp, "state.json"), c.state); // last: a directory with state.json is complete
  const final = join(root, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  for (const old of listCheckpoints(dir).slice(0, -keep)) rmSync(old.dir, { recursive: true, force: true });
  return final;
}

/** Complete checkpoints, oldest first. */
export function listCheckpoints<S extends { step: number } = CheckpointState>(dir: string): Checkpoint<S>[] {
  const root = runPaths(dir).checkpoints;
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((n) => /^step-\d+$/.test(n) && existsSync(join(root, n, "state.json")))
    .sort()
    .map((n) => ({ dir: join(root, n), state: JSON.parse(readFileSync(join(root, n, "state.json"), "utf8")) as S }));
}

export function latestCheckpoint<S extends { step: number } = CheckpointState>(dir: string): Checkpoint<S> | null {
  const all = listCheckpoints<S>(dir);
  return all.length ? all[all.length - 1] : null;
}

export function loadCheckpoint<S extends { step: number }>(ckpt: Checkpoint<S>): CheckpointContents<S> {
  return {
    modelConfig: JSON.parse(readFileSync(join(ckpt.dir, "config.json"), "utf8")) as ModelConfig,
    weights: readSafetensors(join(ckpt.dir, "model.safetensors")).weights,
    optimizer: readSafetensors(join(ckpt.dir, "optimizer.safetensors")).weights,
    state: ckpt.state,
  };
}
