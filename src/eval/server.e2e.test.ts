/**
 * Against the project's own OpenAI-compatible model server (C2's `research serve model`, a random tiny model):
 * naive-rag and research over HTTP with several questions in flight, and the LLM judge, whose replies from a random
 * model are garbage — every item must end as a judge error, none as correct.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startModelServer, type ModelServer } from "../model/server.js";
import { openRetriever } from "../retrieval/index.js";
import type { Retriever } from "../retrieval/types.js";
import { createOpenAIBackend } from "../rollout/backends/openai.js";
import { createJudge } from "./judge.js";
import { METHODS } from "./methods/index.js";
import { createRolloutRunner } from "./methods/research.js";
import { runEval } from "./run.js";
import { buildWikiIndex, hotpotItems, tinyEvalModel } from "./testing/fixtures.js";
import type { EvalItem, MethodContext } from "./types.js";

const tmp = mkdtempSync(join(tmpdir(), "eval-server-"));
let server: ModelServer;
let retriever: Retriever;
let ctx: MethodContext;
let items: EvalItem[];

beforeAll(async () => {
  server = await startModelServer({ model: tinyEvalModel(5), port: 0, modelName: "tiny" });
  retriever = await openRetriever({ index: (await buildWikiIndex(tmp)).index });
  const backend = createOpenAIBackend({ baseUrls: [`${server.url}/v1`], modelName: "tiny", retries: 0 });
  ctx = {
    backend,
    retriever,
    topK: 2,
    gen: { maxTokens: 6, temperature: 0 },
    rollout: createRolloutRunner({ backend, retriever, temperature: 0, topN: 2, template: "research", maxResponseTokens: 12, maxPromptTokens: 4096 }),
  };
  items = await hotpotItems(3);
});
afterAll(async () => {
  await server?.close();
  await retriever?.close?.();
  rmSync(tmp, { recursive: true, force: true });
});

describe("eval against the project's model server", () => {
  test.each([["naive-rag"], ["research"]] as const)("%s over HTTP, 3 questions in flight", async (name) => {
    const r = await runEval({ method: METHODS[name], items, dataset: "hotpotqa", outDir: join(tmp, name), ctx, concurrency: 3, quiet: true });
    expect(r.failures).toEqual([]);
    expect(r.summary).toMatchObject({ n: 3, failed: 0 });
    if (name === "research") expect(Object.values(r.summary.search!.finishReasons).reduce((a, b) => a + b, 0)).toBe(3);
  });

  test("a judge that answers garbage: retried, then errors; never correct", async () => {
    const judge = createJudge({ baseUrl: `${server.url}/v1`, model: "tiny", maxAttempts: 2, maxTokens: 8 });
    const r = await runEval({ method: METHODS["naive-rag"], items, dataset: "hotpotqa", outDir: join(tmp, "naive-rag"), ctx, judge, quiet: true });
    expect(r.ran).toBe(0); // predictions were already there: only the judge ran
    expect(judge.requests).toBe(2 * 3);
    expect(r.summary.judge).toEqual({ accuracy: 0, judged: 0, errors: 3, model: "tiny" });
  });
});
