/**
 * @module rollout/backends/native — the in-process transformer as a policy: C2's continuously batched KV-cache engine
 * (model/generate.ts). Contexts go in as token ids (never re-tokenized), sampled ids and their log-probs come back,
 * and a segment's text is the decoding of its ids, so trajectories' text is always a view of their ids. Concurrent
 * callers share engine batches.
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

  // Requests from concurrent callers (eval workers, several loops) are coalesced into one engine batch: whatever
  // arrives while a batch runs goes into the next one, instead of each caller decoding its own batch of one.
  type Pending = { req: GenerationRequest; resolve: (r: GenerationResult) => void; reject: (e: unknown) => void };
  let queue: Pending[] = [];
  let pumping = false;
  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      while (queue.length) {
        const batch = queue;
        queue = [];
        try {
          const results = await engine.generate(batch.map((p) => p.req));
          batch.forEach((p, i) => p.resolve(withIdText(p.req, results[i])));
        } catch {
          // one bad request (e.g. a prompt too long for the context) must not fail the others: retry one by one
          for (const p of batch) {
            try {
              p.resolve(withIdText(p.req, (await engine.generate([p.req]))[0]));
            } catch (e) {
              p.reject(e);
            }
          }
        }
      }
    } finally {
      pumping = false;
    }
  };

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
    generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
      const out = Promise.all(requests.map((req) => new Promise<GenerationResult>((resolve, reject) => queue.push({ req, resolve, reject }))));
      setImmediate(pump); // let callers in the same turn join this batch
      return out;
    },
  };
}
