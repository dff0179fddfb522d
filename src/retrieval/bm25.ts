/**
 * @module retrieval/bm25 — the BM25 inverted index: term-major postings (doc ids ascending, term frequencies)
 * in one flat binary file plus per-term score bounds for safe top-k pruning (see bm25-search.ts).
 *
 * Score (Okapi BM25, Robertson et al. 1994; idf as in Lucene so every contribution is > 0):
 *   idf(t)     = ln(1 + (N − df + 0.5) / (df + 0.5))
 *   s(t, d)    = idf(t) · tf·(k1 + 1) / (tf + k1·(1 − b + b·|d|/avgdl))
 *   score(q,d) = Σ_{t ∈ q} qtf(t) · s(t, d)
 */
import { closeSync, openSync, readFileSync, readSync, writeSync, renameSync, fsyncSync, existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../util/errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fs.js";
import { TermDictionary } from "./term-dictionary.js";
import { createAnalyzer, type Analyzer } from "./tokenize.js";

export const Bm25ParamsSchema = z.object({
  k1: z.number().min(0).max(10).default(0.9).describe("term-frequency saturation (Pyserini/Anserini default 0.9)"),
  b: z.number().min(0).max(1).default(0.4).describe("length normalization (Pyserini/Anserini default 0.4)"),
});
export type Bm25Params = z.infer<typeof Bm25ParamsSchema>;

export const BM25_FORMAT = "research-bm25/1";
const META = "bm25.json";
const TERMS = "bm25-terms.txt";
const POSTINGS = "bm25-postings.bin";

export interface Bm25Meta {
  format: string;
  k1: number;
  b: number;
  numDocs: number;
  numTerms: number;
  numPostings: number;
  avgdl: number;
  analyzer: string;
}

/** The in-memory index. All arrays are views of one (optionally shared) buffer laid out like the file. */
export interface Bm25Index {
  meta: Bm25Meta;
  terms: string[];
  termId: Map<string, number>;
  /** (numTerms,) max over the term's postings of s(t, d): the MaxScore bound. */
  maxScore: Float64Array;
  /** (numTerms + 1,) postings of term t are [offsets[t], offsets[t+1]). */
  offsets: Uint32Array;
  /** (numDocs,) document length in terms. */
  docLen: Uint32Array;
  /** (numPostings,) doc ids, ascending within each term. */
  postDocs: Uint32Array;
  /** (numPostings,) term frequency, capped at 255. */
  postTfs: Uint8Array;
  /** (numTerms,) idf(t). Derived at load. */
  idf: Float64Array;
  /** (numDocs,) k1·(1 − b + b·|d|/avgdl). Derived at load. */
  docNorm: Float64Array;
  /** The buffer behind the arrays above (a SharedArrayBuffer when loaded for worker threads). */
  buffer: ArrayBufferLike;
}

export const idfOf = (numDocs: number, df: number): number => Math.log(1 + (numDocs - df + 0.5) / (df + 0.5));

function layout(numTerms: number, numDocs: number, numPostings: number) {
  const maxScore = 0;
  const offsets = maxScore + 8 * numTerms;
  const docLen = offsets + 4 * (numTerms + 1);
  const postDocs = docLen + 4 * numDocs;
  const postTfs = postDocs + 4 * numPostings;
  return { maxScore, offsets, docLen, postDocs, postTfs, total: postTfs + numPostings };
}

function viewsOf(meta: Bm25Meta, terms: string[], buffer: ArrayBufferLike): Bm25Index {
  const L = layout(meta.numTerms, meta.numDocs, meta.numPostings);
  const ix: Bm25Index = {
    meta,
    terms,
    termId: new Map(terms.map((t, i) => [t, i])),
    maxScore: new Float64Array(buffer, L.maxScore, meta.numTerms),
    offsets: new Uint32Array(buffer, L.offsets, meta.numTerms + 1),
    docLen: new Uint32Array(buffer, L.docLen, meta.numDocs),
    postDocs: new Uint32Array(buffer, L.postDocs, meta.numPostings),
    postTfs: new Uint8Array(buffer, L.postTfs, meta.numPostings),
    idf: new Float64Array(meta.numTerms),
    docNorm: new Float64Array(meta.numDocs),
    buffer,
  };
  for (let t = 0; t < meta.numTerms; t++) ix.idf[t] = idfOf(meta.numDocs, ix.offsets[t + 1] - ix.offsets[t]);
  const { k1, b, avgdl } = meta;
  for (let d = 0; d < meta.numDocs; d++) ix.docNorm[d] = k1 * (1 - b + (b * ix.docLen[d]) / (avgdl || 1));
  return ix;
}

/** Growable Uint32 storage in fixed chunks (no giant reallocations while streaming a large corpus). */
class ChunkedU32 {
  private chunks: Uint32Array[] = [];
  private cur = new Uint32Array(1 << 20);
  private pos = 0;
  length = 0;
  push(v: number): void {
    if (this.pos === this.cur.length) {
      this.chunks.push(this.cur);
      this.cur = new Uint32Array(1 << 20);
      this.pos = 0;
    }
    this.cur[this.pos++] = v;
    this.length++;
  }
  *each(): Generator<Uint32Array> {
    for (const c of this.chunks) yield c;
    yield this.cur.subarray(0, this.pos);
  }
}

/**
 * Builds an index one document at a time (doc ids 0, 1, 2, … in call order). Memory: 8 bytes per distinct
 * (doc, term) pair while streaming, then the final flat buffer.
 */
export class Bm25Builder {
  readonly dict: TermDictionary;
  private df = new Uint32Array(1024);
  /** Doc-major (term id, tf) pairs; docPairs[d] says how many belong to doc d. */
  private pairTf = new ChunkedU32();
  private pairTerm = new ChunkedU32();
  private docLens = new ChunkedU32();
  private docPairs = new ChunkedU32();
  private totalLen = 0;
  private tf = new Uint32Array(1024); // per term, within the current doc
  private seen: number[] = [];

  constructor(readonly params: Bm25Params, readonly analyzer: string, termAnalyzer: Analyzer = createAnalyzer()) {
    this.dict = new TermDictionary(termAnalyzer);
  }

  get numDocs(): number {
    return this.docLens.length;
  }

  /** Add the next document from its raw text (the fast path: analysis without per-token strings). */
  addText(text: string): void {
    this.addIds(this.dict.map(text));
  }

  /** Add the next document given its analyzed terms. */
  add(docTerms: string[]): void {
    this.addIds(Int32Array.from(docTerms, (t) => this.dict.idOfTerm(t)));
  }

  /** Add the next document given term ids from `this.dict`. */
  addIds(ids: Int32Array): void {
    const numTerms = this.dict.terms.length;
    if (numTerms > this.df.length) {
      const n = Math.max(numTerms, this.df.length * 2);
      const df = new Uint32Array(n);
      df.set(this.df);
      this.df = df;
      const tf = new Uint32Array(n);
      tf.set(this.tf);
      this.tf = tf;
    }
    const seen = this.seen;
    seen.length = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i];
      if (this.tf[t]++ === 0) seen.push(t);
    }
    for (const t of seen) {
      this.pairTerm.push(t);
      this.pairTf.push(Math.min(this.tf[t], 255));
      this.df[t]++;
      this.tf[t] = 0;
    }
    this.docPairs.push(seen.length);
    this.docLens.push(ids.length);
    this.totalLen += ids.length;
  }

  /** Lay out the final index (term-major postings, bounds) in one buffer. */
  finish(): Bm25Index {
    const numDocs = this.numDocs;
    const numTerms = this.dict.terms.length;
    const numPostings = this.pairTf.length;
    const meta: Bm25Meta = {
      format: BM25_FORMAT,
      k1: this.params.k1,
      b: this.params.b,
      numDocs,
      numTerms,
      numPostings,
      avgdl: numDocs ? this.totalLen / numDocs : 0,
      analyzer: this.analyzer,
    };
    const L = layout(numTerms, numDocs, numPostings);
    const buffer = new ArrayBuffer(L.total);
    const offsets = new Uint32Array(buffer, L.offsets, numTerms + 1);
    for (let t = 0; t < numTerms; t++) offsets[t + 1] = offsets[t] + this.df[t];
    const docLen = new Uint32Array(buffer, L.docLen, numDocs);
    let d = 0;
    for (const c of this.docLens.each()) for (let i = 0; i < c.length; i++) docLen[d++] = c[i];
    const postDocs = new Uint32Array(buffer, L.postDocs, numPostings);
    const postTfs = new Uint8Array(buffer, L.postTfs, numPostings);
    const cursor = offsets.slice(0, numTerms);
    // Walk the doc-major pairs in doc order: each term's postings come out sorted by doc id.
    const termIt = this.pairTerm.each();
    const tfIt = this.pairTf.each();
    let tChunk = termIt.next().value as Uint32Array;
    let fChunk = tfIt.next().value as Uint32Array;
    let ci = 0;
    d = 0;
    for (const c of this.docPairs.each()) {
      for (let i = 0; i < c.length; i++, d++) {
        for (let p = 0; p < c[i]; p++) {
          if (ci === tChunk.length) {
            tChunk = termIt.next().value as Uint32Array;
            fChunk = tfIt.next().value as Uint32Array;
            ci = 0;
          }
          const at = cursor[tChunk[ci]]++;
          postDocs[at] = d;
          postTfs[at] = fChunk[ci];
          ci++;
        }
      }
    }
    const ix = viewsOf(meta, this.dict.terms, buffer);
    computeBounds(ix);
    return ix;
  }
}

/** maxScore[t] = max_d s(t, d) over the postings of t. */
function computeBounds(ix: Bm25Index): void {
  const k1p1 = ix.meta.k1 + 1;
  for (let t = 0; t < ix.meta.numTerms; t++) {
    let best = 0;
    for (let p = ix.offsets[t]; p < ix.offsets[t + 1]; p++) {
      const tf = ix.postTfs[p];
      const s = (tf * k1p1) / (tf + ix.docNorm[ix.postDocs[p]]);
      if (s > best) best = s;
    }
    ix.maxScore[t] = ix.idf[t] * best;
  }
}

/** Write the index files into `dir` (each atomically). */
export function saveBm25(ix: Bm25Index, dir: string): void {
  writeFileAtomic(join(dir, TERMS), ix.terms.join("\n"));
  const tmp = join(dir, `${POSTINGS}.tmp-${process.pid}`);
  const fd = openSync(tmp, "w");
  try {
    const bytes = new Uint8Array(ix.buffer, 0, layout(ix.meta.numTerms, ix.meta.numDocs, ix.meta.numPostings).total);
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, Math.min(1 << 26, bytes.length - off));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, POSTINGS));
  writeJsonAtomic(join(dir, META), ix.meta);
}

export const hasBm25 = (dir: string): boolean => existsSync(join(dir, META));

/** Read an index from `dir`; `shared` puts the arrays in a SharedArrayBuffer that worker threads can map for free. */
export function loadBm25(dir: string, opts: { shared?: boolean; buffer?: ArrayBufferLike } = {}): Bm25Index {
  const metaPath = join(dir, META);
  if (!existsSync(metaPath)) throw new UserError(`no BM25 index in ${dir} (missing ${META}); build one with \`research index build\``);
  const meta = JSON.parse(readFileSync(metaPath, "utf8")) as Bm25Meta;
  if (meta.format !== BM25_FORMAT) throw new UserError(`${metaPath}: format: expected ${BM25_FORMAT}, got ${meta.format}`);
  const termsText = readFileSync(join(dir, TERMS), "utf8");
  const terms = meta.numTerms === 0 ? [] : termsText.split("\n");
  if (terms.length !== meta.numTerms) throw new UserError(`${join(dir, TERMS)}: expected ${meta.numTerms} terms, found ${terms.length}`);
  const total = layout(meta.numTerms, meta.numDocs, meta.numPostings).total;
  let buffer = opts.buffer;
  if (!buffer) {
    buffer = opts.shared ? new SharedArrayBuffer(total) : new ArrayBuffer(total);
    const bytes = new Uint8Array(buffer);
    const fd = openSync(join(dir, POSTINGS), "r");
    try {
      let off = 0;
      while (off < total) {
        const n = readSync(fd, bytes, off, Math.min(1 << 26, total - off), off);
        if (n === 0) throw new UserError(`${join(dir, POSTINGS)}: truncated (${off} of ${total} bytes)`);
        off += n;
      }
    } finally {
      closeSync(fd);
    }
  }
  return viewsOf(meta, terms, buffer);
}
