/**
 * @module train/scaffolds/min-searches — forced follow-up searches: with probability `prob` (from step `from`,
 * annealed to 0 over `annealSteps`) a prompt's first round(share × G) rollouts are held to search once per hop of the
 * question (metadata.hops) before they may answer: an answer tag written earlier is dropped and the template's search
 * tag spliced in its place, written by the environment and trained on (`trained`, off-policy) so the decision to search
 * again is learned; the policy then writes the query (or follow-up-picks does). The rest of the group runs free, so the
 * rewards compare searching again with answering. Metrics: `prob`, `forced_searches_mean` (per rollout).
 */
import { z } from "zod";
import type { Intervention } from "../../rollout/intervention.js";
import { counterMean, linearAnneal, type Scaffold, type ScaffoldDef } from "./types.js";

export const MinSearchesOptions = z
  .object({
    prob: z.number().min(0).max(1).default(1).describe("probability that a prompt's rollouts are held (per step, per prompt)"),
    share: z.number().gt(0).max(1).default(1).describe("share of a held prompt's G rollouts held (the first round(share × G), at least 1); the rest run free"),
    trained: z.boolean().default(true).describe("train the spliced search tag (off-policy: the decision to search again is learned); false: environment text never trained on"),
    from: z.number().int().min(0).default(0).describe("step at which holding starts (e.g. when multi-hop questions enter the curriculum)"),
    annealSteps: z.number().int().min(1).default(100).describe("prob falls linearly to 0 over this many steps after `from`"),
    answerTag: z.string().default("<answer>").describe("the tag that opens an answer (dropped while the rollout must still search)"),
  })
  .strict();
export type MinSearchesOptions = z.infer<typeof MinSearchesOptions>;

const FORCED = "min-searches/forced_searches";

/** Probability of holding a prompt at a step (0-based). */
export function minSearchesProbAt(o: MinSearchesOptions, step: number): number {
  return linearAnneal(o.prob, o.from, o.annealSteps, step);
}

/** The intervention of one held rollout: until it has made `min` searches, its answer tag becomes a search tag. */
export function minSearchesIntervention(min: number, o: Pick<MinSearchesOptions, "trained" | "answerTag">): Intervention {
  return {
    stops: (v) => (v.searches < min ? [o.answerTag] : []),
    onStop: (v, _stop, generated) => {
      v.count(FORCED);
      return { keep: generated.slice(0, generated.length - o.answerTag.length), splice: [{ text: v.template.openTag, trained: o.trained }] };
    },
  };
}

export function createMinSearches(o: MinSearchesOptions, ctx: { maxSearches: number | null }): Scaffold {
  let prob = 0;
  let heldPrompts: boolean[] = [];
  let heldSamples = 1;
  return {
    name: "min-searches",
    beginStep(s, prompts) {
      prob = minSearchesProbAt(o, s.step);
      heldPrompts = prompts.map(() => prob > 0 && s.rng.next() < prob);
      heldSamples = Math.max(1, Math.round(o.share * s.G));
    },
    intervene(i, k, prompt, plan) {
      if (!heldPrompts[i] || k >= heldSamples) return undefined;
      plan.held = true;
      plan.minSearches = Math.min(prompt.hops ?? 1, ctx.maxSearches ?? Infinity);
      return minSearchesIntervention(plan.minSearches, o);
    },
    metrics: (ts) => ({ prob, forced_searches_mean: counterMean(ts, FORCED) }),
  };
}

export const minSearches: ScaffoldDef<typeof MinSearchesOptions> = { schema: MinSearchesOptions, create: createMinSearches };
