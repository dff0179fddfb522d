import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadModel } from "../../model/load.js";
import { exportGguf } from "../../model/gguf.js";
import type { LoadedModel } from "../../model/generate.js";
import { runRollouts } from "../loop.js";
import { createNativeBackend } from "./native.js";
import { createLlamaCppBackend, type LlamaCppBackend } from "./llamacpp.js";
import { formatResearchResult, type PromptTemplate } from "../prompts.js";
import type { Retriever } from "../../retrieval/types.js";
import { SHARED_DATA } from "../../util/shared.js";

// stories260K (llama2.c, shared data) exported to GGUF by the model engine's exporter, run by llama.cpp on the CPU,
// and checked against the native engine on the same rollouts. The template pauses at "." (the model writes stories).
const MODEL = SHARED_DATA + "/models/stories260K/stories260K.bin";
const sentences: PromptTemplate = {
  name: "research", chat: false, stop: ["."], openTag: "\u0000",
  messages: (q) => [{ role: "user", content: q }], completion: (q) => q, formatResult: formatResearchResult,
};
const retriever: Retriever = {
  search: async (qs) => qs.map((q) => [{ id: "d", contents: `"Note"\nThe ${q.length % 2 ? "cat" : "dog"} was happy`, score: 1 }]),
};
const examples = ["Once upon a time", "Lily", "The dog", "Tom had a ball"].map((q, i) => ({ id: `s${i}`, question: q }));

let dir: string;
let model: LoadedModel;
let backend: LlamaCppBackend;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rollout-gguf-"));
  model = await loadModel(MODEL);
  exportGguf(join(dir, "stories260K.gguf"), model);
  // one thread: llama.cpp's spin-waiting threads crawl on a shared, loaded CPU
  backend = await createLlamaCppBackend({ modelPath: join(dir, "stories260K.gguf"), gpu: false, sequences: 3, contextSize: 256, threads: 1 });
});
afterAll(async () => {
  await backend?.close?.();
  rmSync(dir, { recursive: true, force: true });
});

describe("llama.cpp backend (GGUF exported by the model engine)", () => {
  test("greedy rollouts with searches equal the native engine's: text, ids, mask; log-probs close", async () => {
    const common = { retriever, examples, template: sentences, temperature: 0, maxResponseTokens: 70, maxSearches: 3 };
    const viaLlama = await runRollouts({ ...common, backend });
    const viaNative = await runRollouts({ ...common, backend: createNativeBackend({ model }) });
    expect(viaLlama.map((t) => t.response)).toEqual(viaNative.map((t) => t.response));
    expect(viaLlama.map((t) => t.responseIds)).toEqual(viaNative.map((t) => t.responseIds));
    expect(viaLlama.map((t) => t.lossMask)).toEqual(viaNative.map((t) => t.lossMask));
    expect(viaLlama.map((t) => t.promptIds)).toEqual(viaNative.map((t) => t.promptIds));
    expect(viaLlama.some((t) => t.searches > 1)).toBe(true);
    for (let i = 0; i < viaLlama.length; i++) {
      const a = viaLlama[i].segments.filter((s) => s.author === "policy").flatMap((s) => s.logprobs!);
      const b = viaNative[i].segments.filter((s) => s.author === "policy").flatMap((s) => s.logprobs!);
      expect(a.length).toBe(b.length);
      for (let j = 0; j < a.length; j++) expect(Math.abs(a[j] - b[j])).toBeLessThan(0.02);
    }
  });

  test("tokenizer from the GGUF vocabulary; EOS text", () => {
    expect(backend.tokenizer.encode("Once upon a time", { addBos: true })).toEqual(model.tokenizer.encode("Once upon a time", { addBos: true }));
    expect(backend.eosText).toBe(model.tokenizer.eosText);
  });
});
