/**
 * @module ggml/model — the one Llama / Qwen2 decoder (RMSNorm, RoPE with theta, grouped-query attention, SwiGLU,
 * optional QKV bias, tied or untied embeddings) as ggml graphs, used both to generate (with per-sequence KV caches,
 * `decodeGraph`) and to train (a padded (B, T) batch under an attention mask, `batchGraph`, whose graph ggml
 * differentiates). Weights live in one backend buffer under their Hugging Face names; training updates them in
 * place, so generation reads the trained tensors with no copy.
 *
 * Layout: ggml's ne[0] is the fastest dimension, so a Hugging Face Linear weight (out, in) row-major is a ggml
 * [in, out] tensor and `mul_mat(W, x)` with x [in, N] gives W·x [out, N]; the embedding (V, D) is [D, V] and
 * `get_rows(embed, ids)` gives [D, N]. Attention heads follow HF: q [hd, H, N], RoPE in rotate-half (NeoX) form,
 * query head h reads key/value head ⌊h / (H / Hkv)⌋ (ggml's mul_mat broadcast equals HF's repeat_kv).
 */
import type { ModelConfig } from "../model/config.js";
import type { WeightMap } from "../model/weights.js";
import { UserError } from "../util/errors.js";
import { GGML_ROPE_TYPE_NEOX, GGML_TYPE_F32, GGML_TYPE_I32, getF32, metaContext, setData, type Context, type GgmlRuntime, type Ptr, type Tensor } from "./lib.js";

export interface Dims {
  D: number;
  F: number;
  L: number;
  H: number;
  Hkv: number;
  hd: number;
  V: number;
  eps: number;
  theta: number;
  bias: boolean;
  tied: boolean;
}

export function dimsOf(c: ModelConfig): Dims {
  const H = c.num_attention_heads;
  const Hkv = c.num_key_value_heads ?? H;
  const hd = c.head_dim ?? c.hidden_size / H;
  if (!Number.isInteger(hd)) throw new UserError(`config: hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${H}`);
  if (H % Hkv) throw new UserError(`config: num_attention_heads ${H} is not a multiple of num_key_value_heads ${Hkv}`);
  if (hd % 2) throw new UserError(`config: head_dim ${hd} must be even for RoPE`);
  return {
    D: c.hidden_size, F: c.intermediate_size, L: c.num_hidden_layers, H, Hkv, hd, V: c.vocab_size,
    eps: c.rms_norm_eps, theta: c.rope_theta ?? 10000,
    bias: c.attention_bias ?? c.model_type === "qwen2", tied: c.tie_word_embeddings,
  };
}

/** Hugging Face names and shapes (row-major, outermost first) of every parameter, in a fixed order. */
export function parameterShapes(d: Dims): Array<[string, number[]]> {
  const { D, F, L, H, Hkv, hd, V } = d;
  const out: Array<[string, number[]]> = [["model.embed_tokens.weight", [V, D]]];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    out.push([`${p}.input_layernorm.weight`, [D]], [`${p}.self_attn.q_proj.weight`, [H * hd, D]], [`${p}.self_attn.k_proj.weight`, [Hkv * hd, D]], [`${p}.self_attn.v_proj.weight`, [Hkv * hd, D]]);
    if (d.bias) out.push([`${p}.self_attn.q_proj.bias`, [H * hd]], [`${p}.self_attn.k_proj.bias`, [Hkv * hd]], [`${p}.self_attn.v_proj.bias`, [Hkv * hd]]);
    out.push([`${p}.self_attn.o_proj.weight`, [D, H * hd]], [`${p}.post_attention_layernorm.weight`, [D]], [`${p}.mlp.gate_proj.weight`, [F, D]], [`${p}.mlp.up_proj.weight`, [F, D]], [`${p}.mlp.down_proj.weight`, [D, F]]);
  }
  out.push(["model.norm.weight", [D]]);
  if (!d.tied) out.push(["lm_head.weight", [V, D]]);
  return out;
}

/** One decoder's weights on the backend. */
export class GgmlWeights {
  readonly dims: Dims;
  readonly tensors = new Map<string, Tensor>();
  readonly shapes: Array<[string, number[]]>;
  private readonly ctx: Context;
  private readonly buffer: Ptr;

  constructor(
    readonly rt: GgmlRuntime,
    readonly config: ModelConfig,
    weights?: WeightMap,
  ) {
    this.dims = dimsOf(config);
    this.shapes = parameterShapes(this.dims);
    const a = rt.api;
    this.ctx = metaContext(rt, this.shapes.length + 4);
    for (const [name, shape] of this.shapes) {
      const ne = [...shape].reverse();
      const t = ne.length === 1 ? a.ggml_new_tensor_1d(this.ctx, GGML_TYPE_F32, ne[0]) : a.ggml_new_tensor_2d(this.ctx, GGML_TYPE_F32, ne[0], ne[1]);
      a.ggml_set_name(t, name.length < 64 ? name : name.slice(-63));
      this.tensors.set(name, t);
    }
    this.buffer = a.ggml_backend_alloc_ctx_tensors(this.ctx, rt.backend);
    if (!this.buffer) throw new Error("ggml: could not allocate the model's weights on the backend");
    if (weights) this.load(weights);
  }

  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`ggml model: no parameter ${name}`);
    return t;
  }

  /** The output projection: lm_head, or the embedding when tied. */
  lmHead(): Tensor {
    return this.dims.tied ? this.get("model.embed_tokens.weight") : this.get("lm_head.weight");
  }

  /** Copy Hugging Face tensors in (every parameter required, shapes checked). */
  load(weights: WeightMap): void {
    for (const [name, shape] of this.shapes) {
      const w = weights.get(name);
      if (!w) throw new UserError(`missing weight ${name}`);
      if (w.shape.length !== shape.length || w.shape.some((s, i) => s !== shape[i]))
        throw new UserError(`weight ${name} has shape [${w.shape.join(", ")}], expected [${shape.join(", ")}]`);
      setData(this.rt, this.get(name), w.data);
    }
  }

  /** Copy the parameters out as Hugging Face tensors. */
  export(): WeightMap {
    const out: WeightMap = new Map();
    for (const [name, shape] of this.shapes) out.set(name, { shape: [...shape], data: getF32(this.rt, this.get(name)) });
    return out;
  }

  numParams(): number {
    return this.shapes.reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);
  }

  dispose(): void {
    this.rt.api.ggml_backend_buffer_free(this.buffer);
    this.rt.api.ggml_free(this.ctx);
    this.tensors.clear();
  }
}

/** Graph-building helpers over one context: the model code below reads like the math. */
export class Builder {
  readonly a: GgmlRuntime["api"];
  constructor(
    readonly rt: GgmlRuntime,
    readonly ctx: Context,
  ) {
    this.a = rt.api;
  }
  input(type: number, ...ne: number[]): Tensor {
    const a = this.a;
    const t = ne.length === 1 ? a.ggml_new_tensor_1d(this.ctx, type, ne[0]) : ne.length === 2 ? a.ggml_new_tensor_2d(this.ctx, type, ne[0], ne[1]) : ne.length === 3 ? a.ggml_new_tensor_3d(this.ctx, type, ne[0], ne[1], ne[2]) : a.ggml_new_tensor_4d(this.ctx, type, ne[0], ne[1], ne[2], ne[3]);
    a.ggml_set_input(t);
    return t;
  }
  /** W·x (+ b): W [in, out], x [in, N]. */
  linear(w: Tensor, x: Tensor, b?: Tensor): Tensor {
    const y = this.a.ggml_mul_mat(this.ctx, w, x);
    return b ? this.a.ggml_add(this.ctx, y, b) : y;
  }
  rmsNorm(x: Tensor, w: Tensor, eps: number): Tensor {
    return this.a.ggml_mul(this.ctx, this.a.ggml_rms_norm(this.ctx, x, eps), w);
  }
  /** Rotate-half RoPE of x [hd, heads, N] at positions pos (I32 [N]). */
  rope(x: Tensor, pos: Tensor, hd: number, theta: number): Tensor {
    return this.a.ggml_rope_ext(this.ctx, x, pos, null, hd, GGML_ROPE_TYPE_NEOX, 0, theta, 1, 0, 1, 0, 0);
  }
}

/** Embedding → L × (attention + SwiGLU) blocks → final norm, for N stacked token rows; `attend` mixes positions. */
function decoder(bd: Builder, w: GgmlWeights, ids: Tensor, pos: Tensor, N: number, attend: (l: number, q: Tensor, k: Tensor, v: Tensor) => Tensor): Tensor {
  const { a, ctx } = bd;
  const { D, L, H, Hkv, hd, eps, theta } = w.dims;
  let x = a.ggml_get_rows(ctx, w.get("model.embed_tokens.weight"), ids); // [D, N]
  for (let l = 0; l < L; l++) {
    const p = (n: string) => w.get(`model.layers.${l}.${n}`);
    const b = (n: string) => (w.dims.bias ? p(n) : undefined);
    // attention block
    const xn = bd.rmsNorm(x, p("input_layernorm.weight"), eps);
    let q = bd.linear(p("self_attn.q_proj.weight"), xn, b("self_attn.q_proj.bias")); // [H*hd, N]
    let k = bd.linear(p("self_attn.k_proj.weight"), xn, b("self_attn.k_proj.bias")); // [Hkv*hd, N]
    const v = bd.linear(p("self_attn.v_proj.weight"), xn, b("self_attn.v_proj.bias")); // [Hkv*hd, N]
    q = bd.rope(a.ggml_reshape_3d(ctx, q, hd, H, N), pos, hd, theta); // [hd, H, N]
    k = bd.rope(a.ggml_reshape_3d(ctx, k, hd, Hkv, N), pos, hd, theta); // [hd, Hkv, N]
    const att = attend(l, q, k, a.ggml_reshape_3d(ctx, v, hd, Hkv, N)); // [H*hd, N]
    x = a.ggml_add(ctx, x, bd.linear(p("self_attn.o_proj.weight"), att));
    // SwiGLU block: x += down(silu(gate(xn)) * up(xn))
    const hn = bd.rmsNorm(x, p("post_attention_layernorm.weight"), eps);
    const g = a.ggml_silu(ctx, bd.linear(p("mlp.gate_proj.weight"), hn));
    const u = bd.linear(p("mlp.up_proj.weight"), hn);
    x = a.ggml_add(ctx, x, bd.linear(p("mlp.down_proj.weight"), a.ggml_mul(ctx, g, u)));
  }
  void D;
  return bd.rmsNorm(x, w.get("model.norm.weight"), eps); // [D, N]
}

/**
 * Softmax attention of queries q [hd, H, n] over keys/values k, v [hd, Hkv, Tk] (one sequence, or a batch in dim 3),
 * with `mask` [Tk, n, 1, B] (0 = attend, −∞ = not) or causal with `nPast` earlier positions when mask is null.
 * Returns [hd*H, n*B].
 */
function attention(bd: Builder, q: Tensor, k: Tensor, v: Tensor, d: Dims, mask: Tensor | null, nPast: number, n: number, Tk: number, B: number, expandKv = false): Tensor {
  const { a, ctx } = bd;
  const { H, Hkv, hd } = d;
  const rep = H / Hkv;
  /** x [e0, e1, Hkv, B] → [e0, e1, H, B] with head h reading kv head ⌊h / rep⌋ (HF repeat_kv, = mul_mat's broadcast). */
  const repeatKv = (x: Tensor, e0: number, e1: number) =>
    a.ggml_reshape_4d(ctx, a.ggml_repeat_4d(ctx, a.ggml_reshape_4d(ctx, x, e0 * e1, 1, Hkv, B), e0 * e1, rep, Hkv, B), e0, e1, H, B);
  const qp = a.ggml_permute(ctx, q, 0, 2, 1, 3); // [hd, n, H, B]
  let kp = a.ggml_permute(ctx, k, 0, 2, 1, 3); // [hd, Tk, Hkv, B]
  // ggml differentiates mul_mat's head broadcast only for B = 1: the training graph repeats the kv heads instead
  const expand = expandKv && rep > 1;
  if (expand) kp = repeatKv(a.ggml_cont(ctx, kp), hd, Tk); // [hd, Tk, H, B]
  let kq = a.ggml_mul_mat(ctx, kp, qp); // [Tk, n, H, B]
  if (mask) kq = a.ggml_soft_max_ext(ctx, kq, mask, 1 / Math.sqrt(hd), 0);
  else kq = a.ggml_soft_max_ext(ctx, a.ggml_diag_mask_inf(ctx, kq, nPast), null, 1 / Math.sqrt(hd), 0);
  let vt = a.ggml_cont(ctx, a.ggml_permute(ctx, v, 1, 2, 0, 3)); // [Tk, hd, Hkv, B]
  if (expand) vt = repeatKv(vt, Tk, hd); // [Tk, hd, H, B]
  const o = a.ggml_mul_mat(ctx, vt, kq); // [hd, n, H, B]
  return a.ggml_reshape_2d(ctx, a.ggml_cont(ctx, a.ggml_permute(ctx, o, 0, 2, 1, 3)), hd * H, n * B); // [hd*H, n*B]
}

/** Token rows of a padded (B, T) batch: ids, positions and the additive attention mask, as graph inputs. */
export interface BatchInputs {
  ids: Tensor; // I32 [T*B]
  pos: Tensor; // I32 [T*B]
  mask: Tensor; // F32 [T, T, 1, B]
  /** Host data for the inputs (set after allocation with `setBatchInputs`). */
  data: { ids: Int32Array; pos: Int32Array; mask: Float32Array };
}

/**
 * The final hidden states [D, T*B] of a padded batch (row b*T + t = token t of sequence b). Positions count real
 * tokens only (left or right padding); a query attends to real keys at or before it; padded queries attend to
 * themselves (their outputs are masked out by the caller).
 */
export function batchGraph(bd: Builder, w: GgmlWeights, inputIds: Int32Array, B: number, T: number, attentionMask?: ArrayLike<number>): { hidden: Tensor; inputs: BatchInputs } {
  const { Hkv, hd, H, V } = w.dims;
  if (inputIds.length !== B * T) throw new Error(`inputIds has ${inputIds.length} ids, expected B*T = ${B}*${T}`);
  if (attentionMask && attentionMask.length !== B * T) throw new Error(`attentionMask has ${attentionMask.length} entries, expected B*T = ${B * T}`);
  for (let i = 0; i < inputIds.length; i++)
    if (inputIds[i] < 0 || inputIds[i] >= V) throw new Error(`token id ${inputIds[i]} at [${Math.floor(i / T)}, ${i % T}] is outside the vocabulary [0, ${V})`);
  const N = B * T;
  const ids = bd.input(GGML_TYPE_I32, N);
  const pos = bd.input(GGML_TYPE_I32, N);
  const mask = bd.input(GGML_TYPE_F32, T, T, 1, B);
  const data = { ids: inputIds, pos: new Int32Array(N), mask: new Float32Array(T * T * B) };
  const real = (b: number, t: number) => (attentionMask ? Number(attentionMask[b * T + t]) !== 0 : true);
  for (let b = 0; b < B; b++) {
    let p = 0;
    for (let t = 0; t < T; t++) {
      data.pos[b * T + t] = p;
      if (real(b, t)) p++;
    }
    for (let i = 0; i < T; i++)
      for (let j = 0; j < T; j++) {
        const ok = j <= i && ((real(b, i) && real(b, j)) || (!real(b, i) && i === j));
        data.mask[(b * T + i) * T + j] = ok ? 0 : -Infinity;
      }
  }
  const hidden = decoder(bd, w, ids, pos, N, (_l, q, k, v) =>
    attention(bd, bd.a.ggml_reshape_4d(bd.ctx, q, hd, H, T, B), bd.a.ggml_reshape_4d(bd.ctx, k, hd, Hkv, T, B), bd.a.ggml_reshape_4d(bd.ctx, v, hd, Hkv, T, B), w.dims, mask, 0, T, T, B, true),
  );
  return { hidden, inputs: { ids, pos, mask, data } };
}

export function setBatchInputs(rt: GgmlRuntime, inp: BatchInputs): void {
  setData(rt, inp.ids, inp.data.ids);
  setData(rt, inp.pos, inp.data.pos);
  setData(rt, inp.mask, inp.data.mask);
}

/** A sequence's keys and values for every layer, on the backend: [Hkv*hd, capacity] each. */
export class GgmlKVCache {
  length = 0;
  readonly k: Tensor[] = [];
  readonly v: Tensor[] = [];
  private readonly ctx: Context;
  private readonly buffer: Ptr;
  constructor(
    readonly rt: GgmlRuntime,
    d: Dims,
    readonly capacity: number,
  ) {
    const a = rt.api;
    this.ctx = metaContext(rt, 2 * d.L + 2);
    for (let l = 0; l < d.L; l++) {
      this.k.push(a.ggml_new_tensor_2d(this.ctx, GGML_TYPE_F32, d.Hkv * d.hd, capacity));
      this.v.push(a.ggml_new_tensor_2d(this.ctx, GGML_TYPE_F32, d.Hkv * d.hd, capacity));
    }
    this.buffer = a.ggml_backend_alloc_ctx_tensors(this.ctx, rt.backend);
    if (!this.buffer) throw new Error(`ggml: could not allocate a KV cache of ${capacity} positions`);
  }
  dispose(): void {
    this.rt.api.ggml_backend_buffer_free(this.buffer);
    this.rt.api.ggml_free(this.ctx);
  }
}

/** One sequence's part of a generation step: `tokens` are appended at `cache.length`. */
export interface DecodeItem {
  cache: GgmlKVCache;
  tokens: ArrayLike<number>;
  logits?: "last" | "all";
}

/**
 * The logits [V, R] of a generation step over any mix of prefill and decode items: linear layers run on all rows
 * stacked, each item's new keys/values are written into its cache and its queries attend causally over the cache.
 * Also returns the host data of the inputs (set them after allocation with `setDecodeInputs`).
 */
export function decodeGraph(bd: Builder, gf: Ptr, w: GgmlWeights, items: DecodeItem[]): { logits: Tensor; rows: number; set: () => void } {
  const { a, ctx } = bd;
  const { H, Hkv, hd, V } = w.dims;
  const kvDim = Hkv * hd;
  let N = 0;
  for (const it of items) {
    if (it.cache.length + it.tokens.length > it.cache.capacity)
      throw new UserError(`KV cache overflow: ${it.cache.length} + ${it.tokens.length} > capacity ${it.cache.capacity}`);
    N += it.tokens.length;
  }
  const idsData = new Int32Array(N);
  const posData = new Int32Array(N);
  const rowsData: number[] = [];
  let r = 0;
  for (const it of items) {
    for (let t = 0; t < it.tokens.length; t++, r++) {
      const id = it.tokens[t];
      if (!(id >= 0 && id < V)) throw new UserError(`token id ${id} out of range [0, ${V})`);
      idsData[r] = id;
      posData[r] = it.cache.length + t;
      if (it.logits === "all" || t === it.tokens.length - 1) rowsData.push(r);
    }
  }
  const ids = bd.input(GGML_TYPE_I32, N);
  const pos = bd.input(GGML_TYPE_I32, N);
  const rowsIdx = bd.input(GGML_TYPE_I32, rowsData.length);
  const f = 4; // sizeof(float)
  const hidden = decoder(bd, w, ids, pos, N, (l, q, k, v) => {
    const out = a.ggml_new_tensor_2d(ctx, GGML_TYPE_F32, H * hd, N); // each item's rows are copied in
    let row = 0;
    for (const it of items) {
      const n = it.tokens.length, start = it.cache.length, Tk = start + n;
      const kc = it.cache.k[l], vc = it.cache.v[l];
      // append this item's keys/values at positions start .. start+n (expanded now, so they run before the reads)
      const kNew = a.ggml_view_2d(ctx, k, kvDim, n, kvDim * f, row * kvDim * f);
      const vNew = a.ggml_view_2d(ctx, v, kvDim, n, kvDim * f, row * kvDim * f);
      a.ggml_build_forward_expand(gf, a.ggml_cpy(ctx, kNew, a.ggml_view_2d(ctx, kc, kvDim, n, kvDim * f, start * kvDim * f)));
      a.ggml_build_forward_expand(gf, a.ggml_cpy(ctx, vNew, a.ggml_view_2d(ctx, vc, kvDim, n, kvDim * f, start * kvDim * f)));
      const K = a.ggml_view_3d(ctx, kc, hd, Hkv, Tk, hd * f, kvDim * f, 0); // [hd, Hkv, Tk]
      const Vv = a.ggml_view_3d(ctx, vc, hd, Hkv, Tk, hd * f, kvDim * f, 0);
      const qi = a.ggml_view_3d(ctx, q, hd, H, n, hd * f, H * hd * f, row * H * hd * f); // [hd, H, n]
      const o = attention(bd, qi, K, Vv, w.dims, null, start, n, Tk, 1); // [H*hd, n]
      a.ggml_build_forward_expand(gf, a.ggml_cpy(ctx, o, a.ggml_view_2d(ctx, out, H * hd, n, H * hd * f, row * H * hd * f)));
      row += n;
    }
    return out;
  });
  const sel = a.ggml_get_rows(ctx, hidden, rowsIdx); // [D, R]
  const logits = bd.linear(w.lmHead(), sel); // [V, R]
  a.ggml_set_output(logits);
  const set = () => {
    setData(bd.rt, ids, idsData);
    setData(bd.rt, pos, posData);
    setData(bd.rt, rowsIdx, Int32Array.from(rowsData));
  };
  return { logits, rows: rowsData.length, set };
}
