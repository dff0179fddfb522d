/**
 * @module rollout/backends/llamacpp — a GGUF policy run in process by llama.cpp (`node-llama-cpp`, CPU or CUDA), so a
 * published ReSearch / Search-R1 checkpoint converted to GGUF runs on a laptop. Requests of a batch run on parallel
 * sequences of one context (llama.cpp batches them together); a sequence keeps its KV cache, and a request reuses
 * the sequence sharing its longest prefix, so a rollout's next round only evaluates the spliced result.
 */
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { GenerationRequest, GenerationResult } from "../../model/generation.js";
import type { Tokenizer } from "../../tokenizer/types.js";
import { UserError } from "../../util/errors.js";
import type { PolicyBackend } from "../types.js";

export interface LlamaCppBackendOptions {
  /** A `.gguf` file. */
  modelPath: string;
  /** "auto": CUDA/Metal/Vulkan when present, else CPU; false: CPU only. */
  gpu?: "auto" | false;
  /** Parallel sequences (rollouts generated together). */
  sequences?: number;
  /** Context tokens per sequence (prompt + response); default the model's training context, at most 8192 + 512. */
  contextSize?: number;
  threads?: number;
}

export interface LlamaCppBackend extends PolicyBackend {
  readonly tokenizer: Tokenizer;
}

/** Our Tokenizer over the GGUF's own vocabulary (special-token texts parse to their ids). */
function ggufTokenizer(model: LlamaModel): Tokenizer & { addBos: boolean } {
  const eos = model.tokens.eos;
  const md = model.fileInfo.metadata as { tokenizer?: { chat_template?: string; ggml?: { tokens?: readonly string[] } } };
  return {
    vocabSize: md.tokenizer?.ggml?.tokens?.length ?? 0,
    bosId: model.tokens.bos,
    eosId: eos,
    eosText: eos !== null ? model.detokenize([eos], true) : "",
    chatTemplate: md.tokenizer?.chat_template,
    addBos: model.tokens.shouldPrependBosToken,
    encode: (text, opts = {}) => {
      const ids = model.tokenize(text, true) as number[];
      return opts.addBos && model.tokens.bos !== null ? [model.tokens.bos, ...ids] : ids;
    },
    decode: (ids) => model.detokenize(ids as Token[], true),
  };
}

export async function createLlamaCppBackend(opts: LlamaCppBackendOptions): Promise<LlamaCppBackend> {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  // build: "never" — prebuilt binaries shipped with the npm package, or a local source build already made
  // (`npx node-llama-cpp source build --gpu cuda`); nothing is downloaded or compiled here.
  // ggml-cuda puts cuBLAS in TF32 mode: batched F32 matmuls (prompt evaluation) then drift by 0.02–0.04 in the logits
  // of our F32 GGUFs (measured on an H200, bench/gpu); NVIDIA_TF32_OVERRIDE=0 keeps them within 1e-4. A user's value wins.
  if (opts.gpu !== false) process.env.NVIDIA_TF32_OVERRIDE ??= "0";
  const llama: Llama = await getLlama({ gpu: opts.gpu ?? "auto", build: "never", logLevel: LlamaLogLevel.error });
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: opts.modelPath, gpuLayers: opts.gpu === false ? 0 : "auto" });
  } catch (e) {
    throw new UserError(`cannot load GGUF ${opts.modelPath}: ${(e as Error).message}`);
  }
  const nSeq = Math.max(1, opts.sequences ?? 4);
  const contextSize = opts.contextSize ?? Math.min(model.trainContextSize, 8192 + 512);
  const context: LlamaContext = await model.createContext({ sequences: nSeq, contextSize, threads: opts.threads });
  const free: LlamaContextSequence[] = Array.from({ length: nSeq }, () => context.getSequence());
  const waiting: (() => void)[] = [];
  const tok = ggufTokenizer(model);

  /** The free sequence sharing the longest prefix with `ids` (its cache is reused). */
  async function acquire(ids: number[]): Promise<LlamaContextSequence> {
    while (!free.length) await new Promise<void>((r) => waiting.push(r));
    let best = 0;
    let bestLen = -1;
    free.forEach((s, i) => {
      const len = commonPrefix(s.contextTokens as number[], ids);
      if (len > bestLen) [best, bestLen] = [i, len];
    });
    return free.splice(best, 1)[0];
  }
  function release(s: LlamaContextSequence) {
    free.push(s);
    waiting.shift()?.();
  }

  async function generateOne(req: GenerationRequest): Promise<GenerationResult> {
    const ids = req.promptIds?.length ? req.promptIds : tok.encode(req.prompt, { addBos: tok.addBos });
    if (ids.length + req.maxTokens > contextSize && ids.length >= contextSize)
      throw new Error(`prompt of ${ids.length} tokens does not fit the context of ${contextSize}`);
    const seq = await acquire(ids);
    try {
      // keep the shared prefix in the KV cache, but always evaluate at least one token to get next-token logits
      const keep = Math.min(commonPrefix(seq.contextTokens as number[], ids), ids.length - 1);
      if (seq.nextTokenIndex > keep) await seq.eraseContextTokenRanges([{ start: keep, end: seq.nextTokenIndex }]);
      const out: number[] = [];
      const logprobs: number[] = [];
      const maxTokens = Math.min(req.maxTokens, contextSize - ids.length);
      const stops = req.stop.filter((s) => s.length);
      const last = ids[ids.length - 1] as Token;
      let finishReason: GenerationResult["finishReason"] = "length";
      let stopString: string | undefined;
      if (maxTokens <= 0) return { text: "", tokenIds: [], logprobs: [], finishReason: "length" };
      const gen = seq.evaluateWithMetadata(ids.slice(keep) as Token[], { confidence: true }, {
        temperature: req.temperature,
        ...(req.topP !== undefined ? { topP: req.topP } : {}),
        ...(req.topK !== undefined ? { topK: req.topK } : {}),
        ...(req.seed !== undefined ? { seed: req.seed } : {}),
      });
      for await (const { token, confidence } of gen) {
        out.push(token);
        logprobs.push(Math.log(Math.max(confidence, Number.MIN_VALUE)));
        if (model.isEogToken(token)) {
          finishReason = "eos";
          break;
        }
        if (stops.length) {
          const text = model.detokenize(out as Token[], true, [last]);
          stopString = stops.find((s) => text.includes(s, Math.max(0, text.length - s.length - 32)));
          if (stopString) {
            finishReason = "stop";
            break;
          }
        }
        if (out.length >= maxTokens) break;
      }
      const text = model.detokenize(out as Token[], true, [last]);
      return { text, tokenIds: out, logprobs, finishReason, ...(stopString ? { stopString } : {}) };
    } finally {
      release(seq);
    }
  }

  return {
    name: `llama.cpp:${opts.modelPath}`,
    eosText: tok.eosText,
    tokenizer: tok,
    encodePrompt: (text) => tok.encode(text, { addBos: tok.addBos }),
    generate: (requests) => Promise.all(requests.map(generateOne)),
    async close() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
