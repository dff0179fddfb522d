/**
 * @module train/shaping — reward and curriculum options for small models (issue 8, "Reward and curriculum
 * options"), on top of the exact ReSearch reward (reward/reward.ts): the format bonus only below a valid-rate
 * threshold or only for episodes that searched; EM instead of F1; an answer-length limit; a forced first search
 * whose probability anneals to 0; a hop curriculum; a bonus for retrieving the gold passages. With the default
 * config the reward is exactly ReSearch's.
 */
import { computeResponseReward } from "../reward/reward.js";
import { exactMatch, tokenF1 } from "../reward/metrics.js";
import type { CurriculumConfig, RewardConfig } from "./config.js";

export interface Episode {
  /** Response text as the reward sees it (a forced prefix included), ending with the EOS text when it ended on EOS. */
  response: string;
  goldenAnswers: string[];
  eosText: string;
  searches: number;
  /** The question's gold passage ids and the ids the rollout's searches returned (for the retrieval bonus). */
  goldPassages?: string[];
  retrievedIds?: string[][];
}

export interface EpisodeScore {
  /** The shaped reward GRPO trains on. */
  reward: number;
  /** The exact ReSearch reward of the same response (what evaluation reports). */
  researchReward: number;
  /** Format, EOS and answer extraction all passed. */
  valid: boolean;
  prediction: string | null;
  /** Answer token F1 and EM (0 when not valid): the "is it learning" signal, unshaped. */
  f1: number;
  em: number;
  /** Share of the gold passages the searches retrieved; null when the question names none. */
  goldRecall: number | null;
  reason: string;
}

const words = (s: string) => s.trim().split(/\s+/).filter(Boolean).length;

/** Share of `gold` among the retrieved ids (any search); null without gold passages. */
export function goldRecall(gold: string[] | undefined, retrieved: string[][] | undefined): number | null {
  if (!gold?.length) return null;
  const got = new Set((retrieved ?? []).flat());
  return gold.filter((id) => got.has(id)).length / gold.length;
}

/**
 * Score a step's episodes. Batch-level because `below-valid-rate` looks at the whole step's valid rate.
 * `retrievalBonus`: this step's weight of the retrieval bonus (see `retrievalBonusAt`), added to well-formed episodes.
 */
export function scoreEpisodes(episodes: Episode[], cfg: RewardConfig, retrievalBonus = 0): EpisodeScore[] {
  const base = episodes.map((e) => computeResponseReward(e.response, e.goldenAnswers, e.eosText));
  const validRate = episodes.length ? base.filter((b) => b.prediction !== null).length / episodes.length : 0;
  return episodes.map((e, i) => {
    const b = base[i];
    const recall = goldRecall(e.goldPassages, e.retrievedIds);
    if (b.prediction === null) return { reward: 0, researchReward: b.reward, valid: false, prediction: null, f1: 0, em: 0, goldRecall: recall, reason: b.reason };
    const f1 = tokenF1(b.prediction, e.goldenAnswers);
    const em = exactMatch(b.prediction, e.goldenAnswers);
    let score = cfg.metric === "em" ? em : f1;
    let reason = b.reason;
    if (cfg.maxAnswerWords !== null && words(b.prediction) > cfg.maxAnswerWords) {
      score = 0;
      reason = `answer longer than ${cfg.maxAnswerWords} words`;
    }
    if (score <= 0) score = formatBonusApplies(cfg, validRate, e.searches) ? cfg.formatBonus : 0;
    const bonus = retrievalBonus * (recall ?? 0);
    return { reward: score + bonus, researchReward: b.reward, valid: true, prediction: b.prediction, f1, em, goldRecall: recall, reason };
  });
}

function formatBonusApplies(cfg: RewardConfig, validRate: number, searches: number): boolean {
  switch (cfg.formatBonusWhen) {
    case "always":
      return true;
    case "below-valid-rate":
      return validRate < cfg.formatBonusValidRate;
    case "searched":
      return searches > 0;
  }
}

/** Probability of a forced first search at a step (0-based): linear anneal from forcedSearchProb to 0. */
export function forcedSearchProbAt(c: CurriculumConfig, step: number): number {
  return linearAnneal(c.forcedSearchProb, 0, c.forcedSearchAnnealSteps, step);
}

/** Weight of the retrieval bonus at a step (0-based): from retrievalBonusFrom, constant or a linear anneal to 0. */
export function retrievalBonusAt(r: RewardConfig, step: number): number {
  if (r.retrievalBonusAnnealSteps === 0) return step < r.retrievalBonusFrom ? 0 : r.retrievalBonus;
  return linearAnneal(r.retrievalBonus, r.retrievalBonusFrom, r.retrievalBonusAnnealSteps, step);
}

/** Probability of forced follow-up searches at a step (0-based): 0 before forcedFollowUpFrom, then a linear anneal to 0. */
export function forcedFollowUpProbAt(c: CurriculumConfig, step: number): number {
  return linearAnneal(c.forcedFollowUpProb, c.forcedFollowUpFrom, c.forcedFollowUpAnnealSteps, step);
}

/** p from step `from`, falling linearly to 0 over `steps` steps; 0 before `from` and when p ≤ 0. */
function linearAnneal(p: number, from: number, steps: number, step: number): number {
  if (p <= 0 || step < from) return 0;
  return p * Math.max(0, 1 - (step - from) / steps);
}

/** Hop limit at a step (0-based): the first stage whose untilStep is above the step; null = every question. */
export function maxHopsAt(c: CurriculumConfig, step: number): number | null {
  for (const s of c.hops) if (step < s.untilStep) return s.maxHops;
  return null;
}

/** Index of the curriculum stage at a step (stages.length for the final, unrestricted stage). */
export function hopStageAt(c: CurriculumConfig, step: number): number {
  const i = c.hops.findIndex((s) => step < s.untilStep);
  return i === -1 ? c.hops.length : i;
}
