/** @module model/trainable-fixtures — tiny configs and random weights shared by the model tests (and C2's cross-checks). */
import type { ModelConfig } from "./config.js";
import type { WeightMap } from "./weights.js";
import { initWeights } from "./trainable.js";
import { createRng } from "../util/rng.js";

/** Small Qwen2-style config: GQA (4 heads over 2 kv heads), QKV bias, non-default RoPE theta. */
export const tinyQwen = (tied: boolean): ModelConfig => ({
  model_type: "qwen2",
  vocab_size: 37,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  rope_theta: 1234.5,
  tie_word_embeddings: tied,
  attention_bias: true,
});

/** initWeights (std 0.3), then norm gains and biases perturbed too, so no path is trivially 0 or 1. */
export function randomWeights(config: ModelConfig, seed: number): WeightMap {
  const w = initWeights(config, seed, 0.3);
  const rng = createRng(seed + 1);
  for (const [name, t] of w)
    if (name.endsWith("norm.weight") || name.endsWith(".bias"))
      for (let i = 0; i < t.data.length; i++) t.data[i] += 0.3 * rng.normal();
  return w;
}
