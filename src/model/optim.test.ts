import { beforeAll, describe, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initTensorBackend } from "../tensor/backend.js";
import { clipByGlobalNorm, computeGrads, createAdamW, globalNorm, type NamedTensors } from "./optim.js";

beforeAll(async () => {
  await initTensorBackend({ quiet: true });
});

/** AdamW written out by hand in float64, exactly as torch.optim.AdamW documents it. */
function handAdamW(p: number[], gs: number[][], lr: number, b1: number, b2: number, eps: number, wd: number) {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  p = p.slice();
  gs.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] -= lr * wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mh = m[i] / (1 - b1 ** t);
      const vh = v[i] / (1 - b2 ** t);
      p[i] -= (lr * mh) / (Math.sqrt(vh) + eps);
    }
  });
  return p;
}

describe("AdamW", () => {
  const gradSeq = [
    [0.5, -1.0, 2.0, 0.1],
    [0.3, 0.2, -1.5, 0.0],
    [-0.7, 0.4, 0.9, 1e-3],
  ];
  const start = [1.0, -2.0, 0.5, 3.0];

  test.each(["all", "matrices"] as const)("matches the hand-computed update (decay on %s)", (decayOn) => {
    const params = new Map<string, tf.Variable>([
      ["w", tf.variable(tf.tensor2d(start, [2, 2]))],
      ["b", tf.variable(tf.tensor1d(start))],
    ]);
    const cfg = { lr: 0.1, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.05, decayOn };
    const opt = createAdamW(params, cfg);
    for (const g of gradSeq) {
      const grads: NamedTensors = new Map<string, tf.Tensor>([
        ["w", tf.tensor2d(g, [2, 2])],
        ["b", tf.tensor1d(g)],
      ]);
      opt.update(grads);
      tf.dispose([...grads.values()]);
    }
    expect(opt.stepCount).toBe(3);
    const wantW = handAdamW(start, gradSeq, 0.1, 0.8, 0.95, 1e-6, 0.05);
    const wantB = handAdamW(start, gradSeq, 0.1, 0.8, 0.95, 1e-6, decayOn === "all" ? 0.05 : 0);
    Array.from(params.get("w")!.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(wantW[i], 5));
    Array.from(params.get("b")!.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(wantB[i], 5));
    opt.dispose();
    tf.dispose([...params.values()]);
  });

  test("state export/import resumes the exact trajectory", () => {
    const mk = () => new Map([["w", tf.variable(tf.tensor1d(start))]]);
    const [pa, pb] = [mk(), mk()];
    const a = createAdamW(pa, { lr: 0.05 });
    const step = (opt: ReturnType<typeof createAdamW>, g: number[]) => {
      const grads = new Map([["w", tf.tensor1d(g)]]);
      opt.update(grads);
      tf.dispose([...grads.values()]);
    };
    step(a, gradSeq[0]);
    step(a, gradSeq[1]);
    const state = a.exportState();
    expect([...state.keys()].sort()).toEqual(["exp_avg.w", "exp_avg_sq.w", "step"]);
    pb.get("w")!.assign(pa.get("w")!);
    const b = createAdamW(pb, { lr: 0.05 });
    b.importState(state);
    expect(b.stepCount).toBe(2);
    step(a, gradSeq[2]);
    step(b, gradSeq[2]);
    expect(Array.from(pb.get("w")!.dataSync())).toEqual(Array.from(pa.get("w")!.dataSync()));
    expect(() => b.importState(new Map([["step", { shape: [1], data: new Float32Array([1]) }], ["exp_avg.nope", { shape: [1], data: new Float32Array(1) }]]))).toThrow(
      /exp_avg.nope names no parameter/,
    );
    tf.dispose([...pa.values(), ...pb.values()]);
    a.dispose();
    b.dispose();
  });
});

test("clipByGlobalNorm scales to the max norm, like torch clip_grad_norm_", () => {
  const grads: NamedTensors = new Map([
    ["a", tf.tensor1d([3, 0])],
    ["b", tf.tensor1d([0, 4])],
  ]);
  expect(globalNorm(grads)).toBeCloseTo(5, 6);
  const { grads: c, norm } = clipByGlobalNorm(grads, 1);
  expect(norm).toBeCloseTo(5, 6);
  expect(globalNorm(c)).toBeCloseTo(1, 5);
  expect(Array.from(c.get("a")!.dataSync())[0]).toBeCloseTo(0.6, 5);
  const { grads: same } = clipByGlobalNorm(c, 10);
  expect(same).toBe(c); // under the limit: untouched
  tf.dispose([...c.values()]);
});

test("computeGrads accumulates micro-batches to the full-batch gradient and flags NaN", () => {
  const params = new Map([["w", tf.variable(tf.tensor1d([1, 2, 3]))]]);
  const w = params.get("w")!;
  const x = [tf.tensor1d([1, 0, 2]), tf.tensor1d([0, 3, 1])];
  const full = computeGrads(params, [() => w.mul(tf.addN(x)).square().sum().div(2) as tf.Scalar]);
  const parts = computeGrads(params, [() => w.mul(x[0]).sum() as tf.Scalar, () => w.mul(x[1]).sum() as tf.Scalar]);
  // d/dw Σ w·x_k = Σ x_k
  expect(Array.from(parts.grads.get("w")!.dataSync())).toEqual([1, 3, 3]);
  expect(parts.loss).toBeCloseTo(7 + 9, 5);
  expect(parts.finite).toBe(true);
  expect(full.finite).toBe(true);
  const bad = computeGrads(params, [() => w.mul(Number.NaN).sum() as tf.Scalar]);
  expect(bad.finite).toBe(false);
  tf.dispose([...full.grads.values(), ...parts.grads.values(), ...bad.grads.values(), ...x, w]);
});
