/**
 * Generation throughput of the native engines (ggml, the default, and the TypeScript one: RESEARCH_ENGINE=ts) vs llama.cpp (node-llama-cpp, CPU) on the same F32 GGUF weights, in the
 * same run: tokens/s at batch 1 and batch 16, 256 new tokens each, EOS ignored so both make exactly the same number of
 * tokens. Models: stories260K (real) and a random Qwen2-style model (~20M parameters). Also memory per parameter.
 * Each number is the fastest of BENCH_ROUNDS (3) interleaved rounds. Every side uses one thread (ggml threads: 1, OPENBLAS_NUM_THREADS=1, llama.cpp threads: 1): on a shared 2-core machine llama.cpp's
 * default multi-threaded decode stalls for minutes when its spinning workers are descheduled.
 * Writes bench/results/model-generate.json.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";
import type { LoadedModel } from "../src/model/generate.js";
import { writeJsonAtomic } from "../src/util/fs.js";
import { SHARED_DATA } from "../src/util/shared.js";

process.env.OPENBLAS_NUM_THREADS ??= "1"; // read when OpenBLAS loads, i.e. at the engine's first import below
const { loadModel } = await import("../src/model/load.js");
const { createEngine, encodePrompt } = await import("../src/model/generate.js");
const { exportGguf } = await import("../src/model/gguf.js");
const { tinyQwen2 } = await import("../src/model/testing.js");
const { matmulBackend } = await import("../src/model/infer.js");
const { setEngineDefaults, engineReport } = await import("../src/model/engine-select.js");
setEngineDefaults({ device: "cpu", threads: Number(process.env.BENCH_GGML_THREADS ?? 1) });

const NEW = Number(process.env.BENCH_TOKENS ?? 256);
/** Interleaved rounds (ours, llama.cpp, ours, …), fastest of each: the shared machine's load changes minute to minute. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const tmp = mkdtempSync(join(tmpdir(), "bench-gen-"));

async function ours(m: LoadedModel, prompt: number[], batch: number, engineKind: "ggml" | "ts"): Promise<number> {
  const was = process.env.RESEARCH_ENGINE;
  process.env.RESEARCH_ENGINE = engineKind;
  const engine = createEngine(m, { maxBatch: batch });
  if (was === undefined) delete process.env.RESEARCH_ENGINE;
  else process.env.RESEARCH_ENGINE = was;
  await engine.generate([{ prompt: "", promptIds: prompt, maxTokens: 8, stop: [], temperature: 0 }]); // warm-up (JIT)
  const t = performance.now();
  const rs = await engine.generate(
    Array.from({ length: batch }, (_, i) => ({ prompt: "", promptIds: prompt, maxTokens: NEW, stop: [], temperature: 1, seed: i, ignoreEos: true })),
  );
  const n = rs.reduce((a, r) => a + r.tokenIds!.length, 0);
  return n / ((performance.now() - t) / 1000);
}

type Llama = Awaited<ReturnType<typeof getLlama>>;

/** llama.cpp tokens/s with `threads` CPU threads. */
async function llamaCpp(llama: Llama, file: string, prompt: number[], batch: number, threads: number): Promise<number> {
  const model = await llama.loadModel({ modelPath: file });
  const ctx = await model.createContext({
    sequences: batch, contextSize: batch * (prompt.length + NEW + 16), batchSize: 512, threads,
  });
  const run = async (seq: ReturnType<typeof ctx.getSequence>, n: number) => {
    let k = 0;
    for await (const _tok of seq.evaluate(prompt as Token[], { temperature: 1, seed: 1 })) if (++k >= n) break;
    return k;
  };
  const seqs = Array.from({ length: batch }, () => ctx.getSequence());
  await run(seqs[0], 8); // warm-up
  await seqs[0].clearHistory();
  const t = performance.now();
  const counts = await Promise.all(seqs.map((s) => run(s, NEW)));
  const tps = counts.reduce((a, b) => a + b, 0) / ((performance.now() - t) / 1000);
  await ctx.dispose();
  await model.dispose();
  return tps;
}

function paramCount(m: LoadedModel): number {
  let n = 0;
  for (const t of m.weights.values()) n += t.data.length;
  return n;
}

/** Bytes of typed-array memory the engine adds per parameter (packed weights), and per KV-cache position. */
function memoryPerParam(make: () => LoadedModel): { bytesPerParam: number; loadedBytesPerParam: number } {
  global.gc?.();
  const a0 = process.memoryUsage().arrayBuffers;
  const m = make();
  const a1 = process.memoryUsage().arrayBuffers;
  process.env.RESEARCH_ENGINE = "ts"; // typed-array memory of the TS engine (ggml's weights live in backend buffers)
  const engine = createEngine(m);
  delete process.env.RESEARCH_ENGINE;
  const a2 = process.memoryUsage().arrayBuffers;
  void engine;
  const p = paramCount(m);
  return { loadedBytesPerParam: (a1 - a0) / p, bytesPerParam: (a2 - a0) / p };
}

export async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const stories = await loadModel(SHARED_DATA + "/models/stories260K");
  const qwen = tinyQwen2({ seed: 1, hidden: 512, layers: 8, ffn: 1408 });
  for (const [name, m] of [["stories260K", stories], ["qwen2-random-20M", qwen]] as [string, LoadedModel][]) {
    const file = join(tmp, `${name}.gguf`);
    exportGguf(file, m);
    const prompt = encodePrompt(m.tokenizer, name === "stories260K" ? "Once upon a time" : "<|im_start|>user\nthe cat<|im_end|>\n");
    for (const batch of [1, 16]) {
      let a = 0;
      let t = 0;
      let b = 0;
      for (let r = 0; r < ROUNDS; r++) {
        a = Math.max(a, await ours(m, prompt, batch, "ggml"));
        t = Math.max(t, await ours(m, prompt, batch, "ts"));
        b = Math.max(b, await llamaCpp(llama, file, prompt, batch, 1));
      }
      const row = { model: name, params: paramCount(m), batch, newTokens: NEW, oursTokPerS: +a.toFixed(1), tsTokPerS: +t.toFixed(1), llamaCppTokPerS: +b.toFixed(1), ratio: +(a / b).toFixed(2) };
      rows.push(row);
      console.log(row);
    }
  }
  const mem = memoryPerParam(() => tinyQwen2({ seed: 2, hidden: 512, layers: 8, ffn: 1408 }));
  const kvBytesPerToken = (cfg: LoadedModel["config"]) => 2 * cfg.num_hidden_layers * cfg.num_key_value_heads * (cfg.hidden_size / cfg.num_attention_heads) * 4;
  // Largest generating model in 24 GiB: packed + loaded weights at the measured bytes/param, with 1 GiB of headroom.
  const largest = Math.floor((23 * 2 ** 30) / mem.bytesPerParam);
  console.table(rows);
  console.log(`ggml: ${JSON.stringify(engineReport())}`);
  console.log(`TS engine matmul backend: ${matmulBackend}; memory (TS engine): ${mem.bytesPerParam.toFixed(2)} B/param with the engine (${mem.loadedBytesPerParam.toFixed(2)} loaded); largest model that generates in 24 GiB ≈ ${(largest / 1e9).toFixed(2)}B params (+ KV ${kvBytesPerToken(qwen.config)} B/token for the 20M config)`);
  writeJsonAtomic("bench/results/model-generate.json", {
    date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, engine: engineReport(), matmulBackend, rounds: ROUNDS, threads: 1, rows, memory: { ...mem, largestParamsIn24GiB: largest },
  });
  await llama.dispose();
  rmSync(tmp, { recursive: true, force: true });
}
