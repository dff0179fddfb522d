/**
 * @module eval/summary — one evaluation record per question and the run summary computed from them (pure, no I/O):
 * EM/F1/acc means (FlashRAG), the judge's accuracy, and ReSearch's search behaviour.
 */
import { ScoreAccumulator, type ItemScores } from "../reward/metrics.js";
import type { Trajectory } from "../rollout/types.js";
import type { JudgeVerdict } from "./judge.js";
import type { GenerationStep, MethodName, RetrievalStep } from "./types.js";
import { analyzeTrajectory, stepsOfRecord, summarizeReflection, type ReflectionGold, type ReflectionSummary } from "./reflection.js";

/** One line of `predictions.jsonl`. */
export interface EvalRecord {
  id: string;
  question: string;
  goldenAnswers: string[];
  /** The string the metrics and the judge scored. */
  pred: string;
  raw?: string;
  scores: ItemScores;
  judge?: JudgeVerdict;
  /** Response length in tokens (research): the backend's ids, its tokenizer, else ~4 characters per token. */
  responseTokens?: number;
  /** true when responseTokens is an estimate (a remote backend without ids or a local tokenizer; pass --tokenizer). */
  tokensEstimated?: boolean;
  retrievals?: RetrievalStep[];
  generations?: GenerationStep[];
  trajectory?: Trajectory;
  ms: number;
}

export interface JudgeSummary {
  /** Correct verdicts over all items; errors count as incorrect. */
  accuracy: number;
  /** Items with a correct/incorrect verdict. */
  judged: number;
  /** Items whose judge replies stayed malformed (or failed) after retries. */
  errors: number;
  model?: string;
}

export interface SearchSummary {
  searchesPerQuestion: number;
  /** Share of answers whose rollout made at least one search. */
  withSearchShare: number;
  meanResponseTokens: number;
  /** Some counts were estimated at ~4 characters per token (no ids and no tokenizer). */
  responseTokensEstimated: boolean;
  finishReasons: Record<string, number>;
}

export interface EvalSummary {
  method: MethodName;
  dataset: string;
  datasetPath?: string;
  /** Free label for the policy (e.g. "Qwen2.5-7B-Instruct"), used as the row group in `eval table`. */
  label?: string;
  /** Items scored. */
  n: number;
  /** Items selected for the run (n < total when some failed). */
  total: number;
  failed: number;
  em: number;
  f1: number;
  acc: number;
  judge?: JudgeSummary;
  search?: SearchSummary;
  /**
   * Reflection metrics over the records' searches (eval/reflection.ts): ReSearch trajectories, or a baseline's
   * retriever calls; misses judged against the gold chain of items that have one, else the proxy. Absent when no
   * record searched.
   */
  reflection?: ReflectionSummary;
  /** This invocation: items it ran, seconds, and items per second. */
  session: { ran: number; seconds: number; questionsPerSecond: number };
  updatedAt: string;
}

export function summarizeJudge(records: readonly EvalRecord[], model?: string): JudgeSummary {
  let correct = 0;
  let judged = 0;
  let errors = 0;
  for (const r of records) {
    if (!r.judge || r.judge.verdict === "error") errors++;
    else {
      judged++;
      if (r.judge.verdict === "correct") correct++;
    }
  }
  return { accuracy: records.length ? correct / records.length : 0, judged, errors, ...(model ? { model } : {}) };
}

export function summarizeSearch(records: readonly EvalRecord[]): SearchSummary {
  const finishReasons: Record<string, number> = {};
  let searches = 0;
  let withSearch = 0;
  let tokens = 0;
  let estimated = false;
  for (const r of records) {
    const t = r.trajectory;
    if (!t) continue;
    searches += t.searches;
    if (t.searches > 0) withSearch++;
    tokens += r.responseTokens ?? 0;
    estimated ||= r.tokensEstimated === true;
    finishReasons[t.finishReason] = (finishReasons[t.finishReason] ?? 0) + 1;
  }
  const n = records.length || 1;
  return { searchesPerQuestion: searches / n, withSearchShare: withSearch / n, meanResponseTokens: tokens / n, responseTokensEstimated: estimated, finishReasons };
}

/** Reflection metrics of evaluation records (`gold`: each item's chain, by id, where known). */
export function summarizeRecordsReflection(records: readonly EvalRecord[], gold?: ReadonlyMap<string, ReflectionGold>): ReflectionSummary {
  return summarizeReflection(records.map((r) => {
    const g = gold?.get(r.id);
    return analyzeTrajectory({ steps: stepsOfRecord(r), goldenAnswers: r.goldenAnswers, correct: r.scores.em === 1, ...(g ? { gold: g } : {}) });
  }));
}

/** The summary of a run over `records` (the scored items of the selection, in dataset order). */
export function summarize(args: {
  method: MethodName;
  dataset: string;
  datasetPath?: string;
  label?: string;
  records: readonly EvalRecord[];
  total: number;
  judge: boolean;
  judgeModel?: string;
  session: EvalSummary["session"];
  /** Each item's gold chain, for the reflection metrics' misses (else the proxy). */
  gold?: ReadonlyMap<string, ReflectionGold>;
}): EvalSummary {
  const acc = new ScoreAccumulator();
  for (const r of args.records) acc.add(r.scores);
  const s = acc.result();
  const withJudge = args.judge || (args.records.length > 0 && args.records.every((r) => r.judge));
  const reflection = summarizeRecordsReflection(args.records, args.gold);
  return {
    method: args.method,
    dataset: args.dataset,
    ...(args.datasetPath ? { datasetPath: args.datasetPath } : {}),
    ...(args.label ? { label: args.label } : {}),
    n: s.n,
    total: args.total,
    failed: args.total - s.n,
    em: s.em,
    f1: s.f1,
    acc: s.acc,
    ...(withJudge ? { judge: summarizeJudge(args.records, args.judgeModel) } : {}),
    ...(args.method === "research" ? { search: summarizeSearch(args.records) } : {}),
    ...(reflection.searched > 0 ? { reflection } : {}),
    session: args.session,
    updatedAt: new Date().toISOString(),
  };
}
