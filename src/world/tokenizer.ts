/**
 * @module world/tokenizer — a word-level tokenizer over the world's vocabulary, saved as a Hugging Face
 * `tokenizer.json` (WordLevel model, Whitespace pre-tokenizer `\w+|[^\w\s]+`, no decoder: decoding joins tokens
 * with single spaces, as the `tokenizers` library does). The ReSearch tags, `\boxed{` and the newline are added
 * tokens, matched before pre-tokenization; `<|endoftext|>` is EOS. Unknown words map to `<unk>`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Tokenizer } from "../tokenizer/types.js";
import { writeJsonAtomic } from "../util/fs.js";
import { InputError } from "../util/errors.js";

export const UNK = "<unk>";
export const EOS = "<|endoftext|>";
export const PAD = "<pad>";
/** Added tokens: matched in raw text before words are split; order = ids after the specials. */
export const TAG_TOKENS = ["<think>", "</think>", "<search>", "</search>", "<result>", "</result>", "<answer>", "</answer>", "<information>", "</information>", "\\boxed{", "\n"];
export const SPECIAL_TOKENS = [PAD, UNK, EOS];

/** HF `Whitespace` pre-tokenizer: runs of word characters, or runs of other non-space characters. */
const WORD_RE = /\w+|[^\w\s]+/gu;

export function preTokenize(text: string): string[] {
  return text.match(WORD_RE) ?? [];
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export interface WordLevelData {
  vocab: Record<string, number>;
  added: { id: number; content: string; special: boolean }[];
}

/**
 * Build a vocabulary from texts: specials, tags, `phrases` (fixed multi-word prompt boilerplate, each one added
 * token), then words by descending frequency (ties alphabetical).
 */
export function buildVocab(texts: Iterable<string>, opts: { minCount?: number; phrases?: string[] } = {}): WordLevelData {
  const added = [...SPECIAL_TOKENS, ...TAG_TOKENS, ...(opts.phrases ?? [])].map((content, id) => ({ id, content, special: SPECIAL_TOKENS.includes(content) }));
  const vocab: Record<string, number> = {};
  for (const a of added) vocab[a.content] = a.id;
  const splitter = addedSplitter(added.map((a) => a.content));
  const counts = new Map<string, number>();
  for (const text of texts)
    for (const piece of text.split(splitter)) {
      if (!piece || vocab[piece] !== undefined) continue;
      for (const w of preTokenize(piece)) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  const words = [...counts].filter(([, c]) => c >= (opts.minCount ?? 1)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let id = added.length;
  for (const [w] of words) if (vocab[w] === undefined) vocab[w] = id++;
  return { vocab, added };
}

function addedSplitter(contents: string[]): RegExp {
  const sorted = [...contents].sort((a, b) => b.length - a.length).map(escapeRe);
  return new RegExp(`(${sorted.join("|")})`, "u");
}

export interface WordLevelTokenizer extends Tokenizer {
  readonly unkId: number;
  idOf(token: string): number | undefined;
  tokenOf(id: number): string;
}

export function createWordLevelTokenizer(data: WordLevelData): WordLevelTokenizer {
  const idToToken: string[] = [];
  for (const [t, i] of Object.entries(data.vocab)) idToToken[i] = t;
  for (const a of data.added) idToToken[a.id] = a.content;
  const addedIds = new Map(data.added.map((a) => [a.content, a.id]));
  const splitter = addedSplitter(data.added.map((a) => a.content));
  const unkId = data.vocab[UNK];
  const eosId = data.vocab[EOS];
  if (unkId === undefined || eosId === undefined) throw new Error(`word-level vocabulary lacks ${UNK} or ${EOS}`);
  return {
    vocabSize: idToToken.length,
    bosId: null,
    eosId,
    eosText: EOS,
    unkId,
    idOf: (t) => data.vocab[t] ?? addedIds.get(t),
    tokenOf: (i) => idToToken[i] ?? UNK,
    encode(text) {
      const ids: number[] = [];
      for (const piece of text.split(splitter)) {
        if (!piece) continue;
        const a = addedIds.get(piece);
        if (a !== undefined) ids.push(a);
        else for (const w of preTokenize(piece)) ids.push(data.vocab[w] ?? unkId);
      }
      return ids;
    },
    decode(ids) {
      return ids.map((i) => idToToken[i] ?? UNK).join(" ");
    },
  };
}

/** The HF `tokenizer.json` document for a word-level vocabulary. */
export function toTokenizerJson(data: WordLevelData) {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: data.added.map((a) => ({ id: a.id, content: a.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: a.special })),
    normalizer: null,
    pre_tokenizer: { type: "Whitespace" },
    post_processor: null,
    decoder: null,
    model: { type: "WordLevel", vocab: data.vocab, unk_token: UNK },
  };
}

/** Write tokenizer.json + tokenizer_config.json into a model directory. */
export function saveWordLevelTokenizer(dir: string, data: WordLevelData, maxLength: number): void {
  writeJsonAtomic(join(dir, "tokenizer.json"), toTokenizerJson(data));
  writeJsonAtomic(join(dir, "tokenizer_config.json"), {
    tokenizer_class: "PreTrainedTokenizerFast",
    eos_token: EOS,
    unk_token: UNK,
    pad_token: PAD,
    bos_token: null,
    model_max_length: maxLength,
    clean_up_tokenization_spaces: false,
  });
}

/** Read a WordLevel tokenizer.json (as written by saveWordLevelTokenizer or the `tokenizers` library). */
export function loadWordLevelTokenizer(path: string): WordLevelTokenizer {
  const file = path.endsWith(".json") ? path : join(path, "tokenizer.json");
  let doc: { model?: { type?: string; vocab?: Record<string, number> }; added_tokens?: { id: number; content: string; special?: boolean }[] };
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(file, undefined, undefined, `cannot read tokenizer.json: ${(e as Error).message}`);
  }
  if (doc.model?.type !== "WordLevel" || !doc.model.vocab) throw new InputError(file, undefined, "model.type", `expected "WordLevel", got ${JSON.stringify(doc.model?.type)}`);
  return createWordLevelTokenizer({
    vocab: doc.model.vocab,
    added: (doc.added_tokens ?? []).map((a) => ({ id: a.id, content: a.content, special: !!a.special })),
  });
}
