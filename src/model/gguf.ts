/**
 * @module model/gguf — export a model to GGUF v3 (F32) so llama.cpp (and node-llama-cpp) run the same weights,
 * and read GGUF headers back. Architectures `llama` (q/k rows permuted back to Meta's interleaved RoPE layout, as
 * llama.cpp's convert_hf_to_gguf.py does) and `qwen2` (NEOX RoPE: HF layout as is, QKV biases). Tokenizers:
 * llama2.c vocabularies → `llama` (SentencePiece: ▁ for spaces, scores, token types); HF byte-level BPE → `gpt2`.
 */
import { readFileSync } from "node:fs";
import { InputError, UserError } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs.js";
import type { ModelConfig } from "./config.js";
import type { WeightMap } from "./weights.js";
import type { Tokenizer } from "../tokenizer/types.js";
import type { Llama2cTokenizer } from "../tokenizer/llama2c.js";
import type { HfTokenizer } from "../tokenizer/hf.js";
import { dimsOf } from "./infer.js";
import { permuteHfToMeta } from "./llama2c.js";

const ALIGN = 32;
const T = { UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12 } as const;
/** llama.cpp token types. */
const TOKEN = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, BYTE: 6 } as const;

export type GgufValue =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "str"; value: string }
  | { type: "arr_str"; value: string[] }
  | { type: "arr_f32"; value: ArrayLike<number> }
  | { type: "arr_i32"; value: ArrayLike<number> };

/** Little-endian byte writer. */
class Writer {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer) {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number) { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.push(b); }
  i32(v: number) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  u64(v: number) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  f32(v: number) { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  str(s: string) { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.push(b); }
  pad() { const n = (ALIGN - (this.length % ALIGN)) % ALIGN; if (n) this.push(Buffer.alloc(n)); }
  concat() { return Buffer.concat(this.chunks); }
}

function writeValue(w: Writer, v: GgufValue): void {
  switch (v.type) {
    case "u32": w.u32(T.UINT32); w.u32(v.value); break;
    case "i32": w.u32(T.INT32); w.i32(v.value); break;
    case "f32": w.u32(T.FLOAT32); w.f32(v.value); break;
    case "bool": w.u32(T.BOOL); w.push(Buffer.from([v.value ? 1 : 0])); break;
    case "str": w.u32(T.STRING); w.str(v.value); break;
    case "arr_str": w.u32(T.ARRAY); w.u32(T.STRING); w.u64(v.value.length); for (const s of v.value) w.str(s); break;
    case "arr_f32": {
      w.u32(T.ARRAY); w.u32(T.FLOAT32); w.u64(v.value.length);
      const b = Buffer.alloc(4 * v.value.length);
      for (let i = 0; i < v.value.length; i++) b.writeFloatLE(v.value[i], 4 * i);
      w.push(b);
      break;
    }
    case "arr_i32": {
      w.u32(T.ARRAY); w.u32(T.INT32); w.u64(v.value.length);
      const b = Buffer.alloc(4 * v.value.length);
      for (let i = 0; i < v.value.length; i++) b.writeInt32LE(v.value[i], 4 * i);
      w.push(b);
      break;
    }
  }
}

/** A GGUF file from metadata and F32 tensors given in GGUF names with PyTorch shapes (out, in). */
export function encodeGguf(metadata: [string, GgufValue][], tensors: [string, { shape: number[]; data: Float32Array }][]): Buffer {
  const w = new Writer();
  w.push(Buffer.from("GGUF", "latin1"));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [k, v] of metadata) {
    w.str(k);
    writeValue(w, v);
  }
  let offset = 0;
  for (const [name, t] of tensors) {
    w.str(name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d); // ne[0] is the innermost (contiguous) dimension
    w.u32(0); // GGML_TYPE_F32
    w.u64(offset);
    offset += Math.ceil((4 * t.data.length) / ALIGN) * ALIGN;
  }
  w.pad();
  for (const [, t] of tensors) {
    w.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    w.pad();
  }
  return w.concat();
}

function tokenizerMetadata(tokenizer: Tokenizer, config: ModelConfig): [string, GgufValue][] {
  const kind = (tokenizer as { kind?: string }).kind;
  const V = config.vocab_size;
  const md: [string, GgufValue][] = [];
  if (kind === "llama2c") {
    const t = tokenizer as Llama2cTokenizer;
    const tokens: string[] = [];
    const types: number[] = [];
    for (let i = 0; i < V; i++) {
      const raw = Buffer.from(t.vocab.pieces[i]).toString("utf8");
      const s = raw.trim();
      if (/^<0x[0-9A-Fa-f]{2}>$/.test(raw)) [tokens[i], types[i]] = [raw, TOKEN.BYTE];
      else if (i === 0 && s === "<unk>") [tokens[i], types[i]] = [s, TOKEN.UNKNOWN];
      else if (i < 3 && /^<\/?s>$/.test(s)) [tokens[i], types[i]] = [s, TOKEN.CONTROL];
      else [tokens[i], types[i]] = [raw.replace(/ /g, "\u2581"), TOKEN.NORMAL];
    }
    md.push(
      ["tokenizer.ggml.model", { type: "str", value: "llama" }],
      ["tokenizer.ggml.tokens", { type: "arr_str", value: tokens }],
      ["tokenizer.ggml.scores", { type: "arr_f32", value: t.vocab.scores.subarray(0, V) }],
      ["tokenizer.ggml.token_type", { type: "arr_i32", value: types }],
      ["tokenizer.ggml.bos_token_id", { type: "u32", value: 1 }],
      ["tokenizer.ggml.eos_token_id", { type: "u32", value: 2 }],
      ["tokenizer.ggml.unknown_token_id", { type: "u32", value: 0 }],
      ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    );
    return md;
  }
  if (kind === "hf") {
    const t = tokenizer as HfTokenizer;
    const model = t.files.tokenizerJson.model as { type?: string; merges?: (string | [string, string])[] };
    if (model.type !== "BPE" || !model.merges) throw new UserError(`GGUF export supports llama2.c and byte-level BPE tokenizers, not ${model.type}`);
    const added = new Map(((t.files.tokenizerJson.added_tokens ?? []) as { id: number; content: string; special?: boolean }[]).map((a) => [a.id, a]));
    const tokens: string[] = [];
    const types: number[] = [];
    for (let i = 0; i < V; i++) {
      const a = added.get(i);
      const tok = t.idToToken(i);
      if (a) [tokens[i], types[i]] = [a.content, a.special ? TOKEN.CONTROL : TOKEN.USER_DEFINED];
      else if (tok !== undefined) [tokens[i], types[i]] = [tok, TOKEN.NORMAL];
      else [tokens[i], types[i]] = [`[PAD${i}]`, TOKEN.USER_DEFINED]; // padded embedding rows (as convert_hf_to_gguf)
    }
    md.push(
      ["tokenizer.ggml.model", { type: "str", value: "gpt2" }],
      ["tokenizer.ggml.pre", { type: "str", value: config.model_type === "qwen2" ? "qwen2" : "gpt2" }],
      ["tokenizer.ggml.tokens", { type: "arr_str", value: tokens }],
      ["tokenizer.ggml.token_type", { type: "arr_i32", value: types }],
      ["tokenizer.ggml.merges", { type: "arr_str", value: model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m)) }],
    );
    if (t.eosId !== null) md.push(["tokenizer.ggml.eos_token_id", { type: "u32", value: t.eosId }]);
    if (t.bosId !== null) md.push(["tokenizer.ggml.bos_token_id", { type: "u32", value: t.bosId }]);
    else if (t.eosId !== null) md.push(["tokenizer.ggml.bos_token_id", { type: "u32", value: t.eosId }]);
    md.push(["tokenizer.ggml.add_bos_token", { type: "bool", value: false }]);
    if (t.chatTemplate) md.push(["tokenizer.chat_template", { type: "str", value: t.chatTemplate }]);
    return md;
  }
  throw new UserError("GGUF export: unknown tokenizer kind (llama2.c or HF byte-level BPE are supported)");
}

/** GGUF bytes for a model: metadata (architecture `llama` or `qwen2`), tokenizer, F32 tensors. */
export function modelToGguf(model: { config: ModelConfig; weights: WeightMap; tokenizer: Tokenizer }, name = "research-ts"): Buffer {
  const { config, weights, tokenizer } = model;
  const arch = config.model_type === "qwen2" ? "qwen2" : "llama";
  const { D, F, L, H, Hkv, hs, eps, theta } = dimsOf(config);
  if (hs * H !== D) throw new UserError(`GGUF export: head_dim ${hs} × heads ${H} must equal hidden_size ${D}`);
  const md: [string, GgufValue][] = [
    ["general.architecture", { type: "str", value: arch }],
    ["general.name", { type: "str", value: name }],
    ["general.file_type", { type: "u32", value: 0 }], // ALL_F32
    ["general.alignment", { type: "u32", value: ALIGN }],
    [`${arch}.context_length`, { type: "u32", value: config.max_position_embeddings }],
    [`${arch}.embedding_length`, { type: "u32", value: D }],
    [`${arch}.block_count`, { type: "u32", value: L }],
    [`${arch}.feed_forward_length`, { type: "u32", value: F }],
    [`${arch}.rope.dimension_count`, { type: "u32", value: hs }],
    [`${arch}.rope.freq_base`, { type: "f32", value: theta }],
    [`${arch}.attention.head_count`, { type: "u32", value: H }],
    [`${arch}.attention.head_count_kv`, { type: "u32", value: Hkv }],
    [`${arch}.attention.layer_norm_rms_epsilon`, { type: "f32", value: eps }],
    [`${arch}.vocab_size`, { type: "u32", value: config.vocab_size }],
    ...tokenizerMetadata(tokenizer, config),
  ];
  const get = (n: string) => {
    const t = weights.get(n);
    if (!t) throw new UserError(`GGUF export: missing weight ${n}`);
    return t;
  };
  const tensors: [string, { shape: number[]; data: Float32Array }][] = [["token_embd.weight", get("model.embed_tokens.weight")]];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    const q = get(`${p}.self_attn.q_proj.weight`);
    const k = get(`${p}.self_attn.k_proj.weight`);
    // llama.cpp's llama arch applies interleaved RoPE: undo the HF permutation (convert_hf_to_gguf LlamaModel.permute).
    const qd = arch === "llama" ? permuteHfToMeta(q.data, H, D) : q.data;
    const kd = arch === "llama" ? permuteHfToMeta(k.data, Hkv, D) : k.data;
    tensors.push(
      [`blk.${l}.attn_norm.weight`, get(`${p}.input_layernorm.weight`)],
      [`blk.${l}.attn_q.weight`, { shape: q.shape, data: qd }],
      [`blk.${l}.attn_k.weight`, { shape: k.shape, data: kd }],
      [`blk.${l}.attn_v.weight`, get(`${p}.self_attn.v_proj.weight`)],
      [`blk.${l}.attn_output.weight`, get(`${p}.self_attn.o_proj.weight`)],
      [`blk.${l}.ffn_norm.weight`, get(`${p}.post_attention_layernorm.weight`)],
      [`blk.${l}.ffn_gate.weight`, get(`${p}.mlp.gate_proj.weight`)],
      [`blk.${l}.ffn_up.weight`, get(`${p}.mlp.up_proj.weight`)],
      [`blk.${l}.ffn_down.weight`, get(`${p}.mlp.down_proj.weight`)],
    );
    if (weights.has(`${p}.self_attn.q_proj.bias`)) {
      if (arch === "llama") throw new UserError("GGUF export: QKV biases need architecture qwen2");
      tensors.push(
        [`blk.${l}.attn_q.bias`, get(`${p}.self_attn.q_proj.bias`)],
        [`blk.${l}.attn_k.bias`, get(`${p}.self_attn.k_proj.bias`)],
        [`blk.${l}.attn_v.bias`, get(`${p}.self_attn.v_proj.bias`)],
      );
    }
  }
  tensors.push(["output_norm.weight", get("model.norm.weight")]);
  if (weights.has("lm_head.weight")) tensors.push(["output.weight", get("lm_head.weight")]);
  return encodeGguf(md, tensors);
}

/** Write a model as an F32 GGUF file (atomically). */
export function exportGguf(path: string, model: { config: ModelConfig; weights: WeightMap; tokenizer: Tokenizer }, name?: string): void {
  writeFileAtomic(path, modelToGguf(model, name));
}

/** Read a GGUF file's header: metadata (arrays as JS arrays) and tensor infos (name, PyTorch-order shape, type, offset). */
export function readGgufHeader(path: string): { version: number; metadata: Record<string, unknown>; tensors: { name: string; shape: number[]; type: number; offset: number }[] } {
  const b = readFileSync(path);
  if (b.toString("latin1", 0, 4) !== "GGUF") throw new InputError(path, undefined, "magic", "not a GGUF file");
  let p = 4;
  const u32 = () => { const v = b.readUInt32LE(p); p += 4; return v; };
  const u64 = () => { const v = Number(b.readBigUInt64LE(p)); p += 8; return v; };
  const str = () => { const n = u64(); const s = b.toString("utf8", p, p + n); p += n; return s; };
  const scalar = (t: number): unknown => {
    switch (t) {
      case T.UINT8: return b.readUInt8(p++);
      case T.INT8: return b.readInt8(p++);
      case T.UINT16: { const v = b.readUInt16LE(p); p += 2; return v; }
      case T.INT16: { const v = b.readInt16LE(p); p += 2; return v; }
      case T.UINT32: return u32();
      case T.INT32: { const v = b.readInt32LE(p); p += 4; return v; }
      case T.FLOAT32: { const v = b.readFloatLE(p); p += 4; return v; }
      case T.BOOL: return b.readUInt8(p++) !== 0;
      case T.STRING: return str();
      case T.UINT64: return u64();
      case T.INT64: { const v = Number(b.readBigInt64LE(p)); p += 8; return v; }
      case T.FLOAT64: { const v = b.readDoubleLE(p); p += 8; return v; }
      case T.ARRAY: { const et = u32(); const n = u64(); return Array.from({ length: n }, () => scalar(et)); }
      default: throw new InputError(path, undefined, "metadata", `unknown value type ${t}`);
    }
  };
  const version = u32();
  const nT = u64();
  const nKV = u64();
  const metadata: Record<string, unknown> = {};
  for (let i = 0; i < nKV; i++) {
    const k = str();
    metadata[k] = scalar(u32());
  }
  const tensors = [];
  for (let i = 0; i < nT; i++) {
    const name = str();
    const nd = u32();
    const ne = Array.from({ length: nd }, () => u64());
    tensors.push({ name, shape: ne.reverse(), type: u32(), offset: u64() });
  }
  return { version, metadata, tensors };
}
