/**
 * Retrieval benchmark (`npm run bench -- retrieval`).
 * 1) Quality: recall@1/5/10 of HotpotQA supporting paragraphs on a corpus of all paragraphs of
 *    hotpotqa_distractor_500 (question as query): our BM25, a plain Okapi BM25 reference, dense (USE-lite), hybrid.
 * 2) Speed: a generated Zipf corpus (default 1M passages of ~100 words) with question-like 8–12-word queries that
 *    keep their frequent words: build rate, index size, in-process top-5 latency, worker-pool and HTTP throughput.
 * 3) The approximate dense index (HNSW, usearch) on clustered synthetic 768-d vectors: build time, RSS, recall@10
 *    vs exact, query p50/p95, measured at growing sizes and projected to 21M (bench/retrieval-ann.ts).
 * Env: RETRIEVAL_BENCH_DOCS (default 1000000), RETRIEVAL_BENCH_DENSE=0 to skip dense, RETRIEVAL_BENCH_DIR (cache),
 * RETRIEVAL_BENCH_PARTS (default quality,speed,ann; a part left out keeps its section of an earlier
 * bench/results/retrieval.json), RETRIEVAL_BENCH_ANN_* (see bench/retrieval-ann.ts).
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { once } from "node:events";
import { Agent, request } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createScratch, searchBm25Exhaustive } from "../src/retrieval/bm25-search.js";
import { corpusFromQa } from "../src/retrieval/corpus-from-qa.js";
import { parseContents } from "../src/retrieval/corpus.js";
import { openEngine } from "../src/retrieval/engine.js";
import { buildIndex, type BuildStats } from "../src/retrieval/index.js";
import { createSearchPool } from "../src/retrieval/pool.js";
import { startRetrieverServer } from "../src/retrieval/server.js";
import { createZipf } from "../src/retrieval/synthetic.js";
import { createAnalyzer } from "../src/retrieval/tokenize.js";
import { writeJsonAtomic } from "../src/util/fs.js";
import { SHARED_DATA } from "../src/util/shared.js";

const HOTPOT = SHARED_DATA + "/hotpotqa_distractor_500.jsonl";
const here = new URL(".", import.meta.url).pathname;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const cpuSeconds = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;

interface HotpotRow { question: string; supporting_facts: [string, number][] }

/** Plain Okapi BM25 (k1 0.9, b 0.4; lowercase alphanumeric tokens, no stemming), exhaustive: the reference. */
function okapiReference(docs: string[]) {
  const tok = (s: string) => s.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  const toks = docs.map(tok);
  const avgdl = toks.reduce((a, t) => a + t.length, 0) / toks.length;
  const df = new Map<string, number>();
  const tfs = toks.map((t) => {
    const m = new Map<string, number>();
    for (const w of t) m.set(w, (m.get(w) ?? 0) + 1);
    for (const w of m.keys()) df.set(w, (df.get(w) ?? 0) + 1);
    return m;
  });
  return (query: string, k: number): number[] => {
    const q = tok(query);
    const scores = tfs.map((m, d) => {
      let s = 0;
      for (const w of q) {
        const tf = m.get(w);
        if (!tf) continue;
        const n = df.get(w)!;
        s += Math.log(1 + (docs.length - n + 0.5) / (n + 0.5)) * ((tf * 1.9) / (tf + 0.9 * (0.6 + (0.4 * toks[d].length) / avgdl)));
      }
      return s;
    });
    return scores.map((s, d) => [s, d]).filter(([s]) => s > 0).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map(([, d]) => d);
  };
}

async function quality(work: string, withDense: boolean) {
  const corpus = join(work, "hotpot-corpus.jsonl");
  await corpusFromQa({ inputs: [HOTPOT], out: corpus });
  const kind = withDense ? "hybrid" : "bm25";
  const ix = join(work, `hotpot-${kind}`);
  if (!existsSync(join(ix, "index.json"))) await buildIndex({ corpus, out: ix, kind, overwrite: true, quiet: true });
  const passages = readFileSync(corpus, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; contents: string });
  const titleOf = new Map(passages.map((p) => [p.id, parseContents(p.contents).title]));
  const rows = readFileSync(HOTPOT, "utf8").trim().split("\n").map((l) => JSON.parse(l) as HotpotRow);
  const ref = okapiReference(passages.map((p) => p.contents));
  const engine = await openEngine(ix);
  const methods: Record<string, (qs: string[]) => Promise<string[][]>> = {
    "bm25 (ours: porter, k1 0.9, b 0.4)": async (qs) => (await engine.search(qs, 10, "bm25")).map((h) => h.map((x) => x.id)),
    "okapi bm25 reference (no stemming)": async (qs) => qs.map((q) => ref(q, 10).map((d) => passages[d].id)),
  };
  if (withDense) {
    methods["dense (use-lite, exact)"] = async (qs) => (await engine.search(qs, 10, "dense")).map((h) => h.map((x) => x.id));
    methods["hybrid (rrf bm25 + dense)"] = async (qs) => (await engine.search(qs, 10, "hybrid")).map((h) => h.map((x) => x.id));
  }
  // AMOR's copy of the distractor set lacks 427 of its 1,000 gold paragraphs in the contexts, so recall is
  // reported over all gold paragraphs (capped at the share present) and over the gold paragraphs present.
  const present = new Set(titleOf.values());
  const out: Record<string, { r1: number; r5: number; r10: number; r1Present: number; r5Present: number; r10Present: number }> = {};
  for (const [name, run] of Object.entries(methods)) {
    const ranked = await run(rows.map((r) => r.question));
    const rec = (k: number, onlyPresent: boolean) => {
      let sum = 0;
      let count = 0;
      rows.forEach((r, i) => {
        const gold = [...new Set(r.supporting_facts.map(([t]) => t))].filter((t) => !onlyPresent || present.has(t));
        if (!gold.length) return;
        const got = new Set(ranked[i].slice(0, k).map((id) => titleOf.get(id)));
        sum += gold.filter((t) => got.has(t)).length / gold.length;
        count++;
      });
      return sum / count;
    };
    out[name] = { r1: rec(1, false), r5: rec(5, false), r10: rec(10, false), r1Present: rec(1, true), r5Present: rec(5, true), r10Present: rec(10, true) };
  }
  engine.close();
  const goldTotal = rows.reduce((a, r) => a + new Set(r.supporting_facts.map(([t]) => t)).size, 0);
  const goldPresent = rows.reduce((a, r) => a + [...new Set(r.supporting_facts.map(([t]) => t))].filter((t) => present.has(t)).length, 0);
  return { passages: passages.length, questions: rows.length, goldTotal, goldPresent, recall: out };
}

async function generate(path: string, n: number) {
  if (existsSync(path)) return;
  const z = createZipf({ seed: 1 });
  const tmp = path + ".tmp";
  const ws = createWriteStream(tmp);
  for (let i = 0; i < n; i++) if (!ws.write(JSON.stringify(z.passage(i)) + "\n")) await once(ws, "drain");
  ws.end();
  await once(ws, "finish");
  renameSync(tmp, path);
}

async function speed(work: string, n: number) {
  const corpus = join(work, `zipf-${n}.jsonl`);
  const tg = performance.now();
  await generate(corpus, n);
  const genSeconds = (performance.now() - tg) / 1000;
  const ix = join(work, `zipf-${n}-ix`);
  const c0 = process.cpuUsage();
  const build: BuildStats = await buildIndex({ corpus, out: ix, overwrite: true, quiet: true });
  const buildCpu = cpuSeconds(process.cpuUsage(c0));
  const z = createZipf({ seed: 1 });
  const queries = Array.from({ length: 2000 }, (_, i) => z.query((i * 7919) % n, 1000 + i));

  // In-process, one thread: latency of engine.search (analysis + top-5 + passage fetch).
  const engine = await openEngine(ix);
  for (const q of queries.slice(0, 100)) await engine.search([q], 5);
  const lat: number[] = [];
  const cpuLat: number[] = [];
  const t1 = performance.now();
  for (const q of queries) {
    const t = performance.now();
    const c = process.cpuUsage();
    await engine.search([q], 5);
    cpuLat.push(cpuSeconds(process.cpuUsage(c)) * 1000);
    lat.push(performance.now() - t);
  }
  const oneThreadQps = queries.length / ((performance.now() - t1) / 1000);
  // The same queries scored exhaustively (no MaxScore cutoff), for comparison.
  const analyzer = createAnalyzer();
  const bm25 = (await import("../src/retrieval/bm25.js")).loadBm25(ix);
  const exLat: number[] = [];
  const scratch = createScratch(bm25.meta.numDocs);
  for (const q of queries.slice(0, 200)) {
    const t = performance.now();
    searchBm25Exhaustive(bm25, analyzer.terms(q), 5, scratch);
    exLat.push(performance.now() - t);
  }
  engine.close();

  // In-process worker pool (2 threads = the cores), 64 concurrent callers.
  const pool = await createSearchPool({ index: ix, workers: 2 });
  const reqs = 20_000;
  const tp = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < reqs) await pool.search([queries[next++ % queries.length]], 5);
  }));
  const poolQps = reqs / ((performance.now() - tp) / 1000);
  await pool.close();

  // HTTP: our server, 64 concurrent keep-alive clients (node:http), 20,000 POST /search.
  const server = await startRetrieverServer({ index: ix, port: 0, workers: 2 });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(server.url + "/search");
  const post = (body: string) =>
    new Promise<number>((ok, bad) => {
      const r = request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on("end", () => ok(res.statusCode ?? 0));
      });
      r.on("error", bad);
      r.end(body);
    });
  const statuses = new Map<number, number>();
  let failed = 0;
  next = 0;
  const th = performance.now();
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < reqs) {
      const q = queries[next++ % queries.length];
      try {
        const status = await post(JSON.stringify({ query: q, top_n: 5 }));
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status !== 200) failed++;
      } catch {
        failed++;
      }
    }
  }));
  const httpQps = reqs / ((performance.now() - th) / 1000);
  agent.destroy();
  await server.close();
  return {
    passages: n,
    generateSeconds: genSeconds,
    build: { ...build, cpuSeconds: buildCpu, passagesPerCpuSecond: build.passages / buildCpu },
    indexMB: build.bytes / 1e6,
    latencyMs: { p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99), cpuP50: pct(cpuLat, 50), cpuP95: pct(cpuLat, 95), exhaustiveP50: pct(exLat, 50), exhaustiveP95: pct(exLat, 95) },
    loadAverage: loadavg(),
    qps: { oneThread: oneThreadQps, pool2Workers: poolQps, http64Clients: httpQps, httpVsInProcess: httpQps / poolQps },
    http: { requests: reqs, failed, statuses: Object.fromEntries(statuses) },
    sampleQuery: queries[0],
  };
}

export async function main(): Promise<void> {
  const n = Number(process.env.RETRIEVAL_BENCH_DOCS ?? 1_000_000);
  const withDense = process.env.RETRIEVAL_BENCH_DENSE !== "0";
  const parts = new Set((process.env.RETRIEVAL_BENCH_PARTS ?? "quality,speed,ann").split(",").map((p) => p.trim()));
  for (const p of parts) if (!["quality", "speed", "ann"].includes(p)) throw new Error(`RETRIEVAL_BENCH_PARTS: unknown part ${p} (quality, speed, ann)`);
  const work = process.env.RETRIEVAL_BENCH_DIR ?? join(tmpdir(), "research-bench-retrieval");
  mkdirSync(work, { recursive: true });
  mkdirSync(join(here, "results"), { recursive: true });
  const resultPath = join(here, "results", "retrieval.json");
  const previous = existsSync(resultPath) ? (JSON.parse(readFileSync(resultPath, "utf8")) as Record<string, unknown>) : {};
  const result: Record<string, unknown> = { ...previous, date: new Date().toISOString() };
  if (parts.has("quality")) {
    const q = await quality(work, withDense);
    console.log(`\nHotpotQA distractor corpus: ${q.passages} passages, ${q.questions} questions; ${q.goldPresent} of ${q.goldTotal} gold paragraphs are in the corpus`);
    console.table(Object.fromEntries(Object.entries(q.recall).map(([k, v]) => [k, {
      "R@1": v.r1.toFixed(3), "R@5": v.r5.toFixed(3), "R@10": v.r10.toFixed(3),
      "R@1 (present)": v.r1Present.toFixed(3), "R@5 (present)": v.r5Present.toFixed(3), "R@10 (present)": v.r10Present.toFixed(3),
    }])));
    result.quality = q;
    writeJsonAtomic(resultPath, result);
  }
  // Speed (RETRIEVAL_BENCH_DOCS=0 skips it too, keeping the speed section of an earlier run).
  if (parts.has("speed") && n > 0) {
    const s = await speed(work, n);
    console.log(`\nZipf corpus: ${n} passages; query e.g. "${s.sampleQuery}"`);
    console.table({
      "build passages/s (wall)": s.build.passagesPerSecond.toFixed(0),
      "build passages/s (per CPU second)": s.build.passagesPerCpuSecond.toFixed(0),
      "index size MB": s.indexMB.toFixed(0),
      "top-5 p50 ms (MaxScore)": s.latencyMs.p50.toFixed(2),
      "top-5 p95 ms (MaxScore)": s.latencyMs.p95.toFixed(2),
      "top-5 p50 / p95 ms, CPU time": `${s.latencyMs.cpuP50.toFixed(2)} / ${s.latencyMs.cpuP95.toFixed(2)}`,
      "top-5 p50 ms (exhaustive)": s.latencyMs.exhaustiveP50.toFixed(2),
      "machine load average (1/5/15 min)": s.loadAverage.map((x) => x.toFixed(1)).join(" / "),
      "qps, 1 thread": s.qps.oneThread.toFixed(0),
      "qps, pool of 2 workers": s.qps.pool2Workers.toFixed(0),
      "qps, HTTP 64 clients": s.qps.http64Clients.toFixed(0),
      "HTTP / in-process": s.qps.httpVsInProcess.toFixed(2),
      "HTTP failed requests": `${s.http.failed} of ${s.http.requests}`,
    });
    result.speed = s;
    writeJsonAtomic(resultPath, result);
  }
  if (parts.has("ann")) {
    console.log("\nApproximate dense index (usearch HNSW) on clustered synthetic 768-d vectors");
    const { annBench } = await import("./retrieval-ann.js");
    result.ann = await annBench(work);
    writeJsonAtomic(resultPath, result);
  }
}
