import { beforeAll, describe, expect, test } from "vitest";
import { loadModel } from "../../model/load.js";
import type { LoadedModel } from "../../model/generate.js";
import { runRollouts, type RolloutExample } from "../loop.js";
import { createNativeBackend } from "./native.js";
import { formatResearchResult, type PromptTemplate } from "../prompts.js";
import type { Retriever } from "../../retrieval/types.js";
import { SHARED_DATA } from "../../util/shared.js";

// A real tiny checkpoint (llama2.c stories260K, shared data). It writes stories, not tags, so the test template
// pauses at every "." as if it were `</search>`: rollouts then stop for "search" at different rounds.
const MODEL = SHARED_DATA + "/models/stories260K/stories260K.bin";
const sentences: PromptTemplate = {
  name: "research",
  chat: false,
  stop: ["."],
  openTag: "\u0000", // never present: the query is the whole sentence
  messages: (q) => [{ role: "user", content: q }],
  completion: (q) => q,
  formatResult: formatResearchResult,
};
const retriever: Retriever & { calls: number[] } = {
  calls: [],
  async search(queries) {
    this.calls.push(queries.length);
    return queries.map((q) => [{ id: "d", contents: `"Note"\nThe ${q.split(" ").length % 2 ? "cat" : "dog"} was happy`, score: 1 }]);
  },
};
const examples: RolloutExample[] = ["Once upon a time", "Lily", "The dog", "Tom had a ball", "One day", "The sun"].map((q, i) => ({
  id: `s${i}`,
  question: q,
}));

let model: LoadedModel;
beforeAll(async () => {
  model = await loadModel(MODEL);
});

describe("native backend (stories260K)", () => {
  test.each(["async", "rounds"] as const)("a batch that stops for search at different rounds equals the same rollouts run one at a time (greedy, %s)", async (schedule) => {
    const common = { retriever, examples, template: sentences, temperature: 0, maxResponseTokens: 90, maxSearches: 4, schedule };
    retriever.calls = [];
    const batched = await runRollouts({ ...common, backend: createNativeBackend({ model, maxBatch: 4 }), batchSize: 6 });
    expect(Math.max(...retriever.calls)).toBeGreaterThan(1); // queries of one round went in one call
    const single = await runRollouts({ ...common, backend: createNativeBackend({ model, maxBatch: 1 }), batchSize: 1 });
    expect(batched.map((t) => t.response)).toEqual(single.map((t) => t.response));
    expect(batched.map((t) => t.responseIds)).toEqual(single.map((t) => t.responseIds));
    // they really paused at different rounds, and every one finished
    expect(new Set(batched.map((t) => `${t.searches}:${t.finishReason}`)).size).toBeGreaterThan(1);
    expect(batched.every((t) => ["length", "max_searches", "eos"].includes(t.finishReason))).toBe(true);
    const tok = model.tokenizer;
    for (const t of batched) {
      expect(t.responseIds!.length).toBe(t.lossMask!.length);
      expect(t.responseIds!.length).toBeLessThanOrEqual(90);
      let at = 0;
      for (const seg of t.segments) {
        const n = seg.tokenIds!.length;
        expect(t.lossMask!.slice(at, at + n).every((m) => m === (seg.trained ? 1 : 0))).toBe(true);
        expect(t.responseIds!.slice(at, at + n)).toEqual(seg.tokenIds);
        if (seg.author === "policy") expect(seg.logprobs).toHaveLength(n);
        else if (n === tok.encode(seg.text).length) expect(seg.tokenIds).toEqual(tok.encode(seg.text)); // tokenized once
        at += n;
      }
      expect(t.segments.filter((s) => s.author === "tool").length).toBe(t.searches);
    }
  });

  test("rounds schedule: sampled rollouts (temperature 1) are reproduced exactly by a seed", async () => {
    const backend = createNativeBackend({ model, maxBatch: 3 });
    const opts = { backend, retriever, examples, n: 2, template: sentences, temperature: 1, topP: 0.95, maxResponseTokens: 60, seed: 11, batchSize: 12 };
    const a = await runRollouts(opts);
    const b = await runRollouts(opts);
    expect(a.map((t) => t.responseIds)).toEqual(b.map((t) => t.responseIds));
    expect(a.map((t) => t.segments.flatMap((s) => s.logprobs ?? []))).toEqual(b.map((t) => t.segments.flatMap((s) => s.logprobs ?? [])));
    const c = await runRollouts({ ...opts, seed: 12 });
    expect(c.map((t) => t.response)).not.toEqual(a.map((t) => t.response));
  });

  test("greedy log-probs are the engine's, and a policy segment's text is its ids' decoding", async () => {
    const backend = createNativeBackend({ model });
    const [t] = await runRollouts({ backend, retriever, examples: examples.slice(0, 1), template: sentences, temperature: 0, maxResponseTokens: 30 });
    const p = t.segments[0];
    expect(p.logprobs!.every((x) => x <= 0 && Number.isFinite(x))).toBe(true);
    expect(p.text.endsWith(".")).toBe(true);
    expect(t.prompt + t.segments[0].text).toBe("Once upon a time, there was a little girl named Lily.");
  });
});

describe("native backend: concurrent callers", () => {
  test("concurrent callers get the same greedy results as one at a time; a rejected request fails alone", async () => {
    const backend = createNativeBackend({ model, maxBatch: 8 });
    const req = (p: string) => ({ prompt: p, maxTokens: 12, stop: ["."], temperature: 0 });
    const prompts = ["Once upon a time", "Lily", "The dog", "Tom had a ball"];
    const together = await Promise.all(prompts.map((p) => backend.generate([req(p)])));
    const alone = [];
    for (const p of prompts) alone.push(await backend.generate([req(p)]));
    expect(together.map((r) => r[0].text)).toEqual(alone.map((r) => r[0].text));
    const bad = { ...req("x"), maxTokens: -1 };
    const [ok, err] = await Promise.allSettled([backend.generate([req("Lily")]), backend.generate([bad])]);
    expect(ok.status).toBe("fulfilled");
    expect(err.status).toBe("rejected");
  });
});
