/**
 * @module tensor/grads — gradient rules and kernels that make training fast (or possible) on the wasm backend.
 *
 * Gradient table (op → function of the output gradient dy):
 *   BatchMatMul  C = A·B   dA = dy·transpose(B)   dB = transpose(A)·dy   (explicit transposes: wasm's transposed
 *                matmul runs ~10× slower than transpose + plain matmul; when a BLAS kernel is active the
 *                transposes are folded into sgemm instead).
 * Kernels added to wasm:
 *   UnsortedSegmentSum  missing on wasm, needed by the gradient of `gather` (embedding lookups).
 *   Slice, SplitV, GatherV2  faster JS versions (tensor/kernels.ts).
 *   ResearchAdamW  the fused AdamW update (tensor/adamw-kernel.ts).
 *   ResearchRmsNorm(Grad), ResearchRope  fused RMSNorm and RoPE, forward and backward (tensor/fused.ts).
 *   ResearchTokenLogprobs(Grad)  fused log-softmax → target log-prob and entropy (model/trainable-logprobs.ts).
 *   BatchMatMul  OpenBLAS sgemm when available (tensor/blas.ts).
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { installBlasMatMul } from "./blas.js";
import { installDataKernels } from "./kernels.js";
import { installAdamWKernel } from "./adamw-kernel.js";
import { installFusedKernels } from "./fused.js";
import { installLogprobKernels } from "../model/trainable-logprobs.js";

/** True when the active BatchMatMul kernel handles transpose flags at full speed (BLAS), so grads keep them. */
let transposeIsFree = false;

const lastTwo = (x: tf.Tensor): number[] => {
  const r = x.rank;
  return [...Array(r - 2).keys(), r - 1, r - 2];
};
/** Swap the last two axes. */
export const swapLast = (x: tf.Tensor): tf.Tensor => tf.transpose(x, lastTwo(x));

/** matMul(a, b, tA, tB) that turns transpose flags into explicit transposes unless the kernel does them for free. */
export function matMulFast(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (transposeIsFree) return tf.matMul(a, b, transposeA, transposeB);
  return tf.matMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b);
}

/** Native TensorFlow (tfjs-node) runs transposed matmuls at full speed too. */
export function setTransposeIsFree(free: boolean): void {
  transposeIsFree = free;
}

let gradsInstalled = false;
/** Re-register the BatchMatMul gradient with matMulFast. Idempotent. */
export function installCustomGradients(): void {
  if (gradsInstalled) return;
  gradsInstalled = true;
  tf.registerGradient({
    kernelName: tf.BatchMatMul,
    inputsToSave: ["a", "b"],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const g = dy as tf.Tensor;
      const [a, b] = saved;
      const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
      if (!transposeA && !transposeB) return { a: () => matMulFast(g, b, false, true), b: () => matMulFast(a, g, true, false) };
      if (!transposeA && transposeB) return { a: () => matMulFast(g, b), b: () => matMulFast(g, a, true, false) };
      if (transposeA && !transposeB) return { a: () => matMulFast(b, g, false, true), b: () => matMulFast(a, g) };
      return { a: () => matMulFast(b, g, true, true), b: () => matMulFast(g, a, true, true) };
    },
  });
}

let kernelsInstalled: string[] | undefined;
/** Add the kernels wasm lacks, and route matmuls to BLAS when available. Returns facts for the start-up line. */
export async function installWasmKernels(): Promise<string[]> {
  if (kernelsInstalled) return kernelsInstalled;
  if (!tf.getKernel(tf.UnsortedSegmentSum, "wasm")) {
    tf.registerKernel({ kernelName: tf.UnsortedSegmentSum, backendName: "wasm", kernelFunc: unsortedSegmentSumWasm });
  }
  if (process.env.RESEARCH_JS_KERNELS !== "0") {
    installDataKernels();
    installAdamWKernel();
    installFusedKernels();
    installLogprobKernels();
  }
  const blas = await installBlasMatMul();
  transposeIsFree = blas !== undefined;
  kernelsInstalled = [blas ? `blas=${blas}` : "blas=none (wasm matmul)"];
  return kernelsInstalled;
}

/** out[segmentIds[i], …] += x[i, …]; rows with an id outside [0, numSegments) are dropped (as in TensorFlow). */
function unsortedSegmentSumWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, segmentIds } = args.inputs as unknown as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const ids = backend.readSync(segmentIds.dataId) as Int32Array;
  const inner = tf.util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype);
  const src = backend.typedArrayFromHeap(x) as Float32Array; // read views only after makeOutput (heap may grow)
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  dst.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const p = i * inner;
    for (let j = 0; j < inner; j++) dst[o + j] += src[p + j];
  }
  return out;
}
