/**
 * @module model/sampling — choose the next token from logits: greedy (temperature 0), or temperature-scaled sampling
 * restricted to the top-k tokens and the top-p nucleus (Holtzman et al. 2019), with a seeded RNG. Also returns the
 * token's log-probability under softmax(logits / T) (T = 1 for greedy), before top-k/top-p truncation.
 */
import type { Rng } from "../util/rng.js";

export interface SamplingParams {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 = off. */
  topP?: number;
  /** Keep only the k most likely tokens; 0 / undefined = off. */
  topK?: number;
}

export interface Sampled {
  id: number;
  logprob: number;
}

/** Index of the largest value (first on ties, as llama2.c's argmax). */
export function argmax(x: ArrayLike<number>, off = 0, n = x.length - off): number {
  let best = 0;
  let mx = x[off];
  for (let i = 1; i < n; i++)
    if (x[off + i] > mx) {
      mx = x[off + i];
      best = i;
    }
  return best;
}

/** log Σ exp(x_i / T) over a row. */
export function logSumExp(x: ArrayLike<number>, off: number, n: number, invT = 1): number {
  let mx = -Infinity;
  for (let i = 0; i < n; i++) mx = Math.max(mx, x[off + i] * invT);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[off + i] * invT - mx);
  return mx + Math.log(s);
}

/** Sample from row `off .. off+V` of `logits`. */
export function sampleToken(logits: Float32Array, off: number, V: number, p: SamplingParams, rng: Rng): Sampled {
  if (!(p.temperature > 0)) {
    const id = argmax(logits, off, V);
    return { id, logprob: logits[off + id] - logSumExp(logits, off, V) };
  }
  const invT = 1 / p.temperature;
  const lse = logSumExp(logits, off, V, invT);
  const topP = p.topP ?? 1;
  const topK = p.topK && p.topK > 0 ? Math.min(p.topK, V) : V;
  // Candidates: all tokens, or (for top-k / top-p) those above a cutoff, sorted by probability.
  let ids: number[];
  if (topK >= V && topP >= 1) {
    ids = [];
    for (let i = 0; i < V; i++) ids.push(i);
  } else {
    // As llama2.c: a token below (1 - topP) / (V - 1) can never be inside the nucleus; skip sorting it.
    const cutoff = topP < 1 ? Math.log((1 - topP) / (V - 1)) : -Infinity;
    ids = [];
    for (let i = 0; i < V; i++) if (logits[off + i] * invT - lse >= cutoff) ids.push(i);
    if (ids.length === 0) ids.push(argmax(logits, off, V));
    ids.sort((a, b) => logits[off + b] - logits[off + a] || a - b);
    if (ids.length > topK) ids.length = topK;
    if (topP < 1) {
      let cum = 0;
      let last = ids.length - 1;
      for (let j = 0; j < ids.length; j++) {
        cum += Math.exp(logits[off + ids[j]] * invT - lse);
        if (cum > topP) {
          last = j;
          break;
        }
      }
      ids.length = last + 1;
    }
  }
  let mass = 0;
  for (const i of ids) mass += Math.exp(logits[off + i] * invT - lse);
  const u = rng.next() * mass;
  let cdf = 0;
  let chosen = ids[ids.length - 1];
  for (const i of ids) {
    cdf += Math.exp(logits[off + i] * invT - lse);
    if (u < cdf) {
      chosen = i;
      break;
    }
  }
  return { id: chosen, logprob: logits[off + chosen] * invT - lse };
}
