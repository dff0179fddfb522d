/**
 * @module world/oracle — the ceiling a retriever allows on the world: for each question, query the retriever with
 * the name of each gold-chain passage's subject (what a perfect policy would search) and count the question solved
 * only if every gold passage comes back in the top N and holds the fact. EM/F1 use the reward's normalisation.
 */
import type { Retriever } from "../retrieval/types.js";
import { exactMatch, tokenF1 } from "../reward/metrics.js";
import { mean } from "../util/stats.js";
import type { WorldQuestion } from "./questions.js";

export interface OracleItem {
  id: string;
  hops: number;
  /** Per hop: was the gold passage in the top N for the subject's name? */
  hopFound: boolean[];
  prediction: string;
  em: number;
  f1: number;
  queries: string[];
}

export interface OracleReport {
  n: number;
  topN: number;
  em: number;
  f1: number;
  acc: number;
  searches_mean: number;
  /** Fraction of individual hops whose gold passage was retrieved. */
  hop_recall: number;
  by_hops: Record<string, { n: number; em: number }>;
  items: OracleItem[];
}

function predictionOf(q: WorldQuestion, solved: boolean): string {
  return solved ? q.golden_answers[0] : "";
}

export async function runOracle(questions: WorldQuestion[], retriever: Retriever, opts: { topN?: number } = {}): Promise<OracleReport> {
  const topN = opts.topN ?? 1;
  const queries = questions.flatMap((q) => q.metadata.chainNames);
  const hits = await retriever.search(queries, topN);
  let cursor = 0;
  const items: OracleItem[] = questions.map((q) => {
    const hopFound = q.metadata.chain.map((pid, i) => {
      const h = hits[cursor + i] ?? [];
      const gold = h.find((x) => x.id === pid);
      // the passage must also state the next step: the next subject's name, or for the last hop the answer
      const compositional = q.metadata.kind === "compositional";
      const next = !compositional ? null : i + 1 < q.metadata.chain.length ? q.metadata.chainNames[i + 1] : q.golden_answers[0];
      return !!gold && (next === null || gold.contents.includes(next));
    });
    cursor += q.metadata.chain.length;
    const solved = hopFound.every(Boolean);
    const prediction = predictionOf(q, solved);
    return { id: q.id, hops: q.metadata.hops, hopFound, prediction, em: exactMatch(prediction, q.golden_answers), f1: tokenF1(prediction, q.golden_answers), queries: q.metadata.chainNames };
  });
  const by_hops: OracleReport["by_hops"] = {};
  for (const it of items) {
    const b = (by_hops[it.hops] ??= { n: 0, em: 0 });
    b.n++;
    b.em += it.em;
  }
  for (const b of Object.values(by_hops)) b.em /= b.n;
  const allHops = items.flatMap((i) => i.hopFound);
  return {
    n: items.length, topN,
    em: mean(items.map((i) => i.em)), f1: mean(items.map((i) => i.f1)), acc: mean(items.map((i) => i.em)),
    searches_mean: mean(items.map((i) => i.queries.length)),
    hop_recall: mean(allHops.map(Number)),
    by_hops, items,
  };
}
