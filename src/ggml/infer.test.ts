import { describe, expect, it } from "vitest";
import { InferenceModel } from "../model/infer.js";
import { tinyQwen2 } from "../model/testing.js";
import { GgmlInferenceModel } from "./infer.js";
import { openGgml } from "./lib.js";

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("ggml/infer", () => {
  const rt = openGgml({ device: "cpu" });
  const model = tinyQwen2({ seed: 3 });

  it("prefill + decode logits equal the TypeScript engine's (mixed batch, KV cache)", () => {
    const ref = new InferenceModel(model.config, model.weights);
    const gg = new GgmlInferenceModel(model.config, model.weights, rt);
    const prompts = [[1, 5, 9, 2, 7], [3, 4], [8, 8, 8, 1, 2, 3, 4]];
    const rc = prompts.map(() => ref.newCache(32));
    const gc = prompts.map(() => gg.newCache(32));
    // prefill all rows of the first, last rows of the others
    const r0 = ref.forward(prompts.map((p, i) => ({ cache: rc[i], tokens: p, logits: i === 0 ? ("all" as const) : ("last" as const) })));
    const g0 = gg.forward(prompts.map((p, i) => ({ cache: gc[i], tokens: p, logits: i === 0 ? ("all" as const) : ("last" as const) })));
    expect(g0.length).toBe((5 + 2) * model.config.vocab_size);
    expect(maxAbsDiff(g0, r0)).toBeLessThan(1e-4);
    // three decode steps, one item prefilling more tokens meanwhile
    for (let s = 0; s < 3; s++) {
      const items = (c: unknown[]) => [
        { cache: c[0], tokens: [s + 1] },
        { cache: c[1], tokens: [2, s + 3] },
        { cache: c[2], tokens: [s] },
      ];
      const r = ref.forward(items(rc) as never);
      const g = gg.forward(items(gc) as never);
      expect(maxAbsDiff(g, r)).toBeLessThan(1e-4);
    }
    expect(gc.map((c) => c.length)).toEqual([8, 8, 10]);
    gg.dispose();
  });
});
