/**
 * bench/model-train — one AdamW train step of the reference model (vocab 512, dim 128, 4 layers, 4 heads, SwiGLU 384,
 * seq 128, batch 8) on ggml (the default engine; all cores and 1 thread) and the tfjs fallback (with and without the
 * OpenBLAS matmul kernel) vs PyTorch CPU in the same run,
 * and the peak training memory per parameter. `npm run bench -- model-train`.
 *
 * Each measurement runs in a fresh child process (the wasm heap never shrinks, so its size after the steps is the peak).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { chooseOpenblasCoreType } from "../src/tensor/openblas.js";

const here = dirname(fileURLToPath(import.meta.url));

interface StepConfig {
  vocab: number;
  dim: number;
  layers: number;
  heads: number;
  ffn: number;
  seq: number;
  batch: number;
  steps: number;
  warmup: number;
}
interface StepResult {
  backend: string;
  msPerStep: number;
  params: number;
  /** Peak bytes of live tensors during one train step (tf.profile), weights, grads and AdamW moments included. */
  peakBytes: number;
  heapBytes: number;
  rssBytes: number;
}

const REFERENCE: StepConfig = { vocab: 512, dim: 128, layers: 4, heads: 4, ffn: 384, seq: 128, batch: 8, steps: 5, warmup: 2 };

/** Child on ggml (the default engine): the same step (ggml/train.ts lmTrainStep), `threads` CPU threads. */
async function childGgml(cfg: StepConfig, threads: number): Promise<void> {
  const { openGgml } = await import("../src/ggml/lib.js");
  const { GgmlWeights } = await import("../src/ggml/model.js");
  const { GgmlAdamW, GgmlPolicy, lmTrainStep } = await import("../src/ggml/train.js");
  const { AdamWConfigSchema } = await import("../src/model/optim.js");
  const { initWeights } = await import("../src/model/trainable.js");
  const { createRng } = await import("../src/util/rng.js");
  const rt = openGgml({ device: "cpu", threads });
  const config = { model_type: "llama", vocab_size: cfg.vocab, hidden_size: cfg.dim, intermediate_size: cfg.ffn, num_hidden_layers: cfg.layers, num_attention_heads: cfg.heads, num_key_value_heads: cfg.heads, max_position_embeddings: cfg.seq, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: false };
  const w = new GgmlWeights(rt, config, initWeights(config, 1));
  const policy = new GgmlPolicy(w);
  const opt = new GgmlAdamW(policy, AdamWConfigSchema.parse({ lr: 1e-3 }));
  const rng = createRng(1);
  const batch = { inputIds: Int32Array.from({ length: cfg.batch * cfg.seq }, () => rng.int(cfg.vocab)), B: cfg.batch, T: cfg.seq };
  for (let i = 0; i < cfg.warmup; i++) lmTrainStep(policy, opt, batch);
  const times: number[] = [];
  for (let i = 0; i < cfg.steps; i++) {
    const t = performance.now();
    lmTrainStep(policy, opt, batch);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const result: StepResult = {
    backend: `${rt.info.backend} ${rt.info.library.variant ?? ""}, ${threads} thread${threads > 1 ? "s" : ""}`,
    msPerStep: times[Math.floor(times.length / 2)],
    params: w.numParams(),
    peakBytes: 0,
    heapBytes: 0,
    rssBytes: process.memoryUsage().rss,
  };
  console.log(JSON.stringify(result));
}

/** Child: run the steps in this process and print one JSON line. */
async function child(cfg: StepConfig): Promise<void> {
  const tf = await import("@tensorflow/tfjs");
  const { initTensorBackend } = await import("../src/tensor/backend.js");
  const { createTrainableModel, initWeights } = await import("../src/model/trainable.js");
  const { createAdamW } = await import("../src/model/optim.js");
  const { trainStep } = await import("../src/model/optim-step.js");
  const { createRng } = await import("../src/util/rng.js");
  const info = await initTensorBackend({ quiet: true });
  const config = {
    model_type: "llama",
    vocab_size: cfg.vocab,
    hidden_size: cfg.dim,
    intermediate_size: cfg.ffn,
    num_hidden_layers: cfg.layers,
    num_attention_heads: cfg.heads,
    num_key_value_heads: cfg.heads,
    max_position_embeddings: cfg.seq,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
  };
  const model = createTrainableModel(config, initWeights(config, 1));
  const opt = createAdamW(model.params, { lr: 1e-3 });
  const rng = createRng(1);
  const batch = { inputIds: Int32Array.from({ length: cfg.batch * cfg.seq }, () => rng.int(cfg.vocab)), B: cfg.batch, T: cfg.seq };
  for (let i = 0; i < cfg.warmup; i++) trainStep(model, opt, batch);
  const times: number[] = [];
  for (let i = 0; i < cfg.steps; i++) {
    const t = performance.now();
    trainStep(model, opt, batch);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const prof = await tf.profile(() => {
    trainStep(model, opt, batch);
  });
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  const result: StepResult = {
    backend: `${info.name} (${info.details.join(", ")})`,
    msPerStep: times[Math.floor(times.length / 2)],
    params: model.numParams(),
    peakBytes: prof.peakBytes,
    heapBytes: backend.wasm ? backend.wasm.HEAPU8.buffer.byteLength : process.memoryUsage().rss,
    rssBytes: process.memoryUsage().rss,
  };
  console.log(JSON.stringify(result));
}

function runChild(cfg: StepConfig, env: Record<string, string> = {}, ggmlThreads = 0): StepResult {
  const args = ggmlThreads ? ["--child-ggml", JSON.stringify(cfg), String(ggmlThreads)] : ["--child", JSON.stringify(cfg)];
  const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), ...args], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`bench child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as StepResult;
}

/** PyTorch ms/step on `threads` threads (torch's intra-op pool and OpenBLAS's, both pinned), installing Debian's
 *  python3-torch when absent and root. Without the pin torch reports 1 thread while OpenBLAS's pthreads use every core. */
function runTorch(cfg: StepConfig, threads: number): { ms_per_step: number; threads: number; torch: string } | { error: string } {
  const py = "/usr/bin/python3";
  chooseOpenblasCoreType(); // PyTorch (Debian) runs on the same OpenBLAS: the same kernels as ours
  const hasTorch = () => spawnSync(py, ["-c", "import torch"]).status === 0;
  if (!hasTorch() && process.getuid?.() === 0) {
    console.error("installing python3-torch and libopenblas0-pthread for the PyTorch baseline…");
    spawnSync("apt-get", ["install", "-y", "python3-torch", "libopenblas0-pthread"], { stdio: "ignore" });
  }
  if (!hasTorch()) return { error: "python3-torch not available" };
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const out = execFileSync(py, [join(here, "model-train-torch.py"), JSON.stringify({ ...cfg, threads })], { encoding: "utf8", env });
  return JSON.parse(out.trim().split("\n").pop()!);
}

/** Rounds of (ours with BLAS, ours wasm-only, PyTorch), interleaved so each sees the same machine load; min per engine. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

export async function main(): Promise<void> {
  const runs: { ggml: StepResult[]; ggml1: StepResult[]; blas: StepResult[]; wasmOnly: StepResult[]; torch: number[]; torch1: number[] } = { ggml: [], ggml1: [], blas: [], wasmOnly: [], torch: [], torch1: [] };
  let torchInfo: ReturnType<typeof runTorch> = { error: "not run" };
  let torch1Info: ReturnType<typeof runTorch> = { error: "not run" };
  const threads = availableParallelism();
  for (let r = 0; r < ROUNDS; r++) {
    runs.ggml.push(runChild(REFERENCE, {}, threads));
    if (threads > 1) runs.ggml1.push(runChild(REFERENCE, {}, 1));
    runs.blas.push(runChild(REFERENCE));
    runs.wasmOnly.push(runChild(REFERENCE, { RESEARCH_BLAS: "0" }));
    torchInfo = runTorch(REFERENCE, threads);
    if ("error" in torchInfo) break;
    runs.torch.push(torchInfo.ms_per_step);
    if (threads > 1) {
      torch1Info = runTorch(REFERENCE, 1);
      if (!("error" in torch1Info)) runs.torch1.push(torch1Info.ms_per_step);
    }
  }
  const fastest = (xs: StepResult[]) => xs.reduce((a, b) => (b.msPerStep < a.msPerStep ? b : a));
  const ggml = fastest(runs.ggml);
  const ggml1 = runs.ggml1.length ? fastest(runs.ggml1) : undefined;
  const blas = fastest(runs.blas);
  const wasmOnly = fastest(runs.wasmOnly);
  const torch = "error" in torchInfo ? torchInfo : { ...torchInfo, ms_per_step: Math.min(...runs.torch) };
  const torch1 = "error" in torch1Info ? undefined : { ...torch1Info, ms_per_step: Math.min(...runs.torch1) };
  // Memory: two model sizes at a small token batch; the slope is the per-parameter cost (weights, grads, 2 moments).
  const small = runChild({ ...REFERENCE, batch: 1, seq: 32, steps: 2, warmup: 1 });
  const large = runChild({ ...REFERENCE, vocab: 4096, dim: 384, layers: 6, heads: 6, ffn: 1024, batch: 1, seq: 32, steps: 2, warmup: 1 });
  const bytesPerParam = (large.peakBytes - small.peakBytes) / (large.params - small.params);

  const vsTorch = (x: StepResult) => ("error" in torch ? "-" : (x.msPerStep / torch.ms_per_step).toFixed(2) + "×");
  const rows: Array<[string, string, string]> = [
    [ggml.backend, ggml.msPerStep.toFixed(0), vsTorch(ggml)],
    ...(ggml1 ? [[ggml1.backend, ggml1.msPerStep.toFixed(0), torch1 ? (ggml1.msPerStep / torch1.ms_per_step).toFixed(2) + "× (1 thread)" : vsTorch(ggml1)] as [string, string, string]] : []),
    ["tfjs " + blas.backend, blas.msPerStep.toFixed(0), "error" in torch ? "-" : (blas.msPerStep / torch.ms_per_step).toFixed(2) + "×"],
    ["tfjs " + wasmOnly.backend, wasmOnly.msPerStep.toFixed(0), "error" in torch ? "-" : (wasmOnly.msPerStep / torch.ms_per_step).toFixed(2) + "×"],
    ["pytorch " + ("error" in torch ? `(${torch.error})` : `${torch.torch}, ${torch.threads} threads`), "error" in torch ? "-" : torch.ms_per_step.toFixed(0), "1.00×"],
    ...(torch1 ? [["pytorch " + `${torch1.torch}, 1 thread`, torch1.ms_per_step.toFixed(0), "(1 thread)"] as [string, string, string]] : []),
  ];
  console.log(`train step, reference model (${blas.params} params, batch ${REFERENCE.batch} × seq ${REFERENCE.seq}, AdamW)`);
  console.log("engine".padEnd(60) + "ms/step".padStart(10) + "vs torch".padStart(18));
  for (const [a, b, c] of rows) console.log(a.padEnd(60) + b.padStart(10) + c.padStart(18));
  console.log(
    `peak training memory: ${bytesPerParam.toFixed(1)} bytes/param (peak live tensors, ${small.params} → ${large.params} params, ` +
      `batch 1 × seq 32); reference step: peak ${(blas.peakBytes / 2 ** 20).toFixed(0)} MiB, wasm heap ${(blas.heapBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  console.log(`(fastest of ${ROUNDS} interleaved rounds; every round ggml/tfjs-blas/tfjs-wasm/torch: ${runs.blas.map((x, i) => `${runs.ggml[i].msPerStep.toFixed(0)}/${x.msPerStep.toFixed(0)}/${runs.wasmOnly[i].msPerStep.toFixed(0)}/${runs.torch[i]?.toFixed(0) ?? "-"}`).join(", ")} ms)`);
  const result = { config: REFERENCE, ggml, ggml1, blas, wasmOnly, torch, torch1, rounds: runs, memory: { small, large, bytesPerParam }, at: new Date().toISOString() };
  mkdirSync(join(here, "results"), { recursive: true });
  writeFileSync(join(here, "results", "model-train.json"), JSON.stringify(result, null, 2) + "\n");
}

if (process.argv[2] === "--child") await child(JSON.parse(process.argv[3]) as StepConfig);
if (process.argv[2] === "--child-ggml") await childGgml(JSON.parse(process.argv[3]) as StepConfig, Number(process.argv[4]));
