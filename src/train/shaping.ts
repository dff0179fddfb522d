/**
 * @module train/shaping — reward options for small models, on top of the exact ReSearch reward (reward/reward.ts):
 * the format bonus only below a valid-rate threshold or only for episodes that searched; EM instead of F1; an
 * answer-length limit. With the default config the reward is exactly ReSearch's. Reward terms of training scaffolds
 * (retrieval-bonus) are added by the trainer (train/scaffolds/).
 */
import { computeResponseReward } from "../reward/reward.js";
import { exactMatch, tokenF1 } from "../reward/metrics.js";
import type { RewardConfig } from "./config.js";

export interface Episode {
  /** Response text as the reward sees it (a forced prefix included), ending with the EOS text when it ended on EOS. */
  response: string;
  goldenAnswers: string[];
  eosText: string;
  searches: number;
  /** The question's gold passage ids and the ids the rollout's searches returned (for goldRecall). */
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
 * `bonus(i, recall)`: a term added to well-formed episode i (the scaffolds' reward terms), none by default.
 */
export function scoreEpisodes(episodes: Episode[], cfg: RewardConfig, bonus?: (i: number, goldRecall: number | null) => number): EpisodeScore[] {
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
    return { reward: bonus ? score + bonus(i, recall) : score, researchReward: b.reward, valid: true, prediction: b.prediction, f1, em, goldRecall: recall, reason };
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
