/**
 * The approximate dense index part of the retrieval benchmark (`npm run bench -- retrieval`; only this part with
 * RETRIEVAL_BENCH_PARTS=ann). Vectors: `clusteredVectors` (src/retrieval/synthetic-vectors.ts), 768-d unit vectors
 * from a 1,000-cluster Gaussian mixture with Zipf-like cluster sizes, each cluster with its own 16-d subspace plus
 * isotropic noise; 200 queries are fresh draws from the same mixture. The vectors are written as an index
 * directory's dense-vectors.f32 and the ANN is built by the real `buildAnn` (checkpointed chunks); at each
 * checkpoint size the partial graph is opened memory-mapped and measured: build time so far, RSS, recall@10 against
 * exact brute force over the same prefix (computed while generating, usearch's exactSearch in f32), query p50/p95
 * (one thread, query vector given, so no embedding time). Measured sizes are fitted and projected to 21M.
 *
 * Env: RETRIEVAL_BENCH_ANN_DOCS (default 1000000), RETRIEVAL_BENCH_ANN_SIZES (checkpoint sizes, default
 * n/8,n/4,n/2,n), RETRIEVAL_BENCH_ANN_Q (i8 | f16 | f32, default i8), RETRIEVAL_BENCH_DIR (cache).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import usearch from "usearch";
import { ANN_PARTIAL, AnnParamsSchema, buildAnn, openAnn, viewGraph } from "../src/retrieval/ann.js";
import { clusteredVectors } from "../src/retrieval/synthetic-vectors.js";
import { writeJsonAtomic } from "../src/util/fs.js";
import { createProgress } from "../src/util/progress.js";

const DIM = 768;
const QUERIES = 200;
const TARGET = 21_000_000;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const rssMB = () => process.memoryUsage().rss / 1e6;

interface Truth { sizes: number[]; topByQueryAtSize: number[][][] }

/** Write n clustered vectors as dense-vectors.f32 and the exact top-10 of each query at each size. */
function generate(dir: string, n: number, sizes: number[], queries: Float32Array): Truth {
  const truthPath = join(dir, `truth-${sizes.join("-")}.json`);
  if (existsSync(join(dir, "dense.json")) && existsSync(truthPath)) return JSON.parse(readFileSync(truthPath, "utf8")) as Truth;
  mkdirSync(dir, { recursive: true });
  const src = clusteredVectors({ dim: DIM, seed: 1 });
  const tmp = join(dir, "dense-vectors.f32.tmp");
  const fd = openSync(tmp, "w");
  const best: { doc: number; d: number }[][] = Array.from({ length: QUERIES }, () => []);
  const truth: Truth = { sizes, topByQueryAtSize: [] };
  const step = 25_000;
  const bar = createProgress("generate + exact top-10", n);
  for (let at = 0; at < n; ) {
    // Stop at every measured size, so the exact top-10 of each prefix is known.
    const count = Math.min(step, n - at, ...sizes.filter((z) => z > at).map((z) => z - at));
    const rows = src.next(count);
    writeSync(fd, new Uint8Array(rows.buffer));
    const ex = usearch.exactSearch(rows, queries, DIM, 10, usearch.MetricKind.Cos, 0) as InstanceType<typeof usearch.BatchMatches>;
    for (let q = 0; q < QUERIES; q++) {
      const m = ex.get(q);
      const merged = [...best[q], ...Array.from(m.keys, (k, i) => ({ doc: Number(k) + at, d: m.distances[i] }))];
      merged.sort((a, b) => a.d - b.d);
      best[q] = merged.slice(0, 10);
    }
    at += count;
    for (const s of sizes) if (s === at) truth.topByQueryAtSize.push(best.map((b) => b.map((x) => x.doc)));
    bar.update(at);
  }
  bar.stop();
  closeSync(fd);
  renameSync(tmp, join(dir, "dense-vectors.f32"));
  writeFileSync(join(dir, "dense.json"), JSON.stringify({ embedder: "synthetic-clustered", dim: DIM, numDocs: n }));
  writeJsonAtomic(truthPath, truth);
  return truth;
}

/** Least squares y = a + b x. */
export function fitLine(xs: number[], ys: number[]) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => { sxy += (x - mx) * (ys[i] - my); sxx += (x - mx) ** 2; });
  const b = sxx ? sxy / sxx : 0;
  return { a: my - b * mx, b, at: (x: number) => my - b * mx + b * x };
}

/** Latency and recall of every measured search variant, projected to 21M (linear in log2 n). */
export function projectVariants(points: AnnPoint[]) {
  const lg = points.map((p) => Math.log2(p.n));
  return Object.fromEntries(Object.keys(points[0].recall10).map((k) => [k, {
    p50ms: fitLine(lg, points.map((p) => p.p50ms[k])).at(Math.log2(TARGET)),
    p95ms: fitLine(lg, points.map((p) => p.p95ms[k])).at(Math.log2(TARGET)),
    recall10: Math.min(1, fitLine(lg, points.map((p) => p.recall10[k])).at(Math.log2(TARGET))),
  }]));
}

export interface AnnPoint {
  n: number;
  buildSeconds: number;
  vectorsPerSecond: number;
  rssMB: number;
  graphMB: number;
  recall10: Record<string, number>;
  p50ms: Record<string, number>;
  p95ms: Record<string, number>;
}

export async function annBench(work: string) {
  const n = Number(process.env.RETRIEVAL_BENCH_ANN_DOCS ?? 1_000_000);
  const sizes = (process.env.RETRIEVAL_BENCH_ANN_SIZES ?? [n / 8, n / 4, n / 2, n].map(Math.round).join(",")).split(",").map(Number);
  const quantization = (process.env.RETRIEVAL_BENCH_ANN_Q ?? "i8") as "i8";
  const chunk = sizes.reduce((g, s) => { let a = g; let b = s; while (b) [a, b] = [b, a % b]; return a; });
  const params = AnnParamsSchema.parse({ quantization, chunk });
  const dir = join(work, `ann-${n}`);
  const queries = clusteredVectors({ dim: DIM, seed: 1 }, "query").next(QUERIES);
  const qv = Array.from({ length: QUERIES }, (_, i) => queries.slice(i * DIM, (i + 1) * DIM));
  const tg = performance.now();
  const truth = generate(dir, n, sizes, queries);
  const generateSeconds = (performance.now() - tg) / 1000;
  for (const f of ["ann.json", "ann.usearch", "ann-build.json", ANN_PARTIAL]) if (existsSync(join(dir, f))) renameSync(join(dir, f), join(dir, `${f}.old`));
  // Graph order alone, and rescored (rescore × 10 candidates ranked by the exact vectors, the default search).
  const variants: [number, number][] = [[64, 1], [128, 1], [128, params.rescore], [256, params.rescore]];
  const variantKey = (ef: number, rescore: number) => `ef${ef}${rescore > 1 ? `+rescore${rescore}` : ""}`;
  const points: AnnPoint[] = [];
  const t0 = performance.now();
  let paused = 0; // measurement time, not build time
  const rss0 = rssMB();
  await buildAnn(dir, {
    params,
    onCheckpoint: (added) => {
      const si = sizes.indexOf(added);
      if (si < 0) return;
      const tm = performance.now();
      const buildSeconds = (tm - t0 - paused) / 1000;
      const rss = rssMB();
      const point: AnnPoint = { n: added, buildSeconds, vectorsPerSecond: added / buildSeconds, rssMB: rss, graphMB: 0, recall10: {}, p50ms: {}, p95ms: {} };
      for (const [ef, rescore] of variants) {
        const g = viewGraph(join(dir, ANN_PARTIAL), DIM, { ...params, expansionSearch: ef }, { vectors: join(dir, "dense-vectors.f32"), factor: rescore });
        for (const q of qv.slice(0, 20)) g.search(q, 10);
        const lat: number[] = [];
        let hit = 0;
        qv.forEach((q, i) => {
          const t = performance.now();
          const hits = g.search(q, 10);
          lat.push(performance.now() - t);
          const gold = new Set(truth.topByQueryAtSize[si][i]);
          for (const h of hits) if (gold.has(h.doc)) hit++;
        });
        g.close();
        const key = variantKey(ef, rescore);
        point.recall10[key] = hit / (10 * QUERIES);
        point.p50ms[key] = pct(lat, 50);
        point.p95ms[key] = pct(lat, 95);
      }
      point.graphMB = statSync(join(dir, ANN_PARTIAL)).size / 1e6;
      points.push(point);
      console.log(`  ${added}: build ${buildSeconds.toFixed(0)} s, RSS ${rss.toFixed(0)} MB, recall@10 ${JSON.stringify(point.recall10)}, p50 ${JSON.stringify(point.p50ms)}`);
      paused += performance.now() - tm;
    },
  });
  // The finished index, opened memory-mapped in this process.
  const before = rssMB();
  const to = performance.now();
  const ann = openAnn(dir);
  const openMs = performance.now() - to;
  const afterOpen = rssMB();
  let finalHit = 0;
  const finalLat: number[] = [];
  qv.forEach((q, i) => {
    const t = performance.now();
    const hits = ann.searchVectors([q], 10)[0];
    finalLat.push(performance.now() - t);
    const gold = new Set(truth.topByQueryAtSize[sizes.length - 1][i]);
    for (const h of hits) if (gold.has(h.doc)) finalHit++;
  });
  const afterQueries = rssMB();
  ann.close();
  const last = points[points.length - 1];
  // Projections to 21M from the measured sizes: build time as a power law (log-log line), graph size and build RSS
  // linear in n, latency and recall linear in log2 n.
  const bt = fitLine(points.map((p) => Math.log(p.n)), points.map((p) => Math.log(p.buildSeconds)));
  const gm = fitLine(points.map((p) => p.n), points.map((p) => p.graphMB));
  const rm = fitLine(points.map((p) => p.n), points.map((p) => p.rssMB));
  const ef = variantKey(params.expansionSearch, params.rescore);
  const lg = (x: number) => Math.log2(x);
  const p50 = fitLine(points.map((p) => lg(p.n)), points.map((p) => p.p50ms[ef]));
  const p95 = fitLine(points.map((p) => lg(p.n)), points.map((p) => p.p95ms[ef]));
  const rc = fitLine(points.map((p) => lg(p.n)), points.map((p) => p.recall10[ef]));
  const projected = {
    n: TARGET,
    buildHours: Math.exp(bt.at(Math.log(TARGET))) / 3600,
    buildExponent: bt.b,
    graphGB: gm.at(TARGET) / 1000,
    buildRssGB: rm.at(TARGET) / 1000,
    p50ms: p50.at(lg(TARGET)),
    p95ms: p95.at(lg(TARGET)),
    recall10: Math.min(1, rc.at(lg(TARGET))),
    method: "build time: power law fitted on the measured sizes; graph MB and build RSS: linear in n; p50/p95 and recall: linear in log2 n",
  };
  const result = {
    projectedByVariant: projectVariants(points),
    vectors: "clusteredVectors: 768-d unit vectors, 1,000-cluster Gaussian mixture (Zipf-like sizes, 16-d subspace per cluster + isotropic noise), seed 1; 200 fresh queries",
    params: { ...params, threads: "all cores (2)" },
    generateSeconds,
    points,
    finished: { openMs, recall10: finalHit / (10 * QUERIES), p50ms: pct(finalLat, 50), p95ms: pct(finalLat, 95), rssBeforeOpenMB: before, rssAfterOpenMB: afterOpen, rssAfterQueriesMB: afterQueries, rssAtBuildStartMB: rss0 },
    projected,
    loadAverage: loadavg(),
  };
  console.table(Object.fromEntries(points.map((p) => [p.n, {
    "build s": p.buildSeconds.toFixed(0),
    "vectors/s": p.vectorsPerSecond.toFixed(0),
    "RSS MB": p.rssMB.toFixed(0),
    "graph MB": p.graphMB.toFixed(0),
    ...Object.fromEntries(variants.flatMap(([e, r]) => {
      const k = variantKey(e, r);
      return [[`R@10 ${k}`, p.recall10[k].toFixed(3)], [`p50/p95 ms ${k}`, `${p.p50ms[k].toFixed(2)} / ${p.p95ms[k].toFixed(2)}`]];
    })),
  }])));
  console.log(`finished ${last.n}-vector index through openAnn (defaults: ef ${params.expansionSearch}, rescore ${params.rescore}): recall@10 ${result.finished.recall10.toFixed(3)}, p50 ${result.finished.p50ms.toFixed(2)} ms, p95 ${result.finished.p95ms.toFixed(2)} ms`);
  console.log(`opened memory-mapped in ${openMs.toFixed(1)} ms: RSS ${before.toFixed(0)} → ${afterOpen.toFixed(0)} MB (after ${QUERIES} queries ${afterQueries.toFixed(0)} MB)`);
  console.log(`projected to 21M (${projected.method}): build ${projected.buildHours.toFixed(1)} h on this machine (exponent ${projected.buildExponent.toFixed(2)}), graph ${projected.graphGB.toFixed(1)} GB, build RSS ${projected.buildRssGB.toFixed(1)} GB, p50 ${projected.p50ms.toFixed(2)} ms, p95 ${projected.p95ms.toFixed(2)} ms, recall@10 ${projected.recall10.toFixed(3)}`);
  return result;
}
