import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRetrieverClient, parseBatchSearch, parseRetrieve } from "./client.js";
import { buildIndex, openRetriever } from "./index.js";
import { startRetrieverServer, type RetrieverServer } from "./server.js";
import { SHARED_DATA } from "../util/shared.js";

const WIKI = SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl";
let dir: string;
let server: RetrieverServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "retriever-client-"));
  await buildIndex({ corpus: WIKI, out: join(dir, "ix"), quiet: true });
  server = await startRetrieverServer({ index: join(dir, "ix"), port: 0, workers: 1 });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A scripted HTTP server: `handler(attempt)` answers each request. */
async function scripted(handler: (n: number, body: string) => { status: number; body?: unknown; headers?: Record<string, string> } | null) {
  let n = 0;
  const srv: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const r = handler(n++, body);
      if (!r) return; // never answer (timeout)
      res.writeHead(r.status, { "content-type": "application/json", ...r.headers });
      res.end(JSON.stringify(r.body ?? {}));
    });
  });
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    calls: () => n,
    close: () => new Promise<void>((ok) => { srv.closeAllConnections(); srv.close(() => ok()); }),
  };
}

describe("retriever client", () => {
  test.each(["research", "search-r1"] as const)("%s API against our server equals in-process search", async (api) => {
    const local = await openRetriever({ index: join(dir, "ix") });
    const remote = await openRetriever({ url: server.url, api });
    const queries = ["Delhi coronation", "who was the president of the united states", "", "🙂 NEAR(\"x\")"];
    expect(await remote.search(queries, 4)).toEqual(await local.search(queries, 4));
    await local.close?.();
  });

  test("splits big batches and returns [] lists for topN 0 or no queries", async () => {
    const c = createRetrieverClient({ url: server.url, maxBatch: 3 });
    const out = await c.search(Array.from({ length: 8 }, (_, i) => `river ${i}`), 2);
    expect(out).toHaveLength(8);
    expect(await c.search([], 3)).toEqual([]);
    expect(await c.search(["x"], 0)).toEqual([[]]);
  });

  test("retries 5xx and 503 with backoff, then succeeds", async () => {
    const s = await scripted((n) =>
      n < 2 ? { status: n === 0 ? 500 : 503, body: { error: "busy" }, headers: { "retry-after": "0" } } : { status: 200, body: { result: [[{ document: { id: "7", contents: '"T"\nx' }, score: 1.5 }]] } },
    );
    const c = createRetrieverClient({ url: s.url, api: "search-r1", backoffMs: 5 });
    expect(await c.search(["q"], 1)).toEqual([[{ id: "7", contents: '"T"\nx', score: 1.5 }]]);
    expect(s.calls()).toBe(3);
    await s.close();
  });

  test("a 400 is not retried and its message comes through", async () => {
    const s = await scripted(() => ({ status: 400, body: { error: "top_n: must be between 1 and 1000" } }));
    const c = createRetrieverClient({ url: s.url, backoffMs: 5 });
    await expect(c.search(["q"], 5)).rejects.toThrow(/HTTP 400: top_n: must be between 1 and 1000/);
    expect(s.calls()).toBe(1);
    await s.close();
  });

  test("times out and gives up after the retries", async () => {
    const s = await scripted(() => null);
    const c = createRetrieverClient({ url: s.url, timeoutMs: 150, retries: 1, backoffMs: 5 });
    await expect(c.search(["q"], 5)).rejects.toThrow(/retriever failed after 2 attempts: .*timed out after 150 ms/);
    expect(s.calls()).toBe(2);
    await s.close();
  });

  test("a server that is down: clear error", async () => {
    const c = createRetrieverClient({ url: "http://127.0.0.1:1", retries: 1, backoffMs: 5 });
    await expect(c.search(["q"], 5)).rejects.toThrow(/retriever failed after 2 attempts: http:\/\/127\.0\.0\.1:1\/batch_search: .*ECONNREFUSED/);
  });
});

/** A loopback server that misbehaves on purpose, per attempt: raw text, a hang, a trickle, or a good answer. */
async function faulty(plan: (n: number) => "malformed" | "hang" | "trickle" | "500" | "ok") {
  let n = 0;
  const good = JSON.stringify([[[{ id: "1", contents: '"A"\nalpha' }], [2.5]]]);
  const srv: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const what = plan(n++);
      if (what === "hang") return; // never answer
      if (what === "500") return void res.writeHead(500, { "content-type": "application/json" }).end('{"error": "boom"}');
      res.writeHead(200, { "content-type": "application/json" });
      if (what === "malformed") return void res.end('[[[{"id": "1", "contents": "A"'); // cut off mid-answer
      if (what === "trickle") {
        res.write("[");
        const t = setInterval(() => res.write(" "), 20); // bytes keep coming, the answer never completes
        res.on("close", () => clearInterval(t));
        return;
      }
      res.end(good);
    });
  });
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    calls: () => n,
    close: () => new Promise<void>((ok) => { srv.closeAllConnections(); srv.close(() => ok()); }),
  };
}

describe("retriever client against a misbehaving server (bounded retries, then a clear failure)", () => {
  const want = [[{ id: "1", contents: '"A"\nalpha', score: 2.5 }]];
  test.each([
    ["malformed JSON once", "malformed"],
    ["a hang past the timeout once", "hang"],
    ["a trickling answer past the timeout once", "trickle"],
    ["a 500 once", "500"],
  ] as const)("%s, then ok: retried and answered", async (_name, fault) => {
    const s = await faulty((n) => (n === 0 ? fault : "ok"));
    const c = createRetrieverClient({ url: s.url, timeoutMs: 200, retries: 2, backoffMs: 5 });
    expect(await c.search(["q"], 1)).toEqual(want);
    expect(s.calls()).toBe(2);
    await c.close?.();
    await s.close();
  });

  test("malformed JSON every time: fails after retries+1 attempts naming the cause", async () => {
    const s = await faulty(() => "malformed");
    const c = createRetrieverClient({ url: s.url, timeoutMs: 200, retries: 2, backoffMs: 5 });
    await expect(c.search(["q"], 1)).rejects.toThrow(/retriever failed after 3 attempts: .*\/batch_search: answer is not JSON/);
    expect(s.calls()).toBe(3);
    await s.close();
  });

  test("a trickle every time is cut off by the per-attempt deadline (not the idle timeout)", async () => {
    const s = await faulty(() => "trickle");
    const c = createRetrieverClient({ url: s.url, timeoutMs: 150, retries: 1, backoffMs: 5 });
    const t0 = Date.now();
    await expect(c.search(["q"], 1)).rejects.toThrow(/after 2 attempts: .*timed out after 150 ms/);
    expect(Date.now() - t0).toBeLessThan(2000);
    await s.close();
  });

  test("Retry-After is honoured but capped", async () => {
    const s = await scripted((n) => (n === 0 ? { status: 503, body: { error: "busy" }, headers: { "retry-after": "3600" } } : { status: 200, body: [[[{ id: "1", contents: "x" }], [1]]] }));
    const c = createRetrieverClient({ url: s.url, backoffMs: 5, maxRetryAfterMs: 50 });
    const t0 = Date.now();
    expect(await c.search(["q"], 1)).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(2000);
    await s.close();
  });
});

describe("wire parsing", () => {
  const d = (id: string) => ({ id, contents: `"${id}"\ntext` });
  test("batch_search: per-query with and without scores, and FlashRAG's [docLists, scoreLists]", () => {
    expect(parseBatchSearch([[[d("a")], [2]], [[], []]], 2)).toEqual([[{ ...d("a"), score: 2 }], []]);
    expect(parseBatchSearch([[d("a"), d("b")]], 1)).toEqual([[{ ...d("a"), score: -0 }, { ...d("b"), score: -1 }]]);
    expect(parseBatchSearch([[[d("a")], [d("b")], [d("c")]], [[3], [2], [1]]], 3)).toEqual([
      [{ ...d("a"), score: 3 }],
      [{ ...d("b"), score: 2 }],
      [{ ...d("c"), score: 1 }],
    ]);
    expect(() => parseBatchSearch({ nope: 1 }, 1)).toThrow(/expected a JSON array/);
    expect(() => parseBatchSearch([[]], 2)).toThrow(/expected 2 results/);
  });
  test("retrieve: {document, score} items, plain docs, {id, title, text} docs", () => {
    expect(parseRetrieve({ result: [[{ id: "1", title: "T", text: "x" }]] }, 1)).toEqual([[{ id: "1", contents: '"T"\nx', score: -0 }]]);
    expect(() => parseRetrieve({ result: [] }, 1)).toThrow(/with 1 lists/);
  });
});
