/**
 * @module model/trainable-reference — a plain float64 Llama / Qwen2 forward pass written as loops, straight from the
 * Hugging Face modeling code, used only by tests as an independent reference for the tfjs model and the engines.
 */
import type { ModelConfig } from "./config.js";
import type { WeightMap } from "./weights.js";

type Mat = Float64Array;

/** Logits (T, V) row-major in float64 for one unpadded sequence; positions 0..T-1. */
export function referenceLogits(config: ModelConfig, w: WeightMap, ids: ArrayLike<number>): Float64Array {
  const D = config.hidden_size;
  const H = config.num_attention_heads;
  const Hkv = config.num_key_value_heads ?? H;
  const hd = config.head_dim ?? D / H;
  const F = config.intermediate_size;
  const V = config.vocab_size;
  const T = ids.length;
  const get = (name: string): Mat => {
    const t = w.get(name);
    if (!t) throw new Error(`reference: missing ${name}`);
    return Float64Array.from(t.data);
  };
  const getOpt = (name: string): Mat | undefined => (w.has(name) ? get(name) : undefined);
  /** y (T, out) = x (T, in) · W(out, in)ᵀ + b */
  const linear = (x: Mat, W: Mat, inDim: number, outDim: number, b?: Mat): Mat => {
    const y = new Float64Array(T * outDim);
    for (let t = 0; t < T; t++)
      for (let o = 0; o < outDim; o++) {
        let s = b ? b[o] : 0;
        for (let i = 0; i < inDim; i++) s += x[t * inDim + i] * W[o * inDim + i];
        y[t * outDim + o] = s;
      }
    return y;
  };
  const rmsNorm = (x: Mat, g: Mat): Mat => {
    const y = new Float64Array(T * D);
    for (let t = 0; t < T; t++) {
      let ss = 0;
      for (let i = 0; i < D; i++) ss += x[t * D + i] ** 2;
      const r = 1 / Math.sqrt(ss / D + config.rms_norm_eps);
      for (let i = 0; i < D; i++) y[t * D + i] = x[t * D + i] * r * g[i];
    }
    return y;
  };
  /** rotate-half RoPE on (T, nHeads·hd) in place. */
  const rope = (x: Mat, nHeads: number) => {
    const half = hd / 2;
    for (let t = 0; t < T; t++)
      for (let h = 0; h < nHeads; h++)
        for (let i = 0; i < half; i++) {
          const a = t * Math.pow(config.rope_theta, -(2 * i) / hd);
          const o = t * nHeads * hd + h * hd;
          const x1 = x[o + i];
          const x2 = x[o + i + half];
          x[o + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
          x[o + i + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
        }
  };

  const E = get("model.embed_tokens.weight");
  const x = new Float64Array(T * D);
  for (let t = 0; t < T; t++) for (let i = 0; i < D; i++) x[t * D + i] = E[ids[t] * D + i];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const h = rmsNorm(x, get(`${p}input_layernorm.weight`));
    const q = linear(h, get(`${p}self_attn.q_proj.weight`), D, H * hd, getOpt(`${p}self_attn.q_proj.bias`));
    const k = linear(h, get(`${p}self_attn.k_proj.weight`), D, Hkv * hd, getOpt(`${p}self_attn.k_proj.bias`));
    const v = linear(h, get(`${p}self_attn.v_proj.weight`), D, Hkv * hd, getOpt(`${p}self_attn.v_proj.bias`));
    rope(q, H);
    rope(k, Hkv);
    const att = new Float64Array(T * H * hd);
    for (let hh = 0; hh < H; hh++) {
      const kvh = Math.floor(hh / (H / Hkv)); // repeat_kv: query head hh reads kv head hh / rep
      for (let i = 0; i < T; i++) {
        const s = new Float64Array(i + 1);
        let m = -Infinity;
        for (let j = 0; j <= i; j++) {
          let d = 0;
          for (let c = 0; c < hd; c++) d += q[i * H * hd + hh * hd + c] * k[j * Hkv * hd + kvh * hd + c];
          s[j] = d / Math.sqrt(hd);
          m = Math.max(m, s[j]);
        }
        let z = 0;
        for (let j = 0; j <= i; j++) z += s[j] = Math.exp(s[j] - m);
        for (let j = 0; j <= i; j++)
          for (let c = 0; c < hd; c++) att[i * H * hd + hh * hd + c] += (s[j] / z) * v[j * Hkv * hd + kvh * hd + c];
      }
    }
    const o = linear(att, get(`${p}self_attn.o_proj.weight`), H * hd, D);
    for (let i = 0; i < x.length; i++) x[i] += o[i];
    const h2 = rmsNorm(x, get(`${p}post_attention_layernorm.weight`));
    const g = linear(h2, get(`${p}mlp.gate_proj.weight`), D, F);
    const u = linear(h2, get(`${p}mlp.up_proj.weight`), D, F);
    for (let i = 0; i < g.length; i++) g[i] = (g[i] / (1 + Math.exp(-g[i]))) * u[i];
    const d = linear(g, get(`${p}mlp.down_proj.weight`), F, D);
    for (let i = 0; i < x.length; i++) x[i] += d[i];
  }
  const hN = rmsNorm(x, get("model.norm.weight"));
  return linear(hN, config.tie_word_embeddings ? E : get("lm_head.weight"), D, V);
}

/** Per next token: log p(ids[t+1]) and entropy of the distribution at t, from referenceLogits. Each (T-1). */
export function referenceTokenLogprobs(config: ModelConfig, w: WeightMap, ids: ArrayLike<number>) {
  const V = config.vocab_size;
  const z = referenceLogits(config, w, ids);
  const T = ids.length;
  const logprobs = new Float64Array(T - 1);
  const entropy = new Float64Array(T - 1);
  for (let t = 0; t < T - 1; t++) {
    let m = -Infinity;
    for (let i = 0; i < V; i++) m = Math.max(m, z[t * V + i]);
    let s = 0;
    for (let i = 0; i < V; i++) s += Math.exp(z[t * V + i] - m);
    const lse = m + Math.log(s);
    logprobs[t] = z[t * V + ids[t + 1]] - lse;
    let h = 0;
    for (let i = 0; i < V; i++) {
      const lp = z[t * V + i] - lse;
      h -= Math.exp(lp) * lp;
    }
    entropy[t] = h;
  }
  return { logprobs, entropy };
}
