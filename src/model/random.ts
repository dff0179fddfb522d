/**
 * @module model/random — seeded random weights for any ModelConfig (HF tensor names), for tests, benchmarks and
 * from-scratch runs: N(0, std) linear weights, ones for norms, small biases.
 */
import { createRng } from "../util/rng.js";
import type { ModelConfig } from "./config.js";
import type { WeightMap } from "./weights.js";
import { dimsOf } from "./infer.js";

/** The tensor names and shapes a config implies (HF naming). */
export function weightShapes(config: ModelConfig): Map<string, number[]> {
  const { D, F, L, H, Hkv, hs, V } = dimsOf(config);
  const bias = config.attention_bias ?? config.model_type === "qwen2";
  const m = new Map<string, number[]>();
  m.set("model.embed_tokens.weight", [V, D]);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    m.set(`${p}.input_layernorm.weight`, [D]);
    m.set(`${p}.self_attn.q_proj.weight`, [H * hs, D]);
    m.set(`${p}.self_attn.k_proj.weight`, [Hkv * hs, D]);
    m.set(`${p}.self_attn.v_proj.weight`, [Hkv * hs, D]);
    if (bias) {
      m.set(`${p}.self_attn.q_proj.bias`, [H * hs]);
      m.set(`${p}.self_attn.k_proj.bias`, [Hkv * hs]);
      m.set(`${p}.self_attn.v_proj.bias`, [Hkv * hs]);
    }
    m.set(`${p}.self_attn.o_proj.weight`, [D, H * hs]);
    m.set(`${p}.post_attention_layernorm.weight`, [D]);
    m.set(`${p}.mlp.gate_proj.weight`, [F, D]);
    m.set(`${p}.mlp.up_proj.weight`, [F, D]);
    m.set(`${p}.mlp.down_proj.weight`, [D, F]);
  }
  m.set("model.norm.weight", [D]);
  if (!config.tie_word_embeddings) m.set("lm_head.weight", [V, D]);
  return m;
}

/** Random weights: linear N(0, std), norms 1 + N(0, 0.1) (so a norm bug shows), biases N(0, std). */
export function randomWeights(config: ModelConfig, seed = 0, std = 0.05): WeightMap {
  const rng = createRng(seed);
  const w: WeightMap = new Map();
  for (const [name, shape] of weightShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isNorm = name.endsWith("norm.weight");
    for (let i = 0; i < n; i++) data[i] = isNorm ? 1 + 0.1 * rng.normal() : std * rng.normal();
    w.set(name, { shape, data });
  }
  return w;
}
