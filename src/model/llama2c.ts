/**
 * @module model/llama2c — read karpathy/llama2.c legacy `.bin` checkpoints (7 × int32 header, then F32 weights in
 * run.c's order) into Hugging Face tensor names and layout, so one forward path serves both formats.
 * llama2.c keeps q/k rows in Meta's interleaved RoPE layout (pairs 2i, 2i+1); HF rotates halves (i, i + hs/2).
 * We apply transformers' `permute` (convert_llama_weights_to_hf.py) to wq/wk on load.
 */
import { readFileSync, existsSync } from "node:fs";
import { InputError, UserError } from "../util/errors.js";
import type { ModelConfig } from "./config.js";
import type { WeightMap } from "./weights.js";

/**
 * Per head, interleaved row 2i + j ↔ half-split row j*hs/2 + i. W is (heads*hs, cols).
 * `toHf`: Meta interleaved → HF half-split (load); otherwise the inverse (llama.cpp's `llama` architecture wants Meta's).
 */
function permuteRopeRows(w: Float32Array, heads: number, cols: number, toHf: boolean): Float32Array {
  const hs = w.length / cols / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < hs / 2; i++)
      for (let j = 0; j < 2; j++) {
        const meta = (h * hs + 2 * i + j) * cols;
        const hf = (h * hs + j * (hs / 2) + i) * cols;
        const [src, dst] = toHf ? [meta, hf] : [hf, meta];
        out.set(w.subarray(src, src + cols), dst);
      }
  return out;
}

/** Meta interleaved rows → HF half-split rows (transformers' `permute`). */
export const permuteMetaToHf = (w: Float32Array, heads: number, cols: number) => permuteRopeRows(w, heads, cols, true);

/** HF half-split rows → Meta interleaved rows (the inverse). */
export const permuteHfToMeta = (w: Float32Array, heads: number, cols: number) => permuteRopeRows(w, heads, cols, false);

/** Read a llama2.c checkpoint: config (HF names) and weights (HF names, HF RoPE layout). */
export function readLlama2cCheckpoint(path: string): { config: ModelConfig; weights: WeightMap } {
  if (!existsSync(path)) throw new UserError(`llama2.c checkpoint not found: ${path}`);
  const buf = readFileSync(path);
  if (buf.length < 28) throw new InputError(path, undefined, "header", "file too short for the 7 × int32 llama2.c header");
  const h = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + 28));
  const [dim, hidden, layers, heads, kvHeads, vocabSigned, seqLen] = Array.from(h);
  const vocab = Math.abs(vocabSigned);
  const shared = vocabSigned > 0;
  if ([dim, hidden, layers, heads, kvHeads, vocab, seqLen].some((x) => x <= 0) || dim % heads || heads % kvHeads)
    throw new InputError(path, undefined, "header", `implausible header [${Array.from(h)}]`);
  const hs = dim / heads;
  const kvDim = kvHeads * hs;
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset + 28, buf.byteOffset + buf.length - ((buf.length - 28) % 4)));
  let p = 0;
  const take = (n: number): Float32Array => {
    if (p + n > floats.length) throw new InputError(path, undefined, undefined, `truncated: needs more than ${floats.length} floats`);
    const a = floats.slice(p, p + n);
    p += n;
    return a;
  };
  const perLayer = (n: number) => {
    const all = take(layers * n);
    return Array.from({ length: layers }, (_, l) => all.subarray(l * n, (l + 1) * n));
  };
  const weights: WeightMap = new Map();
  const emb = take(vocab * dim);
  weights.set("model.embed_tokens.weight", { shape: [vocab, dim], data: emb });
  const attNorm = perLayer(dim);
  const wq = perLayer(dim * dim);
  const wk = perLayer(kvDim * dim);
  const wv = perLayer(kvDim * dim);
  const wo = perLayer(dim * dim);
  const ffnNorm = perLayer(dim);
  const w1 = perLayer(hidden * dim);
  const w2 = perLayer(dim * hidden);
  const w3 = perLayer(hidden * dim);
  const finalNorm = take(dim);
  take(seqLen * (hs / 2) * 2); // legacy freq_cis_real / freq_cis_imag: RoPE is recomputed
  for (let l = 0; l < layers; l++) {
    const pre = `model.layers.${l}`;
    weights.set(`${pre}.input_layernorm.weight`, { shape: [dim], data: attNorm[l].slice() });
    weights.set(`${pre}.self_attn.q_proj.weight`, { shape: [dim, dim], data: permuteMetaToHf(wq[l], heads, dim) });
    weights.set(`${pre}.self_attn.k_proj.weight`, { shape: [kvDim, dim], data: permuteMetaToHf(wk[l], kvHeads, dim) });
    weights.set(`${pre}.self_attn.v_proj.weight`, { shape: [kvDim, dim], data: wv[l].slice() });
    weights.set(`${pre}.self_attn.o_proj.weight`, { shape: [dim, dim], data: wo[l].slice() });
    weights.set(`${pre}.post_attention_layernorm.weight`, { shape: [dim], data: ffnNorm[l].slice() });
    weights.set(`${pre}.mlp.gate_proj.weight`, { shape: [hidden, dim], data: w1[l].slice() });
    weights.set(`${pre}.mlp.down_proj.weight`, { shape: [dim, hidden], data: w2[l].slice() });
    weights.set(`${pre}.mlp.up_proj.weight`, { shape: [hidden, dim], data: w3[l].slice() });
  }
  weights.set("model.norm.weight", { shape: [dim], data: finalNorm });
  if (!shared) weights.set("lm_head.weight", { shape: [vocab, dim], data: take(vocab * dim) });
  const config: ModelConfig = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: vocab,
    hidden_size: dim,
    intermediate_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    max_position_embeddings: seqLen,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: shared,
    attention_bias: false,
    // llama2.c: BOS (1) starts and also delimits stories (run.c stops on it); EOS is 2.
    bos_token_id: 1,
    eos_token_id: [2, 1],
    torch_dtype: "float32",
  };
  return { config, weights };
}
