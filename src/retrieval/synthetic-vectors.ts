/**
 * @module retrieval/synthetic-vectors — reproducible clustered unit vectors for ANN benchmarks and tests, shaped
 * like sentence embeddings rather than uniform noise: a mixture of `clusters` Gaussian clusters, each with its own
 * low-rank subspace. Row i = normalize(c_k + spread · B_k z + noise · ε), where k = a Zipf-like draw (a few large
 * topics, many small ones), c_k a random unit centre, B_k a random (dim × rank) basis with unit-norm columns
 * scaled by 1/√rank, z ~ N(0, I_rank) and ε ~ N(0, I_dim/dim). Rows are generated in order from the seed, so any
 * prefix of n rows is the same whatever the total; queries are fresh draws from the same mixture.
 */
import { createRng, type Rng } from "../util/rng.js";

export interface ClusteredOptions {
  dim: number;
  /** Mixture components (default 1,000). */
  clusters?: number;
  /** Dimension of each cluster's subspace (default 16). */
  rank?: number;
  /** Scale of the in-cluster subspace component relative to the unit centre (default 0.8). */
  spread?: number;
  /** Scale of the isotropic noise (default 0.3). */
  noise?: number;
  seed?: number;
}

export interface ClusteredSource {
  dim: number;
  /** The next `count` rows, (count, dim) row-major, each of unit length. */
  next(count: number): Float32Array;
}

/** Standard normals from `rng`, both halves of each Box–Muller pair used (half the cost of rng.normal()). */
function normals(rng: Rng): () => number {
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = NaN;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const t = 2 * Math.PI * rng.next();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

function unitGaussian(normal: () => number, dim: number, scale = 1): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let j = 0; j < dim; j++) {
    v[j] = normal();
    n += v[j] * v[j];
  }
  const s = scale / Math.sqrt(n);
  for (let j = 0; j < dim; j++) v[j] *= s;
  return v;
}

/** A stream of clustered vectors; `stream` "data" and "query" of one seed share the mixture but not the draws. */
export function clusteredVectors(opts: ClusteredOptions, stream: "data" | "query" = "data"): ClusteredSource {
  const { dim } = opts;
  const clusters = opts.clusters ?? 1000;
  const rank = opts.rank ?? 16;
  const spread = opts.spread ?? 0.8;
  const noise = opts.noise ?? 0.3;
  const seed = opts.seed ?? 1;
  const mix = normals(createRng(seed));
  const centres = Array.from({ length: clusters }, () => unitGaussian(mix, dim));
  const bases = Array.from({ length: clusters }, () => Array.from({ length: rank }, () => unitGaussian(mix, dim, 1 / Math.sqrt(rank))));
  // Zipf-like cluster sizes (weight ∝ 1/(k+10)), as a cumulative table.
  const cum = new Float64Array(clusters);
  let total = 0;
  for (let k = 0; k < clusters; k++) cum[k] = total += 1 / (k + 10);
  const rng = createRng(stream === "data" ? seed * 7919 + 1 : seed * 7919 + 2);
  const pick = () => {
    const u = rng.next() * total;
    let lo = 0;
    let hi = clusters - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const normal = normals(rng);
  const noiseScale = noise / Math.sqrt(dim);
  return {
    dim,
    next(count) {
      const out = new Float32Array(count * dim);
      for (let i = 0; i < count; i++) {
        const k = pick();
        const row = out.subarray(i * dim, (i + 1) * dim);
        row.set(centres[k]);
        for (let r = 0; r < rank; r++) {
          const z = spread * normal();
          const b = bases[k][r];
          for (let j = 0; j < dim; j++) row[j] += z * b[j];
        }
        let n = 0;
        for (let j = 0; j < dim; j++) {
          row[j] += noiseScale * normal();
          n += row[j] * row[j];
        }
        const s = 1 / Math.sqrt(n);
        for (let j = 0; j < dim; j++) row[j] *= s;
      }
      return out;
    },
  };
}
