/** @module retrieval/memory — an in-memory BM25 retriever over a list of passages (no index files): the world's
 * pre-training episodes, gates and oracle search with it. */
import { Bm25Builder, Bm25ParamsSchema } from "./bm25.js";
import { searchBm25Exhaustive } from "./bm25-search.js";
import { createAnalyzer } from "./tokenize.js";
import type { Passage, Retriever, SearchHit } from "./types.js";

/** An in-memory BM25 retriever over passages (the retrieval module's index and exact scorer, no files). */
export function memoryBm25Retriever(passages: Passage[]): Retriever {
  const analyzer = createAnalyzer();
  const builder = new Bm25Builder(Bm25ParamsSchema.parse({}), "unicode61-porter");
  for (const p of passages) builder.add(analyzer.terms(p.contents));
  const ix = builder.finish();
  return {
    async search(queries, topN) {
      return queries.map((q) => searchBm25Exhaustive(ix, analyzer.terms(q), topN).map((d): SearchHit => ({ ...passages[d.doc], score: d.score })));
    },
  };
}
