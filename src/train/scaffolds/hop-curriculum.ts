/**
 * @module train/scaffolds/hop-curriculum — a curriculum over reasoning hops: stage by stage, a step draws only
 * questions with at most `maxHops` hops (metadata.hops; questions without it count as 1 hop), optionally of some
 * kinds only (metadata.kind). E.g. 1-hop questions first, then ≤ 2 hops. Metric: `max_hops` (null: every question).
 */
import { z } from "zod";
import type { TrainExample } from "../sampler.js";
import type { Scaffold, ScaffoldDef } from "./types.js";

const Stage = z
  .object({
    untilStep: z.number().int().positive().describe("this stage applies to steps < untilStep"),
    maxHops: z.number().int().positive().describe("only questions with at most this many hops (QAExample metadata.hops)"),
    kinds: z.array(z.string()).optional().describe("only questions of these kinds (metadata.kind, e.g. [compositional]); questions without a kind pass; absent = every kind"),
  })
  .strict();

export const HopCurriculumOptions = z
  .object({
    stages: z
      .array(Stage)
      .min(1)
      .describe("e.g. [{untilStep: 80, maxHops: 1}, {untilStep: 100000, maxHops: 2}]; after the last stage every question")
      .refine((st) => st.every((s, i) => i === 0 || s.untilStep > st[i - 1].untilStep), "stages must have increasing untilStep"),
  })
  .strict();
export type HopCurriculumOptions = z.infer<typeof HopCurriculumOptions>;

/** Hop limit at a step (0-based): the first stage whose untilStep is above the step; null = every question. */
export function maxHopsAt(o: HopCurriculumOptions, step: number): number | null {
  for (const s of o.stages) if (step < s.untilStep) return s.maxHops;
  return null;
}

/** Index of the stage at a step (stages.length for the final, unrestricted stage). */
export function hopStageAt(o: HopCurriculumOptions, step: number): number {
  const i = o.stages.findIndex((s) => step < s.untilStep);
  return i === -1 ? o.stages.length : i;
}

export function createHopCurriculum(o: HopCurriculumOptions): Scaffold {
  let step = 0;
  return {
    name: "hop-curriculum",
    stages: {
      stageAt: (s) => hopStageAt(o, s),
      pool(stage, s, examples): TrainExample[] {
        const maxHops = maxHopsAt(o, s);
        if (maxHops === null) return examples;
        const kinds = o.stages[stage]?.kinds;
        const pool = examples.filter((e) => (e.hops ?? 1) <= maxHops && (!kinds || e.kind === undefined || kinds.includes(e.kind)));
        if (pool.length === 0) throw new Error(`hop curriculum stage ${stage}: no question has at most ${maxHops} hops${kinds ? ` and a kind in [${kinds.join(", ")}]` : ""}`);
        return pool;
      },
    },
    beginStep: (s) => {
      step = s.step;
    },
    metrics: () => ({ max_hops: maxHopsAt(o, step) }),
  };
}

export const hopCurriculum: ScaffoldDef<typeof HopCurriculumOptions> = { schema: HopCurriculumOptions, create: createHopCurriculum };
