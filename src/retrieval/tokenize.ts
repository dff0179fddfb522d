/**
 * @module retrieval/tokenize — the BM25 analyzer: words are maximal runs of Unicode letters, digits and
 * combining marks (like SQLite FTS5 `unicode61`), lowercased, diacritics removed (NFKD, marks dropped, like
 * `remove_diacritics 2`), then Porter-stemmed when ASCII (like FTS5 `porter`). No stop words are dropped:
 * frequent words stay in queries and the scorer handles them (see bm25-search.ts).
 */
import { porterStem } from "./porter.js";

/** Longest token kept; longer runs (base64, hashes) are cut so one token can never blow up the vocabulary. */
export const MAX_TOKEN_CHARS = 64;

const TOKEN_CHAR = /[\p{L}\p{N}\p{M}]/u;
const MARKS = /\p{M}/gu;
const ASCII_WORD = /^[a-z0-9]+$/;
const HAS_NON_ASCII = /[^\t\n\r -~]/; // control characters count too: harmless, they are never token characters

/** Token-character class per UTF-16 code unit: 1 token char, 2 separator, 0 not yet known (BMP only). */
const charClass = new Uint8Array(65536);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  charClass[c] = /[A-Za-z0-9]/.test(ch) ? 1 : 2;
}

function isTokenUnit(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  let k = charClass[c];
  if (k === 0) {
    k = TOKEN_CHAR.test(String.fromCharCode(c)) ? 1 : 2;
    if (c < 0xd800 || c > 0xdfff) charClass[c] = k;
    else k = 0; // surrogate: decided by the caller on the whole code point
  }
  return k === 1;
}

export interface Analyzer {
  /** Terms of `text` in order (with repeats). */
  terms(text: string): string[];
  /** The term of one surface word ("" when it normalizes to nothing). */
  term(word: string): string;
}

/** An analyzer with a bounded cache from surface word to term (each distinct word is normalized once). */
export function createAnalyzer(opts: { stem?: boolean; cacheSize?: number } = {}): Analyzer {
  const stem = opts.stem ?? true;
  const cacheSize = opts.cacheSize ?? 1_000_000;
  let cache = new Map<string, string>();
  const termOf = (word: string): string => {
    let t = cache.get(word);
    if (t !== undefined) return t;
    let w = word;
    if (HAS_NON_ASCII.test(w)) w = w.normalize("NFKD").replace(MARKS, "").normalize("NFC");
    w = w.toLowerCase();
    if (w.length > MAX_TOKEN_CHARS) w = w.slice(0, MAX_TOKEN_CHARS);
    t = stem && ASCII_WORD.test(w) ? porterStem(w) : w;
    if (cache.size >= cacheSize) cache = new Map();
    cache.set(word, t);
    return t;
  };
  return {
    term: termOf,
    terms(text: string): string[] {
      const out: string[] = [];
      const n = text.length;
      let start = -1;
      for (let i = 0; i < n; i++) {
        const c = text.charCodeAt(i);
        let tok: boolean;
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
          tok = TOKEN_CHAR.test(String.fromCodePoint(text.codePointAt(i)!));
          if (tok && start < 0) start = i;
          i++; // the low surrogate belongs to this code point
          if (tok) continue;
        } else tok = isTokenUnit(text, i);
        if (tok) {
          if (start < 0) start = i;
        } else if (start >= 0) {
          const t = termOf(text.slice(start, c >= 0xd800 && c <= 0xdbff ? i - 1 : i));
          if (t) out.push(t);
          start = -1;
        }
      }
      if (start >= 0) {
        const t = termOf(text.slice(start));
        if (t) out.push(t);
      }
      return out;
    },
  };
}

/** Whether UTF-16 unit c (not a surrogate) is a token character. */
export function isTokenCode(c: number): boolean {
  let k = charClass[c];
  if (k === 0) {
    k = TOKEN_CHAR.test(String.fromCharCode(c)) ? 1 : 2;
    charClass[c] = k;
  }
  return k === 1;
}
