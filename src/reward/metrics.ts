/**
 * @module reward/metrics — QA metrics exactly as FlashRAG computes them (`flashrag/evaluator/metrics.py`):
 * `em` (ExactMatch), `f1` (token-level F1, also ReSearch's reward), `acc` (Sub_ExactMatch: gold ⊂ prediction).
 * Each is the max over the gold answers of one item; `aggregate` takes the mean over items.
 */
import { normalizeAnswer, pySplit } from "./normalize.js";

/** Gold answers as FlashRAG accepts them: one string or a list. */
export type Golds = string | readonly string[];

export interface ItemScores {
  em: number;
  f1: number;
  acc: number;
}

export interface AggregateScores extends ItemScores {
  n: number;
}

export interface TokenScores {
  f1: number;
  precision: number;
  recall: number;
}

function goldList(golds: Golds): readonly string[] {
  return typeof golds === "string" ? [golds] : golds;
}

/** Answers for which a partial token overlap earns nothing: a mismatch with these scores 0 for that gold. */
const SPECIAL = new Set(["yes", "no", "noanswer"]);

/** Token F1 / precision / recall, each the max over golds (FlashRAG `F1_Score.token_level_scores`). */
export function tokenScores(pred: string, golds: Golds): TokenScores {
  const best: TokenScores = { f1: 0, precision: 0, recall: 0 };
  const normPred = normalizeAnswer(pred);
  const predTokens = pySplit(normPred);
  for (const gold of goldList(golds)) {
    const normGold = normalizeAnswer(gold);
    if (SPECIAL.has(normPred) && normPred !== normGold) continue;
    if (SPECIAL.has(normGold) && normPred !== normGold) continue;
    const goldTokens = pySplit(normGold);
    const numSame = countCommon(predTokens, goldTokens); // sum(Counter(p) & Counter(g))
    if (numSame === 0) continue;
    const precision = numSame / predTokens.length;
    const recall = numSame / goldTokens.length;
    const f1 = (2 * precision * recall) / (precision + recall);
    best.f1 = Math.max(f1, best.f1);
    best.precision = Math.max(precision, best.precision);
    best.recall = Math.max(recall, best.recall);
  }
  return best;
}

/** Size of the multiset intersection of two token lists. */
function countCommon(a: readonly string[], b: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const t of a) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of b) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  return same;
}

/** Max token F1 over golds; also the ReSearch reward's answer score. */
export function tokenF1(pred: string, golds: Golds): number {
  return tokenScores(pred, golds).f1;
}

/** 1 if some normalized gold equals the normalized prediction, else 0. */
export function exactMatch(pred: string, golds: Golds): number {
  const p = normalizeAnswer(pred);
  return goldList(golds).some((g) => normalizeAnswer(g) === p) ? 1 : 0;
}

/** FlashRAG `acc`: 1 if some normalized gold is a substring of the normalized prediction (an empty gold always is). */
export function subExactMatch(pred: string, golds: Golds): number {
  const p = normalizeAnswer(pred);
  return goldList(golds).some((g) => p.includes(normalizeAnswer(g))) ? 1 : 0;
}

export function scoreItem(pred: string, golds: Golds): ItemScores {
  return { em: exactMatch(pred, golds), f1: tokenF1(pred, golds), acc: subExactMatch(pred, golds) };
}

/** Mean of each metric over items (summed left to right, like FlashRAG's `sum(list) / len(list)`); n = 0 gives zeros. */
export function aggregate(items: Iterable<ItemScores>): AggregateScores {
  const acc = new ScoreAccumulator();
  for (const it of items) acc.add(it);
  return acc.result();
}

/** Streaming form of `aggregate` for inputs too large to hold. */
export class ScoreAccumulator {
  private n = 0;
  private sums: ItemScores = { em: 0, f1: 0, acc: 0 };

  add(s: ItemScores): void {
    this.n++;
    this.sums.em += s.em;
    this.sums.f1 += s.f1;
    this.sums.acc += s.acc;
  }

  result(): AggregateScores {
    const n = this.n;
    if (n === 0) return { n, em: 0, f1: 0, acc: 0 };
    return { n, em: this.sums.em / n, f1: this.sums.f1 / n, acc: this.sums.acc / n };
  }
}
