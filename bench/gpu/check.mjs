#!/usr/bin/env node
/**
 * One-off check of the llama.cpp backend path on a GPU machine (bench/gpu/README.md). Plain ESM, needs only node-llama-cpp.
 * For each GGUF in <dir>/reference.json (exported by our engine, with its greedy tokens and logits: bench/gpu/reference.ts):
 *   - logits at every position of prompt + reference tokens (teacher-forced, F32 KV cache, no flash attention, as
 *     src/model/gguf.test.ts does on the CPU): max |diff| against our engine, argmax agreement;
 *   - greedy generation with that context and with node-llama-cpp's default context (what src/rollout/backends/llamacpp.ts
 *     creates): tokens identical to our engine's?
 *   - tokens/s at batch 1 and 16 (sequences of one context, default context settings), 256 new tokens, fastest of 3.
 * usage: node check.mjs <cuda|cpu|auto> [dir=.gpu] [out=gpu-check-<mode>.json]
 *   cuda: getLlama({gpu: "cuda", build: "never"}), all layers on the GPU; cpu: getLlama({gpu: false}), no offloading;
 *   auto: what our backend asks for, getLlama({gpu: "auto", build: "never"}) + gpuLayers "auto": which binary it picks.
 * Each mode runs in its own process (a CUDA local build and the CPU prebuilt binaries must not share one process).
 */
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { Buffer } from "node:buffer";
import console from "node:console";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { URL } from "node:url";

const [mode = "cuda", dir = ".gpu", outPath = `gpu-check-${mode}.json`] = process.argv.slice(2);
// CHECK_TF32_INPROC=1: set NVIDIA_TF32_OVERRIDE from inside Node before getLlama, as src/rollout/backends/llamacpp.ts does
if (process.env.CHECK_TF32_INPROC === "1") process.env.NVIDIA_TF32_OVERRIDE ??= "0";
const NEW = Number(process.env.CHECK_NEW_TOKENS ?? 256);
const ROUNDS = Number(process.env.CHECK_ROUNDS ?? 3);
const BATCHES = (process.env.CHECK_BATCHES ?? "1,16").split(",").map(Number);
/** llama.cpp threads (default: node-llama-cpp's, all cores); set 1 on a busy machine, where spinning workers stall. */
const THREADS = process.env.CHECK_THREADS ? { threads: Number(process.env.CHECK_THREADS) } : {};
const t0 = performance.now();
const log = (...a) => console.log(`[check ${mode} +${((performance.now() - t0) / 1000).toFixed(1)}s]`, ...a);
const ref = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8"));
const res = {
  mode, date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model, cores: os.cpus().length,
  env: { LD_LIBRARY_PATH: process.env.LD_LIBRARY_PATH ?? null, CUDA_PATH: process.env.CUDA_PATH ?? null },
  ok: true, problems: [], models: [],
};
const save = () => writeFileSync(outPath, JSON.stringify(res, null, 1));
const problem = (msg) => { res.ok = false; res.problems.push(msg); log("PROBLEM:", msg); save(); };
const GiB = (b) => +(b / 2 ** 30).toFixed(3);

async function llamaInfo(llama) {
  const v = await llama.getVramState();
  return {
    gpu: llama.gpu, buildType: llama.buildType, supportsGpuOffloading: llama.supportsGpuOffloading, llamaCppRelease: llama.llamaCppRelease,
    gpuDeviceNames: await llama.getGpuDeviceNames(), vramGiB: { total: GiB(v.total), used: GiB(v.used), free: GiB(v.free) },
    cpuMathCores: llama.cpuMathCores, maxThreads: llama.maxThreads, systemInfo: llama.systemInfo,
  };
}

/** Logits (T x V) and next tokens at every position of `ids`, teacher-forced. */
async function teacherForced(model, ids, V) {
  const ctx = await model.createContext({
    contextSize: 256, batchSize: 256, flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", ...THREADS,
  });
  const out = await ctx.getSequence().controlledEvaluate(ids.map((t) => [t, { generateNext: { logits: true, token: true } }]));
  const logits = new Float32Array(ids.length * V);
  const next = [];
  out.forEach((o, i) => {
    for (const [tok, v] of o.next.logits) logits[i * V + tok] = v;
    next.push(o.next.token);
  });
  await ctx.dispose();
  return { logits, next };
}

/** Greedy tokens after `prompt` with the given context options (EOS not special: the generator runs on). */
async function greedy(model, prompt, n, ctxOpts) {
  const ctx = await model.createContext({ ...ctxOpts, ...THREADS });
  const out = [];
  for await (const t of ctx.getSequence().evaluate(prompt, { temperature: 0 })) if (out.push(t) >= n) break;
  const info = { flashAttention: ctx.flashAttention };
  await ctx.dispose();
  return { tokens: out, ...info };
}

/** Tokens/s of `batch` sequences generating NEW tokens each (greedy), default context settings; tokens of sequence 0. */
async function speed(model, prompt, batch) {
  const ctx = await model.createContext({ sequences: batch, contextSize: batch * (prompt.length + NEW + 16), batchSize: 512, ...THREADS });
  const run = async (seq, n) => {
    const toks = [];
    for await (const t of seq.evaluate(prompt, { temperature: 0 })) if (toks.push(t) >= n) break;
    return toks;
  };
  const seqs = Array.from({ length: batch }, () => ctx.getSequence());
  await run(seqs[0], 8); // warm-up
  await seqs[0].clearHistory();
  const t = performance.now();
  const outs = await Promise.all(seqs.map((s) => run(s, NEW)));
  const s = (performance.now() - t) / 1000;
  await ctx.dispose();
  return { tps: outs.reduce((a, o) => a + o.length, 0) / s, tokens0: outs[0] };
}

const firstDiff = (a, b) => { const n = Math.min(a.length, b.length); for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i; return a.length === b.length ? -1 : n; };

try {
  let llama;
  if (mode === "auto") {
    const base = import.meta.resolve("node-llama-cpp");
    const { detectAvailableComputeLayers } = await import(new URL("./bindings/utils/detectAvailableComputeLayers.js", base));
    const { getGpuTypesToUseForOption } = await import(new URL("./bindings/utils/getGpuTypesToUseForOption.js", base));
    res.detectedComputeLayers = await detectAvailableComputeLayers();
    res.gpuTypesToTryForAuto = await getGpuTypesToUseForOption("auto");
    log("detected", JSON.stringify(res.detectedComputeLayers), "auto tries", JSON.stringify(res.gpuTypesToTryForAuto));
    llama = await getLlama({ gpu: "auto", build: "never", logLevel: LlamaLogLevel.error });
  } else {
    llama = await getLlama({ gpu: mode === "cuda" ? "cuda" : false, build: "never", logLevel: LlamaLogLevel.warn });
  }
  res.llama = await llamaInfo(llama);
  log("llama", JSON.stringify({ ...res.llama, systemInfo: undefined }));
  log("systemInfo", res.llama.systemInfo);
  if (mode === "cuda" && res.llama.gpu !== "cuda") problem(`asked for cuda, got gpu=${res.llama.gpu}`);
  save();

  for (const r of ref.models) {
    const mr = { name: r.name, params: r.params, arch: r.arch };
    res.models.push(mr);
    const before = await llama.getVramState();
    const model = await llama.loadModel({ modelPath: join(dir, r.file), gpuLayers: mode === "cuda" ? "max" : mode === "auto" ? "auto" : 0 });
    mr.gpuLayers = model.gpuLayers;
    mr.totalLayers = model.fileInsights.totalLayers;
    mr.modelSizeMiB = +(model.size / 2 ** 20).toFixed(1);
    const afterLoad = await llama.getVramState();
    mr.vramUsedByModelMiB = +((afterLoad.used - before.used) / 2 ** 20).toFixed(1);
    log(r.name, `layers on GPU ${mr.gpuLayers}/${mr.totalLayers}, model ${mr.modelSizeMiB} MiB, VRAM +${mr.vramUsedByModelMiB} MiB`);
    if (mode === "cuda" && mr.gpuLayers !== mr.totalLayers) problem(`${r.name}: only ${mr.gpuLayers}/${mr.totalLayers} layers on the GPU`);

    const V = r.vocab;
    const ids = [...r.promptIds, ...r.greedyIds];
    const refLogits = new Float32Array(Buffer.from(r.logitsB64, "base64").buffer.slice(0));
    const tf = await teacherForced(model, ids, V);
    let maxDiff = 0, maxAbs = 0, argmaxAgree = 0;
    for (let i = 0; i < ids.length; i++) {
      let am = 0, bm = 0;
      for (let v = 0; v < V; v++) {
        const a = tf.logits[i * V + v], b = refLogits[i * V + v];
        maxDiff = Math.max(maxDiff, Math.abs(a - b));
        maxAbs = Math.max(maxAbs, Math.abs(b));
        if (a > tf.logits[i * V + am]) am = v;
        if (b > refLogits[i * V + bm]) bm = v;
      }
      if (am === bm) argmaxAgree++;
    }
    const P = r.promptIds.length;
    const tfNext = tf.next.slice(P - 1, P - 1 + r.greedyIds.length);
    mr.logits = { positions: ids.length, vocab: V, maxAbsDiff: maxDiff, maxAbsLogit: maxAbs, argmaxAgree: `${argmaxAgree}/${ids.length}`, nextTokensEqualRef: firstDiff(tfNext, r.greedyIds) === -1 };
    log(r.name, "teacher-forced logits", JSON.stringify(mr.logits));
    if (!(maxDiff < 1e-2)) problem(`${r.name}: logits differ from our engine by ${maxDiff}`);

    const exactCtx = { contextSize: 256, batchSize: 256, flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" };
    const g1 = await greedy(model, r.promptIds, r.greedyIds.length, exactCtx);
    const g2 = await greedy(model, r.promptIds, r.greedyIds.length, { contextSize: 256 });
    mr.greedy = {
      reference: r.greedyIds.length,
      f32KvNoFa: { identical: firstDiff(g1.tokens, r.greedyIds) === -1, firstDiff: firstDiff(g1.tokens, r.greedyIds), flashAttention: g1.flashAttention },
      defaultContext: { identical: firstDiff(g2.tokens, r.greedyIds) === -1, firstDiff: firstDiff(g2.tokens, r.greedyIds), flashAttention: g2.flashAttention },
    };
    log(r.name, "greedy tokens vs our engine", JSON.stringify(mr.greedy));
    if (!mr.greedy.f32KvNoFa.identical) problem(`${r.name}: greedy tokens (F32 KV) differ from our engine at ${mr.greedy.f32KvNoFa.firstDiff}`);
    save();

    mr.speed = [];
    for (const batch of BATCHES) {
      let best = 0, tokens0 = [];
      for (let k = 0; k < ROUNDS; k++) {
        const s = await speed(model, r.promptIds, batch);
        if (s.tps > best) [best, tokens0] = [s.tps, s.tokens0];
      }
      const L = Math.min(tokens0.length, r.greedyIds.length); // -1: sequence 0's first L tokens equal our engine's
      const row = { batch, newTokens: NEW, tokPerS: +best.toFixed(1), seq0FirstDiffFromRef: firstDiff(tokens0.slice(0, L), r.greedyIds.slice(0, L)) };
      mr.speed.push(row);
      log(r.name, "speed", JSON.stringify(row));
      save();
    }
    mr.vramAfterGiB = GiB((await llama.getVramState()).used);
    await model.dispose();
  }
  await llama.dispose();
} catch (e) {
  problem(`error: ${e?.stack ?? e}`);
}
res.seconds = +((performance.now() - t0) / 1000).toFixed(1);
save();
log(res.ok ? "OK" : "PROBLEMS", JSON.stringify(res.problems));
process.exit(res.ok ? 0 : 1);
