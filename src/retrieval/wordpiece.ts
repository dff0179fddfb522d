/**
 * @module retrieval/wordpiece — the BERT WordPiece tokenizer (Devlin et al. 2019) that E5/BGE/MiniLM ONNX
 * exports use: clean text, split CJK characters, lowercase and strip accents (uncased models), split on
 * whitespace and punctuation, then greedy longest-match sub-words with the "##" prefix; [CLS] … [SEP].
 * Reads a Hugging Face `tokenizer.json` (WordPiece model) or a `vocab.txt`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../util/errors.js";

export interface WordPieceTokenizer {
  /** Token ids with [CLS] and [SEP], at most maxTokens long. */
  encode(text: string, maxTokens: number): number[];
  padId: number;
}

const isPunct = (c: string): boolean => {
  const cp = c.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /\p{P}/u.test(c);
};
const isCjk = (cp: number): boolean =>
  (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
  (cp >= 0x2a700 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);

/** BERT's BasicTokenizer: words and punctuation marks. */
export function basicTokens(text: string, lowercase: boolean): string[] {
  let s = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || (/\p{Cc}|\p{Cf}/u.test(ch) && !/\s/.test(ch))) continue;
    s += isCjk(cp) ? ` ${ch} ` : /\s/.test(ch) ? " " : ch;
  }
  if (lowercase) s = s.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");
  const out: string[] = [];
  for (const word of s.split(" ")) {
    let cur = "";
    for (const ch of word) {
      if (isPunct(ch)) {
        if (cur) out.push(cur);
        out.push(ch);
        cur = "";
      } else cur += ch;
    }
    if (cur) out.push(cur);
  }
  return out;
}

export function createWordPiece(vocab: Map<string, number>, opts: { lowercase: boolean; unk?: string; cls?: string; sep?: string; pad?: string }): WordPieceTokenizer {
  const id = (t: string) => {
    const v = vocab.get(t);
    if (v === undefined) throw new UserError(`WordPiece vocabulary has no ${t} token`);
    return v;
  };
  const unk = id(opts.unk ?? "[UNK]");
  const cls = id(opts.cls ?? "[CLS]");
  const sep = id(opts.sep ?? "[SEP]");
  const padId = vocab.get(opts.pad ?? "[PAD]") ?? 0;
  const piecesOf = (word: string): number[] => {
    const chars = [...word];
    if (chars.length > 100) return [unk];
    const ids: number[] = [];
    for (let start = 0; start < chars.length; ) {
      let end = chars.length;
      let found = -1;
      while (start < end) {
        const sub = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
        const v = vocab.get(sub);
        if (v !== undefined) { found = v; break; }
        end--;
      }
      if (found < 0) return [unk];
      ids.push(found);
      start = end;
    }
    return ids;
  };
  return {
    padId,
    encode(text, maxTokens) {
      const ids = [cls];
      for (const w of basicTokens(text, opts.lowercase)) {
        for (const p of piecesOf(w)) ids.push(p);
        if (ids.length >= maxTokens - 1) break;
      }
      return [...ids.slice(0, maxTokens - 1), sep];
    },
  };
}

/** Load from a model directory: tokenizer.json (preferred) or vocab.txt. */
export function loadWordPiece(dir: string): WordPieceTokenizer {
  const tj = join(dir, "tokenizer.json");
  if (existsSync(tj)) {
    const j = JSON.parse(readFileSync(tj, "utf8")) as {
      model?: { type?: string; vocab?: Record<string, number>; unk_token?: string };
      normalizer?: { type?: string; lowercase?: boolean; normalizers?: { type?: string; lowercase?: boolean }[] } | null;
    };
    if (j.model?.type !== "WordPiece" || !j.model.vocab) throw new UserError(`${tj}: model.type: expected a WordPiece tokenizer (BERT/E5 family), got ${j.model?.type}`);
    const bert = j.normalizer?.type === "BertNormalizer" ? j.normalizer : j.normalizer?.normalizers?.find((n) => n.type === "BertNormalizer");
    return createWordPiece(new Map(Object.entries(j.model.vocab)), { lowercase: bert?.lowercase ?? true, unk: j.model.unk_token });
  }
  const vt = join(dir, "vocab.txt");
  if (existsSync(vt)) {
    const lines = readFileSync(vt, "utf8").split(/\r?\n/);
    if (lines[lines.length - 1] === "") lines.pop();
    return createWordPiece(new Map(lines.map((t, i) => [t, i])), { lowercase: true });
  }
  throw new UserError(`${dir}: no tokenizer.json or vocab.txt next to the ONNX model`);
}
