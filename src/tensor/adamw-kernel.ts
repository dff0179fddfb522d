/**
 * @module tensor/adamw-kernel — the AdamW update of one parameter as a single fused pass (JS over wasm heap views):
 * one kernel instead of ~12 elementwise tfjs ops and their memory passes. Used by model/optim.ts when registered.
 *   m' = β1·m + (1−β1)·g      v' = β2·v + (1−β2)·g²
 *   p' = p·(1 − lr·λ) − (lr / bc1) · m' / (√v' / √bc2 + ε)
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

export const ADAMW_KERNEL = "ResearchAdamW";

export interface AdamWKernelAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  decay: number;
  bc1: number;
  bc2: number;
}

function adamwWasm(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap }): tf.TensorInfo[] {
  const { backend } = args;
  const { p, g, m, v } = args.inputs as unknown as Record<"p" | "g" | "m" | "v", tf.TensorInfo>;
  const { lr, beta1, beta2, eps, decay, bc1, bc2 } = args.attrs as unknown as AdamWKernelAttrs;
  const outs = [backend.makeOutput(p.shape, "float32"), backend.makeOutput(p.shape, "float32"), backend.makeOutput(p.shape, "float32")];
  const [P, G, M, V] = [p, g, m, v].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
  const [P2, M2, V2] = outs.map((t) => backend.typedArrayFromHeap(t) as Float32Array);
  const keep = 1 - lr * decay;
  const step = lr / bc1;
  const rb2 = 1 / Math.sqrt(bc2);
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  for (let i = 0; i < P.length; i++) {
    const gi = G[i];
    const mi = beta1 * M[i] + c1 * gi;
    const vi = beta2 * V[i] + c2 * gi * gi;
    M2[i] = mi;
    V2[i] = vi;
    P2[i] = P[i] * keep - (step * mi) / (Math.sqrt(vi) * rb2 + eps);
  }
  return outs;
}

let installed = false;
export function installAdamWKernel(): void {
  if (installed || tf.getKernel(ADAMW_KERNEL, "wasm")) return;
  installed = true;
  tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName: "wasm", kernelFunc: adamwWasm as unknown as tf.KernelFunc });
}

/** [p', m', v'] from the fused kernel when the active backend has it, else undefined. */
export function fusedAdamW(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamWKernelAttrs): tf.Tensor[] | undefined {
  if (!tf.getKernel(ADAMW_KERNEL, tf.getBackend())) return undefined;
  return tf.engine().runKernel(ADAMW_KERNEL, { p, g, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}
