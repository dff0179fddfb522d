/**
 * @module retrieval/ann — the approximate dense index: HNSW (usearch) over an index directory's exact vectors
 * (dense-vectors.f32), stored as f32, f16 or i8, loaded memory-mapped (usearch `view`), so an index far larger
 * than memory opens at once and only the pages a search touches are read.
 *
 * The build is resumable: vectors are added in chunks; after each chunk the partial graph is saved atomically
 * (ann.partial.usearch, written to a temp file, fsynced, renamed) together with a cursor (ann-build.json, the
 * build's parameters and the vectors added). A build killed at any point restarts from the last checkpoint; the
 * partial graph's own size is the cursor, so a kill between the two writes loses nothing. Keys are row numbers of
 * dense-vectors.f32 (= doc ids of the index).
 *
 * Files: ann.json (what was built: parameters, counts, build time), ann.usearch (the graph and quantized vectors).
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import usearch from "usearch";
import { z } from "zod";
import { UserError } from "../util/errors.js";
import { writeJsonAtomic } from "../util/fs.js";
import { createProgress } from "../util/progress.js";
import type { ScoredDoc } from "./bm25-search.js";
import { createEmbedder, normalize, type DenseIndex, type DenseMeta, type Embedder } from "./dense.js";

type UsearchIndex = InstanceType<typeof usearch.Index>;

export const ANN_META = "ann.json";
export const ANN_FILE = "ann.usearch";
export const ANN_PARTIAL = "ann.partial.usearch";
export const ANN_CURSOR = "ann-build.json";
const VECTORS = "dense-vectors.f32";
const DENSE_META = "dense.json";

export const AnnParamsSchema = z
  .object({
    quantization: z.enum(["f32", "f16", "i8"]).default("f16").describe("how vectors are stored in the graph"),
    connectivity: z.number().int().min(4).max(256).default(16).describe("HNSW M: neighbours per node"),
    expansionAdd: z.number().int().min(8).max(4096).default(128).describe("HNSW efConstruction: candidate list when adding"),
    expansionSearch: z.number().int().min(8).max(4096).default(256).describe("HNSW ef: candidate list when searching"),
    rescore: z.number().int().min(1).max(100).default(4)
      .describe("search rescoring: take rescore × k candidates from the graph, rank them by the exact f32 vectors (1 = off)"),
    chunk: z.number().int().min(1).default(50_000).describe("vectors added between checkpoints"),
    threads: z.number().int().min(0).max(1024).default(0).describe("build threads (0 = all cores)"),
  })
  .strict();
export type AnnParams = z.infer<typeof AnnParamsSchema>;

/** Exact rescoring of graph candidates: reads the candidates' rows of dense-vectors.f32 (pread) and ranks by dot product. */
export class ExactRescorer {
  private fd: number;
  private row: Float32Array;
  constructor(path: string, private dim: number) {
    this.fd = openSync(path, "r");
    this.row = new Float32Array(dim);
  }
  rank(q: Float32Array, docs: number[], k: number): ScoredDoc[] {
    const bytes = new Uint8Array(this.row.buffer);
    const out: ScoredDoc[] = [];
    for (const doc of docs) {
      if (readSync(this.fd, bytes, 0, bytes.length, doc * this.dim * 4) !== bytes.length) throw new UserError(`${VECTORS}: no row ${doc}`);
      let s = 0;
      for (let j = 0; j < this.dim; j++) s += this.row[j] * q[j];
      out.push({ doc, score: s });
    }
    return out.sort((a, b) => b.score - a.score || a.doc - b.doc).slice(0, k);
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** What an ANN build wrote (ann.json). The graph's parameters only: chunk and threads do not change it. */
export interface AnnMeta {
  format: "research-ann/1";
  dim: number;
  numDocs: number;
  embedder: string;
  params: Omit<AnnParams, "chunk" | "threads" | "rescore">;
  /** Candidates per result ranked exactly at search time (1 = the graph's own order). */
  rescore: number;
  metric: "cos";
  buildSeconds: number;
  /** Times the build was resumed from a checkpoint. */
  resumes: number;
  bytes: number;
}

interface Cursor {
  format: "research-ann-build/1";
  params: AnnMeta["params"];
  dim: number;
  numDocs: number;
  added: number;
  seconds: number;
  resumes: number;
}

const graphParams = (p: Omit<AnnParams, "rescore" | "chunk" | "threads">): AnnMeta["params"] => ({
  quantization: p.quantization,
  connectivity: p.connectivity,
  expansionAdd: p.expansionAdd,
  expansionSearch: p.expansionSearch,
});

function newIndex(dim: number, p: AnnMeta["params"]): UsearchIndex {
  const u = usearch;
  const q = { f32: u.ScalarKind.F32, f16: u.ScalarKind.F16, i8: u.ScalarKind.I8 }[p.quantization];
  return new u.Index({
    dimensions: dim,
    metric: u.MetricKind.Cos,
    quantization: q,
    connectivity: p.connectivity,
    expansion_add: p.expansionAdd,
    expansion_search: p.expansionSearch,
    multi: false,
  });
}

function readDenseMeta(dir: string): DenseMeta {
  const p = join(dir, DENSE_META);
  if (!existsSync(p)) throw new UserError(`${dir}: no dense vectors (missing ${DENSE_META}); build the index with --kind dense or hybrid`);
  return JSON.parse(readFileSync(p, "utf8")) as DenseMeta;
}

export function readAnnMeta(dir: string): AnnMeta | undefined {
  const p = join(dir, ANN_META);
  if (!existsSync(p) || !existsSync(join(dir, ANN_FILE))) return undefined;
  return JSON.parse(readFileSync(p, "utf8")) as AnnMeta;
}

/** Whether `dir` holds a partial (interrupted) ANN build. */
export function hasPartialAnn(dir: string): boolean {
  return existsSync(join(dir, ANN_CURSOR));
}

function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Save the graph atomically: temp file, fsync, rename. */
function saveAtomic(index: UsearchIndex, path: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  index.save(tmp);
  fsyncFile(tmp);
  renameSync(tmp, path);
}

/** Rows [from, to) of dense-vectors.f32. */
function readRows(fd: number, dim: number, from: number, to: number): Float32Array {
  const out = new Float32Array((to - from) * dim);
  const view = new Uint8Array(out.buffer);
  const base = from * dim * 4;
  for (let off = 0; off < view.length; ) {
    const n = readSync(fd, view, off, Math.min(1 << 26, view.length - off), base + off);
    if (n === 0) throw new UserError(`${VECTORS}: truncated at row ${from + Math.floor(off / dim / 4)}`);
    off += n;
  }
  return out;
}

export interface AnnBuildOptions {
  params?: z.input<typeof AnnParamsSchema>;
  quiet?: boolean;
  /** Replace a finished ANN index. */
  overwrite?: boolean;
  /** Called after each checkpoint with the vectors added so far (tests stop builds here). */
  onCheckpoint?: (added: number, total: number) => void;
}

export interface AnnBuildStats {
  meta: AnnMeta;
  /** Vectors the build found already added (from a checkpoint); 0 for a fresh build. */
  resumedAt: number;
  seconds: number;
}

/** Build (or resume building) the ANN index of the index directory `dir` from its exact vectors. */
export async function buildAnn(dir: string, opts: AnnBuildOptions = {}): Promise<AnnBuildStats> {
  const p = AnnParamsSchema.parse(opts.params ?? {});
  const dense = readDenseMeta(dir);
  const { dim, numDocs } = dense;
  if (readAnnMeta(dir)) {
    if (!opts.overwrite) throw new UserError(`${dir} already has an ANN index (${ANN_META}); pass --overwrite to rebuild it`);
    rmSync(join(dir, ANN_META), { force: true });
    rmSync(join(dir, ANN_FILE), { force: true });
  }
  const gp = graphParams(p);
  const cursorPath = join(dir, ANN_CURSOR);
  const partialPath = join(dir, ANN_PARTIAL);
  let index = newIndex(dim, gp);
  let added = 0;
  let priorSeconds = 0;
  let resumes = 0;
  if (existsSync(cursorPath)) {
    const c = JSON.parse(readFileSync(cursorPath, "utf8")) as Cursor;
    if (JSON.stringify(c.params) !== JSON.stringify(gp) || c.dim !== dim || c.numDocs !== numDocs)
      throw new UserError(
        `${cursorPath}: a partial ANN build with other parameters (${JSON.stringify(c.params)}) is in ${dir}; ` +
          `resume it with the same --ann-* options, or delete ${ANN_CURSOR} and ${ANN_PARTIAL} to start over`,
      );
    if (existsSync(partialPath)) {
      index.load(partialPath);
      added = index.size();
    }
    priorSeconds = c.seconds;
    resumes = c.resumes + 1;
  }
  const resumedAt = added;
  const threads = p.threads || availableParallelism();
  const t0 = performance.now();
  const elapsed = () => priorSeconds + (performance.now() - t0) / 1000;
  const bar = createProgress(`ann ${p.quantization} M=${p.connectivity}`, Math.max(1, numDocs), { quiet: opts.quiet });
  bar.update(added);
  const fd = openSync(join(dir, VECTORS), "r");
  try {
    while (added < numDocs) {
      const to = Math.min(numDocs, added + p.chunk);
      const rows = readRows(fd, dim, added, to);
      const keys = new BigUint64Array(to - added);
      for (let i = 0; i < keys.length; i++) keys[i] = BigInt(added + i);
      // Add in slices so the progress bar moves within a chunk.
      const slice = Math.max(1, Math.min(p.chunk, 2000));
      for (let s = 0; s < keys.length; s += slice) {
        const e = Math.min(keys.length, s + slice);
        index.add(keys.subarray(s, e), rows.subarray(s * dim, e * dim), threads);
        bar.update(added + e);
      }
      added = to;
      saveAtomic(index, partialPath);
      writeJsonAtomic(cursorPath, { format: "research-ann-build/1", params: gp, dim, numDocs, added, seconds: elapsed(), resumes } satisfies Cursor);
      opts.onCheckpoint?.(added, numDocs);
    }
  } finally {
    closeSync(fd);
    bar.stop();
  }
  if (index.size() !== numDocs) throw new UserError(`ANN build of ${dir}: graph has ${index.size()} vectors, expected ${numDocs}`);
  if (!existsSync(partialPath)) saveAtomic(index, partialPath); // numDocs = 0 or resumed at the end
  renameSync(partialPath, join(dir, ANN_FILE));
  const meta: AnnMeta = {
    format: "research-ann/1",
    dim,
    numDocs,
    embedder: dense.embedder,
    params: gp,
    metric: "cos",
    rescore: p.rescore,
    buildSeconds: elapsed(),
    resumes,
    bytes: statSync(join(dir, ANN_FILE)).size,
  };
  writeJsonAtomic(join(dir, ANN_META), meta);
  rmSync(cursorPath, { force: true });
  index = undefined as unknown as UsearchIndex;
  return { meta, resumedAt, seconds: (performance.now() - t0) / 1000 };
}

/** A graph file opened memory-mapped with the given parameters (benchmarks open partial builds with it). */
export function viewGraph(
  path: string,
  dim: number,
  params: AnnMeta["params"],
  rescore?: { vectors: string; factor: number },
): { size: number; search(q: Float32Array, k: number): ScoredDoc[]; close(): void } {
  const index = newIndex(dim, params);
  index.view(path);
  const exact = rescore && rescore.factor > 1 ? new ExactRescorer(rescore.vectors, dim) : undefined;
  const release = () => {
    // usearch has no close(): viewing a one-vector file unmaps the big one now instead of at garbage collection.
    const tiny = `${path}.release-${process.pid}`;
    const t = newIndex(dim, params);
    t.add(0n, new Float32Array(dim).fill(1), 1);
    t.save(tiny);
    index.view(tiny);
    rmSync(tiny, { force: true });
  };
  return {
    size: index.size(),
    search(q, k) {
      const m = index.search(q, Math.min(k * (exact ? rescore!.factor : 1), index.size()), 1);
      if (exact) return exact.rank(q, Array.from(m.keys, Number), k);
      return Array.from(m.keys, (key, i) => ({ doc: Number(key), score: 1 - m.distances[i] }));
    },
    close: () => {
      exact?.close();
      release();
    },
  };
}

export interface AnnSearcher {
  meta: AnnMeta;
  /** Top-k by cosine for unit query vectors; score = cosine similarity. */
  searchVectors(queries: Float32Array[], k: number, expansion?: number): ScoredDoc[][];
  close(): void;
}

/**
 * Open a finished ANN index memory-mapped (`view`: nothing is copied into memory up front). `expansionSearch`
 * overrides the ef the index was built with, `rescore` the rescoring factor (ann.json's, default 4): with
 * rescoring, rescore × k candidates come from the graph and are ranked by their exact f32 vectors, read from
 * dense-vectors.f32 with one pread each (quantized distances mis-order close neighbours; this puts them back).
 */
export function openAnn(dir: string, opts: { expansionSearch?: number; load?: boolean; rescore?: number } = {}): AnnSearcher {
  const meta = readAnnMeta(dir);
  if (!meta) throw new UserError(`${dir}: no ANN index (missing ${ANN_META} or ${ANN_FILE}); build one with \`research index build --ann\``);
  const params = { ...meta.params, expansionSearch: opts.expansionSearch ?? meta.params.expansionSearch };
  const index = newIndex(meta.dim, params);
  if (opts.load) index.load(join(dir, ANN_FILE));
  else index.view(join(dir, ANN_FILE));
  if (index.size() !== meta.numDocs) throw new UserError(`${join(dir, ANN_FILE)}: ${index.size()} vectors, ${ANN_META} says ${meta.numDocs}`);
  const factor = opts.rescore ?? meta.rescore ?? 1;
  const exact = factor > 1 ? new ExactRescorer(join(dir, VECTORS), meta.dim) : undefined;
  const byExpansion = new Map<number, UsearchIndex>([[params.expansionSearch, index]]);
  const indexFor = (ef: number) => {
    let ix = byExpansion.get(ef);
    if (!ix) {
      ix = newIndex(meta.dim, { ...params, expansionSearch: ef });
      ix.view(join(dir, ANN_FILE));
      byExpansion.set(ef, ix);
    }
    return ix;
  };
  return {
    meta,
    searchVectors(queries, k, expansion) {
      const kk = Math.min(Math.max(0, Math.floor(k)), meta.numDocs);
      if (kk === 0 || queries.length === 0) return queries.map(() => []);
      const ix = expansion ? indexFor(expansion) : index;
      return queries.map((q) => {
        if (q.length !== meta.dim) throw new UserError(`query vector has ${q.length} dimensions, the ANN index ${meta.dim}`);
        const m = ix.search(q, Math.min(meta.numDocs, kk * factor), 1);
        if (exact) return exact.rank(q, Array.from(m.keys, Number), kk);
        const out: ScoredDoc[] = [];
        for (let i = 0; i < m.keys.length; i++) out.push({ doc: Number(m.keys[i]), score: 1 - m.distances[i] });
        return out;
      });
    },
    close: () => exact?.close(),
  };
}

/** The ANN index as the engine's dense half: embeds queries with the index's embedder, searches the graph. */
export function loadAnnDenseIndex(dir: string, opts: { expansionSearch?: number } = {}): DenseIndex {
  const ann = openAnn(dir, opts);
  let embedder: Promise<Embedder> | undefined;
  return {
    meta: { embedder: ann.meta.embedder, dim: ann.meta.dim, numDocs: ann.meta.numDocs },
    buffer: new ArrayBuffer(0), // nothing to share: every thread maps the same file
    async search(queries, k) {
      embedder ??= createEmbedder(ann.meta.embedder);
      const qv = await (await embedder).embed(queries, "query");
      return ann.searchVectors(qv.map(normalize), k);
    },
    close: () => ann.close(),
  };
}
