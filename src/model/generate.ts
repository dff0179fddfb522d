/**
 * @module model/generate — the native generation engine: continuous batching over the KV-cached forward pass
 * (model/infer.ts). Up to `maxBatch` sequences decode together; a finished sequence frees its slot at once and the
 * next request is prefilled into it, so short answers never wait for long ones. Stops on EOS, on any stop string
 * (matched on the decoded text, so it may span tokens), or at the token budget.
 */
import { createRng, type Rng } from "../util/rng.js";
import { UserError } from "../util/errors.js";
import type { ModelConfig } from "./config.js";
import type { GenerationRequest, GenerationResult } from "./generation.js";
import type { WeightMap } from "./weights.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { InferenceModel, type KVCache } from "./infer.js";
import { GgmlInferenceModel } from "../ggml/infer.js";
import type { GgmlWeights } from "../ggml/model.js";
import type { DeviceName } from "../ggml/lib.js";
import { engineRuntime, usesTsEngine } from "./engine-select.js";
import { sampleToken } from "./sampling.js";

export interface LoadedModel {
  config: ModelConfig;
  weights: WeightMap;
  tokenizer: Tokenizer;
}

export interface EngineOptions {
  /** Most sequences decoded together (default 16). */
  maxBatch?: number;
  /** ggml device (default: the process's, see model/engine-select.ts; ignored under RESEARCH_ENGINE=ts). */
  device?: DeviceName;
  /** ggml weights to generate from instead of a copy of `model.weights` (a trainer's, so rollouts read the trained
   *  tensors without a copy); ignored under RESEARCH_ENGINE=ts. */
  weights?: GgmlWeights;
}

/** What the scheduler needs of an engine's network: model/infer.ts's InferenceModel or ggml/infer.ts's. */
interface Net {
  newCache(capacity: number): KVCache;
  forward(items: { cache: KVCache; tokens: ArrayLike<number>; logits?: "last" | "all" }[]): Float32Array;
  setWeights(weights: WeightMap): void;
}

/** Free a cache's backend memory (ggml caches; the TypeScript engine's are garbage collected). */
const release = (c: KVCache): void => (c as KVCache & { dispose?: () => void }).dispose?.();

function createNet(model: LoadedModel, opts: EngineOptions): Net {
  if (usesTsEngine()) return new InferenceModel(model.config, model.weights);
  if (opts.weights) return new GgmlInferenceModel(model.config, opts.weights, opts.weights.rt) as unknown as Net;
  return new GgmlInferenceModel(model.config, model.weights, engineRuntime({ device: opts.device })) as unknown as Net;
}

export interface Engine {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  /** Token ids that end a sequence (config eos_token_id ∪ tokenizer EOS). */
  readonly eosIds: ReadonlySet<number>;
  generate(requests: GenerationRequest[]): Promise<GenerationResult[]>;
  /** Logits (T, V) for every position of `ids`, from a fresh cache. */
  logits(ids: number[]): Float32Array;
  /** Swap in new weights (the trainer calls this after each update); shapes must match the config. */
  setWeights(weights: WeightMap): void;
}

/** Whether text prompts get a BOS prepended: llama2.c always; HF tokenizers when tokenizer_config says add_bos_token. */
export function addsBos(tokenizer: Tokenizer): boolean {
  if (tokenizer.bosId === null) return false;
  const t = tokenizer as Tokenizer & { kind?: string; files?: { tokenizerConfig: Record<string, unknown> } };
  if (t.kind === "hf") return t.files?.tokenizerConfig.add_bos_token === true;
  return true;
}

/** Token ids of a text prompt as the engine feeds them; an empty prompt starts from BOS (or EOS when there is no BOS). */
export function encodePrompt(tokenizer: Tokenizer, prompt: string): number[] {
  const ids = tokenizer.encode(prompt, { addBos: addsBos(tokenizer) });
  if (ids.length) return ids;
  const start = tokenizer.bosId ?? tokenizer.eosId;
  if (start === null) throw new UserError("empty prompt and the tokenizer has neither BOS nor EOS to start from");
  return [start];
}

/** Text of `gen` as it reads after `prev` (decoders may treat the first token of a sequence specially). */
export function decodeAfter(tokenizer: Tokenizer, prev: number | undefined, gen: number[]): string {
  if (prev === undefined) return tokenizer.decode(gen);
  const head = tokenizer.decode([prev]);
  const all = tokenizer.decode([prev, ...gen]);
  return all.startsWith(head) ? all.slice(head.length) : tokenizer.decode(gen);
}

interface Slot {
  req: GenerationRequest;
  cache: KVCache;
  prev: number | undefined; // last prompt token: decoding context
  pending: number[]; // tokens to feed next forward
  ids: number[];
  logprobs: number[];
  text: string;
  rng: Rng;
  maxStop: number;
  stopString?: string;
}

export function createEngine(model: LoadedModel, opts: EngineOptions = {}): Engine {
  const { config, tokenizer } = model;
  const net = createNet(model, opts);
  const maxBatch = Math.max(1, opts.maxBatch ?? 16);
  const eosIds = new Set<number>();
  const cfgEos = config.eos_token_id;
  for (const e of Array.isArray(cfgEos) ? cfgEos : cfgEos != null ? [cfgEos] : []) eosIds.add(e);
  if (tokenizer.eosId !== null) eosIds.add(tokenizer.eosId);
  const V = config.vocab_size;
  const maxPos = config.max_position_embeddings;

  const start = (req: GenerationRequest): Slot => {
    const promptIds = req.promptIds?.length ? req.promptIds : encodePrompt(tokenizer, req.prompt);
    if (promptIds.length >= maxPos)
      throw new UserError(`prompt of ${promptIds.length} tokens does not fit the context of ${maxPos} positions`);
    if (!(req.maxTokens >= 0)) throw new UserError(`maxTokens must be >= 0, got ${req.maxTokens}`);
    const capacity = Math.min(maxPos, promptIds.length + req.maxTokens);
    return {
      req,
      cache: net.newCache(capacity),
      prev: promptIds[promptIds.length - 1],
      pending: promptIds,
      ids: [],
      logprobs: [],
      text: "",
      rng: createRng(req.seed ?? (Math.random() * 2 ** 32) >>> 0),
      maxStop: Math.max(0, ...req.stop.map((s) => s.length)),
    };
  };

  /** After appending a token: the finish reason, or null to continue. Updates slot.text. */
  const check = (s: Slot, id: number): GenerationResult["finishReason"] | null => {
    if (eosIds.has(id) && !s.req.ignoreEos) return "eos";
    const stops = s.req.stop.filter((x) => x.length > 0);
    if (stops.length) {
      // Decode only a window of recent tokens (4 per character covers byte-fallback pieces), so a long generation
      // does not re-decode everything each step; on a hit, decode all and cut at the first occurrence.
      const j = Math.max(0, s.ids.length - (4 * s.maxStop + 8));
      const tail = decodeAfter(tokenizer, j === 0 ? s.prev : s.ids[j - 1], s.ids.slice(j));
      if (stops.some((x) => tail.includes(x))) {
        const text = decodeAfter(tokenizer, s.prev, s.ids);
        let best = -1;
        let bestStop = "";
        for (const stop of stops) {
          const at = text.indexOf(stop);
          if (at !== -1 && (best === -1 || at < best)) [best, bestStop] = [at, stop];
        }
        if (best !== -1) {
          s.text = text.slice(0, best + bestStop.length);
          s.stopString = bestStop;
          return "stop";
        }
      }
    }
    if (s.ids.length >= s.req.maxTokens || s.cache.length + 1 > s.cache.capacity) return "length";
    return null;
  };

  const finish = (s: Slot, reason: GenerationResult["finishReason"]): GenerationResult => {
    const stopString = s.stopString;
    const text = reason === "stop" ? s.text : decodeAfter(tokenizer, s.prev, s.ids);
    return { text, tokenIds: s.ids, logprobs: s.logprobs, finishReason: reason, ...(stopString !== undefined ? { stopString } : {}) };
  };

  // One scheduler loop shared by every caller: concurrent generate() calls (several HTTP requests, rollout workers)
  // join the same continuous batch instead of taking turns.
  interface Job { req: GenerationRequest; done: (r: GenerationResult) => void; fail: (e: unknown) => void }
  const queue: Job[] = [];
  let active: (Slot & { job: Job })[] = [];
  let running = false;
  const loop = async () => {
    running = true;
    try {
      while (queue.length || active.length) {
        while (active.length < maxBatch && queue.length) {
          const job = queue.shift()!;
          if (job.req.maxTokens === 0) {
            job.done({ text: "", tokenIds: [], logprobs: [], finishReason: "length" });
            continue;
          }
          try {
            active.push({ ...start(job.req), job });
          } catch (e) {
            job.fail(e);
          }
        }
        if (!active.length) break;
        let logits: Float32Array;
        try {
          logits = net.forward(active.map((s) => ({ cache: s.cache, tokens: s.pending })));
        } catch (e) {
          for (const s of active) {
            release(s.cache);
            s.job.fail(e);
          }
          active = [];
          continue;
        }
        const still: typeof active = [];
        active.forEach((s, row) => {
          const { id, logprob } = sampleToken(logits, row * V, V, s.req, s.rng);
          s.ids.push(id);
          s.logprobs.push(logprob);
          s.pending = [id];
          try {
            s.req.onToken?.(id, logprob);
          } catch {
            // a listener's failure (a closed stream) never stops the batch
          }
          const reason = check(s, id);
          if (reason) {
            release(s.cache);
            s.job.done(finish(s, reason));
          }
          else still.push(s);
        });
        active = still;
        await new Promise((r) => setImmediate(r)); // let new requests arrive and servers respond between steps
      }
    } finally {
      running = false;
    }
  };

  return {
    config,
    tokenizer,
    eosIds,
    generate(requests) {
      const promises = requests.map(
        (req) => new Promise<GenerationResult>((done, fail) => queue.push({ req, done, fail })),
      );
      if (!running) void loop();
      return Promise.all(promises);
    },
    logits(ids) {
      const cache = net.newCache(ids.length);
      try {
        return net.forward([{ cache, tokens: ids, logits: "all" }]);
      } finally {
        release(cache);
      }
    },
    setWeights(weights) {
      net.setWeights(weights);
    },
  };
}
