/**
 * @module rollout/backends/native — the in-process transformer as a policy: C2's continuously batched KV-cache engine
 * (model/generate.ts). Contexts go in as token ids (never re-tokenized), sampled ids and their log-probs come back,
 * and a segment's text is the decoding of its ids, so trajectories' text is always a view of their ids. The engine
 * runs one continuous batch shared by all concurrent callers, so rollouts that call it separately still batch.
 */
import { createEngine, decodeAfter, type Engine, type LoadedModel } from "../../model/generate.js";
import type { GenerationRequest, GenerationResult } from "../../model/generation.js";
import type { PolicyBackend } from "../types.js";

export interface NativeBackendOptions {
  /** An engine already built (the trainer's, whose weights it updates), or a model to build one from. */
  engine?: Engine;
  model?: LoadedModel;
  /** Sequences decoded together by the engine (its continuous batch); the loop feeds it more requests than this. */
  maxBatch?: number;
  name?: string;
}

export interface NativeBackend extends PolicyBackend {
  readonly engine: Engine;
}

export function createNativeBackend(opts: NativeBackendOptions): NativeBackend {
  const engine = opts.engine ?? (opts.model ? createEngine(opts.model, { maxBatch: opts.maxBatch ?? 16 }) : undefined);
  if (!engine) throw new Error("native backend: give an engine or a model");
  const tok = engine.tokenizer;

  /** The text of exactly the sampled ids (the engine cuts it at a stop string inside the last token; we keep the
   * whole token, since its id is in the context the next round continues from). */
  const withIdText = (req: GenerationRequest, r: GenerationResult): GenerationResult => {
    if (!r.tokenIds) return r;
    const ctx = req.promptIds;
    return { ...r, text: decodeAfter(tok, ctx?.length ? ctx[ctx.length - 1] : undefined, r.tokenIds) };
  };

  return {
    name: opts.name ?? `native:${engine.config.model_type}`,
    eosText: tok.eosText,
    tokenizer: tok,
    engine,
    async generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
      const results = await engine.generate(requests);
      return results.map((r, i) => withIdText(requests[i], r));
    },
  };
}
