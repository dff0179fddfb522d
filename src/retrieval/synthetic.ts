/**
 * @module retrieval/synthetic — a reproducible Zipf-distributed corpus and question-like queries for
 * benchmarks and tests of the frequent-term problem: word rank r has probability ∝ 1/r^s, so the top words
 * occur in nearly every passage, as "the", "of" and "in" do in Wikipedia.
 */
import { createRng } from "../util/rng.js";
import { makePassage } from "./corpus.js";
import type { Passage } from "./types.js";

export interface ZipfOptions {
  vocab?: number; // distinct words (default 100,000)
  exponent?: number; // s (default 1.0, Zipf's law)
  wordsPerDoc?: number; // mean words per passage (default 100; ±20% uniform)
  seed?: number;
}

const CONS = "bcdfghjklmnprstvwxz";
const VOWELS = "aou"; // endings the Porter stemmer leaves alone, so every rank stays its own term

/** The word of rank r (0 = most frequent): short for frequent ranks, like natural language. */
export function zipfWord(r: number): string {
  const base = CONS.length * VOWELS.length;
  let s = "";
  let x = r;
  do {
    const d = x % base;
    s += CONS[Math.floor(d / VOWELS.length)] + VOWELS[d % VOWELS.length];
    x = Math.floor(x / base);
  } while (x > 0);
  return s;
}

export function createZipf(opts: ZipfOptions = {}) {
  const vocab = opts.vocab ?? 100_000;
  const s = opts.exponent ?? 1.0;
  const words = opts.wordsPerDoc ?? 100;
  const seed = opts.seed ?? 1;
  const cdf = new Float64Array(vocab);
  let acc = 0;
  for (let r = 0; r < vocab; r++) cdf[r] = acc += 1 / Math.pow(r + 1, s);
  for (let r = 0; r < vocab; r++) cdf[r] /= acc;
  const lexicon = Array.from({ length: vocab }, (_, r) => zipfWord(r));
  const sampleRank = (u: number): number => {
    let lo = 0;
    let hi = vocab - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  /** Word ranks of passage i (deterministic in seed and i). */
  const docRanks = (i: number): number[] => {
    const rng = createRng(seed * 1_000_003 + i);
    const n = Math.round(words * (0.8 + 0.4 * rng.next()));
    return Array.from({ length: n }, () => sampleRank(rng.next()));
  };
  return {
    lexicon,
    docRanks,
    passage(i: number): Passage {
      const ws = docRanks(i).map((r) => lexicon[r]);
      return { id: `p${i}`, contents: makePassage(ws.slice(0, 3).join(" "), ws.slice(3).join(" ")) };
    },
    /**
     * A question-like query of 8–12 words about passage `doc`: 3–5 of its words (sampled by position, so
     * frequent words come along) plus enough of the 50 most frequent words ("what is the … of …").
     */
    query(doc: number, qseed: number): string {
      const rng = createRng(qseed);
      const ranks = docRanks(doc);
      const total = 8 + rng.int(5);
      const content = 3 + rng.int(3);
      const out: string[] = [];
      for (let i = 0; i < content; i++) out.push(lexicon[ranks[rng.int(ranks.length)]]);
      while (out.length < total) out.push(lexicon[rng.int(50)]);
      for (let i = out.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out.join(" ");
    },
  };
}
