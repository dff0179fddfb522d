/**
 * @module train/scaffolds — the registry of training scaffolds, by name, in the order the trainer applies them
 * (a scaffold may read what an earlier one decided for a rollout: follow-up-picks and answer-picks act on the rollouts
 * min-searches holds). Dropping an experiment = deleting its file and its line here.
 */
import { z } from "zod";
import type { Scaffold, ScaffoldDef } from "./types.js";
import { hopCurriculum } from "./hop-curriculum.js";
import { minSearches } from "./min-searches.js";
import { followUpPicks } from "./follow-up-picks.js";
import { answerPicks } from "./answer-picks.js";
import { retrievalBonus } from "./retrieval-bonus.js";

export const SCAFFOLDS = {
  "hop-curriculum": hopCurriculum,
  "min-searches": minSearches,
  "follow-up-picks": followUpPicks,
  "answer-picks": answerPicks,
  "retrieval-bonus": retrievalBonus,
} satisfies Record<string, ScaffoldDef>;
export type ScaffoldName = keyof typeof SCAFFOLDS;
export const SCAFFOLD_NAMES = Object.keys(SCAFFOLDS) as ScaffoldName[];

/** The `scaffolds` section of a training config: each scaffold's options under its name (absent = off). */
export const ScaffoldsConfig = z
  .object(Object.fromEntries(SCAFFOLD_NAMES.map((n) => [n, SCAFFOLDS[n].schema.optional()])) as { [K in ScaffoldName]: z.ZodOptional<(typeof SCAFFOLDS)[K]["schema"]> })
  .strict();
export type ScaffoldsConfig = z.infer<typeof ScaffoldsConfig>;

/** The configured scaffolds, in registry order. */
export function createScaffolds(cfg: ScaffoldsConfig, ctx: { maxSearches: number | null }): Scaffold[] {
  return SCAFFOLD_NAMES.flatMap((n) => {
    const o = cfg[n];
    return o === undefined ? [] : [(SCAFFOLDS[n] as ScaffoldDef).create(o, ctx)];
  });
}

export type { Scaffold, RolloutPlan, ScaffoldStep, DataStages } from "./types.js";
