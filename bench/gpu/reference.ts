/**
 * Reference for the GPU check of the llama.cpp backend (bench/gpu/README.md): exports two F32 GGUFs with our exporter and
 * records our engine's greedy tokens and its logits at every position of prompt + greedy tokens, to .gpu/reference.json.
 * Models: stories260K (real, arch llama) and the model-generate benchmark's random Qwen2 shape (hidden 512, 8 layers,
 * ffn 1408; 22.8M parameters), its weights rounded to multiples of 0.08 (mostly -0.08, 0, 0.08: still random, but its
 * 91 MB GGUF xz-compresses to a few MB, small enough to carry to the GPU machine).
 * usage: node --import tsx bench/gpu/reference.ts [outDir=.gpu]
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadModel } from "../../src/model/load.js";
import { createEngine, encodePrompt, type LoadedModel } from "../../src/model/generate.js";
import { exportGguf } from "../../src/model/gguf.js";
import { tinyQwen2 } from "../../src/model/testing.js";
import { SHARED_DATA } from "../../src/util/shared.js";

const outDir = process.argv[2] ?? ".gpu";
mkdirSync(outDir, { recursive: true });

function gridWeights(m: LoadedModel, step: number): LoadedModel {
  for (const [name, t] of m.weights) if (!name.endsWith("norm.weight")) for (let i = 0; i < t.data.length; i++) t.data[i] = Math.round(t.data[i] / step) * step;
  return m;
}

const models: { name: string; file: string; m: LoadedModel; prompt: string; steps: number }[] = [
  { name: "stories260K", file: "stories260K.gguf", m: await loadModel(SHARED_DATA + "/models/stories260K"), prompt: "Once upon a time", steps: 60 },
  {
    name: "qwen2-random-22.8M", file: "qwen2-22M.gguf",
    m: gridWeights(tinyQwen2({ seed: 1, hidden: 512, layers: 8, ffn: 1408 }), 0.08),
    prompt: "<|im_start|>user\nthe cat sat in the hat<|im_end|>\n<|im_start|>assistant\n", steps: 48,
  },
];

const out = [];
for (const { name, file, m, prompt, steps } of models) {
  exportGguf(join(outDir, file), m);
  const promptIds = encodePrompt(m.tokenizer, prompt);
  const engine = createEngine(m);
  const [r] = await engine.generate([{ prompt: "", promptIds, maxTokens: steps, stop: [], temperature: 0, ignoreEos: true }]);
  const ids = [...promptIds, ...r.tokenIds!];
  const logits = engine.logits(ids);
  let params = 0;
  for (const t of m.weights.values()) params += t.data.length;
  out.push({
    name, file, params, arch: m.config.model_type, vocab: m.config.vocab_size, prompt, promptIds, greedyIds: r.tokenIds,
    // logits (ids.length x vocab) of our engine, Float32 little-endian, base64
    logitsB64: Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength).toString("base64"),
  });
  console.log(`${name}: ${params} params, prompt ${promptIds.length} tokens, greedy ${r.tokenIds!.length}: ${JSON.stringify(r.tokenIds!.slice(0, 12))}…`);
}
writeFileSync(join(outDir, "reference.json"), JSON.stringify({ date: new Date().toISOString(), engine: "ReSearch.ts native (CPU)", models: out }));
