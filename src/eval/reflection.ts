/**
 * @module eval/reflection — reflection / self-correction metrics of search trajectories (ReSearch §3.4 reports
 * reflection emerging during RL), pure functions over the queries a trajectory made and the results it got.
 *
 * Definitions (per trajectory; each share's denominator is named):
 * - a **miss** is a search whose result did not contain the entity the next hop needs. With the gold chain (the world's
 *   questions carry it: `kind`, `chainNames`, golden answers) the targets are, for a compositional chain c0 → c1 → … →
 *   answer, the names c1, c2, …, then the answer, found in order: a result that contains the pending target (as a
 *   whole-word span after answer normalisation) is a hit and moves on to the next target; one that does not is a
 *   miss. For comparisons and yes/no questions the targets are the named entities, found in any order. Searches made
 *   after every target was found are neither. Without a gold chain (the **proxy**): a result misses when it contains
 *   none of the golden answers and at most half of the query's (normalised) tokens (a name collision
 *   such as "Ann Leeson" for the query "Ann Lee" is a miss).
 * - `search_after_miss`: share of trajectories with a miss that searched again after (one of) their miss(es);
 *   denominator: trajectories with ≥ 1 miss.
 * - `query_revision`: share of trajectories with ≥ 2 searches in which a later query revises an earlier one: their
 *   normalised token sets have Jaccard overlap ≥ 0.5 (`REVISION_OVERLAP`) and the normalised queries differ;
 *   denominator: trajectories with ≥ 2 searches. `query_repeat`: the same, for a later query equal to an earlier one.
 * - `recovery`: share of trajectories with a miss whose final answer is right (EM 1); denominator: with ≥ 1 miss.
 * - `miss_rate`: share of trajectories with ≥ 1 search that had a miss.
 * Shares with an empty denominator are null.
 */
import { normalizeAnswer } from "../reward/normalize.js";

/** Jaccard overlap of two queries' token sets at or above which a different later query counts as a revision. */
export const REVISION_OVERLAP = 0.5;

export interface SearchStep {
  query: string;
  /** The text the search returned (all its passages). */
  result: string;
}

/** What a question's chain needs, when known (world questions: metadata.kind and metadata.chainNames). */
export interface ReflectionGold {
  kind?: string;
  chainNames: string[];
}

export interface ReflectionInput {
  steps: SearchStep[];
  goldenAnswers: string[];
  /** Whether the final answer is right (EM 1). */
  correct: boolean;
  gold?: ReflectionGold;
}

export interface TrajectoryReflection {
  searches: number;
  /** Index of each search whose result missed. */
  misses: number[];
  searchAfterMiss: boolean;
  revised: boolean;
  repeated: boolean;
  recovered: boolean;
  /** The misses were judged against the gold chain (else the proxy). */
  usedGold: boolean;
}

export interface ReflectionSummary {
  /** Trajectories. */
  n: number;
  /** … with ≥ 1 search, with ≥ 1 miss, with ≥ 2 searches, judged with the gold chain. */
  searched: number;
  with_miss: number;
  multi_search: number;
  gold: number;
  miss_rate: number | null;
  search_after_miss: number | null;
  query_revision: number | null;
  query_repeat: number | null;
  recovery: number | null;
}

const norm = (s: string) => normalizeAnswer(s);
const tokens = (s: string) => new Set(norm(s).split(" ").filter(Boolean));

function hasSpan(text: string, span: string): boolean {
  const n = norm(span);
  return n.length > 0 && ` ${norm(text)} `.includes(` ${n} `);
}

/** Jaccard overlap of two queries' normalised token sets (0 when both are empty). */
export function queryOverlap(a: string, b: string): number {
  const x = tokens(a);
  const y = tokens(b);
  const inter = [...x].filter((t) => y.has(t)).length;
  const union = new Set([...x, ...y]).size;
  return union ? inter / union : 0;
}

/** `later` revises `earlier`: different after normalisation, token overlap ≥ REVISION_OVERLAP. */
export function revises(earlier: string, later: string): boolean {
  return norm(earlier) !== norm(later) && queryOverlap(earlier, later) >= REVISION_OVERLAP;
}

/** The targets a gold chain needs found, each a list of alternatives, and whether they are found in order. */
export function goldTargets(gold: ReflectionGold, goldenAnswers: string[]): { targets: string[][]; ordered: boolean } {
  if ((gold.kind ?? "compositional") === "compositional") return { targets: [...gold.chainNames.slice(1).map((n) => [n]), goldenAnswers], ordered: true };
  return { targets: gold.chainNames.map((n) => [n]), ordered: false };
}

/** Indices of the searches whose result missed (see the module's definition). */
export function missesOf(input: ReflectionInput): number[] {
  const { steps, goldenAnswers, gold } = input;
  const out: number[] = [];
  if (!gold || gold.chainNames.length === 0) {
    steps.forEach((s, i) => {
      const q = [...tokens(s.query)];
      const r = ` ${norm(s.result)} `;
      const covered = q.filter((t) => r.includes(` ${t} `)).length;
      if (!goldenAnswers.some((a) => hasSpan(s.result, a)) && covered * 2 <= q.length) out.push(i);
    });
    return out;
  }
  const { targets, ordered } = goldTargets(gold, goldenAnswers);
  const found = new Set<number>();
  let next = 0;
  steps.forEach((s, i) => {
    if (found.size === targets.length) return; // every target found: an extra search
    const contains = (k: number) => targets[k].some((a) => hasSpan(s.result, a));
    if (ordered) {
      if (!contains(next)) return void out.push(i);
      while (next < targets.length && contains(next)) found.add(next++);
    } else {
      const hits = targets.map((_, k) => k).filter((k) => !found.has(k) && contains(k));
      if (!hits.length) return void out.push(i);
      for (const k of hits) found.add(k);
    }
  });
  return out;
}

export function analyzeTrajectory(input: ReflectionInput): TrajectoryReflection {
  const misses = missesOf(input);
  const qs = input.steps.map((s) => s.query);
  let revised = false;
  let repeated = false;
  for (let j = 1; j < qs.length; j++)
    for (let i = 0; i < j; i++) {
      if (revises(qs[i], qs[j])) revised = true;
      else if (norm(qs[i]) === norm(qs[j])) repeated = true;
    }
  return {
    searches: input.steps.length,
    misses,
    searchAfterMiss: misses.some((i) => i < input.steps.length - 1),
    revised,
    repeated,
    recovered: misses.length > 0 && input.correct,
    usedGold: !!input.gold && input.gold.chainNames.length > 0,
  };
}

const share = (k: number, n: number) => (n > 0 ? k / n : null);

export function summarizeReflection(items: readonly TrajectoryReflection[]): ReflectionSummary {
  const searched = items.filter((t) => t.searches > 0);
  const missed = items.filter((t) => t.misses.length > 0);
  const multi = items.filter((t) => t.searches >= 2);
  return {
    n: items.length,
    searched: searched.length,
    with_miss: missed.length,
    multi_search: multi.length,
    gold: items.filter((t) => t.usedGold).length,
    miss_rate: share(missed.length, searched.length),
    search_after_miss: share(missed.filter((t) => t.searchAfterMiss).length, missed.length),
    query_revision: share(multi.filter((t) => t.revised).length, multi.length),
    query_repeat: share(multi.filter((t) => t.repeated).length, multi.length),
    recovery: share(missed.filter((t) => t.recovered).length, missed.length),
  };
}

/** The searches of a ReSearch trajectory: each query with the tool text spliced after it (in order). */
export function stepsOfTrajectory(t: { queries?: string[]; segments?: { author?: string; kind?: string; text: string }[] }): SearchStep[] {
  const results = (t.segments ?? []).filter((s) => (s.author ?? (s.kind === "tool" ? "tool" : "policy")) === "tool").map((s) => s.text);
  return (t.queries ?? []).map((query, i) => ({ query, result: results[i] ?? "" }));
}

/** The searches of an evaluation record: its trajectory's, else a baseline's retriever calls (hits joined). */
export function stepsOfRecord(r: { trajectory?: { queries?: string[]; segments?: { author?: string; kind?: string; text: string }[] }; retrievals?: { query: string; hits: { contents: string }[] }[] }): SearchStep[] {
  if (r.trajectory) return stepsOfTrajectory(r.trajectory);
  return (r.retrievals ?? []).map((x) => ({ query: x.query, result: x.hits.map((h) => h.contents).join("\n") }));
}

/** The step metrics the trainer logs from a summary (`reflection_<share>`). */
export function reflectionStepMetrics(s: ReflectionSummary) {
  return {
    reflection_miss_rate: s.miss_rate,
    reflection_search_after_miss: s.search_after_miss,
    reflection_query_revision: s.query_revision,
    reflection_recovery: s.recovery,
  };
}
