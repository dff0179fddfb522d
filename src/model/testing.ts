/**
 * @module model/testing — tiny checkpoints built in code for tests and benches: a random Qwen2-style model (QKV bias,
 * non-default RoPE theta, grouped-query attention, untied head) with a real byte-level BPE tokenizer and chat template.
 */
import type { ModelConfig } from "./config.js";
import { randomWeights } from "./random.js";
import { createHfTokenizer } from "../tokenizer/hf.js";
import { buildByteLevelTokenizer, bytesToUnicode, CHATML_TEMPLATE } from "../tokenizer/bytelevel.js";
import type { LoadedModel } from "./generate.js";

export function tinyQwen2(opts: { seed?: number; hidden?: number; layers?: number; ffn?: number } = {}): LoadedModel {
  const u = bytesToUnicode();
  const files = buildByteLevelTokenizer([[u[32], "t"], ["h", "e"], [u[32] + "t", "he"], [u[32], "a"], ["i", "n"]], CHATML_TEMPLATE);
  const tokenizer = createHfTokenizer(files);
  const config: ModelConfig = {
    architectures: ["Qwen2ForCausalLM"],
    model_type: "qwen2",
    vocab_size: tokenizer.vocabSize,
    hidden_size: opts.hidden ?? 64,
    intermediate_size: opts.ffn ?? 160,
    num_hidden_layers: opts.layers ?? 2,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    max_position_embeddings: 512,
    rms_norm_eps: 1e-6,
    rope_theta: 1_000_000,
    tie_word_embeddings: false,
    attention_bias: true,
    bos_token_id: null,
    eos_token_id: tokenizer.eosId,
  };
  return { config, weights: randomWeights(config, opts.seed ?? 1, 0.08), tokenizer };
}
