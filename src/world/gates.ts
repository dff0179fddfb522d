/**
 * @module world/gates — the base model's gates before any RL (learning-demo notes): sample ReSearch episodes and
 * measure how often a query contains the question's entity (gate ≥ 25%) and how often the answer is a span of a
 * retrieved result (gate ≥ 50%). Pure measurement over trajectories, plus a runner over a model directory.
 */
import type { Trajectory } from "../rollout/types.js";
import type { Retriever } from "../retrieval/types.js";
import { extractAnswer } from "../reward/answer.js";
import { normalizeAnswer } from "../reward/normalize.js";
import type { WorldQuestion } from "./questions.js";

export const GATE_QUERY_ENTITY = 0.25;
export const GATE_ANSWER_SPAN = 0.5;

export interface GateReport {
  episodes: number;
  /** Sampling temperature of the episodes (absent in reports written before it was recorded: 1). */
  temperature?: number;
  /** Episodes with ≥ 1 query containing one of the entities the question names. */
  query_has_entity: number;
  /** Episodes whose `\boxed{}` answer is a non-empty span of one of their `<result>` blocks. */
  answer_in_result: number;
  /** Episodes that searched at least once. */
  searched: number;
  /** Episodes with a non-empty extracted answer. */
  answered: number;
  searches_mean: number;
  pass: { query_has_entity: boolean; answer_in_result: boolean };
}

/** Word-boundary containment after SQuAD normalisation. */
export function containsSpan(haystack: string, needle: string): boolean {
  const h = ` ${normalizeAnswer(haystack)} `;
  const n = normalizeAnswer(needle);
  return n.length > 0 && h.includes(` ${n} `);
}

/** The text of each `<result>…</result>` block of a response. */
export function resultBlocks(response: string): string[] {
  return [...response.matchAll(/<result>([\s\S]*?)<\/result>/g)].map((m) => m[1]);
}

export function measureGates(trajectories: Trajectory[], questions: Map<string, WorldQuestion>): GateReport {
  let qe = 0, ar = 0, searched = 0, answered = 0, searches = 0;
  for (const t of trajectories) {
    const q = questions.get(t.id.replace(/#\d+$/, ""));
    if (!q) throw new Error(`gates: trajectory ${t.id} has no question`);
    searches += t.searches;
    if (t.searches > 0) searched++;
    if (t.queries.some((query) => q.metadata.mentions.some((m) => containsSpan(query, m)))) qe++;
    const ans = extractAnswer(t.response);
    if (ans && normalizeAnswer(ans)) {
      answered++;
      if (resultBlocks(t.response).some((r) => containsSpan(r, ans))) ar++;
    }
  }
  const n = Math.max(1, trajectories.length);
  const rate = (x: number) => Number((x / n).toFixed(4));
  return {
    episodes: trajectories.length,
    query_has_entity: rate(qe), answer_in_result: rate(ar), searched: rate(searched), answered: rate(answered),
    searches_mean: rate(searches),
    pass: { query_has_entity: qe / n >= GATE_QUERY_ENTITY, answer_in_result: ar / n >= GATE_ANSWER_SPAN },
  };
}

export function formatGates(g: GateReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    `gates over ${g.episodes} ReSearch episodes sampled at temperature ${g.temperature ?? 1} (RL-train questions, before any RL):`,
    `  queries contain the question's entity: ${pct(g.query_has_entity)} (gate ≥ ${pct(GATE_QUERY_ENTITY)}: ${g.pass.query_has_entity ? "PASS" : "FAIL"})`,
    `  answer is a span of a result:         ${pct(g.answer_in_result)} (gate ≥ ${pct(GATE_ANSWER_SPAN)}: ${g.pass.answer_in_result ? "PASS" : "FAIL"})`,
    `  searched: ${pct(g.searched)}, answered: ${pct(g.answered)}, searches/episode: ${g.searches_mean.toFixed(2)}`,
  ].join("\n");
}

export interface RunGatesOptions {
  modelDir: string;
  worldDir: string;
  /** Episodes to sample (one per RL-train question). */
  n: number;
  topN: number;
  maxSearches: number;
  seed: number;
  /** Sampling temperature (default 1): the demo passes its GRPO rollouts' temperature, so the gates measure the
   * episodes RL starts from. */
  temperature?: number;
  maxResponseTokens?: number;
  retriever?: Retriever;
}

/** Sample `n` episodes with the real rollout loop (native engine, BM25 over the whole corpus) and measure the gates. */
export async function runGates(o: RunGatesOptions): Promise<GateReport> {
  const { loadModel } = await import("../model/load.js");
  const { createNativeBackend } = await import("../rollout/backends/native.js");
  const { runRollouts } = await import("../rollout/loop.js");
  const { readWorldQuestions } = await import("./build.js");
  const { readCorpusFile } = await import("./cli-support.js");
  const { memoryBm25Retriever } = await import("../retrieval/memory.js");
  const model = await loadModel(o.modelDir);
  const backend = createNativeBackend({ model, maxBatch: 16 });
  const questions = readWorldQuestions(o.worldDir, "train").slice(0, o.n);
  const retriever = o.retriever ?? memoryBm25Retriever(await readCorpusFile(o.worldDir));
  const temperature = o.temperature ?? 1;
  const trajectories = await runRollouts({
    backend, retriever, examples: questions.map((q) => ({ id: q.id, question: q.question, goldenAnswers: q.golden_answers })),
    n: 1, temperature, topN: o.topN, maxSearches: o.maxSearches, maxResponseTokens: o.maxResponseTokens ?? 320, seed: o.seed, template: "research",
  });
  return { ...measureGates(trajectories, new Map(questions.map((q) => [q.id, q]))), temperature };
}
