/**
 * @module retrieval/engine — searches one index directory on the calling thread: BM25 (default), dense, or
 * hybrid (reciprocal-rank fusion). The server runs one engine per worker thread over shared buffers.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../util/errors.js";
import { loadBm25, type Bm25Index } from "./bm25.js";
import { createScratch, searchBm25, type Bm25Scratch, type ScoredDoc } from "./bm25-search.js";
import { openDocStore, type DocStore } from "./docstore.js";
import type { DenseIndex } from "./dense.js";
import { createAnalyzer, type Analyzer } from "./tokenize.js";
import type { SearchHit } from "./types.js";

export const SEARCH_MODES = ["bm25", "dense", "hybrid"] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];
/** Reciprocal-rank fusion constant (Cormack et al. 2009). */
export const RRF_K = 60;
/** Longest query text searched; the rest is ignored (a query is never an error). */
export const MAX_QUERY_CHARS = 10_000;

export const INDEX_META = "index.json";
export interface IndexMeta {
  format: "research-index/1";
  kinds: SearchMode[];
  numPassages: number;
  corpus: string;
  createdAt: string;
  skipped: number;
  embedder?: string;
}

export function readIndexMeta(dir: string): IndexMeta {
  const p = join(dir, INDEX_META);
  if (!existsSync(p)) throw new UserError(`not an index directory: ${dir} (missing ${INDEX_META}); build one with \`research index build\``);
  return JSON.parse(readFileSync(p, "utf8")) as IndexMeta;
}

/** Buffers a parent thread already loaded, so worker threads share them instead of reading the files again. */
export interface SharedBuffers {
  bm25?: SharedArrayBuffer;
  vectors?: SharedArrayBuffer;
}

export interface SearchEngine {
  meta: IndexMeta;
  defaultMode: SearchMode;
  search(queries: string[], topN: number, mode?: SearchMode): Promise<SearchHit[][]>;
  /** The BM25 half alone, synchronous (for benchmarks and tests). */
  searchBm25Docs(query: string, topN: number): ScoredDoc[];
  buffers(): SharedBuffers;
  close(): void;
}

/**
 * Which dense index answers dense (and hybrid) searches: "auto" (the default) the approximate one (ann.json,
 * memory-mapped) when the directory has it, else the exact vectors; "exact" always the exact vectors; "ann"
 * the approximate one or an error.
 */
export type DenseChoice = "auto" | "exact" | "ann";

export async function openEngine(dir: string, opts: { shared?: boolean; buffers?: SharedBuffers; dense?: DenseChoice } = {}): Promise<SearchEngine> {
  const meta = readIndexMeta(dir);
  const bm25: Bm25Index = loadBm25(dir, { shared: opts.shared, buffer: opts.buffers?.bm25 });
  const analyzer: Analyzer = createAnalyzer({ stem: bm25.meta.analyzer.includes("porter"), cacheSize: 100_000 });
  const scratch: Bm25Scratch = createScratch(bm25.meta.numDocs);
  const docs: DocStore = openDocStore(dir);
  let dense: DenseIndex | undefined;
  if (meta.kinds.includes("dense")) {
    const choice = opts.dense ?? "auto";
    if (choice === "ann" || (choice === "auto" && existsSync(join(dir, "ann.json")))) {
      const { loadAnnDenseIndex } = await import("./ann.js");
      dense = loadAnnDenseIndex(dir);
    } else {
      const { loadDenseIndex } = await import("./dense.js");
      dense = await loadDenseIndex(dir, { shared: opts.shared, buffer: opts.buffers?.vectors });
    }
  } else if (opts.dense === "ann") throw new UserError(`index ${dir} has no dense vectors; rebuild it with --kind dense --ann`);
  const defaultMode: SearchMode = meta.kinds.includes("hybrid") ? "hybrid" : "bm25";

  const bm25Docs = (q: string, k: number): ScoredDoc[] =>
    searchBm25(bm25, analyzer.terms(q.length > MAX_QUERY_CHARS ? q.slice(0, MAX_QUERY_CHARS) : q), k, scratch);

  async function denseDocs(queries: string[], k: number): Promise<ScoredDoc[][]> {
    if (!dense) throw new UserError(`index ${dir} has no dense vectors; rebuild it with --kind dense or --kind hybrid`);
    return dense.search(queries.map((q) => q.slice(0, MAX_QUERY_CHARS)), k);
  }

  const toHits = (ranked: ScoredDoc[]): SearchHit[] => {
    const passages = docs.get(ranked.map((r) => r.doc));
    return ranked.map((r, i) => ({ id: passages[i].id, contents: passages[i].contents, score: r.score }));
  };

  return {
    meta,
    defaultMode,
    async search(queries, topN, mode = defaultMode) {
      const k = Math.max(0, Math.floor(topN));
      if (mode === "bm25") return queries.map((q) => toHits(bm25Docs(q, k)));
      if (mode === "dense") return (await denseDocs(queries, k)).map(toHits);
      // hybrid: fuse the top max(k, 100) of each list by reciprocal rank.
      const depth = Math.max(k, 100);
      const denseLists = await denseDocs(queries, depth);
      return queries.map((q, i) => toHits(fuseRrf([bm25Docs(q, depth), denseLists[i]], k)));
    },
    searchBm25Docs: bm25Docs,
    buffers: () => ({
      bm25: bm25.buffer instanceof SharedArrayBuffer ? bm25.buffer : undefined,
      vectors: dense?.buffer instanceof SharedArrayBuffer ? dense.buffer : undefined,
    }),
    close() {
      docs.close();
      dense?.close?.();
    },
  };
}

/** Reciprocal-rank fusion: score(d) = Σ_lists 1 / (RRF_K + rank_d), rank from 1; ties by doc id. */
export function fuseRrf(lists: ScoredDoc[][], k: number): ScoredDoc[] {
  const fused = new Map<number, number>();
  for (const list of lists) list.forEach((r, i) => fused.set(r.doc, (fused.get(r.doc) ?? 0) + 1 / (RRF_K + i + 1)));
  return [...fused]
    .map(([doc, score]) => ({ doc, score }))
    .sort((a, b) => b.score - a.score || a.doc - b.doc)
    .slice(0, k);
}
