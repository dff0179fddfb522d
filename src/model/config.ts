/**
 * @module model/config — the decoder-only transformer configuration, in Hugging Face `config.json` field names
 * (Llama / Qwen2). Owned by the model engine; every other module imports the type from here.
 */
export interface ModelConfig {
  architectures?: string[];
  model_type: "llama" | "qwen2" | string;
  vocab_size: number; // V
  hidden_size: number; // D
  intermediate_size: number; // SwiGLU hidden
  num_hidden_layers: number; // L
  num_attention_heads: number; // H
  num_key_value_heads: number; // grouped-query attention: H_kv divides H
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  /** Qwen2 has biases on q/k/v projections; Llama does not. */
  attention_bias?: boolean;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  head_dim?: number;
  torch_dtype?: string;
}
