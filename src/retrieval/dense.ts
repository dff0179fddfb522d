/**
 * @module retrieval/dense — dense retrieval: an `Embedder` interface, embedders by name, and an exact
 * (brute-force inner product over unit vectors) vector index stored as one float32 file.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../util/errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fs.js";
import type { ScoredDoc } from "./bm25-search.js";

export interface Embedder {
  /** e.g. "use-lite" or "onnx:/path/model.onnx". */
  name: string;
  dim: number;
  /** One vector per text (not necessarily unit length; the index normalizes). */
  embed(texts: string[], kind: "query" | "passage"): Promise<Float32Array[]>;
}

export const EMBEDDERS = ["use-lite", "onnx:<model dir>"] as const;

/** Loaded models, shared by every index opened in this thread (a model is read-only once loaded). */
const loaded = new Map<string, Promise<Embedder>>();

export function createEmbedder(name: string): Promise<Embedder> {
  let e = loaded.get(name);
  if (!e) {
    if (name === "use-lite") e = import("./use-lite.js").then((m) => m.createUseLiteEmbedder());
    else if (name.startsWith("onnx:")) e = import("./onnx-embedder.js").then((m) => m.createOnnxEmbedder(name.slice(5)));
    else return Promise.reject(new UserError(`unknown embedder ${JSON.stringify(name)}; available: ${EMBEDDERS.join(", ")}`));
    e.catch(() => loaded.delete(name));
    loaded.set(name, e);
  }
  return e;
}

const META = "dense.json";
const VECTORS = "dense-vectors.f32";

export interface DenseMeta {
  embedder: string;
  dim: number;
  numDocs: number;
}

export function normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  const s = n > 0 ? 1 / Math.sqrt(n) : 0;
  for (let i = 0; i < v.length; i++) v[i] *= s;
  return v;
}

/** Accumulates passage vectors (row = doc id) and writes them. */
export class DenseWriter {
  private rows: Float32Array[] = [];
  constructor(private embedder: Embedder) {}
  async addBatch(texts: string[]): Promise<void> {
    for (const v of await this.embedder.embed(texts, "passage")) this.rows.push(normalize(v));
  }
  get count(): number {
    return this.rows.length;
  }
  save(dir: string): void {
    const dim = this.embedder.dim;
    const all = new Float32Array(this.rows.length * dim);
    this.rows.forEach((r, i) => all.set(r, i * dim));
    writeFileAtomic(join(dir, VECTORS), new Uint8Array(all.buffer));
    writeJsonAtomic(join(dir, META), { embedder: this.embedder.name, dim, numDocs: this.rows.length } satisfies DenseMeta);
  }
}

export interface DenseIndex {
  meta: DenseMeta;
  buffer: ArrayBufferLike;
  search(queries: string[], k: number): Promise<ScoredDoc[][]>;
  close?(): void;
}

/** Exact top-k by inner product of unit vectors (cosine). vectors: (N, D) row-major. */
export function searchVectors(vectors: Float32Array, dim: number, q: Float32Array, k: number): ScoredDoc[] {
  const n = vectors.length / dim;
  const best: ScoredDoc[] = [];
  for (let d = 0; d < n; d++) {
    let s = 0;
    const o = d * dim;
    for (let j = 0; j < dim; j++) s += vectors[o + j] * q[j];
    if (best.length === k && s <= best[k - 1].score) continue;
    let i = best.length < k ? best.length : k - 1;
    if (best.length < k) best.push({ doc: d, score: s });
    while (i > 0 && best[i - 1].score < s) { best[i] = best[i - 1]; i--; }
    best[i] = { doc: d, score: s };
  }
  return best;
}

export async function loadDenseIndex(dir: string, opts: { shared?: boolean; buffer?: ArrayBufferLike } = {}): Promise<DenseIndex> {
  const metaPath = join(dir, META);
  if (!existsSync(metaPath)) throw new UserError(`no dense vectors in ${dir} (missing ${META})`);
  const meta = JSON.parse(readFileSync(metaPath, "utf8")) as DenseMeta;
  const bytes = meta.numDocs * meta.dim * 4;
  let buffer = opts.buffer;
  if (!buffer) {
    buffer = opts.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    const fd = openSync(join(dir, VECTORS), "r");
    try {
      const view = new Uint8Array(buffer);
      for (let off = 0; off < bytes; ) {
        const n = readSync(fd, view, off, Math.min(1 << 26, bytes - off), off);
        if (n === 0) throw new UserError(`${join(dir, VECTORS)}: truncated`);
        off += n;
      }
    } finally {
      closeSync(fd);
    }
  }
  const vectors = new Float32Array(buffer, 0, meta.numDocs * meta.dim);
  let embedder: Promise<Embedder> | undefined;
  return {
    meta,
    buffer,
    async search(queries, k) {
      embedder ??= createEmbedder(meta.embedder);
      const qv = await (await embedder).embed(queries, "query");
      return qv.map((v) => searchVectors(vectors, meta.dim, normalize(v), k));
    },
  };
}
