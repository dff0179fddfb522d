import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { loadModel } from "./load.js";
import { createEngine } from "./generate.js";
import { logSumExp } from "./sampling.js";
import { tinyQwen2 } from "./testing.js";
import { SHARED_DATA } from "../util/shared.js";

const STORIES = SHARED_DATA + "/models/stories260K";
const REF = readFileSync(`${STORIES}/reference_greedy_200steps.txt`, "utf8");
const req = (over: Partial<Parameters<ReturnType<typeof createEngine>["generate"]>[0][0]>) => ({
  prompt: "", maxTokens: 32, stop: [] as string[], temperature: 0, ...over,
});

describe("engine on stories260K (llama2.c)", async () => {
  const engine = createEngine(await loadModel(STORIES));

  test("greedy from BOS reproduces llama2.c's run.c -n 200 output character for character", async () => {
    // run.c -n 200 runs 200 forward steps from BOS, i.e. 200 new tokens.
    const [r] = await engine.generate([req({ maxTokens: 200 })]);
    expect(r.text).toBe(REF);
    expect(r.finishReason).toBe("length");
    const [r256] = await engine.generate([req({ maxTokens: 256 })]);
    expect(r256.text.startsWith(REF)).toBe(true);
  });

  test("KV-cached decoding gives the same logits as one full forward", async () => {
    const [r] = await engine.generate([req({ maxTokens: 20 })]);
    const ids = [1, ...r.tokenIds!];
    const V = engine.config.vocab_size;
    const all = engine.logits(ids); // (T, V)
    r.tokenIds!.forEach((id, t) => {
      const lp = all[t * V + id] - logSumExp(all, t * V, V);
      expect(r.logprobs![t]).toBeCloseTo(lp, 4);
    });
  });

  test("a batch of mixed prompts and lengths equals each request alone (greedy)", async () => {
    const reqs = [
      req({ prompt: "Once upon a time", maxTokens: 40 }),
      req({ prompt: "Tom had a dog", maxTokens: 7 }),
      req({ prompt: "", maxTokens: 25, stop: ["Lily"] }),
      req({ prompt: "The sun", maxTokens: 33, temperature: 0.8, seed: 5, topP: 0.9 }),
    ];
    const together = await createEngine(await loadModel(STORIES), { maxBatch: 3 }).generate(reqs);
    for (let i = 0; i < reqs.length; i++) {
      const [alone] = await engine.generate([reqs[i]]);
      expect(together[i].tokenIds).toEqual(alone.tokenIds);
      expect(together[i].text).toBe(alone.text);
      for (let t = 0; t < alone.logprobs!.length; t++) expect(together[i].logprobs![t]).toBeCloseTo(alone.logprobs![t], 4);
    }
    expect(together[1].tokenIds).toHaveLength(7);
  });

  test("stop strings end generation, are included in the text, and may span tokens", async () => {
    const [full] = await engine.generate([req({ maxTokens: 60 })]);
    // pick a stop string that straddles a token boundary
    const pieces = full.tokenIds!.map((_, i) => engine.tokenizer.decode([1, ...full.tokenIds!.slice(0, i + 1)]).length - 3);
    const cut = pieces[10]; // text end after token 11
    const stop = full.text.slice(cut - 2, cut + 2);
    expect(full.text.indexOf(stop)).toBe(cut - 2);
    const [r] = await engine.generate([req({ maxTokens: 60, stop: ["zzz", stop] })]);
    expect(r.finishReason).toBe("stop");
    expect(r.stopString).toBe(stop);
    expect(r.text).toBe(full.text.slice(0, cut + 2));
    expect(r.tokenIds!.length).toBeLessThan(full.tokenIds!.length);
  });

  test("seeded sampling is reproducible; different seeds differ; top-k 1 is greedy", async () => {
    const a = await engine.generate([req({ temperature: 1, seed: 7 }), req({ temperature: 1, seed: 8 })]);
    const b = await engine.generate([req({ temperature: 1, seed: 7 })]);
    expect(a[0].tokenIds).toEqual(b[0].tokenIds);
    expect(a[0].tokenIds).not.toEqual(a[1].tokenIds);
    const [g] = await engine.generate([req({})]);
    const [k1] = await engine.generate([req({ temperature: 1.3, topK: 1, seed: 3 })]);
    expect(k1.tokenIds).toEqual(g.tokenIds);
  });

  test("EOS ends a sequence with finishReason eos, its text kept at the end", async () => {
    const m = await loadModel(STORIES);
    const [g] = await engine.generate([req({ maxTokens: 30 })]);
    const eos = g.tokenIds![6]; // make the 7th greedy token an end token
    const first = g.tokenIds!.indexOf(eos);
    const e2 = createEngine({ ...m, config: { ...m.config, eos_token_id: [eos] } });
    const [r] = await e2.generate([req({ maxTokens: 30 })]);
    expect(r.finishReason).toBe("eos");
    expect(r.tokenIds).toEqual(g.tokenIds!.slice(0, first + 1));
    expect(r.text).toBe(m.tokenizer.decode([1, ...r.tokenIds!]).slice(3));
  });
});

describe("engine on a tiny Qwen2-style model", () => {
  test("generates ids, text and finite log-probs; setWeights changes the output", async () => {
    const m = tinyQwen2();
    const engine = createEngine(m);
    const [r] = await engine.generate([req({ prompt: "<|im_start|>user\nhi<|im_end|>\n", maxTokens: 12, temperature: 0 })]);
    expect(r.tokenIds!.length).toBeGreaterThan(0);
    expect(r.logprobs!.every((x) => Number.isFinite(x) && x <= 0)).toBe(true);
    const before = engine.logits([1, 2, 3]);
    engine.setWeights(tinyQwen2({ seed: 2 }).weights);
    const after = engine.logits([1, 2, 3]);
    expect(after).not.toEqual(before);
  });
});

describe("shared scheduler", () => {
  test("concurrent generate() calls share one batch and each gets its own results", async () => {
    const engine = createEngine(await loadModel(STORIES), { maxBatch: 4 });
    const a = engine.generate([req({ prompt: "Tom", maxTokens: 15 }), req({ prompt: "Sue", maxTokens: 5 })]);
    const b = engine.generate([req({ prompt: "The dog", maxTokens: 9 })]);
    const [ra, rb] = await Promise.all([a, b]);
    const [alone] = await engine.generate([req({ prompt: "The dog", maxTokens: 9 })]);
    expect(rb[0].tokenIds).toEqual(alone.tokenIds);
    expect(ra.map((r) => r.tokenIds!.length)).toEqual([15, 5]);
    await expect(engine.generate([req({ prompt: "x".repeat(2000) })])).rejects.toThrow(/does not fit the context/);
  });
});
