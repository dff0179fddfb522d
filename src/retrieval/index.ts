/**
 * @module retrieval/index — build an index directory from a corpus, and open any retriever (an index on disk,
 * searched in-process or by a worker pool, or a remote ReSearch/FlashRAG or Search-R1 server) behind one interface.
 *
 * Index directory: index.json (what it holds), passages.sqlite (docstore), bm25.json + bm25-terms.txt +
 * bm25-postings.bin (BM25), and for dense/hybrid dense.json + dense-vectors.f32.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { z } from "zod";
import { recordError, type RecordPlace } from "../data/formats.js";
import { InputError, UserError } from "../util/errors.js";
import { writeJsonAtomic } from "../util/fs.js";
import { createProgress } from "../util/progress.js";
import { Bm25Builder, Bm25ParamsSchema, saveBm25, type Bm25Params } from "./bm25.js";
import { fileSize, placeText, readCorpusLines } from "./corpus.js";
import type { DenseWriter } from "./dense.js";
import { createDocStore } from "./docstore.js";
import type { AnnBuildStats, AnnParamsSchema } from "./ann.js";
import { INDEX_META, readIndexMeta, openEngine, type DenseChoice, type IndexMeta, type SearchMode } from "./engine.js";
import { createAnalyzer } from "./tokenize.js";
import type { Retriever } from "./types.js";

export { SEARCH_MODES, type SearchMode } from "./engine.js";

export const ANALYZER = "unicode61+lowercase+nodiacritics+porter";

export interface BuildOptions {
  corpus: string;
  out: string;
  kind?: SearchMode;
  skipBad?: boolean;
  /** Replace an existing index at `out`. */
  overwrite?: boolean;
  bm25?: Partial<Bm25Params>;
  /** Dense embedder name (default "use-lite"). */
  embedder?: string;
  quiet?: boolean;
  /** `line`: the JSONL/TSV line, else the 1-based row; `where`: "file:line" or "file [row]". */
  onSkip?: (line: number, reason: string, where: string) => void;
  /**
   * Also build the approximate (HNSW) dense index after the exact vectors (dense/hybrid only). Resumable: run
   * the same build again after a kill and an index at `out` whose ANN is unfinished resumes from its checkpoint.
   */
  ann?: boolean | z.input<typeof AnnParamsSchema>;
  /** Called after each ANN checkpoint. */
  onAnnCheckpoint?: (added: number, total: number) => void;
}

export interface BuildStats {
  passages: number;
  skipped: number;
  terms: number;
  postings: number;
  seconds: number;
  passagesPerSecond: number;
  bytes: number;
  /** The ANN build, when asked for. */
  ann?: AnnBuildStats;
}

function dirBytes(dir: string): number {
  return readdirSync(dir).map((f) => fileSize(join(dir, f))).reduce((a, b) => a + b, 0);
}

/** Stream the corpus once into a new index directory (built beside `out`, then renamed into place). */
export async function buildIndex(opts: BuildOptions): Promise<BuildStats> {
  const t0 = performance.now();
  const kind = opts.kind ?? "bm25";
  const out = resolve(opts.out);
  if (opts.ann && kind === "bm25") throw new UserError("--ann needs dense vectors: use --kind dense or --kind hybrid");
  const annParams = opts.ann === true ? {} : opts.ann || undefined;
  if (annParams && !opts.overwrite && existsSync(join(out, INDEX_META)) && !existsSync(join(out, "ann.json"))) {
    // An index whose corpus phase finished: build or resume its ANN only.
    const meta = readIndexMeta(out);
    if (meta.corpus !== resolve(opts.corpus))
      throw new UserError(`${out} is an index of ${meta.corpus}, not ${resolve(opts.corpus)}; pass --overwrite to replace it`);
    if (!meta.kinds.includes("dense")) throw new UserError(`${out} has no dense vectors; pass --overwrite to rebuild it with --kind ${kind}`);
    const { buildAnn } = await import("./ann.js");
    const ann = await buildAnn(out, { params: annParams, quiet: opts.quiet, onCheckpoint: opts.onAnnCheckpoint });
    const seconds = (performance.now() - t0) / 1000;
    return { passages: meta.numPassages, skipped: meta.skipped, terms: 0, postings: 0, seconds, passagesPerSecond: meta.numPassages / seconds, bytes: dirBytes(out), ann };
  }
  if (existsSync(out) && readdirSync(out).length > 0) {
    if (!opts.overwrite) throw new UserError(`${out} exists and is not empty (pass --overwrite to replace it)`);
    if (!existsSync(join(out, INDEX_META))) throw new UserError(`${out} is not an index directory; refusing to overwrite it`);
  }
  const tmp = join(dirname(out), `.${basename(out)}.building-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const params = Bm25ParamsSchema.parse(opts.bm25 ?? {});
    const builder = new Bm25Builder(params, ANALYZER, createAnalyzer({ stem: true }));
    const store = createDocStore(tmp);
    let dense: DenseWriter | undefined;
    let embedderName: string | undefined;
    if (kind !== "bm25") {
      const { createEmbedder, DenseWriter } = await import("./dense.js");
      const embedder = await createEmbedder(opts.embedder ?? "use-lite");
      embedderName = embedder.name;
      dense = new DenseWriter(embedder);
    }
    let batch: string[] = [];
    let skipped = 0;
    const size = fileSize(opts.corpus);
    const bar = createProgress(`index ${basename(opts.corpus)}`, Math.max(1, size), { quiet: opts.quiet });
    const skip = (place: RecordPlace, reason: string) => {
      if (!opts.skipBad) {
        const m = /^(\w+): (.*)$/s.exec(reason);
        throw recordError(place, m ? m[1] : undefined, m ? m[2] : reason);
      }
      skipped++;
      opts.onSkip?.(place.line ?? place.index + 1, reason, placeText(place));
    };
    let bytes = 0;
    for await (const { passage, place } of readCorpusLines(opts.corpus, {
      skipBad: opts.skipBad,
      checkDuplicates: false,
      onSkip: (l, r, w) => { skipped++; opts.onSkip?.(l, r, w); },
    })) {
      if (!store.add(builder.numDocs, passage)) {
        skip(place, `id: duplicate id ${JSON.stringify(passage.id)}`);
        continue;
      }
      builder.addText(passage.contents);
      bytes += Buffer.byteLength(passage.contents) + passage.id.length + 24;
      if ((builder.numDocs & 1023) === 0) bar.update(Math.min(bytes, size));
      if (dense) {
        batch.push(passage.contents);
        if (batch.length === 32) { await dense.addBatch(batch); batch = []; }
      }
    }
    if (dense && batch.length) await dense.addBatch(batch);
    bar.update(size);
    bar.stop();
    store.close();
    const ix = builder.finish();
    saveBm25(ix, tmp);
    dense?.save(tmp);
    const meta: IndexMeta = {
      format: "research-index/1",
      kinds: kind === "hybrid" ? ["bm25", "dense", "hybrid"] : kind === "dense" ? ["bm25", "dense"] : ["bm25"],
      numPassages: ix.meta.numDocs,
      corpus: resolve(opts.corpus),
      createdAt: new Date().toISOString(),
      skipped,
      ...(embedderName ? { embedder: embedderName } : {}),
    };
    writeJsonAtomic(join(tmp, INDEX_META), meta);
    if (existsSync(out)) rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
    // The ANN is built in place (checkpointed in `out`), so a kill from here on resumes instead of starting over.
    const ann = annParams ? await (await import("./ann.js")).buildAnn(out, { params: annParams, quiet: opts.quiet, onCheckpoint: opts.onAnnCheckpoint }) : undefined;
    const seconds = (performance.now() - t0) / 1000;
    return {
      passages: ix.meta.numDocs,
      skipped,
      terms: ix.meta.numTerms,
      postings: ix.meta.numPostings,
      seconds,
      passagesPerSecond: ix.meta.numDocs / seconds,
      bytes: dirBytes(out),
      ...(ann ? { ann } : {}),
    };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export interface OpenRetrieverOptions {
  /** An index directory searched in this process. */
  index?: string;
  /** A retriever server (ours, FlashRAG/ReSearch or Search-R1). */
  url?: string;
  /** Wire API of `url`: "research" (POST /batch_search, FlashRAG) or "search-r1" (POST /retrieve). */
  api?: "research" | "search-r1";
  /** Search mode for a local index (default: hybrid for hybrid indexes, else bm25). */
  mode?: SearchMode;
  /** Dense index of a local index: the approximate one when built (default "auto"), or "exact" / "ann". */
  dense?: DenseChoice;
  /** Worker threads for a local index (0 = search on the calling thread, the default). */
  workers?: number;
  /** HTTP client timeout per request, ms. */
  timeoutMs?: number;
  retries?: number;
}

/** One retriever, local or remote. The caller closes it. */
export async function openRetriever(opts: OpenRetrieverOptions): Promise<Retriever> {
  if (opts.url) {
    const { createRetrieverClient } = await import("./client.js");
    return createRetrieverClient({ url: opts.url, api: opts.api, timeoutMs: opts.timeoutMs, retries: opts.retries, mode: opts.mode });
  }
  if (!opts.index) throw new UserError("openRetriever: give an index directory or a server url");
  if (opts.workers && opts.workers > 0) {
    const { createSearchPool } = await import("./pool.js");
    const pool = await createSearchPool({ index: opts.index, workers: opts.workers, dense: opts.dense });
    return {
      search: (queries, topN) => pool.search(queries, topN, opts.mode),
      close: () => pool.close(),
    };
  }
  const engine = await openEngine(opts.index, { dense: opts.dense });
  return {
    search: (queries, topN) => engine.search(queries, topN, opts.mode),
    close: async () => engine.close(),
  };
}
