/**
 * @module train/sampler — deterministic, resumable order of training questions: a seeded shuffle per
 * (curriculum stage, epoch), walked by a cursor saved in every checkpoint. Same seed, same questions at every step.
 */
import type { QAExample } from "../data/formats.js";
import { readMultiHopMetadata } from "../data/metadata.js";
import { createRng } from "../util/rng.js";
import type { DataStages } from "./scaffolds/types.js";

export interface TrainExample {
  id: string;
  question: string;
  goldenAnswers: string[];
  /** Reasoning hops, for the hop curriculum (questions without it count as 1 hop). */
  hops?: number;
  /** Question kind (metadata.kind), for curriculum stages that name `kinds`. */
  kind?: string;
  /** Ids of the passages that hold the answer's chain (metadata.chain), for the `gold_recall_mean` metric and the
   * retrieval-bonus scaffold. */
  goldPassages?: string[];
  /** Names of the entities along the answer's chain (metadata.chainNames). */
  chainNames?: string[];
}

/**
 * A training example from a loaded QA record: hops, kind and the gold chain from its metadata when present (typed,
 * data/metadata.ts; `where` names the record in errors). Empty chains count as none.
 */
export function trainExampleOf(q: QAExample, where = `question ${q.id}`): TrainExample {
  const m = readMultiHopMetadata(q.metadata, where);
  return {
    id: q.id,
    question: q.question,
    goldenAnswers: q.golden_answers,
    hops: m.hops,
    kind: m.kind,
    ...(m.chain?.length ? { goldPassages: m.chain } : {}),
    ...(m.chainNames?.length ? { chainNames: m.chainNames } : {}),
  };
}

/** Where the sampler stands: stage of the hop curriculum, epoch over that stage's pool, index in its permutation. */
export interface DataCursor {
  stage: number;
  epoch: number;
  index: number;
}

export interface Sampler {
  /** The `count` questions for a step (0-based), advancing the cursor. */
  take(step: number, count: number): TrainExample[];
  cursor(): DataCursor;
  setCursor(c: DataCursor): void;
}

/** Fisher–Yates shuffle of 0..n−1 from a seed. */
export function permutation(n: number, seed: number): number[] {
  const rng = createRng(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

const mix = (seed: number, stage: number, epoch: number) => (Math.imul(seed ^ 0x5bd1e995, 31) + stage * 1_000_003 + epoch * 7919) | 0;

/** A sampler over `examples`; `stages` (the hop curriculum) restricts each step's pool, absent = one stage of all. */
export function createSampler(examples: TrainExample[], seed: number, stages?: DataStages): Sampler {
  if (examples.length === 0) throw new Error("no training questions");
  let cur: DataCursor = { stage: 0, epoch: 0, index: 0 };
  const pools = new Map<number, TrainExample[]>();
  const poolOf = (stage: number, step: number): TrainExample[] => {
    let pool = pools.get(stage);
    if (!pool) {
      pool = stages ? stages.pool(stage, step, examples) : examples;
      pools.set(stage, pool);
    }
    return pool;
  };
  return {
    take(step, count) {
      const stage = stages ? stages.stageAt(step) : 0;
      if (stage !== cur.stage) cur = { stage, epoch: 0, index: 0 };
      const pool = poolOf(stage, step);
      const out: TrainExample[] = [];
      let perm = permutation(pool.length, mix(seed, cur.stage, cur.epoch));
      while (out.length < count) {
        if (cur.index >= pool.length) {
          cur = { ...cur, epoch: cur.epoch + 1, index: 0 };
          perm = permutation(pool.length, mix(seed, cur.stage, cur.epoch));
        }
        out.push(pool[perm[cur.index]]);
        cur = { ...cur, index: cur.index + 1 };
      }
      return out;
    },
    cursor: () => ({ ...cur }),
    setCursor: (c) => {
      cur = { ...c };
    },
  };
}
