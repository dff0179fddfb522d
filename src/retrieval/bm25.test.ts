import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { createRng } from "../util/rng.js";
import { Bm25Builder, loadBm25, saveBm25, type Bm25Index } from "./bm25.js";
import { createScratch, searchBm25, searchBm25Exhaustive, type SearchStats } from "./bm25-search.js";
import { createZipf } from "./synthetic.js";
import { createAnalyzer } from "./tokenize.js";
import { SHARED_DATA } from "../util/shared.js";

const WIKI = SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl";
const analyzer = createAnalyzer();
const wikiDocs = readFileSync(WIKI, "utf8").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { contents: string }).contents);

function build(docs: string[], params = { k1: 0.9, b: 0.4 }): Bm25Index {
  const b = new Bm25Builder(params, "test");
  for (const d of docs) b.add(analyzer.terms(d));
  return b.finish();
}
const wiki = build(wikiDocs);
const tmp = mkdtempSync(join(tmpdir(), "bm25-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Textbook Okapi BM25 from strings, written independently of the index (the oracle). */
function naiveBm25(docs: string[], query: string, k: number, k1 = 0.9, b = 0.4) {
  const toks = docs.map((d) => analyzer.terms(d));
  const avgdl = toks.reduce((a, t) => a + t.length, 0) / toks.length;
  const q = analyzer.terms(query);
  const df = new Map<string, number>();
  for (const t of toks) for (const w of new Set(t)) df.set(w, (df.get(w) ?? 0) + 1);
  const scored = toks.map((t, doc) => {
    let score = 0;
    for (const w of q) {
      const n = df.get(w);
      if (!n) continue;
      const tf = Math.min(255, t.filter((x) => x === w).length);
      if (!tf) continue;
      const idf = Math.log(1 + (docs.length - n + 0.5) / (n + 0.5));
      score += (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * t.length) / avgdl));
    }
    return { doc, score };
  });
  return scored.filter((s) => s.score > 0).sort((x, y) => y.score - x.score || x.doc - y.doc).slice(0, k);
}

/** Question-like queries: words of a random passage plus frequent words. */
function randomQueries(docs: string[], n: number, seed: number): string[] {
  const rng = createRng(seed);
  const common = ["the", "of", "and", "in", "a", "was", "is", "to", "what", "who", "which"];
  return Array.from({ length: n }, () => {
    const words = docs[rng.int(docs.length)].split(/\s+/);
    const q = Array.from({ length: 3 + rng.int(4) }, () => words[rng.int(words.length)]);
    for (let i = 0; i < 2 + rng.int(5); i++) q.push(common[rng.int(common.length)]);
    return q.join(" ");
  });
}

describe("bm25 scoring", () => {
  test("matches a textbook Okapi BM25 written from scratch", () => {
    for (const q of ["who was the president of the united states", "Coronation Park Delhi", "the of and", ...randomQueries(wikiDocs, 5, 7)]) {
      const want = naiveBm25(wikiDocs, q, 10);
      const got = searchBm25(wiki, analyzer.terms(q), 10, createScratch(wiki.meta.numDocs));
      expect(got.map((g) => g.doc)).toEqual(want.map((w) => w.doc));
      got.forEach((g, i) => expect(g.score).toBeCloseTo(want[i].score, 9));
    }
  });

  test.each([1, 5, 10, 100])("pruned search equals exhaustive scoring (k=%i)", (k) => {
    const scratch = createScratch(wiki.meta.numDocs);
    for (const q of randomQueries(wikiDocs, 60, k)) {
      const terms = analyzer.terms(q);
      expect(searchBm25(wiki, terms, k, scratch)).toEqual(searchBm25Exhaustive(wiki, terms, k));
    }
  });

  test("frequent words are handled by pruning, not dropped, on a Zipf corpus", () => {
    const z = createZipf({ vocab: 20_000, wordsPerDoc: 60, seed: 3 });
    const docs = Array.from({ length: 4000 }, (_, i) => z.passage(i).contents);
    const ix = build(docs);
    const scratch = createScratch(ix.meta.numDocs);
    let pruned = 0;
    let scanned = 0;
    let total = 0;
    for (let i = 0; i < 80; i++) {
      const terms = analyzer.terms(z.query((i * 37) % 4000, i));
      const stats: SearchStats = { scanned: 0, lookups: 0, prunedTerms: 0 };
      expect(searchBm25(ix, terms, 5, scratch, stats)).toEqual(searchBm25Exhaustive(ix, terms, 5));
      pruned += stats.prunedTerms;
      scanned += stats.scanned;
      for (const t of new Set(terms)) {
        const id = ix.termId.get(t)!;
        total += ix.offsets[id + 1] - ix.offsets[id];
      }
    }
    expect(pruned).toBeGreaterThan(80); // most queries stop scanning their frequent words
    expect(scanned).toBeLessThan(total * 0.6);
  });

  test("OR semantics: top_n results whenever that many passages share a word", () => {
    const scratch = createScratch(wiki.meta.numDocs);
    const withThe = wikiDocs.filter((d) => analyzer.terms(d).includes("the")).length;
    expect(searchBm25(wiki, analyzer.terms("the zzzqqq unknownword"), 50, scratch)).toHaveLength(50);
    expect(searchBm25(wiki, analyzer.terms("the"), 5000, scratch)).toHaveLength(withThe);
    expect(searchBm25(wiki, [], 10, scratch)).toEqual([]);
    expect(searchBm25(wiki, ["zzzqqq"], 10, scratch)).toEqual([]);
  });

  test("repeated query words count once per occurrence (qtf)", () => {
    const once = searchBm25Exhaustive(wiki, ["delhi"], 1)[0];
    const twice = searchBm25Exhaustive(wiki, ["delhi", "delhi"], 1)[0];
    expect(twice.doc).toBe(once.doc);
    expect(twice.score).toBeCloseTo(2 * once.score, 12);
  });

  test("save and load (plain and shared buffers) give identical results", () => {
    saveBm25(wiki, tmp);
    for (const shared of [false, true]) {
      const back = loadBm25(tmp, { shared });
      expect(back.meta).toEqual(wiki.meta);
      expect(back.buffer instanceof SharedArrayBuffer).toBe(shared);
      for (const q of randomQueries(wikiDocs, 10, 99)) {
        const t = analyzer.terms(q);
        expect(searchBm25(back, t, 10, createScratch(back.meta.numDocs))).toEqual(searchBm25(wiki, t, 10, createScratch(wiki.meta.numDocs)));
      }
    }
  });

  test("the indexing fast path (addText) builds exactly what the analyzer path builds", () => {
    const fast = new Bm25Builder({ k1: 0.9, b: 0.4 }, "test");
    const extra = ["Ünïcödé Straße ÉCOLE école 𝐀𝐁 🙂 km² x\u0301y", "THE The the tHe", ""];
    for (const d of [...wikiDocs, ...extra]) fast.addText(d);
    const a = fast.finish();
    const b = build([...wikiDocs, ...extra]);
    const sorted = (ix: Bm25Index) => ix.terms.map((t, id) => [t, Array.from(ix.postDocs.subarray(ix.offsets[id], ix.offsets[id + 1])), Array.from(ix.postTfs.subarray(ix.offsets[id], ix.offsets[id + 1]))]).sort((x, y) => (x[0] < y[0] ? -1 : 1));
    expect(a.meta).toEqual(b.meta);
    expect(Array.from(a.docLen)).toEqual(Array.from(b.docLen));
    expect(sorted(a)).toEqual(sorted(b));
  });

  test("an empty corpus builds and answers nothing", () => {
    const ix = build([]);
    expect(ix.meta.numDocs).toBe(0);
    expect(searchBm25(ix, ["x"], 5, createScratch(0))).toEqual([]);
  });
});
