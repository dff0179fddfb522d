import { afterEach, beforeAll, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initTensorBackend } from "./backend.js";
import { applyRope, rmsNorm, setFusedKernels } from "./fused.js";

beforeAll(async () => {
  await initTensorBackend({ quiet: true });
});
afterEach(() => setFusedKernels(true));

/** Value and gradients (w.r.t. every input) of Σ f(inputs)·probe, with the fused kernels on or off. */
function valueAndGrads(fused: boolean, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], probe: tf.Tensor) {
  setFusedKernels(fused);
  const y = f(...inputs);
  const grads = tf.grads((...xs: tf.Tensor[]) => f(...xs).mul(probe).sum())(inputs);
  return { y: Array.from(y.dataSync()), grads: grads.map((g) => Array.from(g.dataSync())) };
}

const close = (a: number[], b: number[]) => {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(x).toBeCloseTo(b[i], 4));
};

test("fused RMSNorm equals the tfjs-ops version, forward and backward", () => {
  const x = tf.randomNormal([6, 10], 0, 1, "float32", 1);
  const w = tf.randomNormal([10], 1, 0.3, "float32", 2);
  const probe = tf.randomNormal([6, 10], 0, 1, "float32", 3);
  const f = (a: tf.Tensor, b: tf.Tensor) => rmsNorm(a as tf.Tensor2D, b as tf.Tensor1D, 1e-5);
  const on = valueAndGrads(true, f, [x, w], probe);
  const off = valueAndGrads(false, f, [x, w], probe);
  close(on.y, off.y);
  close(on.grads[0], off.grads[0]);
  close(on.grads[1], off.grads[1]);
});

test("fused RoPE equals the tfjs-ops version, forward and backward", () => {
  const [B, h, T, hd] = [2, 3, 5, 8];
  const x = tf.randomNormal([B, h, T, hd], 0, 1, "float32", 4);
  const ang = tf.randomUniform([B, 1, T, hd / 2], 0, 6, "float32", 5);
  const [cos, sin] = [tf.cos(ang), tf.sin(ang)] as tf.Tensor4D[];
  const probe = tf.randomNormal([B, h, T, hd], 0, 1, "float32", 6);
  const f = (a: tf.Tensor) => applyRope(a as tf.Tensor4D, cos, sin);
  const on = valueAndGrads(true, f, [x], probe);
  const off = valueAndGrads(false, f, [x], probe);
  close(on.y, off.y);
  close(on.grads[0], off.grads[0]);
});

test("fused token log-probs and entropy equal the tfjs-ops version, forward and backward", async () => {
  const { tokenLogprobsAndEntropy, setFusedLogprobs } = await import("../model/trainable-logprobs.js");
  const z = tf.randomNormal([7, 11], 0, 2, "float32", 8);
  const targets = Int32Array.from([0, 10, 3, 3, 5, 9, 1]);
  const probe = tf.randomNormal([7, 2], 0, 1, "float32", 9);
  const f = (a: tf.Tensor) => tf.stack(tokenLogprobsAndEntropy(a as tf.Tensor2D, targets), 1);
  const run = (on: boolean) => {
    setFusedLogprobs(on);
    const r = valueAndGrads(true, f, [z], probe);
    setFusedLogprobs(true);
    return r;
  };
  const on = run(true);
  const off = run(false);
  close(on.y, off.y);
  close(on.grads[0], off.grads[0]);
  expect(() => tokenLogprobsAndEntropy(z as tf.Tensor2D, Int32Array.from([0, 1, 2, 3, 4, 5, 11]))).toThrow(/target 11 at row 6 outside \[0, 11\)/);
});
