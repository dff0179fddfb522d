/**
 * Every method end to end with a real (random-weight) Qwen2-style model in the native KV-cache engine and a real
 * BM25 index over FlashRAG's wiki-18 sample, on real HotpotQA questions, through the resumable runner.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openRetriever } from "../retrieval/index.js";
import type { Retriever } from "../retrieval/types.js";
import { createNativeBackend } from "../rollout/backends/native.js";
import { METHODS } from "./methods/index.js";
import { createRolloutRunner } from "./methods/research.js";
import { runEval, selectItems } from "./run.js";
import type { EvalRecord } from "./summary.js";
import { buildWikiIndex, hotpotItems, tinyEvalModel } from "./testing/fixtures.js";
import { METHOD_NAMES, type EvalItem, type MethodContext } from "./types.js";

const tmp = mkdtempSync(join(tmpdir(), "eval-e2e-"));
let retriever: Retriever;
let ctx: MethodContext;
let items: EvalItem[];
const corpusIds = new Set<string>();

beforeAll(async () => {
  const wiki = await buildWikiIndex(tmp);
  wiki.ids.forEach((id) => corpusIds.add(id));
  retriever = await openRetriever({ index: wiki.index });
  const backend = createNativeBackend({ model: tinyEvalModel() });
  ctx = {
    backend,
    retriever,
    topK: 2,
    gen: { maxTokens: 6, temperature: 0 },
    rounds: { iterRetgen: 2, ircot: 2 },
    rollout: createRolloutRunner({ backend, retriever, temperature: 0, topN: 2, template: "research", maxResponseTokens: 16, maxPromptTokens: 4096 }),
  };
  items = selectItems(await hotpotItems(2));
});
afterAll(async () => {
  await retriever?.close?.();
  rmSync(tmp, { recursive: true, force: true });
});

describe("each method end to end: native tiny model + BM25 index + HotpotQA", () => {
  test.each(METHOD_NAMES.map((m) => [m]))("%s", async (name) => {
    const out = join(tmp, name);
    const r = await runEval({ method: METHODS[name], items, dataset: "r1searcher_hotpotqa_500", outDir: out, ctx, concurrency: 2, quiet: true });
    expect(r.failures).toEqual([]);
    expect(r.summary).toMatchObject({ method: name, n: 2, total: 2, failed: 0 });
    const records = readFileSync(join(out, "predictions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as EvalRecord);
    expect(records.map((x) => x.id)).toEqual(items.map((x) => x.id));
    for (const rec of records) {
      expect(typeof rec.pred).toBe("string");
      expect(rec.scores.f1).toBeGreaterThanOrEqual(0);
      for (const step of rec.retrievals ?? []) {
        expect(step.hits.length).toBeGreaterThan(0);
        for (const h of step.hits) expect(corpusIds.has(h.id)).toBe(true);
      }
    }
    if (name === "naive-gen") expect(records[0].retrievals).toBeUndefined();
    if (name === "naive-rag") expect(records[0].generations![0].prompt).toContain("Doc 1(Title: ");
    if (name === "iter-retgen") expect(records[0].retrievals).toHaveLength(2);
    if (name === "research") {
      const t = records[0].trajectory!;
      expect(t.responseIds).toBeUndefined(); // records keep text; the native backend's ids give the exact count
      expect(records[0].tokensEstimated).toBeUndefined();
      expect(records[0].responseTokens).toBeGreaterThan(0);
      expect(t.segments.map((s) => s.text).join("")).toBe(t.response);
      expect(r.summary.search).toBeDefined();
    }
    // a rerun is free: no item runs again
    const again = await runEval({ method: METHODS[name], items, dataset: "r1searcher_hotpotqa_500", outDir: out, ctx, quiet: true });
    expect(again.ran).toBe(0);
  });
});
