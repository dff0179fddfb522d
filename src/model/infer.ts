/**
 * @module model/infer — the fast inference forward pass of a Llama / Qwen2 decoder (RMSNorm, RoPE, grouped-query
 * attention, SwiGLU, optional QKV bias) in plain TypeScript over Float32Array, with a per-sequence KV cache.
 * One call runs any mix of prefill and decode rows: the rows of all sequences are stacked into one (N, D) matrix
 * so every linear layer is a single batched matmul; only attention is per sequence.
 */
import { UserError } from "../util/errors.js";
import { blas } from "./kernels.js";
import type { ModelConfig } from "./config.js";
import type { WeightMap } from "./weights.js";

/** OpenBLAS through koffi when present (5–20× the JS loop by measurement); RESEARCH_BLAS=0 turns it off. */
export const matmulBackend: "openblas" | "js" = blas ? "openblas" : "js";

/** Weights of one decoder layer, referenced (not copied) from the WeightMap; linear weights are (out, in) row-major. */
interface LayerWeights {
  attnNorm: Float32Array; // (D)
  wq: Float32Array; // (H*hs, D)
  wk: Float32Array; // (Hkv*hs, D)
  wv: Float32Array; // (Hkv*hs, D)
  bq: Float32Array | null; // (H*hs) Qwen2 bias
  bk: Float32Array | null; // (Hkv*hs)
  bv: Float32Array | null; // (Hkv*hs)
  wo: Float32Array; // (D, H*hs)
  ffnNorm: Float32Array; // (D)
  wgate: Float32Array; // (F, D)
  wup: Float32Array; // (F, D)
  wdown: Float32Array; // (D, F)
}

/** Keys and values of one sequence, for every layer: (L, capacity, Hkv*hs) each. */
export interface KVCache {
  readonly capacity: number;
  /** Number of positions already filled. */
  length: number;
  readonly k: Float32Array[];
  readonly v: Float32Array[];
}

/** One sequence's part of a forward call: `tokens` are appended at `cache.length`. */
export interface ForwardItem {
  cache: KVCache;
  tokens: ArrayLike<number>;
  /** Which rows' logits to return: the last token's (default) or every token's. */
  logits?: "last" | "all";
}

export interface Dims {
  D: number;
  F: number;
  L: number;
  H: number;
  Hkv: number;
  hs: number;
  V: number;
  eps: number;
  theta: number;
}

export function dimsOf(c: ModelConfig): Dims {
  const hs = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  return {
    D: c.hidden_size,
    F: c.intermediate_size,
    L: c.num_hidden_layers,
    H: c.num_attention_heads,
    Hkv: c.num_key_value_heads ?? c.num_attention_heads,
    hs,
    V: c.vocab_size,
    eps: c.rms_norm_eps,
    theta: c.rope_theta ?? 10000,
  };
}

/** y (N, O) = x (N, I) · Wᵀ (+ b), W (O, I): OpenBLAS sgemm when available, else the JS loop. */
export function matmulT(y: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array | null, N: number, I: number, O: number): void {
  if (!blas) return matmulTLoop(y, x, w, b, N, I, O);
  if (b) for (let n = 0; n < N; n++) y.set(b, n * O);
  if (N === 1) blas.sgemv(101 /* row major */, 111 /* W as is */, O, I, 1, w, I, x, 1, b ? 1 : 0, y, 1);
  else blas.sgemm(101 /* row major */, 111 /* x as is */, 112 /* Wᵀ */, N, O, I, 1, x, I, w, I, b ? 1 : 0, y, O);
}

/** The JS loop: four rows share each weight load; W is walked in cache-sized blocks. */
export function matmulTLoop(y: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array | null, N: number, I: number, O: number): void {
  const OB = Math.max(8, Math.min(O, Math.floor(16384 / I))); // ~64 KB of W per block
  for (let o0 = 0; o0 < O; o0 += OB) {
    const o1 = Math.min(O, o0 + OB);
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      const x0 = n * I, x1 = x0 + I, x2 = x1 + I, x3 = x2 + I;
      for (let o = o0; o < o1; o++) {
        const wo = o * I;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let i = 0; i < I; i++) {
          const wv = w[wo + i];
          s0 += x[x0 + i] * wv;
          s1 += x[x1 + i] * wv;
          s2 += x[x2 + i] * wv;
          s3 += x[x3 + i] * wv;
        }
        const bias = b ? b[o] : 0;
        y[n * O + o] = s0 + bias;
        y[(n + 1) * O + o] = s1 + bias;
        y[(n + 2) * O + o] = s2 + bias;
        y[(n + 3) * O + o] = s3 + bias;
      }
    }
    for (; n < N; n++) {
      const xn = n * I;
      for (let o = o0; o < o1; o++) {
        const wo = o * I;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        let i = 0;
        for (; i + 4 <= I; i += 4) {
          s0 += x[xn + i] * w[wo + i];
          s1 += x[xn + i + 1] * w[wo + i + 1];
          s2 += x[xn + i + 2] * w[wo + i + 2];
          s3 += x[xn + i + 3] * w[wo + i + 3];
        }
        for (; i < I; i++) s0 += x[xn + i] * w[wo + i];
        y[n * O + o] = s0 + s1 + s2 + s3 + (b ? b[o] : 0);
      }
    }
  }
}

/** out (N, D) = x / rms(x) * w, row-wise. */
export function rmsNorm(out: Float32Array, x: Float32Array, w: Float32Array, N: number, D: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * D;
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[o + i] * x[o + i];
    const r = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) out[o + i] = w[i] * (r * x[o + i]);
  }
}

function need(weights: WeightMap, name: string, shape: number[]): Float32Array {
  const t = weights.get(name);
  if (!t) throw new UserError(`missing weight ${name}`);
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
    throw new UserError(`weight ${name}: shape [${t.shape}] but the config implies [${shape}]`);
  return t.data;
}

/** The packed model: call `forward` with any mix of prefill and decode rows. */
export class InferenceModel {
  readonly dims: Dims;
  private layers: LayerWeights[] = [];
  private embed!: Float32Array; // (V, D)
  private lmHead!: Float32Array; // (V, D)
  private finalNorm!: Float32Array; // (D)
  private ropeCos = new Float32Array(0); // (P, hs/2)
  private ropeSin = new Float32Array(0);
  private ropeLen = 0;

  constructor(
    readonly config: ModelConfig,
    weights: WeightMap,
  ) {
    this.dims = dimsOf(config);
    const { H, Hkv, hs, D } = this.dims;
    this.blasAttention = true;
    if (H % Hkv) throw new UserError(`num_attention_heads ${H} is not a multiple of num_key_value_heads ${Hkv}`);
    if (hs % 2) throw new UserError(`head_dim ${hs} must be even for RoPE`);
    if (!config.head_dim && D % H) throw new UserError(`hidden_size ${D} is not a multiple of num_attention_heads ${H}`);
    this.setWeights(weights);
  }

  /** Use these weights (referenced, not copied: in-place updates are seen); shapes must match the config. */
  setWeights(weights: WeightMap): void {
    const { D, F, L, H, Hkv, hs, V } = this.dims;
    const bias = this.config.attention_bias ?? this.config.model_type === "qwen2";
    this.embed = need(weights, "model.embed_tokens.weight", [V, D]);
    this.finalNorm = need(weights, "model.norm.weight", [D]);
    this.lmHead = weights.has("lm_head.weight") ? need(weights, "lm_head.weight", [V, D]) : this.embed;
    if (!weights.has("lm_head.weight") && !this.config.tie_word_embeddings)
      throw new UserError("missing weight lm_head.weight (tie_word_embeddings is false)");
    this.layers = [];
    for (let l = 0; l < L; l++) {
      const p = `model.layers.${l}`;
      const hasBias = bias && weights.has(`${p}.self_attn.q_proj.bias`);
      this.layers.push({
        attnNorm: need(weights, `${p}.input_layernorm.weight`, [D]),
        wq: need(weights, `${p}.self_attn.q_proj.weight`, [H * hs, D]),
        wk: need(weights, `${p}.self_attn.k_proj.weight`, [Hkv * hs, D]),
        wv: need(weights, `${p}.self_attn.v_proj.weight`, [Hkv * hs, D]),
        bq: hasBias ? need(weights, `${p}.self_attn.q_proj.bias`, [H * hs]) : null,
        bk: hasBias ? need(weights, `${p}.self_attn.k_proj.bias`, [Hkv * hs]) : null,
        bv: hasBias ? need(weights, `${p}.self_attn.v_proj.bias`, [Hkv * hs]) : null,
        wo: need(weights, `${p}.self_attn.o_proj.weight`, [D, H * hs]),
        ffnNorm: need(weights, `${p}.post_attention_layernorm.weight`, [D]),
        wgate: need(weights, `${p}.mlp.gate_proj.weight`, [F, D]),
        wup: need(weights, `${p}.mlp.up_proj.weight`, [F, D]),
        wdown: need(weights, `${p}.mlp.down_proj.weight`, [D, F]),
      });
    }
  }

  /** A KV cache for one sequence of up to `capacity` positions. */
  newCache(capacity: number): KVCache {
    const { L, Hkv, hs } = this.dims;
    const n = capacity * Hkv * hs;
    return {
      capacity,
      length: 0,
      k: Array.from({ length: L }, () => new Float32Array(n)),
      v: Array.from({ length: L }, () => new Float32Array(n)),
    };
  }

  /** cos/sin tables up to position P, computed in float32 like llama2.c's run.c. */
  private ensureRope(P: number): void {
    if (P <= this.ropeLen) return;
    const half = this.dims.hs / 2;
    const len = Math.max(P, this.ropeLen * 2, 64);
    this.ropeCos = new Float32Array(len * half);
    this.ropeSin = new Float32Array(len * half);
    const f = Math.fround;
    for (let i = 0; i < half; i++) {
      const freq = f(1 / f(Math.pow(this.dims.theta, f((2 * i) / this.dims.hs))));
      for (let p = 0; p < len; p++) {
        const a = f(p * freq);
        this.ropeCos[p * half + i] = Math.cos(a);
        this.ropeSin[p * half + i] = Math.sin(a);
      }
    }
    this.ropeLen = len;
  }

  /** Rotate one head vector in place (HF rotate_half layout: pairs (i, i + hs/2)). */
  private rope(x: Float32Array, off: number, pos: number): void {
    const half = this.dims.hs / 2;
    const c = this.ropeCos, s = this.ropeSin, t = pos * half;
    for (let i = 0; i < half; i++) {
      const x1 = x[off + i], x2 = x[off + half + i];
      x[off + i] = x1 * c[t + i] - x2 * s[t + i];
      x[off + half + i] = x2 * c[t + i] + x1 * s[t + i];
    }
  }

  /** Route attention through BLAS when present (sgemm/sgemv per head): 1.15–1.35× the JS loops at batch 16 by measurement. */
  blasAttention: boolean;
  private scores = new Float32Array(0);

  /** Attention of `Tn` rows starting at row `r` (positions start..start+Tn-1), JS loops. att (rows, H*hs). */
  attendLoop(q: Float32Array, K: Float32Array, Vc: Float32Array, att: Float32Array, r: number, start: number, Tn: number): void {
    const { H, Hkv, hs } = this.dims;
    const qDim = H * hs, kvDim = Hkv * hs, group = H / Hkv, scale = 1 / Math.sqrt(hs);
    if (this.scores.length < start + Tn) this.scores = new Float32Array(start + Tn);
    const scores = this.scores;
    for (let t = 0; t < Tn; t++) {
      const T = start + t + 1, row = (r + t) * qDim;
      for (let h = 0; h < H; h++) {
        const qo = row + h * hs, ko = Math.floor(h / group) * hs;
        let mx = -Infinity;
        for (let s = 0; s < T; s++) {
          const kb = s * kvDim + ko;
          let d = 0;
          for (let i = 0; i < hs; i++) d += q[qo + i] * K[kb + i];
          d *= scale;
          scores[s] = d;
          if (d > mx) mx = d;
        }
        let sum = 0;
        for (let s = 0; s < T; s++) {
          const e = Math.exp(scores[s] - mx);
          scores[s] = e;
          sum += e;
        }
        const ao = row + h * hs;
        for (let i = 0; i < hs; i++) att[ao + i] = 0;
        for (let s = 0; s < T; s++) {
          const p = scores[s] / sum, vb = s * kvDim + ko;
          for (let i = 0; i < hs; i++) att[ao + i] += p * Vc[vb + i];
        }
      }
    }
  }

  /** The same with BLAS: per head, scores (Tn, T) = scale · Q_h K_hᵀ and out (Tn, hs) = softmax(scores) V_h, on strided views. */
  attendBlas(q: Float32Array, K: Float32Array, Vc: Float32Array, att: Float32Array, r: number, start: number, Tn: number): void {
    const { H, Hkv, hs } = this.dims;
    const qDim = H * hs, kvDim = Hkv * hs, group = H / Hkv, scale = 1 / Math.sqrt(hs);
    const T = start + Tn;
    if (this.scores.length < Tn * T) this.scores = new Float32Array(Tn * T);
    const S = this.scores;
    const b = blas!;
    let sums = 1;
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      const Kh = K.subarray(kvh * hs), Vh = Vc.subarray(kvh * hs);
      const Qh = q.subarray(r * qDim + h * hs), Oh = att.subarray(r * qDim + h * hs);
      if (Tn === 1) b.sgemv(101, 111, T, hs, scale, Kh, kvDim, Qh, 1, 0, S, 1); // (T) = K_h (T, hs) · q
      else b.sgemm(101, 111, 112, Tn, T, hs, scale, Qh, qDim, Kh, kvDim, 0, S, T); // (Tn, T)
      for (let t = 0; t < Tn; t++) {
        const o = t * T, valid = start + t + 1; // causal: positions < valid
        let mx = -Infinity;
        for (let s = 0; s < valid; s++) if (S[o + s] > mx) mx = S[o + s];
        let sum = 0;
        for (let s = 0; s < valid; s++) {
          const e = Math.exp(S[o + s] - mx);
          S[o + s] = e;
          sum += e;
        }
        const inv = 1 / sum;
        if (Tn > 1) for (let s = 0; s < valid; s++) S[o + s] *= inv;
        else sums = inv; // folded into the sgemv's alpha below
        for (let s = valid; s < T; s++) S[o + s] = 0;
      }
      if (Tn === 1) b.sgemv(101, 112, T, hs, sums, Vh, kvDim, S, 1, 0, Oh, 1); // (hs) = V_hᵀ · p / Σ
      else b.sgemm(101, 111, 111, Tn, hs, T, 1, S, T, Vh, kvDim, 0, Oh, qDim); // (Tn, hs)
    }
  }

  /**
   * Run the rows of every item through the model, appending their keys/values to each cache.
   * Returns logits (R, V) for the requested rows, in item order (1 row per "last" item, T rows per "all" item).
   */
  forward(items: ForwardItem[]): Float32Array {
    const { D, F, H, Hkv, hs, V, eps } = this.dims;
    const qDim = H * hs, kvDim = Hkv * hs;
    let N = 0;
    let maxPos = 0;
    for (const it of items) {
      if (it.cache.length + it.tokens.length > it.cache.capacity)
        throw new UserError(`KV cache overflow: ${it.cache.length} + ${it.tokens.length} > capacity ${it.cache.capacity}`);
      N += it.tokens.length;
      maxPos = Math.max(maxPos, it.cache.length + it.tokens.length);
    }
    this.ensureRope(maxPos);
    // 1) embed: x (N, D)
    const x = new Float32Array(N * D);
    let r = 0;
    for (const it of items)
      for (let t = 0; t < it.tokens.length; t++, r++) {
        const id = it.tokens[t];
        if (!(id >= 0 && id < V)) throw new UserError(`token id ${id} out of range [0, ${V})`);
        x.set(this.embed.subarray(id * D, id * D + D), r * D);
      }
    const xn = new Float32Array(N * D); // (N, D)
    const q = new Float32Array(N * qDim); // (N, H*hs)
    const k = new Float32Array(N * kvDim); // (N, Hkv*hs)
    const v = new Float32Array(N * kvDim); // (N, Hkv*hs)
    const att = new Float32Array(N * qDim); // (N, H*hs)
    const tmp = new Float32Array(N * D); // (N, D)
    const gate = new Float32Array(N * F); // (N, F)
    const up = new Float32Array(N * F); // (N, F)
    for (let l = 0; l < this.layers.length; l++) {
      const lw = this.layers[l];
      // 2) attention block: xn = rmsNorm(x); q, k, v = xn · Wᵀ (+ b)
      rmsNorm(xn, x, lw.attnNorm, N, D, eps);
      matmulT(q, xn, lw.wq, lw.bq, N, D, qDim);
      matmulT(k, xn, lw.wk, lw.bk, N, D, kvDim);
      matmulT(v, xn, lw.wv, lw.bv, N, D, kvDim);
      r = 0;
      for (const it of items) {
        const K = it.cache.k[l], Vc = it.cache.v[l];
        const start = it.cache.length, Tn = it.tokens.length;
        // RoPE on q and k, then append k, v to the cache
        for (let t = 0; t < Tn; t++) {
          const pos = start + t, row = (r + t) * qDim, kvRow = (r + t) * kvDim;
          for (let h = 0; h < H; h++) this.rope(q, row + h * hs, pos);
          for (let h = 0; h < Hkv; h++) this.rope(k, kvRow + h * hs, pos);
          K.set(k.subarray(kvRow, kvRow + kvDim), pos * kvDim);
          Vc.set(v.subarray(kvRow, kvRow + kvDim), pos * kvDim);
        }
        // causal attention of rows r .. r+Tn over cache positions 0 .. start+t
        if (blas && this.blasAttention) this.attendBlas(q, K, Vc, att, r, start, Tn);
        else this.attendLoop(q, K, Vc, att, r, start, Tn);
        r += Tn;
      }
      matmulT(tmp, att, lw.wo, null, N, qDim, D);
      for (let i = 0; i < N * D; i++) x[i] += tmp[i];
      // 3) SwiGLU block: x += down(silu(gate(xn)) * up(xn))
      rmsNorm(xn, x, lw.ffnNorm, N, D, eps);
      matmulT(gate, xn, lw.wgate, null, N, D, F);
      matmulT(up, xn, lw.wup, null, N, D, F);
      for (let i = 0; i < N * F; i++) {
        const g = gate[i];
        gate[i] = (g / (1 + Math.exp(-g))) * up[i]; // silu(gate) * up, in place
      }
      matmulT(tmp, gate, lw.wdown, null, N, F, D);
      for (let i = 0; i < N * D; i++) x[i] += tmp[i];
    }
    for (const it of items) it.cache.length += it.tokens.length;
    // 4) final norm + LM head on the requested rows only
    const rows: number[] = [];
    r = 0;
    for (const it of items) {
      if (it.logits === "all") for (let t = 0; t < it.tokens.length; t++) rows.push(r + t);
      else rows.push(r + it.tokens.length - 1);
      r += it.tokens.length;
    }
    const sel = new Float32Array(rows.length * D);
    rows.forEach((row, i) => sel.set(x.subarray(row * D, row * D + D), i * D));
    rmsNorm(sel, sel, this.finalNorm, rows.length, D, eps);
    const logits = new Float32Array(rows.length * V);
    matmulT(logits, sel, this.lmHead, null, rows.length, D, V);
    return logits;
  }
}
