/**
 * @module model/trainable — the differentiable Llama / Qwen2 decoder in TensorFlow.js (RMSNorm, RoPE with theta,
 * grouped-query attention, SwiGLU, optional QKV bias, tied or untied embeddings), used for training: logits,
 * per-token log-probabilities and entropy of given tokens under padding masks, and weight export for the inference
 * engine. Weights follow Hugging Face names and conventions (rotate-half RoPE, Linear weights stored (out, in)).
 *
 * Internally each Linear is stored transposed (in, out) so the forward runs plain matmuls, and q/k/v and gate/up are
 * fused into one matmul each; `exportWeights` turns them back into the Hugging Face tensors.
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "./config.js";
import type { WeightMap } from "./weights.js";
import { matMulFast } from "../tensor/grads.js";
import { applyRope as fusedRope, rmsNorm as fusedRmsNorm } from "../tensor/fused.js";
import { tokenLogprobsAndEntropy } from "./trainable-logprobs.js";
import { buildAttentionBias, buildRopeTables, type RopeTables } from "./trainable-masks.js";

/** Token ids of a (B, T) batch and which of them are real (1) or padding (0). */
export interface TokenBatch {
  inputIds: Int32Array; // (B, T) row-major
  B: number;
  T: number;
  /** 1 = real token, 0 = padding; right or left padding. Default: all ones. */
  attentionMask?: ArrayLike<number>; // (B, T)
  /** `tokenLogprobs` only: log-probs and entropy of softmax(logits / temperature), the distribution a sampler at
   * that temperature draws from (as verl's actor divides logits by the rollout temperature). Default 1. */
  temperature?: number;
}

export interface TokenLogprobs {
  /** log p(inputIds[b, t+1] | inputIds[b, ≤t]); 0 where token t+1 is padding. */
  logprobs: tf.Tensor2D; // (B, T-1)
  /** Entropy of the next-token distribution at t (nats); 0 where token t+1 is padding. */
  entropy: tf.Tensor2D; // (B, T-1)
}

export interface TrainableModelOptions {
  /** false for a frozen model (e.g. a GRPO reference policy): variables are not trainable. Default true. */
  trainable?: boolean;
}

export interface TrainableModel {
  readonly config: ModelConfig;
  /** Parameters by stable internal name (`layers.0.wqkv`, …), in a fixed order. */
  readonly params: Map<string, tf.Variable>;
  /** The same parameters as a list, for tf.variableGrads and optimizers. */
  readonly variables: tf.Variable[];
  /** Next-token logits at every position. */
  logits(ids: Int32Array, B: number, T: number, attentionMask?: ArrayLike<number>): tf.Tensor3D; // (B, T, V)
  /** Log-probability and entropy of each next token (differentiable). */
  tokenLogprobs(batch: TokenBatch): TokenLogprobs;
  /** Copy the current parameters out as Hugging Face tensors (so the inference engine can sync). */
  exportWeights(): WeightMap;
  /** Overwrite the parameters from Hugging Face tensors (shapes checked). */
  loadWeights(weights: WeightMap): void;
  /** Number of scalar parameters. */
  numParams(): number;
  dispose(): void;
}

/** Derived sizes of a config. */
export function modelDims(c: ModelConfig) {
  const D = c.hidden_size;
  const H = c.num_attention_heads;
  const Hkv = c.num_key_value_heads ?? H;
  const hd = c.head_dim ?? D / H;
  if (!Number.isInteger(hd)) throw new Error(`config: hidden_size ${D} is not divisible by num_attention_heads ${H}`);
  if (H % Hkv !== 0) throw new Error(`config: num_attention_heads ${H} is not a multiple of num_key_value_heads ${Hkv}`);
  if (hd % 2 !== 0) throw new Error(`config: head_dim ${hd} must be even for RoPE`);
  return { D, H, Hkv, hd, Q: H * hd, K: Hkv * hd, F: c.intermediate_size, V: c.vocab_size, L: c.num_hidden_layers };
}

let modelCounter = 0;

export function createTrainableModel(config: ModelConfig, weights: WeightMap, opts: TrainableModelOptions = {}): TrainableModel {
  const { D, H, Hkv, hd, Q, K, F, V, L } = modelDims(config);
  const trainable = opts.trainable ?? true;
  const bias = config.attention_bias ?? config.model_type === "qwen2";
  const tied = config.tie_word_embeddings;
  const prefix = `m${modelCounter++}/`;
  const params = new Map<string, tf.Variable>();
  const shapes: Array<[string, number[]]> = [["embed", [V, D]]];
  for (let i = 0; i < L; i++) {
    shapes.push([`layers.${i}.attn_norm`, [D]], [`layers.${i}.wqkv`, [D, Q + 2 * K]]);
    if (bias) shapes.push([`layers.${i}.bqkv`, [Q + 2 * K]]);
    shapes.push([`layers.${i}.wo`, [Q, D]], [`layers.${i}.mlp_norm`, [D]], [`layers.${i}.wgu`, [D, 2 * F]], [`layers.${i}.wdown`, [F, D]]);
  }
  shapes.push(["norm", [D]]);
  if (!tied) shapes.push(["lm_head", [D, V]]);
  for (const [name, shape] of shapes) {
    const zeros = tf.zeros(shape);
    params.set(name, tf.variable(zeros, trainable, prefix + name));
    zeros.dispose();
  }
  const p = (name: string) => params.get(name)!;

  const model: TrainableModel = {
    config,
    params,
    variables: [...params.values()],
    logits: (ids, B, T, attentionMask) =>
      tf.tidy(() => {
        const h = hidden(ids, B, T, attentionMask); // (B*T, D)
        return lmHead(h).reshape([B, T, V]) as tf.Tensor3D;
      }),
    tokenLogprobs: ({ inputIds, B, T, attentionMask, temperature = 1 }) =>
      tf.tidy(() => {
        if (T < 2) throw new Error(`tokenLogprobs: need T >= 2 tokens, got ${T}`);
        const h = hidden(inputIds, B, T, attentionMask).reshape([B, T, D]) as tf.Tensor3D;
        const hPrev = h.slice([0, 0, 0], [B, T - 1, D]).reshape([B * (T - 1), D]) as tf.Tensor2D; // (B*(T-1), D)
        const targets = new Int32Array(B * (T - 1));
        const targetMask = new Float32Array(B * (T - 1));
        for (let b = 0; b < B; b++)
          for (let t = 0; t < T - 1; t++) {
            targets[b * (T - 1) + t] = inputIds[b * T + t + 1];
            targetMask[b * (T - 1) + t] = attentionMask ? Number(attentionMask[b * T + t + 1]) : 1;
          }
        if (!(temperature > 0)) throw new Error(`tokenLogprobs: temperature must be > 0, got ${temperature}`);
        const z = lmHead(hPrev); // (N, V)
        const [lp, ent] = tokenLogprobsAndEntropy(temperature === 1 ? z : z.div(temperature), targets); // (N,), (N,)
        const m = tf.tensor2d(targetMask, [B, T - 1]);
        return {
          logprobs: lp.reshape([B, T - 1]).mul(m) as tf.Tensor2D,
          entropy: ent.reshape([B, T - 1]).mul(m) as tf.Tensor2D,
        };
      }),
    exportWeights: () => exportHf(),
    loadWeights: (w) => loadHf(w),
    numParams: () => [...params.values()].reduce((s, v) => s + v.size, 0),
    dispose: () => {
      for (const v of params.values()) v.dispose();
      params.clear();
    },
  };

  /** Final hidden states after the last RMSNorm. */
  function hidden(ids: Int32Array, B: number, T: number, attentionMask?: ArrayLike<number>): tf.Tensor2D {
    if (ids.length !== B * T) throw new Error(`inputIds has ${ids.length} ids, expected B*T = ${B}*${T}`);
    if (attentionMask && attentionMask.length !== B * T)
      throw new Error(`attentionMask has ${attentionMask.length} entries, expected B*T = ${B * T}`);
    for (let i = 0; i < ids.length; i++)
      if (ids[i] < 0 || ids[i] >= V) throw new Error(`token id ${ids[i]} at [${Math.floor(i / T)}, ${i % T}] is outside the vocabulary [0, ${V})`);
    const rope = buildRopeTables(B, T, hd, config.rope_theta, attentionMask);
    const bias = tf.tensor(buildAttentionBias(B, T, attentionMask), [B, 1, 1, T, T]); // (B, 1, 1, T, T)
    let x = tf.gather(p("embed"), tf.tensor1d(ids, "int32")) as tf.Tensor2D; // (N, D)
    for (let i = 0; i < L; i++) {
      x = x.add(attention(rmsNorm(x, p(`layers.${i}.attn_norm`)), i, B, T, rope, bias));
      x = x.add(swiglu(rmsNorm(x, p(`layers.${i}.mlp_norm`)), i));
    }
    return rmsNorm(x, p("norm"));
  }

  const rmsNorm = (x: tf.Tensor2D, w: tf.Variable) => fusedRmsNorm(x, w as tf.Tensor1D, config.rms_norm_eps); // (N, D)

  function attention(h: tf.Tensor2D, i: number, B: number, T: number, rope: RopeTables, bias: tf.Tensor): tf.Tensor2D {
    const rep = H / Hkv;
    let qkv = tf.matMul(h, p(`layers.${i}.wqkv`)); // (N, Q+2K)
    if (params.has(`layers.${i}.bqkv`)) qkv = qkv.add(p(`layers.${i}.bqkv`));
    const [qh, kh, vh] = tf.split(qkv, [Q, K, K], 1); // (N, Q), (N, K), (N, K): split's gradient is one concat
    const heads = (x: tf.Tensor, nh: number) => x.reshape([B, T, nh, hd]).transpose([0, 2, 1, 3]); // (B, nh, T, hd)
    const q = applyRope(heads(qh.mul(1 / Math.sqrt(hd)), H), rope).reshape([B, Hkv, rep * T, hd]); // (B, Hkv, rep*T, hd)
    const k = applyRope(heads(kh, Hkv), rope); // (B, Hkv, T, hd)
    const v = heads(vh, Hkv); // (B, Hkv, T, hd)
    const scores = matMulFast(q, k, false, true).reshape([B, Hkv, rep, T, T]).add(bias); // (B, Hkv, rep, T, T)
    const probs = tf.softmax(scores).reshape([B, Hkv, rep * T, T]);
    const o = tf.matMul(probs, v).reshape([B, H, T, hd]).transpose([0, 2, 1, 3]).reshape([B * T, Q]); // (N, Q)
    return tf.matMul(o, p(`layers.${i}.wo`)); // (N, D)
  }

  /** Rotate-half RoPE (Hugging Face convention). x (B, h, T, hd). */
  const applyRope = (x: tf.Tensor, rope: RopeTables) => fusedRope(x as tf.Tensor4D, rope.cos, rope.sin);

  function swiglu(h: tf.Tensor2D, i: number): tf.Tensor2D {
    const gu = tf.matMul(h, p(`layers.${i}.wgu`)); // (N, 2F)
    const [g, u] = tf.split(gu, 2, 1); // (N, F) each
    return tf.matMul(g.mul(tf.sigmoid(g)).mul(u), p(`layers.${i}.wdown`)); // (N, D)
  }

  function lmHead(h: tf.Tensor2D): tf.Tensor2D {
    return (tied ? matMulFast(h, p("embed"), false, true) : tf.matMul(h, p("lm_head"))) as tf.Tensor2D; // (N, V)
  }

  // ---- Hugging Face weight mapping -------------------------------------------------------------------------------
  const hf = (i: number, rest: string) => `model.layers.${i}.${rest}`;

  function loadHf(w: WeightMap): void {
    const get = (name: string, shape: number[]): Float32Array => {
      const t = w.get(name);
      if (!t) throw new Error(`weights: missing tensor ${name} (expected shape [${shape}])`);
      if (t.shape.length !== shape.length || t.shape.some((d, j) => d !== shape[j]))
        throw new Error(`weights: ${name} has shape [${t.shape}], expected [${shape}]`);
      return t.data;
    };
    tf.tidy(() => {
      const set = (name: string, value: tf.Tensor) => p(name).assign(value);
      /** HF Linear weights (out, in) → our (in, out), concatenated along out. */
      const linearT = (names: string[], outs: number[], inDim: number) =>
        tf.concat(names.map((n, j) => tf.tensor2d(get(n, [outs[j], inDim]), [outs[j], inDim]).transpose()), 1);
      set("embed", tf.tensor2d(get("model.embed_tokens.weight", [V, D]), [V, D]));
      for (let i = 0; i < L; i++) {
        set(`layers.${i}.attn_norm`, tf.tensor1d(get(hf(i, "input_layernorm.weight"), [D])));
        const qkvNames = ["q_proj", "k_proj", "v_proj"].map((n) => hf(i, `self_attn.${n}.weight`));
        set(`layers.${i}.wqkv`, linearT(qkvNames, [Q, K, K], D));
        if (params.has(`layers.${i}.bqkv`)) {
          const bs = ["q_proj", "k_proj", "v_proj"].map((n, j) => {
            const name = hf(i, `self_attn.${n}.bias`);
            return tf.tensor1d(get(name, [[Q, K, K][j]]));
          });
          set(`layers.${i}.bqkv`, tf.concat(bs));
        }
        set(`layers.${i}.wo`, linearT([hf(i, "self_attn.o_proj.weight")], [D], Q));
        set(`layers.${i}.mlp_norm`, tf.tensor1d(get(hf(i, "post_attention_layernorm.weight"), [D])));
        set(`layers.${i}.wgu`, linearT([hf(i, "mlp.gate_proj.weight"), hf(i, "mlp.up_proj.weight")], [F, F], D));
        set(`layers.${i}.wdown`, linearT([hf(i, "mlp.down_proj.weight")], [D], F));
      }
      set("norm", tf.tensor1d(get("model.norm.weight", [D])));
      if (!tied) set("lm_head", linearT(["lm_head.weight"], [V], D));
    });
  }

  function exportHf(): WeightMap {
    const out: WeightMap = new Map();
    const put = (name: string, t: tf.Tensor) => {
      out.set(name, { shape: t.shape.slice(), data: t.dataSync() as Float32Array });
      t.dispose();
    };
    /** our (in, out) columns [start, start+width) → HF (out, in). */
    const linear = (name: string, src: string, start: number, width: number) =>
      put(name, tf.tidy(() => { const w = p(src); return w.slice([0, start], [w.shape[0], width]).transpose(); }));
    put("model.embed_tokens.weight", p("embed").clone());
    for (let i = 0; i < L; i++) {
      put(hf(i, "input_layernorm.weight"), p(`layers.${i}.attn_norm`).clone());
      linear(hf(i, "self_attn.q_proj.weight"), `layers.${i}.wqkv`, 0, Q);
      linear(hf(i, "self_attn.k_proj.weight"), `layers.${i}.wqkv`, Q, K);
      linear(hf(i, "self_attn.v_proj.weight"), `layers.${i}.wqkv`, Q + K, K);
      if (params.has(`layers.${i}.bqkv`)) {
        const b = p(`layers.${i}.bqkv`);
        put(hf(i, "self_attn.q_proj.bias"), b.slice([0], [Q]));
        put(hf(i, "self_attn.k_proj.bias"), b.slice([Q], [K]));
        put(hf(i, "self_attn.v_proj.bias"), b.slice([Q + K], [K]));
      }
      linear(hf(i, "self_attn.o_proj.weight"), `layers.${i}.wo`, 0, D);
      put(hf(i, "post_attention_layernorm.weight"), p(`layers.${i}.mlp_norm`).clone());
      linear(hf(i, "mlp.gate_proj.weight"), `layers.${i}.wgu`, 0, F);
      linear(hf(i, "mlp.up_proj.weight"), `layers.${i}.wgu`, F, F);
      linear(hf(i, "mlp.down_proj.weight"), `layers.${i}.wdown`, 0, D);
    }
    put("model.norm.weight", p("norm").clone());
    if (!tied) linear("lm_head.weight", "lm_head", 0, V);
    return out;
  }

  try {
    loadHf(weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

export { initWeights } from "./trainable-init.js";
