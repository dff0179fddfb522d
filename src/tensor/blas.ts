/**
 * @module tensor/blas — routes tfjs-wasm `BatchMatMul` to OpenBLAS `cblas_sgemm` (Debian `libopenblas0-pthread`)
 * through the `koffi` FFI, on views of the same wasm heap memory (no copies). Matmuls are ~85% of a training step and
 * OpenBLAS runs them several times faster than the wasm kernel (see bench/model-train.bench.ts). When koffi or the
 * library is missing, or RESEARCH_BLAS=0, nothing changes and the wasm kernel stays.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { availableParallelism } from "node:os";
import { openOpenblas, type OpenblasLib } from "./openblas.js";

const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

type Sgemm = (
  order: number, transA: number, transB: number, M: number, N: number, K: number,
  alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
) => void;

let sgemm: Sgemm | undefined;

/** Load cblas_sgemm, or undefined when not available. */
export async function loadSgemm(): Promise<Sgemm | undefined> {
  const o = openOpenblas();
  if (!o) return undefined;
  setThreads(o.lib);
  return o.lib.func("void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int)") as Sgemm;
}

/**
 * OpenBLAS threads: RESEARCH_BLAS_THREADS, else OPENBLAS_NUM_THREADS when set, else 1 on machines with ≤ 2 cores
 * (the JS thread and other processes share them: measured faster than 2 there), else min(8, cores).
 */
function setThreads(lib: OpenblasLib): void {
  const env = process.env.RESEARCH_BLAS_THREADS ?? process.env.OPENBLAS_NUM_THREADS;
  const cores = availableParallelism();
  const n = env ? Math.max(1, Number.parseInt(env, 10) || 1) : cores <= 2 ? 1 : Math.min(8, cores);
  try {
    (lib.func("void openblas_set_num_threads(int)") as (n: number) => void)(n);
  } catch {
    // not OpenBLAS: keep its own default
  }
}

/** Replace the wasm BatchMatMul kernel with one calling sgemm. Returns "openblas" when installed. */
export async function installBlasMatMul(): Promise<string | undefined> {
  sgemm ??= await loadSgemm();
  if (!sgemm) return undefined;
  tf.unregisterKernel(tf.BatchMatMul, "wasm");
  tf.registerKernel({ kernelName: tf.BatchMatMul, backendName: "wasm", kernelFunc: blasBatchMatMul as unknown as tf.KernelFunc });
  return `openblas (${openOpenblas()?.core ?? "unknown"} kernels)`;
}

/** C[i] = op(A[i])·op(B[i]) for every batch index (a batch of 1 broadcasts), row-major, via sgemm. */
function blasBatchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { backend } = args;
  const { a, b } = args.inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  if (a.dtype !== "float32" || b.dtype !== "float32") throw new Error(`BatchMatMul: only float32 is supported, got ${a.dtype} and ${b.dtype}`);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const K2 = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== K2) throw new Error(`BatchMatMul: inner dimensions ${K} and ${K2} of shapes [${a.shape}] and [${b.shape}] differ`);
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1))
    throw new Error(`BatchMatMul: cannot broadcast batch shapes [${a.shape.slice(0, -2)}] and [${b.shape.slice(0, -2)}]`);
  const out = backend.makeOutput([...outer, M, N], "float32");
  // Views after makeOutput: allocating may grow (and so replace) the wasm heap buffer.
  const A = backend.typedArrayFromHeap(a) as Float32Array;
  const B = backend.typedArrayFromHeap(b) as Float32Array;
  const C = backend.typedArrayFromHeap(out) as Float32Array;
  if (M * N === 0) return out;
  if (K === 0) {
    C.fill(0);
    return out;
  }
  const lda = transposeA ? M : K;
  const ldb = transposeB ? K : N;
  const ta = transposeA ? CBLAS_TRANS : CBLAS_NO_TRANS;
  const tb = transposeB ? CBLAS_TRANS : CBLAS_NO_TRANS;
  for (let i = 0; i < batch; i++) {
    const ai = batchA === 1 ? 0 : i * M * K;
    const bi = batchB === 1 ? 0 : i * K * N;
    sgemm!(CBLAS_ROW_MAJOR, ta, tb, M, N, K, 1, A.subarray(ai, ai + M * K), lda, B.subarray(bi, bi + K * N), ldb, 0, C.subarray(i * M * N, (i + 1) * M * N), N);
  }
  return out;
}
