/** @module eval/testing/memory-retriever — a small in-memory Retriever (term-overlap ranking) that records its queries, for tests. */
import type { Passage, Retriever, SearchHit } from "../../retrieval/types.js";

export interface RecordingRetriever extends Retriever {
  queries: string[];
}

const terms = (s: string) => new Set(s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);

/** Rank passages by the number of distinct query terms they contain (ties: corpus order); zero-overlap passages are left out. */
export function createMemoryRetriever(passages: Passage[]): RecordingRetriever {
  const index = passages.map((p) => ({ p, t: terms(p.contents) }));
  const queries: string[] = [];
  return {
    queries,
    async search(qs: string[], topN: number): Promise<SearchHit[][]> {
      queries.push(...qs);
      return qs.map((q) => {
        const qt = [...terms(q)];
        return index
          .map(({ p, t }) => ({ ...p, score: qt.filter((x) => t.has(x)).length }))
          .filter((h) => h.score > 0)
          .sort((a, b) => b.score - a.score)
          .slice(0, topN);
      });
    },
  };
}
