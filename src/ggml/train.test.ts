import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { createTrainableModel } from "../model/trainable.js";
import { randomWeights, tinyQwen } from "../model/trainable-fixtures.js";
import type { WeightMap } from "../model/weights.js";
import { AdamWConfigSchema } from "../model/optim.js";
import { createRng } from "../util/rng.js";
import { openGgml } from "./lib.js";
import { GgmlWeights } from "./model.js";
import { GgmlAdamW, GgmlPolicy } from "./train.js";

const rt = openGgml({ device: "cpu" });

/** A padded batch: row 0 full, row 1 right-padded, row 2 left-padded. */
function batch(V: number, seed: number) {
  const B = 3, T = 7;
  const rng = createRng(seed);
  const ids = Int32Array.from({ length: B * T }, () => Math.floor(rng.next() * V));
  const mask = Float32Array.from({ length: B * T }, (_, i) => {
    const b = Math.floor(i / T), t = i % T;
    return b === 1 ? (t < 5 ? 1 : 0) : b === 2 ? (t >= 2 ? 1 : 0) : 1;
  });
  return { inputIds: ids, B, T, attentionMask: mask };
}

/** 1 where query t and target t+1 are both real tokens ((B, T−1) layout). */
function bothReal(b: ReturnType<typeof batch>): Float32Array {
  const out = new Float32Array(b.B * (b.T - 1));
  for (let i = 0; i < b.B; i++) for (let t = 0; t < b.T - 1; t++) out[i * (b.T - 1) + t] = b.attentionMask[i * b.T + t] * b.attentionMask[i * b.T + t + 1];
  return out;
}

function rand(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

function maxRel(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

/** tfjs gradients of Σ lp·cLp + Σ H·cEnt in Hugging Face layout (the oracle: the tfjs model is cross-checked
 *  against PyTorch in model/trainable-cross.test.ts). */
function tfjsGrads(config: ReturnType<typeof tinyQwen>, w: WeightMap, b: ReturnType<typeof batch>, cLp: Float32Array, cEnt: Float32Array, temperature = 1): WeightMap {
  const m = createTrainableModel(config, w);
  const { grads } = tf.variableGrads(() => {
    const { logprobs, entropy } = m.tokenLogprobs({ ...b, temperature });
    return tf.add(tf.sum(tf.mul(logprobs, tf.tensor2d(cLp, logprobs.shape))), tf.sum(tf.mul(entropy, tf.tensor2d(cEnt, entropy.shape)))) as tf.Scalar;
  }, m.variables);
  // the gradients, put in a second model's variables, exported as HF tensors
  const g = createTrainableModel(config, w);
  for (const [name, v] of m.params) g.params.get(name)!.assign(grads[v.name]);
  const out = g.exportWeights();
  m.dispose();
  g.dispose();
  tf.dispose(Object.values(grads));
  return out;
}

describe("ggml/train", () => {
  for (const tied of [true, false]) {
    const config = tinyQwen(tied);
    const w = randomWeights(config, tied ? 11 : 12);

    it(`log-probs and entropy equal the tfjs model's under padding (${tied ? "tied" : "untied"}, GQA, bias, temperature 0.7)`, () => {
      const gw = new GgmlWeights(rt, config, w);
      const pol = new GgmlPolicy(gw, false);
      const b = batch(config.vocab_size, 5);
      const got = pol.logprobs({ ...b, temperature: 0.7 });
      const m = createTrainableModel(config, w);
      const ref = tf.tidy(() => {
        const r = m.tokenLogprobs({ ...b, temperature: 0.7 });
        return { lp: r.logprobs.dataSync() as Float32Array, ent: r.entropy.dataSync() as Float32Array };
      });
      const keep = bothReal(b); // a padded query's output differs by convention (tfjs: it attends to earlier real keys)
      expect(maxRel(got.logprobs, ref.lp.map((x, i) => x * keep[i]))).toBeLessThan(1e-5);
      expect(maxRel(got.entropy, ref.ent.map((x, i) => x * keep[i]))).toBeLessThan(1e-5);
      expect(got.logprobs[1 * 6 + 5]).toBe(0); // row 1's padded targets
      m.dispose();
      pol.dispose();
      gw.dispose();
    });

    it(`gradients of Σ c·lp + Σ c'·H equal tfjs autodiff, accumulated over micro-batches (${tied ? "tied" : "untied"})`, () => {
      const gw = new GgmlWeights(rt, config, w);
      const pol = new GgmlPolicy(gw);
      const b1 = batch(config.vocab_size, 6);
      const b2 = batch(config.vocab_size, 7);
      const n = b1.B * (b1.T - 1);
      const k1 = bothReal(b1), k2 = bothReal(b2);
      const [c1, e1, c2, e2] = [rand(n, 1).map((x, i) => x * k1[i]), rand(n, 2).map((x, i) => x * k1[i]), rand(n, 3).map((x, i) => x * k2[i]), rand(n, 4).map((x, i) => x * k2[i])];
      pol.zeroGrad();
      pol.accumulate({ ...b1, temperature: 0.7 }, c1, e1);
      const one = pol.exportGrads();
      const ref1 = tfjsGrads(config, w, b1, c1, e1, 0.7);
      for (const [name, t] of ref1) expect(maxRel(one.get(name)!.data, t.data), name).toBeLessThan(2e-4);
      pol.accumulate({ ...b2, temperature: 0.7 }, c2, e2);
      const two = pol.exportGrads();
      const ref2 = tfjsGrads(config, w, b2, c2, e2, 0.7);
      let sq = 0;
      for (const [name, t] of ref1) {
        const sum = t.data.map((x, i) => x + ref2.get(name)!.data[i]);
        expect(maxRel(two.get(name)!.data, sum), name).toBeLessThan(2e-4);
        for (const x of two.get(name)!.data) sq += x * x;
      }
      expect(pol.gradNorm()).toBeCloseTo(Math.sqrt(sq), 3);
      pol.zeroGrad();
      expect(pol.gradNorm()).toBe(0);
      pol.dispose();
      gw.dispose();
    });
  }

  it("a directional derivative equals a central finite difference of the ggml forward", () => {
    const config = tinyQwen(false);
    const w = randomWeights(config, 21);
    const b = batch(config.vocab_size, 8);
    const n = b.B * (b.T - 1);
    const c = rand(n, 9), e = rand(n, 10);
    const gw = new GgmlWeights(rt, config, w);
    const pol = new GgmlPolicy(gw);
    pol.zeroGrad();
    pol.accumulate(b, c, e);
    const g = pol.exportGrads();
    const dirs = new Map([...w].map(([k, t], j) => [k, rand(t.data.length, 100 + j)]));
    let analytic = 0;
    for (const [k, d] of dirs) d.forEach((x, i) => (analytic += x * g.get(k)!.data[i]));
    const lossAt = (h: number) => {
      const moved: WeightMap = new Map([...w].map(([k, t]) => [k, { shape: t.shape, data: t.data.map((x, i) => x + h * dirs.get(k)![i]) }]));
      gw.load(moved);
      const r = pol.logprobs(b);
      let s = 0;
      for (let i = 0; i < n; i++) s += c[i] * r.logprobs[i] + e[i] * r.entropy[i];
      return s;
    };
    const h = 1e-3; // the direction moves every parameter by ~h: curvature dominates above ~3e-3, float32 noise below 1e-4
    const numeric = (lossAt(h) - lossAt(-h)) / (2 * h);
    expect(Math.abs(numeric - analytic) / Math.abs(analytic)).toBeLessThan(2e-2);
    pol.dispose();
    gw.dispose();
  });

  it("AdamW steps equal the PyTorch update (bias-corrected, decoupled decay on matrices only, clipped gradient) and its state round-trips", () => {
    const config = tinyQwen(true);
    const w = randomWeights(config, 31);
    const gw = new GgmlWeights(rt, config, w);
    const pol = new GgmlPolicy(gw);
    const cfg = AdamWConfigSchema.parse({ lr: 1e-2, weightDecay: 0.1, decayOn: "matrices" });
    const opt = new GgmlAdamW(pol, cfg);
    const b = batch(config.vocab_size, 12);
    const n = b.B * (b.T - 1);
    // float64 reference of two steps with the gradients ggml computes
    const ref = new Map([...w].map(([k, t]) => [k, { p: Float64Array.from(t.data), m: new Float64Array(t.data.length), v: new Float64Array(t.data.length), rank: t.shape.length }]));
    const scales = [0.5, 1];
    for (let step = 1; step <= 2; step++) {
      pol.zeroGrad();
      pol.accumulate(b, rand(n, 40 + step), rand(n, 50 + step));
      const g = pol.exportGrads();
      const s = scales[step - 1];
      opt.update(cfg.lr, s);
      for (const [k, r] of ref) {
        const wd = r.rank >= 2 ? cfg.weightDecay : 0;
        const gr = g.get(k)!.data;
        for (let i = 0; i < r.p.length; i++) {
          const gi = gr[i] * s;
          r.m[i] = cfg.beta1 * r.m[i] + (1 - cfg.beta1) * gi;
          r.v[i] = cfg.beta2 * r.v[i] + (1 - cfg.beta2) * gi * gi;
          const mh = r.m[i] / (1 - cfg.beta1 ** step), vh = r.v[i] / (1 - cfg.beta2 ** step);
          r.p[i] = r.p[i] * (1 - cfg.lr * wd) - (cfg.lr * mh) / (Math.sqrt(vh) + cfg.eps);
        }
      }
      gw.load(gw.export()); // (weights read back through the same tensors)
    }
    const after = gw.export();
    for (const [k, r] of ref) expect(maxRel(after.get(k)!.data, Float32Array.from(r.p)), k).toBeLessThan(1e-5);
    const state = opt.exportState();
    expect(state.get("step")!.data[0]).toBe(2);
    expect(maxRel(state.get("exp_avg.model.norm.weight")!.data, Float32Array.from(ref.get("model.norm.weight")!.m))).toBeLessThan(1e-5);
    const opt2 = new GgmlAdamW(pol, cfg);
    opt2.importState(state);
    expect(opt2.stepCount).toBe(2);
    expect(maxRel(opt2.exportState().get("exp_avg_sq.lm_head.weight")?.data ?? new Float32Array(), new Float32Array())).toBe(0); // tied: no lm_head
    expect(() => opt2.importState(new Map([["step", { shape: [1], data: new Float32Array([1]) }], ["exp_avg.layers.0.wqkv", { shape: [1], data: new Float32Array(1) }]]))).toThrow(/RESEARCH_ENGINE=ts/);
    opt.dispose();
    opt2.dispose();
    pol.dispose();
    gw.dispose();
  });
});
