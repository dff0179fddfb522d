/** Cross-check against an independent implementation: our GGUF export run by llama.cpp (node-llama-cpp, CPU). */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type Token } from "node-llama-cpp";
import { loadModel } from "./load.js";
import { createEngine, type LoadedModel } from "./generate.js";
import { exportGguf, readGgufHeader } from "./gguf.js";
import { tinyQwen2 } from "./testing.js";
import { SHARED_DATA } from "../util/shared.js";

let llama: Llama;
const dir = mkdtempSync(join(tmpdir(), "gguf-test-"));
beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
}, 120_000);
afterAll(async () => {
  await llama?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** llama.cpp's logits (T, V) and greedy next tokens for every position of `ids` (F32 KV cache, no flash attention). */
async function llamaCppLogits(path: string, ids: number[], V: number, texts: string[]): Promise<{ logits: Float32Array; next: number[]; tokenized: number[][] }> {
  const model = await llama.loadModel({ modelPath: path });
  const ctx = await model.createContext({
    threads: 1, contextSize: 256, batchSize: 256, flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
  });
  const out = await ctx.getSequence().controlledEvaluate(ids.map((t) => [t as Token, { generateNext: { logits: true, token: true } }]));
  const logits = new Float32Array(ids.length * V);
  const next: number[] = [];
  out.forEach((o, i) => {
    for (const [tok, v] of o!.next.logits!) logits[i * V + tok] = v;
    next.push(o!.next.token!);
  });
  const tokenized = texts.map((s) => model.tokenize(s, true).map(Number));
  await ctx.dispose();
  await model.dispose();
  return { logits, next, tokenized };
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

async function crossCheck(m: LoadedModel, file: string, prompt: number[], steps: number, texts: string[]) {
  exportGguf(file, m);
  const engine = createEngine(m);
  const [r] = await engine.generate([{ prompt: "", promptIds: prompt, maxTokens: steps, stop: [], temperature: 0 }]);
  const ids = [...prompt, ...r.tokenIds!];
  const ref = await llamaCppLogits(file, ids, m.config.vocab_size, texts);
  return { engine, r, ids, ref };
}

describe("GGUF export cross-checked with llama.cpp", () => {
  test("stories260K (arch llama, llama2.c vocab): same greedy tokens, logits within 1e-3, same tokenization", async () => {
    const m = await loadModel(SHARED_DATA + "/models/stories260K");
    const text = "Once upon a time, Lily's mom said \"hi\".";
    const { engine, r, ids, ref } = await crossCheck(m, join(dir, "stories.gguf"), [1], 60, [text]);
    expect(ref.next.slice(0, r.tokenIds!.length)).toEqual(r.tokenIds);
    expect(maxAbsDiff(engine.logits(ids), ref.logits)).toBeLessThan(1e-3);
    expect(ref.tokenized[0]).toEqual(m.tokenizer.encode(text));
    const h = readGgufHeader(join(dir, "stories.gguf"));
    expect(h.metadata["general.architecture"]).toBe("llama");
    expect(h.tensors.find((t) => t.name === "blk.0.attn_k.weight")!.shape).toEqual([32, 64]);
  });

  test("tiny random Qwen2 (arch qwen2: QKV bias, rope theta 1e6, GQA 8/2, untied head): logits within 1e-3", async () => {
    const m = tinyQwen2({ seed: 11 });
    const prompt = m.tokenizer.encode("<|im_start|>user\nthe cat sat in the hat<|im_end|>\n<|im_start|>assistant\n");
    const text = "the cat sat in the hat";
    const { engine, r, ids, ref } = await crossCheck(m, join(dir, "qwen2.gguf"), prompt, 40, [text]);
    expect(maxAbsDiff(engine.logits(ids), ref.logits)).toBeLessThan(1e-3);
    expect(ref.next.slice(prompt.length - 1, prompt.length - 1 + r.tokenIds!.length)).toEqual(r.tokenIds);
    expect(ref.tokenized[0]).toEqual(m.tokenizer.encode(text));
  });
});
