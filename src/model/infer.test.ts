import { describe, expect, test } from "vitest";
import { matmulT, matmulTLoop, matmulBackend } from "./infer.js";
import { createRng } from "../util/rng.js";

describe("matmul kernels", () => {
  test.each([[1, 7, 5], [3, 64, 33], [4, 16, 8], [9, 130, 70]])("N=%i I=%i O=%i: fast path (%s) equals the JS loop and the naive sum", (N, I, O) => {
    const rng = createRng(N * 1000 + I);
    const x = Float32Array.from({ length: N * I }, () => rng.normal());
    const w = Float32Array.from({ length: O * I }, () => rng.normal());
    const b = Float32Array.from({ length: O }, () => rng.normal());
    const y1 = new Float32Array(N * O), y2 = new Float32Array(N * O);
    matmulT(y1, x, w, b, N, I, O);
    matmulTLoop(y2, x, w, b, N, I, O);
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++) {
        let s = b[o];
        for (let i = 0; i < I; i++) s += x[n * I + i] * w[o * I + i];
        expect(y1[n * O + o]).toBeCloseTo(s, 3);
        expect(y2[n * O + o]).toBeCloseTo(s, 3);
      }
    expect(["openblas", "js"]).toContain(matmulBackend);
  });
});
