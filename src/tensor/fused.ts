/**
 * @module tensor/fused — RMSNorm and rotate-half RoPE as single ops with hand-written gradients. On wasm each runs as
 * one JS pass over heap views (forward and backward), replacing ~8 forward and ~16 backward elementwise tfjs kernels;
 * elsewhere (tfjs-node) the same math runs as plain tfjs ops. Both paths are tested against each other.
 *
 * RMSNorm (Zhang & Sennrich 2019): y = x·r·w, r = 1/√(mean(x²) + ε)
 *   dx = r·(dy·w) − x·r³·mean(dy·w·x)      dw = Σ_rows dy·x·r
 * RoPE (Su et al. 2021, Hugging Face rotate-half layout): y = x·cos + rot(x)·sin, rot([x1, x2]) = [−x2, x1]
 *   dx = dy·cos + rotᵀ(dy·sin), rotᵀ([z1, z2]) = [z2, −z1]
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

type Args = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };
const RMS_FWD = "ResearchRmsNorm";
const RMS_BWD = "ResearchRmsNormGrad";
const ROPE = "ResearchRope";

let useFused = true;
/** Turn the fused JS kernels off (tests compare both paths). */
export function setFusedKernels(on: boolean): void {
  useFused = on;
}
const fusedAvailable = (name: string) => useFused && tf.getKernel(name, tf.getBackend()) !== undefined;
const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}) =>
  tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap);

/** RMSNorm over the last axis. x (N, D), w (D). */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (!fusedAvailable(RMS_FWD)) {
    const ms = x.square().mean(-1, true); // (N, 1)
    return x.mul(ms.add(eps).rsqrt()).mul(w);
  }
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, ww] = args as [tf.Tensor2D, tf.Tensor1D];
    const save = args[2] as tf.GradSaveFunc;
    const [y, r] = run(RMS_FWD, { x: xx, w: ww }, { eps }) as tf.Tensor[]; // (N, D), (N)
    save([xx, ww, r]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(RMS_BWD, { dy, x: saved[0], w: saved[1], r: saved[2] }) as tf.Tensor[],
    };
  });
  return op(x, w) as tf.Tensor2D;
}

/** Rotate-half RoPE. x (B, h, T, hd); cos, sin (B, 1, T, hd/2). */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  if (!fusedAvailable(ROPE)) {
    const [x1, x2] = tf.split(x, 2, 3); // (B, h, T, hd/2) each
    return tf.concat([x1.mul(cos).sub(x2.mul(sin)), x2.mul(cos).add(x1.mul(sin))], 3) as tf.Tensor4D;
  }
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xx = args[0] as tf.Tensor4D;
    (args[1] as tf.GradSaveFunc)([cos, sin]); // kept for the backward pass (the caller's tidy disposes them)
    return {
      value: run(ROPE, { x: xx, cos, sin }, { inverse: false }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(ROPE, { x: dy, cos: saved[0], sin: saved[1] }, { inverse: true }) as tf.Tensor,
    };
  });
  return op(x) as tf.Tensor4D;
}

// ---- wasm kernels (JS over heap views) -------------------------------------------------------------------------

function rmsForward({ inputs, backend, attrs }: Args): tf.TensorInfo[] {
  const { x, w } = inputs as unknown as Record<"x" | "w", tf.TensorInfo>;
  const eps = attrs.eps as number;
  const [N, D] = x.shape;
  const yInfo = backend.makeOutput([N, D], "float32");
  const rInfo = backend.makeOutput([N], "float32");
  const [X, W, Y, R] = [x, w, yInfo, rInfo].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
  for (let n = 0; n < N; n++) {
    const o = n * D;
    let ss = 0;
    for (let d = 0; d < D; d++) ss += X[o + d] * X[o + d];
    const r = 1 / Math.sqrt(ss / D + eps);
    R[n] = r;
    for (let d = 0; d < D; d++) Y[o + d] = X[o + d] * r * W[d];
  }
  return [yInfo, rInfo];
}

function rmsBackward({ inputs, backend }: Args): tf.TensorInfo[] {
  const { dy, x, w, r } = inputs as unknown as Record<"dy" | "x" | "w" | "r", tf.TensorInfo>;
  const [N, D] = x.shape;
  const dxInfo = backend.makeOutput([N, D], "float32");
  const dwInfo = backend.makeOutput([D], "float32");
  const [DY, X, W, R, DX, DW] = [dy, x, w, r, dxInfo, dwInfo].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
  const dw = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    const o = n * D;
    const rn = R[n];
    let dot = 0; // Σ dy·w·x
    for (let d = 0; d < D; d++) {
      dot += DY[o + d] * W[d] * X[o + d];
      dw[d] += DY[o + d] * X[o + d] * rn;
    }
    const c = (rn * rn * rn * dot) / D;
    for (let d = 0; d < D; d++) DX[o + d] = rn * DY[o + d] * W[d] - X[o + d] * c;
  }
  DW.set(dw);
  return [dxInfo, dwInfo];
}

function rope({ inputs, backend, attrs }: Args): tf.TensorInfo {
  const { x, cos, sin } = inputs as unknown as Record<"x" | "cos" | "sin", tf.TensorInfo>;
  const inverse = attrs.inverse as boolean;
  const [B, h, T, hd] = x.shape;
  const half = hd / 2;
  const out = backend.makeOutput(x.shape, "float32");
  const [X, C, S, Y] = [x, cos, sin, out].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
  const sgn = inverse ? -1 : 1; // the transpose of a rotation is the rotation by −θ
  for (let b = 0; b < B; b++)
    for (let k = 0; k < h; k++)
      for (let t = 0; t < T; t++) {
        const o = ((b * h + k) * T + t) * hd;
        const c0 = (b * T + t) * half;
        for (let i = 0; i < half; i++) {
          const c = C[c0 + i];
          const s = sgn * S[c0 + i];
          const x1 = X[o + i];
          const x2 = X[o + i + half];
          Y[o + i] = x1 * c - x2 * s;
          Y[o + i + half] = x2 * c + x1 * s;
        }
      }
  return out;
}

let installed = false;
/** Register the fused kernels on the wasm backend (idempotent). */
export function installFusedKernels(): void {
  if (installed) return;
  installed = true;
  const reg = (kernelName: string, fn: (a: Args) => tf.TensorInfo | tf.TensorInfo[]) =>
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: fn as unknown as tf.KernelFunc });
  reg(RMS_FWD, rmsForward);
  reg(RMS_BWD, rmsBackward);
  reg(ROPE, rope);
}
