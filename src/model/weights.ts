/**
 * @module model/weights — the in-memory weights of a model: F32 tensors keyed by their Hugging Face names
 * (`model.embed_tokens.weight`, `model.layers.{i}.self_attn.q_proj.weight` (out, in), …, `lm_head.weight`).
 * Loaders (safetensors, llama2.c) produce a WeightMap; the tfjs training model and the inference engine consume it.
 */
export interface Tensor32 {
  shape: number[];
  data: Float32Array;
}
export type WeightMap = Map<string, Tensor32>;
