import { describe, expect, it, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { aggregateLoss, groupAdvantages, grpoLoss, lowVarKl, LOSS_AGG_MODES, type GrpoLossOptions, type LossAggMode } from "./grpo.js";
import { grpoLossReference, type GrpoLossInputsRef } from "./grpo-reference.js";
import { buildTrainBatch, microBatches, responseLossMask } from "./batch.js";
import { createRng, type Rng } from "../util/rng.js";

const opts = (lossAgg: LossAggMode = "token-mean", extra: Partial<GrpoLossOptions> = {}): GrpoLossOptions => ({
  clipRatio: 0.2,
  klCoef: 0.001,
  entropyCoef: 0.001,
  lossAgg,
  ...extra,
});

function randMatrix(rng: Rng, B: number, T: number, f: () => number): number[][] {
  return Array.from({ length: B }, () => Array.from({ length: T }, f));
}

function randomInputs(seed: number, B = 4, T = 9): GrpoLossInputsRef {
  const rng = createRng(seed);
  const logp = randMatrix(rng, B, T, () => -3 * rng.next());
  return {
    logp,
    oldLogp: logp.map((r) => r.map((x) => x + 0.6 * rng.normal())),
    refLogp: logp.map((r) => r.map((x) => x + 0.8 * rng.normal())),
    entropy: randMatrix(rng, B, T, () => 2 * rng.next()),
    advantages: Array.from({ length: B }, () => rng.normal()),
    lossMask: randMatrix(rng, B, T, () => (rng.next() < 0.7 ? 1 : 0)),
  };
}

function tfInputs(x: GrpoLossInputsRef) {
  return {
    logp: tf.tensor2d(x.logp),
    oldLogp: tf.tensor2d(x.oldLogp),
    refLogp: x.refLogp ? tf.tensor2d(x.refLogp) : undefined,
    entropy: x.entropy ? tf.tensor2d(x.entropy) : undefined,
    advantages: tf.tensor2d(x.advantages, [x.advantages.length, 1]),
    lossMask: tf.tensor2d(x.lossMask),
  };
}

describe("groupAdvantages", () => {
  it("matches torch.std (Bessel) normalisation by hand", () => {
    // group [1, 0, 0.5, 0.1, 0.1]: mean 0.34, torch.std = sqrt(sum((r-m)^2)/4)
    const r = [1, 0, 0.5, 0.1, 0.1];
    const m = 0.34;
    const sd = Math.sqrt(r.reduce((a, x) => a + (x - m) ** 2, 0) / 4);
    const a = groupAdvantages(r, 5);
    r.forEach((x, i) => expect(a[i]).toBeCloseTo((x - m) / (sd + 1e-6), 12));
  });
  it("gives exactly 0 for a group of equal rewards, per group", () => {
    const a = groupAdvantages([0.1, 0.1, 0.1, 1, 0, 0.5], 3);
    expect(a.slice(0, 3)).toEqual([0, 0, 0]);
    expect(a[3]).toBeGreaterThan(0);
    expect(a[4]).toBeLessThan(0);
  });
  it("rejects a batch that is not whole groups", () => {
    expect(() => groupAdvantages([1, 2, 3], 2)).toThrow(/multiple of groupSize/);
  });
});

describe("lowVarKl", () => {
  it("is exactly 0 when policy = reference, and ≥ 0 and clamped otherwise", () => {
    const logp = tf.tensor2d([[-1.3, -0.2, -7.5]]);
    expect(Array.from(lowVarKl(logp, logp).dataSync())).toEqual([0, 0, 0]);
    const far = Array.from(lowVarKl(tf.tensor2d([[-50, -0.1]]), tf.tensor2d([[-0.1, -50]])).dataSync());
    expect(far[0]).toBe(10);
    expect(far[1]).toBeGreaterThan(0);
  });
});

describe("grpoLoss (tfjs) agrees with the float64 plain-loop reference", () => {
  test.each(LOSS_AGG_MODES.flatMap((m) => [1, 2, 3].map((s) => [m, s] as const)))("%s seed %i", (mode, seed) => {
    const x = randomInputs(seed);
    const ref = grpoLossReference(x, opts(mode));
    const got = grpoLoss(tfInputs(x), opts(mode));
    for (const k of ["loss", "pgLoss", "kl", "entropy", "clipFrac", "approxKl"] as const)
      expect(got[k].dataSync()[0], k).toBeCloseTo(ref[k], 5);
    expect(ref.clipFrac).toBeGreaterThan(0); // the clipped branch is exercised
  });
  it("omits KL and entropy terms when their coefficients are 0 (no reference needed)", () => {
    const x = randomInputs(7);
    const got = grpoLoss({ ...tfInputs(x), refLogp: undefined, entropy: undefined }, opts("token-mean", { klCoef: 0, entropyCoef: 0 }));
    const ref = grpoLossReference({ ...x, refLogp: undefined, entropy: undefined }, opts("token-mean", { klCoef: 0, entropyCoef: 0 }));
    expect(got.loss.dataSync()[0]).toBeCloseTo(ref.pgLoss, 5);
    expect(() => grpoLoss({ ...tfInputs(x), refLogp: undefined }, opts())).toThrow(/refLogp/);
  });
  it("aggregateLoss token-mean with a mini-batch normalizer sums over micro-batches to the full mean", () => {
    const x = randomInputs(11, 6, 5);
    const n = x.lossMask.flat().reduce((a, b) => a + b, 0);
    const full = aggregateLoss(tf.tensor2d(x.logp), tf.tensor2d(x.lossMask), "token-mean").dataSync()[0];
    let acc = 0;
    for (const mb of microBatches(6, 4)) {
      const part = (a: number[][]) => tf.tensor2d(mb.map((i) => a[i]));
      acc += aggregateLoss(part(x.logp), part(x.lossMask), "token-mean", n).dataSync()[0];
    }
    expect(acc).toBeCloseTo(full, 5);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A tiny model (embedding → tanh → unembedding, per position) so the whole GRPO loss can be differentiated
// through real log-softmax, gathered log-probs and entropy, in tfjs (float32) and in float64 by finite differences.
const V = 6;
const D = 3;

function tinyForward64(E: number[], W: number[], tokens: number[][]): { logp: number[][]; entropy: number[][] } {
  const logp: number[][] = [];
  const entropy: number[][] = [];
  for (const row of tokens) {
    const lp: number[] = [];
    const en: number[] = [];
    for (let j = 0; j < row.length - 1; j++) {
      const h = Array.from({ length: D }, (_, d) => Math.tanh(E[row[j] * D + d])); // (D,)
      const z = Array.from({ length: V }, (_, v) => h.reduce((a, hd, d) => a + hd * W[d * V + v], 0)); // (V,)
      const mx = Math.max(...z);
      const lse = mx + Math.log(z.reduce((a, zv) => a + Math.exp(zv - mx), 0));
      const ls = z.map((zv) => zv - lse);
      lp.push(ls[row[j + 1]]);
      en.push(-ls.reduce((a, l) => a + Math.exp(l) * l, 0));
    }
    logp.push(lp);
    entropy.push(en);
  }
  return { logp, entropy };
}

function tinyForwardTf(E: tf.Tensor, W: tf.Tensor, tokens: number[][]): { logp: tf.Tensor2D; entropy: tf.Tensor2D } {
  const B = tokens.length;
  const T = tokens[0].length - 1;
  const inputs = tf.tensor2d(tokens.map((r) => r.slice(0, -1)), [B, T], "int32");
  const targets = tf.oneHot(tf.tensor2d(tokens.map((r) => r.slice(1)), [B, T], "int32"), V); // (B, T, V)
  const h = tf.tanh(tf.gather(E.reshape([V, D]), inputs)); // (B, T, D)
  const z = tf.matMul(h.reshape([B * T, D]), W.reshape([D, V])).reshape([B, T, V]); // (B, T, V)
  const ls = tf.logSoftmax(z); // (B, T, V)
  const logp = tf.sum(tf.mul(ls, targets), -1) as tf.Tensor2D; // (B, T)
  const entropy = tf.neg(tf.sum(tf.mul(tf.exp(ls), ls), -1)) as tf.Tensor2D; // (B, T)
  return { logp, entropy };
}

describe("finite-difference gradient of the full GRPO loss on a tiny model", () => {
  it("tfjs autograd matches float64 central differences for every parameter", () => {
    const rng = createRng(42);
    const E = Array.from({ length: V * D }, () => rng.normal());
    const W = Array.from({ length: D * V }, () => rng.normal());
    const Eref = E.map((x) => x + 0.3 * rng.normal());
    const tokens = [
      [1, 2, 3, 4, 5, 0],
      [2, 2, 5, 1, 3, 4],
      [5, 4, 3, 2, 1, 1],
    ];
    const lossMask = [
      [0, 1, 1, 0, 1],
      [0, 0, 1, 1, 1],
      [1, 1, 1, 1, 0],
    ];
    const advantages = [1.2, -0.7, 0.4];
    const oldLogp = tinyForward64(E, W, tokens).logp.map((r) => r.map((x, j) => x + 0.15 * Math.sin(3 * j + r.length)));
    const refLogp = tinyForward64(Eref, W, tokens).logp;
    const o = opts("token-mean", { klCoef: 0.3, entropyCoef: 0.2 }); // large coefficients so every term shows
    const loss64 = (Ev: number[], Wv: number[]) => {
      const f = tinyForward64(Ev, Wv, tokens);
      return grpoLossReference({ logp: f.logp, entropy: f.entropy, oldLogp, refLogp, advantages, lossMask }, o).loss;
    };
    // no ratio sits within 1e-3 of a clip boundary, so the loss is smooth at this point
    const cur = tinyForward64(E, W, tokens).logp;
    for (let b = 0; b < 3; b++)
      for (let j = 0; j < 5; j++) {
        const r = Math.exp(cur[b][j] - oldLogp[b][j]);
        expect(Math.min(Math.abs(r - 0.8), Math.abs(r - 1.2))).toBeGreaterThan(1e-3);
      }
    const Ev = tf.variable(tf.tensor1d(E));
    const Wv = tf.variable(tf.tensor1d(W));
    const { grads } = tf.variableGrads(() => {
      const f = tinyForwardTf(Ev, Wv, tokens);
      return grpoLoss(
        {
          logp: f.logp,
          entropy: f.entropy,
          oldLogp: tf.tensor2d(oldLogp),
          refLogp: tf.tensor2d(refLogp),
          advantages: tf.tensor2d(advantages, [3, 1]),
          lossMask: tf.tensor2d(lossMask),
        },
        o,
      ).loss;
    }, [Ev, Wv]);
    const check = (params: number[], grad: Float32Array | Int32Array | Uint8Array, which: "E" | "W") => {
      let nonzero = 0;
      for (let i = 0; i < params.length; i++) {
        const h = 1e-5;
        const p1 = [...params];
        const p2 = [...params];
        p1[i] += h;
        p2[i] -= h;
        const fd = which === "E" ? (loss64(p1, W) - loss64(p2, W)) / (2 * h) : (loss64(E, p1) - loss64(E, p2)) / (2 * h);
        expect(Math.abs(grad[i] - fd), `${which}[${i}] autograd ${grad[i]} vs fd ${fd}`).toBeLessThan(2e-4 + 1e-3 * Math.abs(fd));
        if (Math.abs(fd) > 1e-3) nonzero++;
      }
      expect(nonzero).toBeGreaterThan(params.length / 3);
    };
    check(E, grads[Ev.name].dataSync(), "E");
    check(W, grads[Wv.name].dataSync(), "W");
  });
});

describe("the loss mask", () => {
  it("covers exactly the policy's response tokens up to and including EOS, never prompt, result text or padding", () => {
    const EOS = 9;
    const seqs = [
      // prompt [1,2]; response: policy 3 4, tool 5 5, policy 6 EOS, then a stray 7 after EOS
      { promptIds: [1, 2], responseIds: [3, 4, 5, 5, 6, EOS, 7], policyMask: [1, 1, 0, 0, 1, 1, 1] },
      { promptIds: [1, 2, 8], responseIds: [3, EOS], policyMask: [1, 1] },
    ];
    expect(responseLossMask(seqs[0], EOS)).toEqual([1, 1, 0, 0, 1, 1, 0]);
    const b = buildTrainBatch(seqs, EOS);
    expect(b.L).toBe(9);
    expect(b.tokens[1]).toEqual([1, 2, 8, 3, EOS, 0, 0, 0, 0]);
    // position j predicts token j+1
    expect(b.lossMask[0]).toEqual([0, 1, 1, 0, 0, 1, 1, 0]);
    expect(b.lossMask[1]).toEqual([0, 0, 1, 1, 0, 0, 0, 0]);
    expect(b.trainTokens).toBe(6);
  });

  it("logits at prompt, <result> and padding positions do not change the loss or the gradient", () => {
    const EOS = 5;
    const seqs = [
      { promptIds: [1, 2], responseIds: [3, 4, 4, 3, EOS], policyMask: [1, 0, 0, 1, 1] },
      { promptIds: [1], responseIds: [2, 3, 3, EOS, 2], policyMask: [1, 1, 0, 1, 1] },
    ];
    const batch = buildTrainBatch(seqs, EOS);
    const T = batch.L - 1;
    const targets = tf.oneHot(tf.tensor2d(batch.tokens.map((r) => r.slice(1)), [2, T], "int32"), 6); // (B, T, V)
    const rng = createRng(3);
    const base = Array.from({ length: 2 * T * 6 }, () => rng.normal());
    const run = (logitsData: number[]) => {
      const logits = tf.variable(tf.tensor3d(logitsData, [2, T, 6])); // (B, T, V), the model's output as a leaf
      const { value, grads } = tf.variableGrads(() => {
        const ls = tf.logSoftmax(logits);
        const logp = tf.sum(tf.mul(ls, targets), -1) as tf.Tensor2D;
        const entropy = tf.neg(tf.sum(tf.mul(tf.exp(ls), ls), -1)) as tf.Tensor2D;
        const oldLogp = tf.add(logp, 0.1) as tf.Tensor2D;
        return grpoLoss(
          { logp, entropy, oldLogp: tf.tensor2d(oldLogp.dataSync(), [2, T]), refLogp: tf.sub(logp, 0.2) as tf.Tensor2D, advantages: tf.tensor2d([1, -1], [2, 1]), lossMask: tf.tensor2d(batch.lossMask) },
          opts(),
        ).loss;
      }, [logits]);
      const g = Array.from(grads[logits.name].dataSync());
      logits.dispose();
      return { loss: value.dataSync()[0], g };
    };
    const a = run(base);
    const perturbed = [...base];
    for (let b = 0; b < 2; b++)
      for (let j = 0; j < T; j++) if (batch.lossMask[b][j] === 0) for (let v = 0; v < 6; v++) perturbed[(b * T + j) * 6 + v] += 5 * rng.normal();
    const c = run(perturbed);
    expect(c.loss).toBe(a.loss);
    expect(c.g).toEqual(a.g);
    for (let b = 0; b < 2; b++)
      for (let j = 0; j < T; j++) {
        const gpos = a.g.slice((b * T + j) * 6, (b * T + j + 1) * 6);
        if (batch.lossMask[b][j] === 0) expect(gpos.every((x) => x === 0)).toBe(true);
        else expect(gpos.some((x) => x !== 0)).toBe(true);
      }
  });
});
