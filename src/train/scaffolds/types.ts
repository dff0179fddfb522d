/**
 * @module train/scaffolds/types — the plug-in interface of training scaffolds: exploration aids for small models
 * that GRPO uses during training only (evaluation never sees them). Each scaffold is one file with its own zod schema
 * and metrics, picked by name from the registry (scaffolds/index.ts); the trainer calls the hooks below in registry
 * order, and the rollout loop sees only the `Intervention`s they return (rollout/intervention.ts).
 */
import type { z } from "zod";
import type { Intervention } from "../../rollout/intervention.js";
import type { Trajectory } from "../../rollout/types.js";
import type { Rng } from "../../util/rng.js";
import { mean } from "../../util/stats.js";
import type { TrainExample } from "../sampler.js";

/** This step, as scaffolds see it. */
export interface ScaffoldStep {
  /** 0-based step index. */
  step: number;
  /** Rollouts per prompt (G). */
  G: number;
  /** The trainer's RNG (saved in checkpoints): scaffolds draw from it in registry order, then prompt order. */
  rng: Rng;
}

/** Shared by the scaffolds of one rollout, filled in registry order (e.g. min-searches holds it, picks read that). */
export interface RolloutPlan {
  /** Held to a minimum of searches by the min-searches scaffold. */
  held: boolean;
  /** That minimum (0 when not held). */
  minSearches: number;
}

/** Which questions a step draws from: the stage at a step, and the stage's pool (the sampler's cursor restarts at a new stage). */
export interface DataStages {
  stageAt(step: number): number;
  pool(stage: number, step: number, examples: TrainExample[]): TrainExample[];
}

/** One episode as a reward scaffold sees it. */
export interface ScaffoldEpisode {
  prompt: TrainExample;
  trajectory: Trajectory;
  /** Share of the prompt's gold passages the rollout's searches retrieved (null: the data names none). */
  goldRecall: number | null;
}

export interface Scaffold {
  readonly name: string;
  /** The data the trainer samples from (hop curriculum). */
  readonly stages?: DataStages;
  /** 1) before the rollouts of a step: per-prompt decisions. */
  beginStep?(s: ScaffoldStep, prompts: TrainExample[]): void;
  /** 1) the intervention for sample k of prompt i of this step, if any. */
  intervene?(i: number, k: number, prompt: TrainExample, plan: RolloutPlan): Intervention | undefined;
  /** 2) a term added to the reward of a well-formed episode (this step's weight applied). */
  reward?(e: ScaffoldEpisode): number;
  /** 7) this step's metrics, logged as `scaffold/<name>/<key>` in metrics.jsonl. */
  metrics?(trajectories: Trajectory[]): Record<string, number | null>;
}

/** A registry entry: the schema of the scaffold's options and its constructor. */
export interface ScaffoldDef<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  create(options: z.infer<S>, ctx: { maxSearches: number | null }): Scaffold;
}

/** p from step `from`, falling linearly to 0 over `steps` steps; 0 before `from` and when p ≤ 0. */
export function linearAnneal(p: number, from: number, steps: number, step: number): number {
  if (p <= 0 || step < from) return 0;
  return p * Math.max(0, 1 - (step - from) / steps);
}

/** Mean of a per-trajectory intervention counter (Trajectory.interventions[key], 0 when absent). */
export function counterMean(trajectories: Trajectory[], key: string): number {
  return mean(trajectories.map((t) => t.interventions?.[key] ?? 0));
}
