/**
 * @module model/load — load a model from a Hugging Face directory (config.json, model.safetensors or shards,
 * tokenizer.json, tokenizer_config.json) or a llama2.c checkpoint (`.bin` file, or a directory holding one with its
 * `tok*.bin` tokenizer), and save one as a Hugging Face directory (F32 safetensors, written atomically).
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { InputError, UserError } from "../util/errors.js";
import { writeJsonAtomic } from "../util/fs.js";
import type { ModelConfig } from "./config.js";
import type { WeightMap } from "./weights.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { readSafetensorsDir, writeSafetensors } from "./safetensors.js";
import { readLlama2cCheckpoint } from "./llama2c.js";
import { loadTokenizer } from "../tokenizer/load.js";
import { writeLlama2cVocab } from "../tokenizer/llama2c.js";
import type { LoadedModel } from "./generate.js";

export type { LoadedModel };

const REQUIRED: (keyof ModelConfig)[] = [
  "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
];

/** Parse and complete a HF config.json (defaults as transformers' LlamaConfig / Qwen2Config). */
export function parseConfig(raw: Record<string, unknown>, source = "config.json"): ModelConfig {
  for (const k of REQUIRED)
    if (typeof raw[k] !== "number" || !((raw[k] as number) > 0)) throw new InputError(source, undefined, k, "required positive number");
  const modelType = typeof raw.model_type === "string" ? raw.model_type : "llama";
  if (!["llama", "qwen2", "mistral", "qwen3"].includes(modelType) && !String(raw.architectures ?? "").match(/Llama|Qwen2/))
    throw new InputError(source, undefined, "model_type", `unsupported "${modelType}" (llama, qwen2 are supported)`);
  const heads = raw.num_attention_heads as number;
  const cfg = {
    ...raw,
    model_type: modelType,
    num_key_value_heads: (raw.num_key_value_heads as number | undefined) ?? heads,
    max_position_embeddings: (raw.max_position_embeddings as number | undefined) ?? 2048,
    rms_norm_eps: (raw.rms_norm_eps as number | undefined) ?? 1e-6,
    rope_theta: (raw.rope_theta as number | undefined) ?? 10000,
    tie_word_embeddings: (raw.tie_word_embeddings as boolean | undefined) ?? false, // LlamaConfig / Qwen2Config default
    attention_bias: (raw.attention_bias as boolean | undefined) ?? modelType === "qwen2",
  } as ModelConfig;
  if (modelType === "qwen3") throw new InputError(source, undefined, "model_type", "qwen3 (q/k norm) is not supported yet; use qwen2/llama");
  return cfg;
}

function findLlama2cBin(dir: string): string | null {
  const bins = readdirSync(dir).filter((f) => f.endsWith(".bin") && !/^tok/.test(f) && f !== "tokenizer.bin" && f !== "pytorch_model.bin");
  return bins.length === 1 ? join(dir, bins[0]) : null;
}

/** Load config, weights and tokenizer from an HF directory, a llama2.c `.bin`, or a directory holding a `.bin`. */
export async function loadModel(path: string): Promise<LoadedModel> {
  if (!existsSync(path)) throw new UserError(`model not found: ${path}`);
  const isDir = statSync(path).isDirectory();
  if (isDir && existsSync(join(path, "config.json"))) {
    const cfgPath = join(path, "config.json");
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(readFileSync(cfgPath, "utf8"));
    } catch (e) {
      throw new InputError(cfgPath, undefined, undefined, `invalid JSON (${(e as Error).message})`);
    }
    const config = parseConfig(raw, cfgPath);
    const weights = readSafetensorsDir(path);
    if (!weights.has("lm_head.weight") && !config.tie_word_embeddings) config.tie_word_embeddings = true;
    const tokenizer = await loadTokenizer(path, config.vocab_size);
    return { config, weights, tokenizer };
  }
  const bin = isDir ? findLlama2cBin(path) : path;
  if (!bin) throw new UserError(`${path}: not a model (no config.json, and not exactly one llama2.c .bin checkpoint)`);
  const { config, weights } = readLlama2cCheckpoint(bin);
  const tokenizer = await loadTokenizer(isDir ? path : dirname(bin), config.vocab_size);
  return { config, weights, tokenizer };
}

/**
 * Save as a Hugging Face directory: config.json, model.safetensors (F32) and the tokenizer (tokenizer.json +
 * tokenizer_config.json for HF tokenizers; tokenizer.bin for llama2.c vocabularies). Each file is written atomically.
 */
export function saveModel(dir: string, model: { config: ModelConfig; weights: WeightMap; tokenizer?: Tokenizer }): void {
  const { config, weights, tokenizer } = model;
  writeSafetensors(join(dir, "model.safetensors"), weights);
  const arch = config.architectures ?? [config.model_type === "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"];
  writeJsonAtomic(join(dir, "config.json"), { ...config, architectures: arch, torch_dtype: "float32" });
  if (!tokenizer) return;
  const t = tokenizer as Tokenizer & { kind?: string };
  if (t.kind === "hf") {
    const { files } = tokenizer as import("../tokenizer/hf.js").HfTokenizer;
    writeJsonAtomic(join(dir, "tokenizer.json"), files.tokenizerJson);
    writeJsonAtomic(join(dir, "tokenizer_config.json"), files.tokenizerConfig);
  } else if (t.kind === "llama2c") {
    writeLlama2cVocab(join(dir, "tokenizer.bin"), (tokenizer as import("../tokenizer/llama2c.js").Llama2cTokenizer).vocab);
  } else throw new UserError("saveModel: unknown tokenizer kind (expected an HF or llama2.c tokenizer)");
}
