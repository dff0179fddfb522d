/**
 * @module reward/normalize — SQuAD answer normalization, exactly as Python's `normalize_answer` in the SQuAD
 * script, FlashRAG (`flashrag/evaluator/utils.py`) and ReSearch's reward: lower → drop ASCII punctuation →
 * drop the articles a/an/the between word boundaries → collapse whitespace.
 */

/** Python's `string.punctuation`: the 32 ASCII punctuation characters (nothing outside ASCII). */
export const PYTHON_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const PUNCT_RE = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/**
 * Python 3 `re` `\b(a|an|the)\b` on a `str`: word characters are Unicode letters (L*), numbers (N*) and `_`
 * (what `str.isalnum()` accepts, plus underscore). JavaScript's `\b` is ASCII-only even with the `u` flag, so
 * the boundaries are spelled out as look-arounds over the same Unicode classes.
 */
const ARTICLES_RE = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/**
 * Python's `str.split()` with no separator splits on `str.isspace()` characters. That set differs from JS `\s`:
 * Python includes U+001C–U+001F and U+0085, and excludes U+FEFF.
 */
// eslint-disable-next-line no-control-regex -- U+001C–U+001F are whitespace to Python
export const PY_WHITESPACE_RE = /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** Python `s.split()` (no argument): split on runs of whitespace, drop empty pieces. */
export function pySplit(s: string): string[] {
  return s.split(PY_WHITESPACE_RE).filter((t) => t.length > 0);
}

/** SQuAD normalization: `white_space_fix(remove_articles(remove_punc(lower(s))))`. */
export function normalizeAnswer(s: string): string {
  const lower = s.toLowerCase();
  const noPunct = lower.replace(PUNCT_RE, "");
  const noArticles = noPunct.replace(ARTICLES_RE, " ");
  return pySplit(noArticles).join(" ");
}
