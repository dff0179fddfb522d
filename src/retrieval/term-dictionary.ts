/**
 * @module retrieval/term-dictionary — the indexing fast path: text → term ids without allocating a string per
 * token. Surface words (as written, e.g. "The", "the") are hashed while scanning (FNV-1a) and found in an
 * open-addressing table by comparing characters in place; only a new surface word is sliced out and sent
 * through the analyzer (lowercase, diacritics, Porter), exactly as `Analyzer.terms` would. Words with
 * non-ASCII characters take the plain analyzer path.
 */
import { isTokenCode, type Analyzer } from "./tokenize.js";

export class TermDictionary {
  /** Term strings by id, and the reverse map. */
  readonly terms: string[] = [];
  readonly termId = new Map<string, number>();
  private table = new Int32Array(1 << 16); // surface id + 1, 0 = empty
  private surfaces: string[] = [];
  private surfaceHash: number[] = [];
  private surfaceTerm: number[] = [];
  private slow = new Map<string, number>();
  private out = new Int32Array(4096);

  constructor(private analyzer: Analyzer) {}

  /** Id of a term (an analyzed word), assigned on first sight. */
  idOfTerm(t: string): number {
    let id = this.termId.get(t);
    if (id === undefined) {
      id = this.terms.length;
      this.terms.push(t);
      this.termId.set(t, id);
    }
    return id;
  }

  private grow(): void {
    const t = new Int32Array(this.table.length * 2);
    const mask = t.length - 1;
    for (let s = 0; s < this.surfaces.length; s++) {
      let i = this.surfaceHash[s] & mask;
      while (t[i] !== 0) i = (i + 1) & mask;
      t[i] = s + 1;
    }
    this.table = t;
  }

  /** Term id of the ASCII word text[start, end) with hash h (−1 if it has no term). */
  private lookupAscii(text: string, start: number, end: number, h: number): number {
    const mask = this.table.length - 1;
    const len = end - start;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = this.table[i];
      if (e === 0) {
        const surface = text.slice(start, end);
        const term = this.analyzer.term(surface);
        const id = term ? this.idOfTerm(term) : -1;
        this.surfaces.push(surface);
        this.surfaceHash.push(h);
        this.surfaceTerm.push(id);
        this.table[i] = this.surfaces.length;
        if (this.surfaces.length * 2 > this.table.length) this.grow();
        return id;
      }
      const s = this.surfaces[e - 1];
      if (this.surfaceHash[e - 1] === h && s.length === len) {
        let j = 0;
        while (j < len && s.charCodeAt(j) === text.charCodeAt(start + j)) j++;
        if (j === len) return this.surfaceTerm[e - 1];
      }
    }
  }

  private lookupSlow(word: string): number {
    let id = this.slow.get(word);
    if (id === undefined) {
      const term = this.analyzer.term(word);
      id = term ? this.idOfTerm(term) : -1;
      this.slow.set(word, id);
    }
    return id;
  }

  /** Term ids of `text` in order; the returned view is valid until the next call. */
  map(text: string): Int32Array {
    let out = this.out;
    let n = 0;
    const push = (id: number) => {
      if (id < 0) return;
      if (n === out.length) {
        const g = new Int32Array(out.length * 2);
        g.set(out);
        out = this.out = g;
      }
      out[n++] = id;
    };
    const len = text.length;
    let start = -1;
    let h = 0;
    let ascii = true;
    for (let i = 0; i < len; i++) {
      const c = text.charCodeAt(i);
      let tok: boolean;
      let width = 1;
      if (c < 128) tok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
        tok = /[\p{L}\p{N}\p{M}]/u.test(String.fromCodePoint(text.codePointAt(i)!));
        width = 2;
      } else tok = isTokenCode(c);
      if (tok) {
        if (start < 0) { start = i; h = 0x811c9dc5; ascii = true; }
        if (c < 128) h = Math.imul(h ^ c, 0x01000193);
        else ascii = false;
      } else if (start >= 0) {
        push(ascii ? this.lookupAscii(text, start, i, h >>> 0) : this.lookupSlow(text.slice(start, i)));
        start = -1;
      }
      i += width - 1;
    }
    if (start >= 0) push(ascii ? this.lookupAscii(text, start, len, h >>> 0) : this.lookupSlow(text.slice(start)));
    return out.subarray(0, n);
  }
}
