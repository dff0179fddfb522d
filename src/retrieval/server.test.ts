import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openEngine, type SearchEngine } from "./engine.js";
import { buildIndex } from "./index.js";
import { startRetrieverServer, type RetrieverServer } from "./server.js";
import { SHARED_DATA } from "../util/shared.js";

const WIKI = SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl";
let dir: string;
let server: RetrieverServer;
let engine: SearchEngine;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "retriever-server-"));
  await buildIndex({ corpus: WIKI, out: join(dir, "ix"), quiet: true });
  server = await startRetrieverServer({ index: join(dir, "ix"), port: 0, workers: 2 });
  engine = await openEngine(join(dir, "ix"));
});
afterAll(async () => {
  await server?.close();
  engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown, raw = false) {
  const res = await fetch(server.url + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}
const keys = (o: unknown) => Object.keys(o as object).sort();

describe("retriever server: shapes", () => {
  test("GET /health", async () => {
    const res = await fetch(server.url + "/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "healthy", retrievers: { total: 2, available: 2 } });
  });

  test("POST /search → [{id, contents}] (top_n defaults to 10), equal to the in-process ranking", async () => {
    const q = "who was the president of the united states";
    const { status, body } = await post("/search", { query: q });
    expect(status).toBe(200);
    const docs = body as { id: string; contents: string }[];
    expect(docs).toHaveLength(10);
    for (const d of docs) expect(keys(d)).toEqual(["contents", "id"]);
    const [want] = await engine.search([q], 10);
    expect(docs).toEqual(want.map((h) => ({ id: h.id, contents: h.contents })));
  });

  test("POST /search with return_score → [[docs], [scores]]", async () => {
    const { body } = await post("/search", { query: "Delhi coronation park", top_n: 3, return_score: true });
    const [docs, scores] = body as [{ id: string }[], number[]];
    expect(docs).toHaveLength(3);
    expect(scores).toHaveLength(3);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    const [want] = await engine.search(["Delhi coronation park"], 3);
    expect(scores).toEqual(want.map((h) => h.score));
  });

  test("POST /batch_search → one /search result per query", async () => {
    const queries = ["Delhi", "football club", "zzzqqq"];
    const plain = (await post("/batch_search", { query: queries, top_n: 2 })).body as unknown[][];
    expect(plain).toHaveLength(3);
    expect(plain[0]).toHaveLength(2);
    expect(plain[2]).toEqual([]);
    expect(keys(plain[0][0])).toEqual(["contents", "id"]);
    const scored = (await post("/batch_search", { query: queries, top_n: 2, return_score: true })).body as [unknown[], number[]][];
    expect(scored).toHaveLength(3);
    expect(scored[0][0]).toEqual(plain[0]);
    expect(scored[0][1]).toHaveLength(2);
    expect(scored[2]).toEqual([[], []]);
  });

  test("POST /retrieve (Search-R1) → {result: [[{document, score}]]}, topk defaults to 3", async () => {
    const { status, body } = await post("/retrieve", { queries: ["Delhi", "football club"] });
    expect(status).toBe(200);
    const r = (body as { result: { document: { id: string; contents: string }; score: number }[][] }).result;
    expect(keys(body)).toEqual(["result"]);
    expect(r).toHaveLength(2);
    expect(r[0]).toHaveLength(3);
    for (const item of r[0]) {
      expect(keys(item)).toEqual(["document", "score"]);
      expect(keys(item.document)).toEqual(["contents", "id"]);
    }
    const plain = (await post("/retrieve", { queries: ["Delhi"], topk: 2, return_scores: false })).body as { result: unknown[][] };
    expect(plain.result[0]).toEqual(r[0].slice(0, 2).map((x) => x.document));
  });
});

describe("retriever server: bad input gets 400 naming the field", () => {
  const bad: [string, string, unknown, RegExp][] = [
    ["/search", "missing query", {}, /^query: required/],
    ["/search", "query not a string", { query: 5 }, /^query: expected a string/],
    ["/search", "top_n = 0", { query: "x", top_n: 0 }, /^top_n: must be between 1 and 1000/],
    ["/search", "top_n > 1000", { query: "x", top_n: 1001 }, /^top_n: must be between 1 and 1000/],
    ["/search", "top_n fractional", { query: "x", top_n: 2.5 }, /^top_n: expected an integer/],
    ["/search", "top_n a string", { query: "x", top_n: "5" }, /^top_n: expected an integer/],
    ["/search", "return_score not boolean", { query: "x", return_score: "yes" }, /^return_score: expected true or false/],
    ["/search", "body an array", ["x"], /^body: expected a JSON object/],
    ["/batch_search", "query not a list", { query: "x" }, /^query: expected a list of strings/],
    ["/batch_search", "empty batch", { query: [] }, /^query: must hold at least one query/],
    ["/batch_search", "batch over 10,000", { query: Array(10_001).fill("x") }, /^query: at most 10000 queries/],
    ["/batch_search", "item not a string", { query: ["a", 7] }, /^query\[1\]: expected a string/],
    ["/retrieve", "missing queries", { query: ["a"] }, /^queries: required/],
    ["/retrieve", "topk = 0", { queries: ["a"], topk: 0 }, /^topk: must be between 1 and 1000/],
    ["/retrieve", "return_scores not boolean", { queries: ["a"], return_scores: 1 }, /^return_scores: expected true or false/],
    ["/search", "unknown mode", { query: "x", mode: "magic" }, /^mode: expected bm25, dense or hybrid/],
    ["/search", "dense mode on a BM25 index", { query: "x", mode: "dense" }, /has no dense vectors/],
  ];
  test.each(bad)("%s: %s", async (path, _what, body, msg) => {
    const res = await post(path, body);
    expect(res.status).toBe(400);
    expect((res.body as { error: string }).error).toMatch(msg);
  });

  test("invalid JSON, empty body, wrong content type, oversized body, unknown route", async () => {
    const r1 = await post("/search", '{"query": "x",', true);
    expect([r1.status, (r1.body as { error: string }).error]).toEqual([400, "body: invalid JSON"]);
    const r2 = await post("/search", "", true);
    expect(r2.status).toBe(400);
    expect((r2.body as { error: string }).error).toMatch(/^body: /);
    const r3 = await fetch(server.url + "/search", { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
    expect(r3.status).toBe(415);
    const big = await post("/batch_search", { query: Array(5000).fill("x".repeat(8000)) });
    expect(big.status).toBe(413);
    expect((big.body as { error: string }).error).toMatch(/^body: larger than/);
    const r4 = await fetch(server.url + "/nope");
    expect(r4.status).toBe(404);
    // Still serving after all of that.
    expect((await post("/search", { query: "Delhi", top_n: 1 })).status).toBe(200);
  });
});

describe("retriever server: hostile queries and load", () => {
  const hostile = [
    'NEAR(a b, 3) AND "unclosed',
    "title:foo* OR bar^2 NOT (baz)",
    '"" \'\' "quoted phrase" AND OR NOT NEAR',
    "🙂🔥 emoji 😀 and ZWJ 👩‍👩‍👧 ",
    "x".repeat(10_000),
    ("president of " + "the ").repeat(700).slice(0, 10_000),
    "\u0000\u0001\ud800 lone surrogate \\ back\\slash",
    "   ",
  ];
  test.each(hostile.map((q) => [q.slice(0, 40), q]))("query %j never errors", async (_label, q) => {
    const r = await post("/search", { query: q, top_n: 5 });
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body)).toBe(true);
  });

  test("an empty query returns nothing", async () => {
    expect((await post("/search", { query: "" })).body).toEqual([]);
    expect((await post("/retrieve", { queries: ["", "Delhi"], topk: 1 })).body).toMatchObject({ result: [[], [{ score: expect.any(Number) }]] });
  });

  test("64 concurrent clients, 1,280 requests: no failures", async () => {
    const statuses = new Map<number, number>();
    const words = ["Delhi", "football", "president", "river", "the of and", "school year", "church", "war"];
    await Promise.all(
      Array.from({ length: 64 }, async (_, c) => {
        for (let i = 0; i < 20; i++) {
          const res = await fetch(server.url + (i % 2 ? "/search" : "/retrieve"), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(i % 2 ? { query: words[(c + i) % 8], top_n: 5 } : { queries: [words[(c + i) % 8]], topk: 5 }),
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    expect(Object.fromEntries(statuses)).toEqual({ 200: 1280 });
  });

  test("a search worker that dies is replaced; requests keep succeeding", async () => {
    const [victim] = server.pool.workers();
    await victim.terminate();
    for (let i = 0; i < 10; i++) expect((await post("/search", { query: `river ${i}`, top_n: 2 })).status).toBe(200);
    await expect.poll(() => server.pool.workers().length, { timeout: 30_000 }).toBe(2);
    expect(server.pool.workers()).not.toContain(victim);
  });

  test("overload answers 503 with Retry-After from a bounded queue, then recovers", async () => {
    const small = await startRetrieverServer({ index: join(dir, "ix"), port: 0, workers: 1, maxQueue: 256 });
    try {
      const queries = Array.from({ length: 40 }, (_, i) => `the of and in war river school ${i}`);
      const results = await Promise.all(
        Array.from({ length: 600 }, async () => {
          const res = await fetch(small.url + "/batch_search", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ query: queries, top_n: 1 }),
          });
          await res.arrayBuffer();
          return { status: res.status, retryAfter: res.headers.get("retry-after") };
        }),
      );
      const ok = results.filter((r) => r.status === 200).length;
      const busy = results.filter((r) => r.status === 503);
      expect(ok + busy.length).toBe(600);
      expect(ok).toBeGreaterThanOrEqual(257);
      expect(busy.length).toBeGreaterThan(0);
      for (const r of busy) expect(r.retryAfter).toBe("1");
      const after = await fetch(small.url + "/health");
      expect(after.status).toBe(200);
    } finally {
      await small.close();
    }
  });
});
