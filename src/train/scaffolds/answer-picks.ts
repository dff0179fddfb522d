/**
 * @module train/scaffolds/answer-picks — an exploration scaffold for the answer step: once a held rollout may answer
 * (its min-searches done) and has written `\boxed{` after a search, the environment picks the answer uniformly at random
 * among the names and numbers of the last result (`resultMentions`) and splices it with the closing brace, trained on
 * (off-policy); the policy writes the rest. Every candidate is equally likely: the rewards say which one answers.
 * Tried for the demo and not kept (README history). Metric: `rate` (share of rollouts whose answer was picked).
 */
import { z } from "zod";
import { deriveSeed } from "../../rollout/loop.js";
import type { Intervention, RolloutView } from "../../rollout/intervention.js";
import { resultMentions } from "./names.js";
import { counterMean, type Scaffold, type ScaffoldDef } from "./types.js";

export const AnswerPicksOptions = z
  .object({
    rollouts: z.enum(["held", "all"]).default("held").describe("held: only rollouts min-searches holds; all: every rollout"),
  })
  .strict();
export type AnswerPicksOptions = z.infer<typeof AnswerPicksOptions>;

/** The stop string after which a pick is spliced. */
export const BOXED_OPEN = "\\boxed{";
const PICKED = "answer-picks/answers";

/** The intervention of one rollout that may answer after `minSearches` searches. */
export function answerPicksIntervention(minSearches: number): Intervention {
  let mentions: string[] = [];
  const pick = (v: RolloutView): string | null => {
    if (v.searches < minSearches || !mentions.length || v.segments.some((g) => g.author === "policy" && g.text.includes(BOXED_OPEN))) return null;
    return mentions[deriveSeed(v.seed, `${v.id}#answer`, v.searches) % mentions.length];
  };
  return {
    stops: (v) => (pick(v) !== null ? [BOXED_OPEN] : []),
    onStop: (v, _stop, generated) => {
      const answer = generated.endsWith(BOXED_OPEN) ? pick(v) : null;
      if (answer === null) return null;
      v.count(PICKED);
      return { splice: [{ text: ` ${answer} }`, trained: true }] };
    },
    observe: (_v, hits) => {
      mentions = resultMentions(hits);
    },
  };
}

export function createAnswerPicks(o: AnswerPicksOptions): Scaffold {
  return {
    name: "answer-picks",
    intervene: (_i, _k, _prompt, plan) => (o.rollouts === "all" || plan.held ? answerPicksIntervention(plan.minSearches) : undefined),
    metrics: (ts) => ({ rate: counterMean(ts, PICKED) }),
  };
}

export const answerPicks: ScaffoldDef<typeof AnswerPicksOptions> = { schema: AnswerPicksOptions, create: createAnswerPicks };
