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

describe("attention paths", () => {
  test("BLAS attention equals the JS loops for prefill, chunked prefill and decode (GQA, head_dim 32)", async () => {
    const { InferenceModel } = await import("./infer.js");
    const { tinyQwen2 } = await import("./testing.js");
    const m = tinyQwen2({ seed: 9, hidden: 256, layers: 2, ffn: 320 }); // 8 heads of 32, 2 kv heads
    const run = (blasAttention: boolean) => {
      const net = new InferenceModel(m.config, m.weights);
      net.blasAttention = blasAttention;
      const a = net.newCache(32), b = net.newCache(32);
      const out = [
        net.forward([{ cache: a, tokens: [5, 6, 7, 8, 9, 10], logits: "all" }, { cache: b, tokens: [11, 12] }]),
        net.forward([{ cache: a, tokens: [13] }, { cache: b, tokens: [14, 15, 16], logits: "all" }]),
        net.forward([{ cache: a, tokens: [17] }, { cache: b, tokens: [18] }]),
      ];
      return out.flatMap((x) => Array.from(x));
    };
    const fast = run(true), slow = run(false);
    expect(fast.length).toBe(slow.length);
    for (let i = 0; i < fast.length; i++) expect(fast[i]).toBeCloseTo(slow[i], 4);
  });
});
