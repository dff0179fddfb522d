import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { ANN_CURSOR, ANN_PARTIAL, buildAnn, openAnn } from "./ann.js";
import { searchVectors } from "./dense.js";
import { buildIndex, openRetriever } from "./index.js";
import { clusteredVectors } from "./synthetic-vectors.js";

const tmp = mkdtempSync(join(tmpdir(), "ann-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const DIM = 48;
const N = 3000;
const data = clusteredVectors({ dim: DIM, clusters: 40, rank: 6, seed: 3 }).next(N);
const queries = clusteredVectors({ dim: DIM, clusters: 40, rank: 6, seed: 3 }, "query").next(100);
const qv = Array.from({ length: 100 }, (_, i) => queries.slice(i * DIM, (i + 1) * DIM));
const truth = qv.map((q) => searchVectors(data, DIM, q, 10).map((h) => h.doc));

/** A directory holding only what an ANN build reads: dense.json + dense-vectors.f32. */
function vectorDir(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "dense-vectors.f32"), new Uint8Array(data.buffer));
  writeFileSync(join(dir, "dense.json"), JSON.stringify({ embedder: "synthetic", dim: DIM, numDocs: N }));
  return dir;
}

const recallAt10 = (dir: string) => {
  const ann = openAnn(dir);
  const got = ann.searchVectors(qv, 10);
  let hit = 0;
  got.forEach((hits, i) => hits.forEach((h) => (hit += truth[i].includes(h.doc) ? 1 : 0)));
  return { recall: hit / (10 * qv.length), got };
};

describe("approximate dense index (usearch HNSW)", () => {
  test.each(["f32", "f16", "i8"] as const)("%s: recall@10 vs exact brute force ≥ 0.95; scores are cosines", async (quantization) => {
    const dir = vectorDir(`q-${quantization}`);
    const stats = await buildAnn(dir, { params: { quantization, chunk: 1000 }, quiet: true });
    expect(stats.meta).toMatchObject({ numDocs: N, dim: DIM, params: { quantization }, resumes: 0 });
    const { recall, got } = recallAt10(dir);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    const exact = searchVectors(data, DIM, qv[0], 1)[0];
    expect(got[0][0].doc).toBe(exact.doc);
    expect(got[0][0].score).toBeCloseTo(exact.score, quantization === "i8" ? 1 : 2);
    expect(existsSync(join(dir, ANN_CURSOR))).toBe(false);
    expect(existsSync(join(dir, ANN_PARTIAL))).toBe(false);
  });

  test("an interrupted build resumes from its checkpoint and matches an uninterrupted one", async () => {
    const full = vectorDir("full");
    await buildAnn(full, { params: { chunk: 500 }, quiet: true });
    const dir = vectorDir("killed");
    const checkpoints: number[] = [];
    await expect(
      buildAnn(dir, {
        params: { chunk: 500 },
        quiet: true,
        onCheckpoint: (added) => {
          checkpoints.push(added);
          if (added === 1500) throw new Error("simulated kill");
        },
      }),
    ).rejects.toThrow("simulated kill");
    expect(JSON.parse(readFileSync(join(dir, ANN_CURSOR), "utf8"))).toMatchObject({ added: 1500, numDocs: N });
    // Other graph parameters cannot resume this build.
    await expect(buildAnn(dir, { params: { chunk: 500, connectivity: 32 }, quiet: true })).rejects.toThrow(/partial ANN build with other parameters/);
    const resumed = await buildAnn(dir, { params: { chunk: 500 }, quiet: true, onCheckpoint: (a) => checkpoints.push(a) });
    expect(resumed.resumedAt).toBe(1500);
    expect(resumed.meta.resumes).toBe(1);
    expect(checkpoints).toEqual([500, 1000, 1500, 2000, 2500, 3000]);
    const a = recallAt10(full);
    const b = recallAt10(dir);
    expect(b.recall).toBeGreaterThanOrEqual(0.95);
    expect(Math.abs(a.recall - b.recall)).toBeLessThan(0.02);
    // Every vector is in the graph exactly once: each one finds itself first.
    const ann = openAnn(dir);
    for (let i = 0; i < N; i += 97) expect(ann.searchVectors([data.slice(i * DIM, (i + 1) * DIM)], 1)[0][0].doc).toBe(i);
    await expect(buildAnn(dir, { quiet: true })).rejects.toThrow(/already has an ANN index/);
  });

  test("research index build --ann: openRetriever searches the ANN by default, the same passages as the exact index", async () => {
    const corpus = join(tmp, "corpus.jsonl");
    const topics = ["cats sleep on warm mats", "dogs run in the park", "rivers flow to the sea", "stars burn in the night sky", "bread is baked in ovens"];
    const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ id: `p${i}`, contents: `"Doc ${i}"\n${topics[i % 5]} number ${i} ${topics[(i * 3) % 5]}` }));
    writeFileSync(corpus, lines.join("\n") + "\n");
    const out = join(tmp, "ix");
    const stats = await buildIndex({ corpus, out, kind: "dense", ann: { chunk: 25, quantization: "f32" }, quiet: true });
    expect(stats.ann?.meta.numDocs).toBe(60);
    expect(JSON.parse(readFileSync(join(out, "ann.json"), "utf8"))).toMatchObject({ embedder: "use-lite", numDocs: 60 });
    const ann = await openRetriever({ index: out, mode: "dense" });
    const exact = await openRetriever({ index: out, mode: "dense", dense: "exact" });
    const qs = ["where do cats sleep", "what flows to the sea", "baked bread"];
    const [a, e] = [await ann.search(qs, 5), await exact.search(qs, 5)];
    expect(a.map((l) => l.map((h) => h.id))).toEqual(e.map((l) => l.map((h) => h.id)));
    a.flat().forEach((h, i) => expect(h.score).toBeCloseTo(e.flat()[i].score, 4));
    await ann.close?.();
    await exact.close?.();
    // Rerunning the build on a finished ANN index is refused; a BM25-only index cannot have one.
    await expect(buildIndex({ corpus, out, kind: "dense", ann: true, quiet: true })).rejects.toThrow(/exists and is not empty/);
    await expect(buildIndex({ corpus, out: join(tmp, "ix-bm25"), kind: "bm25", ann: true, quiet: true })).rejects.toThrow(/--ann needs dense vectors/);
  });
});
