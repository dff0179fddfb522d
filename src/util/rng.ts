/** @module util/rng — a small seeded PRNG (xoshiro128**) whose full state can be saved and restored for resumable runs. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal sample (Box–Muller). */
  normal(): number;
  getState(): number[];
  setState(state: number[]): void;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Index drawn with probability proportional to `weights` (one `rng.next()`); `fallback` when rounding leaves the
 * draw past the last weight (default: the last index).
 */
export function pickWeighted(rng: Rng, weights: readonly number[], fallback = weights.length - 1): number {
  let u = rng.next() * weights.reduce((a, w) => a + w, 0);
  for (let k = 0; k < weights.length; k++) if ((u -= weights[k]) < 0) return k;
  return fallback;
}

export function createRng(seed: number): Rng {
  const sm = splitmix32(seed);
  let s = [sm(), sm(), sm(), sm()];
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const nextU32 = () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  };
  const rng: Rng = {
    next: () => nextU32() / 4294967296,
    int: (n) => Math.floor((nextU32() / 4294967296) * n),
    normal: () => {
      const u = 1 - rng.next();
      const v = rng.next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    getState: () => [...s],
    setState: (state) => {
      s = state.map((x) => x >>> 0);
    },
  };
  return rng;
}
