/**
 * @module train/scaffolds/retrieval-bonus — a process reward for finding the evidence: `weight` × the share of the
 * question's gold passages (metadata.chain) that the rollout's searches brought back, added to well-formed rollouts,
 * from step `from`, constant or falling linearly to 0 over `annealSteps`. Metric: `weight` (this step's).
 */
import { z } from "zod";
import { linearAnneal, type Scaffold, type ScaffoldDef } from "./types.js";

export const RetrievalBonusOptions = z
  .object({
    weight: z.number().min(0).describe("bonus for retrieving all gold passages (a share of them earns that share)"),
    from: z.number().int().min(0).default(0).describe("step at which the bonus starts"),
    annealSteps: z.number().int().min(0).default(0).describe("the bonus falls linearly to 0 over this many steps from `from`; 0 = it stays"),
  })
  .strict();
export type RetrievalBonusOptions = z.infer<typeof RetrievalBonusOptions>;

/** Weight of the bonus at a step (0-based). */
export function retrievalBonusAt(o: RetrievalBonusOptions, step: number): number {
  if (o.annealSteps === 0) return step < o.from ? 0 : o.weight;
  return linearAnneal(o.weight, o.from, o.annealSteps, step);
}

export function createRetrievalBonus(o: RetrievalBonusOptions): Scaffold {
  let weight = 0;
  return {
    name: "retrieval-bonus",
    beginStep: (s) => {
      weight = retrievalBonusAt(o, s.step);
    },
    reward: (e) => weight * (e.goldRecall ?? 0),
    metrics: () => ({ weight }),
  };
}

export const retrievalBonus: ScaffoldDef<typeof RetrievalBonusOptions> = { schema: RetrievalBonusOptions, create: createRetrievalBonus };
