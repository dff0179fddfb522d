/**
 * @module ggml/infer — generation on ggml: the same interface as the TypeScript engine (model/infer.ts
 * `InferenceModel`: `newCache`, `forward(items)` → logits (R, V)), running ggml/model's decoder graph on the
 * process's ggml backend. Weights are a `GgmlWeights` (shared with training when the trainer owns them, so a
 * rollout reads the trained tensors with no copy).
 */
import type { ModelConfig } from "../model/config.js";
import type { WeightMap } from "../model/weights.js";
import { compute, getF32, metaContext, openGgml, type GgmlRuntime, type Ptr } from "./lib.js";
import { Builder, decodeGraph, GgmlKVCache, GgmlWeights, type DecodeItem, type Dims } from "./model.js";

export class GgmlInferenceModel {
  readonly dims: Dims;
  readonly weights: GgmlWeights;
  private readonly owned: boolean;
  private galloc: Ptr | null = null;

  constructor(
    readonly config: ModelConfig,
    weights: WeightMap | GgmlWeights,
    readonly rt: GgmlRuntime = openGgml(),
  ) {
    this.owned = !(weights instanceof GgmlWeights);
    this.weights = weights instanceof GgmlWeights ? weights : new GgmlWeights(rt, config, weights);
    this.dims = this.weights.dims;
  }

  /** Replace the weights' values (copied into the backend tensors). */
  setWeights(weights: WeightMap): void {
    this.weights.load(weights);
  }

  newCache(capacity: number): GgmlKVCache {
    return new GgmlKVCache(this.rt, this.dims, capacity);
  }

  /** Logits (R, V) row-major: one row per "last" item, one per token of an "all" item, in item order. */
  forward(items: DecodeItem[]): Float32Array {
    const a = this.rt.api;
    const nodes = 64 + this.dims.L * (40 + 24 * items.length);
    const ctx = metaContext(this.rt, 2 * nodes, nodes);
    try {
      const bd = new Builder(this.rt, ctx);
      const gf = a.ggml_new_graph_custom(ctx, nodes, false);
      const { logits, set } = decodeGraph(bd, gf, this.weights, items);
      a.ggml_build_forward_expand(gf, logits);
      this.galloc ??= a.ggml_gallocr_new(this.rt.bufferType);
      if (!a.ggml_gallocr_alloc_graph(this.galloc, gf)) throw new Error("ggml: could not allocate the decode graph");
      set();
      compute(this.rt, gf);
      for (const it of items) it.cache.length += it.tokens.length;
      return getF32(this.rt, logits);
    } finally {
      a.ggml_free(ctx);
    }
  }

  dispose(): void {
    if (this.galloc) this.rt.api.ggml_gallocr_free(this.galloc);
    this.galloc = null;
    if (this.owned) this.weights.dispose();
  }
}
