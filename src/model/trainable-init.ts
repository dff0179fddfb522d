/**
 * @module model/trainable-init — deterministic random weights for a new model, as Hugging Face initialises Llama /
 * Qwen2: every Linear and the embedding ~ N(0, initializer_range = 0.02), RMSNorm gains 1, biases 0.
 */
import type { ModelConfig } from "./config.js";
import type { WeightMap } from "./weights.js";
import { createRng } from "../util/rng.js";
import { modelDims } from "./trainable.js";

/** Random weights for `config`, the same for the same seed. `std` defaults to 0.02 (HF initializer_range). */
export function initWeights(config: ModelConfig, seed: number, std = 0.02): WeightMap {
  const { D, Q, K, F, V, L } = modelDims(config);
  const rng = createRng(seed);
  const w: WeightMap = new Map();
  const normal = (name: string, shape: number[]) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    w.set(name, { shape, data });
  };
  const fill = (name: string, n: number, value: number) => w.set(name, { shape: [n], data: new Float32Array(n).fill(value) });
  const bias = config.attention_bias ?? config.model_type === "qwen2";
  normal("model.embed_tokens.weight", [V, D]);
  for (let i = 0; i < L; i++) {
    const l = `model.layers.${i}.`;
    fill(`${l}input_layernorm.weight`, D, 1);
    normal(`${l}self_attn.q_proj.weight`, [Q, D]);
    normal(`${l}self_attn.k_proj.weight`, [K, D]);
    normal(`${l}self_attn.v_proj.weight`, [K, D]);
    if (bias) {
      fill(`${l}self_attn.q_proj.bias`, Q, 0);
      fill(`${l}self_attn.k_proj.bias`, K, 0);
      fill(`${l}self_attn.v_proj.bias`, K, 0);
    }
    normal(`${l}self_attn.o_proj.weight`, [D, Q]);
    fill(`${l}post_attention_layernorm.weight`, D, 1);
    normal(`${l}mlp.gate_proj.weight`, [F, D]);
    normal(`${l}mlp.up_proj.weight`, [F, D]);
    normal(`${l}mlp.down_proj.weight`, [D, F]);
  }
  fill("model.norm.weight", D, 1);
  if (!config.tie_word_embeddings) normal("lm_head.weight", [V, D]);
  return w;
}
