/**
 * An eval run against servers that misbehave on purpose (loopback only): a retriever that answers 5xx, hangs past the
 * client's deadline or sends malformed JSON, and a policy server that does the same. Transient faults are retried
 * inside the clients; an item whose server stays broken is recorded as failed with the reason; the next run of the
 * same directory runs only that item again and keeps everything finished.
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRetrieverClient } from "../retrieval/client.js";
import { createOpenAIBackend } from "../rollout/backends/openai.js";
import { METHODS } from "./methods/index.js";
import { PREDICTIONS_FILE, runEval } from "./run.js";
import type { EvalItem, MethodContext } from "./types.js";

const CITIES = ["Paris", "Berlin", "Rome", "Madrid"];
const COUNTRIES = ["France", "Germany", "Italy", "Spain"];
const items: EvalItem[] = COUNTRIES.map((c, i) => ({ id: `q${i}`, question: `What is the capital of ${c}?`, goldenAnswers: [CITIES[i]] }));

type Fault = "ok" | "500" | "hang" | "malformed";
/** A loopback HTTP server; `plan(path, body, n)` says how to misbehave on the n-th request for that body. */
async function misbehaving(answer: (path: string, body: string) => unknown, plan: (path: string, body: string, n: number) => Fault) {
  const seen = new Map<string, number>();
  const log: { path: string; body: string }[] = [];
  const srv: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const path = req.url ?? "";
      log.push({ path, body });
      const n = seen.get(path + body) ?? 0;
      seen.set(path + body, n + 1);
      const f = plan(path, body, n);
      if (f === "hang") return;
      if (f === "500") return void res.writeHead(500, { "content-type": "application/json" }).end('{"error": "internal error: index shard offline"}');
      res.writeHead(200, { "content-type": "application/json" });
      res.end(f === "malformed" ? '{"choices": [{"text": "Par' : JSON.stringify(answer(path, body)));
    });
  });
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    log,
    close: () => new Promise<void>((ok) => { srv.closeAllConnections(); srv.close(() => ok()); }),
  };
}

/** Retriever: /batch_search with one passage naming the capital of the country in the query. */
const retrieverAnswer = (_p: string, body: string) => {
  const { query } = JSON.parse(body) as { query: string[] };
  return query.map((q) => {
    const i = COUNTRIES.findIndex((c) => q.includes(c));
    return [[{ id: `p${i}`, contents: `"${CITIES[i]}"\n${CITIES[i]} is the capital of ${COUNTRIES[i]}.` }], [1]];
  });
};
/** Policy (/v1/completions): answers the city its documents name. */
const modelAnswer = (_p: string, body: string) => {
  const { prompt } = JSON.parse(body) as { prompt: string };
  const city = /(\w+) is the capital of/.exec(prompt)?.[1] ?? "unknown";
  return { choices: [{ text: ` ${city}`, finish_reason: "stop" }] };
};
const about = (body: string, country: string) => body.includes(country);

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "eval-faults-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function context(retrieverUrl: string, modelUrl: string): MethodContext {
  return {
    backend: createOpenAIBackend({ baseUrls: [modelUrl], modelName: "m", retries: 2, backoffMs: 5, timeoutMs: 300 }),
    retriever: createRetrieverClient({ url: retrieverUrl, retries: 2, backoffMs: 5, timeoutMs: 300 }),
    topK: 1,
    gen: { maxTokens: 8, temperature: 0 },
  };
}
const lines = (out: string) => readFileSync(join(out, PREDICTIONS_FILE), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

describe("eval run with faulty servers", () => {
  test("transient faults are retried; a server that stays broken fails one item with the reason; a rerun runs only it", async () => {
    const out = join(dir, "run");
    // Retriever: Germany always 500 (first run); France malformed JSON once; Italy hangs past the deadline once.
    let retrieverBroken = true;
    const retriever = await misbehaving(retrieverAnswer, (_p, body, n) => {
      if (about(body, "Germany") && retrieverBroken) return "500";
      if (about(body, "France") && n === 0) return "malformed";
      if (about(body, "Italy") && n === 0) return "hang";
      return "ok";
    });
    // Policy: Spain's first completion is cut off mid-JSON, then fine.
    const model = await misbehaving(modelAnswer, (_p, body, n) => (about(body, "Madrid") && n === 0 ? "malformed" : "ok"));
    const first = await runEval({ method: METHODS["naive-rag"], items, dataset: "capitals", outDir: out, ctx: context(retriever.url, model.url), quiet: true });
    expect(first.failures).toEqual([{ id: "q1", error: expect.stringMatching(/retriever failed after 3 attempts: .*HTTP 500: internal error: index shard offline/) }]);
    expect(first.summary).toMatchObject({ total: 4, n: 3, failed: 1 });
    const recs = lines(out);
    expect(recs.map((r) => [r.id, r.pred ?? null, r.failed ?? false])).toEqual([
      ["q0", "Paris", false],
      ["q2", "Rome", false],
      ["q3", "Madrid", false],
      ["q1", null, true],
    ]);
    expect(recs[3].error).toMatch(/HTTP 500/);
    // three attempts for Germany, two for France (malformed then ok) and Italy (hang then ok), one for Spain
    expect(retriever.log.filter((r) => about(r.body, "Germany"))).toHaveLength(3);
    expect(retriever.log.filter((r) => about(r.body, "France"))).toHaveLength(2);
    expect(retriever.log.filter((r) => about(r.body, "Italy"))).toHaveLength(2);
    expect(model.log.filter((r) => about(r.body, "Madrid"))).toHaveLength(2);

    // Rerun the same directory with the retriever healthy again: only q1 is requested; nothing finished is lost.
    retrieverBroken = false;
    const [r0, m0] = [retriever.log.length, model.log.length];
    const second = await runEval({ method: METHODS["naive-rag"], items, dataset: "capitals", outDir: out, ctx: context(retriever.url, model.url), quiet: true });
    expect(second).toMatchObject({ ran: 1, failures: [] });
    expect(retriever.log.slice(r0).map((r) => about(r.body, "Germany"))).toEqual([true]);
    expect(model.log.length - m0).toBe(1);
    expect(lines(out).map((r) => [r.id, r.pred, r.failed ?? false])).toEqual([
      ["q0", "Paris", false],
      ["q1", "Berlin", false],
      ["q2", "Rome", false],
      ["q3", "Madrid", false],
    ]);
    expect(second.summary).toMatchObject({ total: 4, n: 4, failed: 0, em: 1 });
    await Promise.all([retriever.close(), model.close()]);
  });

  test("a policy server that hangs on every attempt: the item fails with the timeout, bounded in time", async () => {
    const out = join(dir, "hang");
    const retriever = await misbehaving(retrieverAnswer, () => "ok");
    const model = await misbehaving(modelAnswer, (_p, body) => (about(body, "Rome") ? "hang" : "ok"));
    const t0 = Date.now();
    const r = await runEval({ method: METHODS["naive-rag"], items, dataset: "capitals", outDir: out, ctx: context(retriever.url, model.url), quiet: true });
    expect(Date.now() - t0).toBeLessThan(5000); // 3 attempts × 300 ms + backoff
    expect(r.failures).toEqual([{ id: "q2", error: expect.stringMatching(/timed out after 300 ms \(gave up after 3 tries\)/) }]);
    expect(model.log.filter((x) => about(x.body, "Rome"))).toHaveLength(3);
    expect(lines(out).find((l) => l.id === "q2")).toMatchObject({ failed: true, error: expect.stringMatching(/timed out/) });
    await Promise.all([retriever.close(), model.close()]);
  });
});
