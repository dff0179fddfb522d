import { beforeAll, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initTensorBackend, type TensorBackendInfo } from "./backend.js";
import { matMulFast } from "./grads.js";
import { createRng } from "../util/rng.js";

let info: TensorBackendInfo;
beforeAll(async () => {
  info = await initTensorBackend({ quiet: true });
});

/** Plain float64 batched matmul with transposes and batch broadcasting. */
function naive(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): number[] {
  const A = a.dataSync(), B = b.dataSync();
  const [ba, ra, ca] = a.shape.length === 2 ? [1, ...a.shape] : a.shape;
  const [bb, rb, cb] = b.shape.length === 2 ? [1, ...b.shape] : b.shape;
  const M = tA ? ca : ra, K = tA ? ra : ca, N = tB ? rb : cb;
  const batch = Math.max(ba, bb);
  const out: number[] = [];
  for (let i = 0; i < batch; i++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = A[(ba === 1 ? 0 : i) * ra * ca + (tA ? k * ca + m : m * ca + k)];
          const bv = B[(bb === 1 ? 0 : i) * rb * cb + (tB ? n * cb + k : k * cb + n)];
          s += av * bv;
        }
        out.push(s);
      }
  return out;
}

const cases: Array<[number[], number[], boolean, boolean]> = [
  [[5, 3], [3, 4], false, false],
  [[3, 5], [3, 4], true, false],
  [[5, 3], [4, 3], false, true],
  [[3, 5], [4, 3], true, true],
  [[2, 5, 3], [2, 3, 4], false, false],
  [[2, 3, 5], [2, 4, 3], true, true],
  [[1, 5, 3], [3, 3, 4], false, false], // batch broadcast
];

test.each(cases)("matmul %j × %j (tA=%s, tB=%s) equals the naive product, on the active kernel", (sa, sb, tA, tB) => {
  const rng = createRng(sa.length * 10 + sb[0]);
  const a = tf.tensor(Array.from({ length: sa.reduce((x, y) => x * y) }, () => rng.normal()), sa);
  const b = tf.tensor(Array.from({ length: sb.reduce((x, y) => x * y) }, () => rng.normal()), sb);
  const want = naive(a, b, tA, tB);
  for (const got of [tf.matMul(a, b, tA, tB), matMulFast(a, b, tA, tB)]) {
    Array.from(got.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(want[i], 4));
    got.dispose();
  }
  tf.dispose([a, b]);
});

test("the start-up facts name the matmul kernel", () => {
  if (process.env.RESEARCH_TF_BACKEND) return; // a forced backend has no wasm kernels to report
  expect(info.name).toBe("wasm");
  expect(info.details.some((d) => d.startsWith("blas="))).toBe(true);
  if (process.env.RESEARCH_BLAS === "0") expect(info.details).toContain("blas=none (wasm matmul)");
});

test("OpenBLAS kernel choice from CPU flags: SkylakeX with AVX-512, Haswell with AVX2+FMA, else OpenBLAS's own", async () => {
  const { coreTypeForFlags, openOpenblas } = await import("./openblas.js");
  expect(coreTypeForFlags(new Set(["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]))).toBe("SkylakeX");
  expect(coreTypeForFlags(new Set(["sse3", "avx", "avx2", "fma", "avx512f"]))).toBe("Haswell"); // AVX-512 F alone: not SkylakeX's set
  expect(coreTypeForFlags(new Set(["sse3", "avx"]))).toBeUndefined();
  const o = openOpenblas();
  if (o && process.platform === "linux" && process.arch === "x64" && !process.env.RESEARCH_BLAS) {
    // what the library runs is what we asked for (or the user's own OPENBLAS_CORETYPE)
    expect(o.core.toLowerCase()).toBe(process.env.OPENBLAS_CORETYPE!.toLowerCase());
  }
});

test("reproducible kernels: Haswell on every AVX2+FMA machine, AVX-512 ones included; nothing pinned without AVX2", async () => {
  const { reproducibleCoreType } = await import("./openblas.js");
  expect(reproducibleCoreType(new Set(["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]))).toBe("Haswell");
  expect(reproducibleCoreType(new Set(["sse3", "avx", "avx2", "fma"]))).toBe("Haswell");
  expect(reproducibleCoreType(new Set(["sse3", "avx", "avx2"]))).toBeUndefined();
});

test("a large matmul on the chosen kernels equals the naive product", () => {
  const rng = createRng(5);
  const a = tf.tensor(Array.from({ length: 67 * 131 }, () => rng.normal()), [67, 131]);
  const b = tf.tensor(Array.from({ length: 131 * 45 }, () => rng.normal()), [131, 45]);
  const want = naive(a, b, false, false);
  const got = matMulFast(a, b, false, false).dataSync();
  let worst = 0;
  want.forEach((w, i) => (worst = Math.max(worst, Math.abs(w - got[i]))));
  expect(worst).toBeLessThan(1e-3);
  tf.dispose([a, b]);
});
