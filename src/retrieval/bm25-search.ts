/**
 * @module retrieval/bm25-search — exact top-k BM25 with OR semantics, fast on frequent words.
 *
 * Term-at-a-time in decreasing order of each term's score bound (rare terms first), with the MaxScore
 * safe cutoff (Turtle & Flood 1995): once the k-th best partial score θ exceeds the sum of the bounds of the
 * terms not yet processed, no unseen document can enter the top k, so the remaining (frequent, low-idf)
 * terms only update the surviving candidates, found by binary search in their doc-sorted postings instead
 * of scanning millions of postings. Candidates whose partial score plus the remaining bound falls below θ
 * are dropped as θ rises. The result is identical to exhaustive scoring (`searchBm25Exhaustive`).
 */
import type { Bm25Index } from "./bm25.js";

export interface ScoredDoc {
  doc: number;
  score: number;
}

/** Per-thread scratch space sized to the corpus; reuse it across queries. */
export interface Bm25Scratch {
  acc: Float64Array; // (N,) partial scores, all zero between queries
  touched: Int32Array; // (N,) docs with acc > 0
  cand: Int32Array; // (N,) surviving candidates in candidate mode
  heapPos: Int32Array; // (N,) position of a doc in the running top-k heap, −1 when absent
}

export const createScratch = (numDocs: number): Bm25Scratch => ({
  acc: new Float64Array(numDocs),
  touched: new Int32Array(numDocs),
  cand: new Int32Array(numDocs),
  heapPos: new Int32Array(numDocs).fill(-1),
});

/**
 * The running k best partial scores (a min-heap of docs keyed by acc[doc]), so θ = the k-th best is known
 * after every posting without rescanning. Scores only grow; a doc already inside moves down the heap.
 */
class RunningTopK {
  readonly docs: Int32Array;
  size = 0;
  constructor(private k: number, private acc: Float64Array, private pos: Int32Array) {
    this.docs = new Int32Array(k);
  }
  /** θ: the k-th best score so far (0 until k docs were seen). */
  theta(): number {
    return this.size < this.k ? 0 : this.acc[this.docs[0]];
  }
  /** Call after acc[d] grew and acc[d] > theta(). */
  offer(d: number): void {
    let i = this.pos[d];
    if (i < 0) {
      if (this.size < this.k) {
        i = this.size++;
        this.docs[i] = d;
        this.pos[d] = i;
        this.up(i);
        return;
      }
      this.pos[this.docs[0]] = -1; // evict the smallest
      this.docs[0] = d;
      this.pos[d] = 0;
      i = 0;
    }
    this.down(i);
  }
  private up(i: number): void {
    const { docs, acc, pos } = this;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (acc[docs[p]] <= acc[docs[i]]) break;
      const t = docs[p]; docs[p] = docs[i]; docs[i] = t;
      pos[docs[p]] = p; pos[docs[i]] = i;
      i = p;
    }
  }
  private down(i: number): void {
    const { docs, acc, pos } = this;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && acc[docs[l]] < acc[docs[m]]) m = l;
      if (r < this.size && acc[docs[r]] < acc[docs[m]]) m = r;
      if (m === i) return;
      const t = docs[m]; docs[m] = docs[i]; docs[i] = t;
      pos[docs[m]] = m; pos[docs[i]] = i;
      i = m;
    }
  }
  clear(): void {
    for (let i = 0; i < this.size; i++) this.pos[this.docs[i]] = -1;
    this.size = 0;
  }
}

interface QueryTerm {
  id: number;
  weight: number; // qtf · idf
  bound: number; // qtf · maxScore
}

/** Distinct query terms found in the index, by decreasing bound (ties: term id). */
export function planQuery(ix: Bm25Index, terms: string[]): QueryTerm[] {
  const qtf = new Map<number, number>();
  for (const t of terms) {
    const id = ix.termId.get(t);
    if (id !== undefined) qtf.set(id, (qtf.get(id) ?? 0) + 1);
  }
  const out: QueryTerm[] = [];
  for (const [id, n] of qtf) out.push({ id, weight: n * ix.idf[id], bound: n * ix.maxScore[id] });
  return out.sort((a, b) => b.bound - a.bound || a.id - b.id);
}

/** k-th largest acc[] over docs[0, n) (0 when n < k). */
function kthScore(acc: Float64Array, docs: Int32Array, n: number, k: number): number {
  if (n < k) return 0;
  const top = new Float64Array(k); // ascending; top[0] is the current k-th best
  let filled = 0;
  for (let i = 0; i < n; i++) {
    const s = acc[docs[i]];
    if (filled < k) {
      let j = filled++;
      while (j > 0 && top[j - 1] > s) { top[j] = top[j - 1]; j--; }
      top[j] = s;
    } else if (s > top[0]) {
      let j = 0;
      while (j + 1 < k && top[j + 1] < s) { top[j] = top[j + 1]; j++; }
      top[j] = s;
    }
  }
  return top[0];
}

/** Best k of docs[0, n) by score desc, doc id asc. */
function topK(acc: Float64Array, docs: Int32Array, n: number, k: number): ScoredDoc[] {
  const best: ScoredDoc[] = [];
  const worse = (a: ScoredDoc, s: number, d: number) => a.score < s || (a.score === s && a.doc > d);
  for (let i = 0; i < n; i++) {
    const d = docs[i];
    const s = acc[d];
    if (best.length === k && !worse(best[k - 1], s, d)) continue;
    let j = best.length < k ? best.length : k - 1;
    if (best.length < k) best.push({ doc: d, score: s });
    while (j > 0 && worse(best[j - 1], s, d)) { best[j] = best[j - 1]; j--; }
    best[j] = { doc: d, score: s };
  }
  return best;
}

/** First index in postDocs[lo, hi) equal to doc, or -1. */
function findDoc(postDocs: Uint32Array, lo: number, hi: number, doc: number): number {
  const end = hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (postDocs[mid] < doc) lo = mid + 1;
    else hi = mid;
  }
  return lo < end && postDocs[lo] === doc ? lo : -1;
}

/** Work counters for one query (for tests and benchmarks). */
export interface SearchStats {
  /** Postings read sequentially. */
  scanned: number;
  /** Binary-search lookups of candidates in frequent terms' postings. */
  lookups: number;
  /** Terms processed after the cutoff (candidates only). */
  prunedTerms: number;
}

/** Top-k documents for analyzed query terms. Exact; see the module comment for the pruning. */
export function searchBm25(ix: Bm25Index, terms: string[], k: number, scratch: Bm25Scratch, stats?: SearchStats): ScoredDoc[] {
  const plan = planQuery(ix, terms);
  if (plan.length === 0 || k <= 0) return [];
  const { acc, touched, cand } = scratch;
  const top = new RunningTopK(k, acc, scratch.heapPos);
  const { postDocs, postTfs, offsets, docNorm } = ix;
  const k1p1 = ix.meta.k1 + 1;
  // rest[i]: the bound of terms after i, summed from the end so the last is exactly 0.
  const rest = new Float64Array(plan.length);
  for (let i = plan.length - 2; i >= 0; i--) rest[i] = rest[i + 1] + plan[i + 1].bound;
  let nTouched = 0;
  let nCand = -1; // -1: still in OR mode (new docs may enter)
  let theta = 0;
  for (let qi = 0; qi < plan.length; qi++) {
    const q = plan[qi];
    // Float slack so rounding in the sums never cuts a document that could tie the k-th score.
    const remaining = rest[qi] * (1 + 1e-9) + 1e-12;
    const lo = offsets[q.id];
    const hi = offsets[q.id + 1];
    const w = q.weight * k1p1;
    if (nCand < 0) {
      if (stats) stats.scanned += hi - lo;
      for (let p = lo; p < hi; p++) {
        const d = postDocs[p];
        const tf = postTfs[p];
        const a = acc[d];
        if (a === 0) touched[nTouched++] = d;
        const s = a + (w * tf) / (tf + docNorm[d]);
        acc[d] = s;
        if (s > theta) {
          top.offer(d);
          theta = top.theta();
        }
      }
      if (nTouched >= k && remaining < theta) {
        nCand = 0;
        for (let i = 0; i < nTouched; i++) if (acc[touched[i]] + remaining >= theta) cand[nCand++] = touched[i];
      }
    } else {
      const df = hi - lo;
      if (stats) stats.prunedTerms++;
      if (nCand * Math.log2(df + 1) < df) {
        if (stats) stats.lookups += nCand;
        for (let i = 0; i < nCand; i++) {
          const d = cand[i];
          const p = findDoc(postDocs, lo, hi, d);
          if (p >= 0) acc[d] += (w * postTfs[p]) / (postTfs[p] + docNorm[d]);
        }
      } else {
        // Many candidates: one sequential pass, updating only docs already seen (acc > 0).
        if (stats) stats.scanned += df;
        for (let p = lo; p < hi; p++) {
          const d = postDocs[p];
          if (acc[d] !== 0) acc[d] += (w * postTfs[p]) / (postTfs[p] + docNorm[d]);
        }
      }
      theta = kthScore(acc, cand, nCand, k);
      let n = 0;
      for (let i = 0; i < nCand; i++) if (acc[cand[i]] + remaining >= theta) cand[n++] = cand[i];
      nCand = n;
    }
  }
  const out = nCand < 0 ? topK(acc, touched, nTouched, k) : topK(acc, cand, nCand, k);
  top.clear();
  for (let i = 0; i < nTouched; i++) acc[touched[i]] = 0;
  return out;
}

/**
 * Reference: score every posting of every query term into a dense accumulator (same term order and float
 * operations as `searchBm25`), then select the top k. No cutoff: the cost is the sum of the terms' df.
 */
export function searchBm25Exhaustive(ix: Bm25Index, terms: string[], k: number, scratch?: Bm25Scratch): ScoredDoc[] {
  const plan = planQuery(ix, terms);
  const { acc, touched } = scratch ?? createScratch(ix.meta.numDocs);
  const k1p1 = ix.meta.k1 + 1;
  let n = 0;
  for (const q of plan) {
    const w = q.weight * k1p1;
    for (let p = ix.offsets[q.id]; p < ix.offsets[q.id + 1]; p++) {
      const d = ix.postDocs[p];
      if (acc[d] === 0) touched[n++] = d;
      acc[d] += (w * ix.postTfs[p]) / (ix.postTfs[p] + ix.docNorm[d]);
    }
  }
  const out = k > 0 ? topK(acc, touched, n, k) : [];
  for (let i = 0; i < n; i++) acc[touched[i]] = 0;
  return out;
}
