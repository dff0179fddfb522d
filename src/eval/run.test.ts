import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createOpenAIBackend } from "../rollout/backends/openai.js";
import { UserError } from "../util/errors.js";
import { createJudge } from "./judge.js";
import { METHODS } from "./methods/index.js";
import { createRolloutRunner } from "./methods/research.js";
import { runEval, selectItems } from "./run.js";
import type { EvalRecord, EvalSummary } from "./summary.js";
import { createMemoryRetriever } from "./testing/memory-retriever.js";
import { startScriptedServer, type ScriptedServer } from "./testing/scripted-openai.js";
import type { EvalItem, MethodContext } from "./types.js";

const CITIES = ["Paris", "Berlin", "Rome", "Madrid", "Vienna", "Prague", "Lisbon", "Dublin"];
const COUNTRIES = ["France", "Germany", "Italy", "Spain", "Austria", "Czechia", "Portugal", "Ireland"];
const items: EvalItem[] = COUNTRIES.map((c, i) => ({ id: `q${i}`, question: `What is the capital of ${c}?`, goldenAnswers: [CITIES[i]] }));
const passages = COUNTRIES.map((c, i) => ({ id: `p${i}`, contents: `${CITIES[i]}\n${CITIES[i]} is the capital of ${c}.` }));

/** Model: answers the capital named in its documents (wrong for Rome); judge: correct iff the prediction is a city. */
let inFlight = 0;
let maxInFlight = 0;
let server: ScriptedServer;
let ctx: MethodContext;
const modelRequests = () => server.requests.filter((r) => r.path === "/completions").length;
const judgeRequests = () => server.requests.filter((r) => r.path === "/chat/completions").length;

beforeAll(async () => {
  server = await startScriptedServer(async (req) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 15));
    inFlight--;
    if (req.path === "/chat/completions") {
      const pred = /Prediction: (.*)$/m.exec(req.messages![1].content)?.[1] ?? "";
      if (pred === "Madrid") return "garbage";
      return JSON.stringify({ rationale: "checked", verdict: CITIES.includes(pred) && pred !== "Rome" ? "correct" : "incorrect" });
    }
    if (req.text.includes("A conversation between User and Assistant")) {
      const q = /User: (.*)\. Assistant:/.exec(req.text)?.[1] ?? "";
      const country = COUNTRIES.find((c) => q.includes(c))!;
      if (!req.text.includes("</search> <result>\n")) return country === "Ireland" ? "<think>I know.</think> <answer>\\boxed{Dublin}</answer>" : `<think>look up</think> <search>capital of ${country}</search>`;
      return ` <answer>\\boxed{${CITIES[COUNTRIES.indexOf(country)]}}</answer>`;
    }
    const doc = /Doc 1\(Title: (\w+)\)/.exec(req.text)?.[1] ?? "unknown";
    return ` ${doc === "Rome" ? "Milan" : doc}`;
  });
  const backend = createOpenAIBackend({ baseUrls: [server.baseUrl], modelName: "m", retries: 0 });
  const retriever = createMemoryRetriever(passages);
  ctx = {
    backend,
    retriever,
    topK: 3,
    gen: { maxTokens: 32, temperature: 0 },
    rollout: createRolloutRunner({ backend, retriever, temperature: 0, topN: 3, template: "research" }),
  };
});
afterAll(() => server.close());

const tmp = mkdtempSync(join(tmpdir(), "eval-run-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const lines = (dir: string): EvalRecord[] =>
  readFileSync(join(dir, "predictions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as EvalRecord);
const summaryOf = (dir: string) => JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as EvalSummary;

describe("resumable, concurrent evaluation runs", () => {
  test("--limit takes the first N; a rerun sends requests only for new items; no duplicates, none dropped", async () => {
    const out = join(tmp, "rag");
    const base = { method: METHODS["naive-rag"], dataset: "capitals", outDir: out, ctx, quiet: true };
    let m0 = modelRequests();
    const r1 = await runEval({ ...base, items: selectItems(items, 3) });
    expect(modelRequests() - m0).toBe(3);
    expect(r1.summary).toMatchObject({ method: "naive-rag", dataset: "capitals", n: 3, total: 3, failed: 0 });
    expect(r1.summary.em).toBeCloseTo(2 / 3); // Rome → "Milan"
    expect(r1.summary.judge).toBeUndefined();

    m0 = modelRequests();
    const r2 = await runEval({ ...base, items: selectItems(items, 5), concurrency: 2 });
    expect(modelRequests() - m0).toBe(2);
    expect(r2.ran).toBe(2);
    expect(lines(out).map((r) => r.id)).toEqual(["q0", "q1", "q2", "q3", "q4"]);

    // a judge asked for later: judge requests only, once per item; "Madrid" gets garbage → an error, not correct
    m0 = modelRequests();
    const j0 = judgeRequests();
    const judge = createJudge({ baseUrl: server.baseUrl, model: "judge", maxAttempts: 2 });
    const r3 = await runEval({ ...base, items: selectItems(items, 5), judge });
    expect(modelRequests() - m0).toBe(0);
    expect(judgeRequests() - j0).toBe(4 + 2); // 4 valid verdicts + 2 attempts for the garbage one
    expect(r3.summary.judge).toEqual({ accuracy: 3 / 5, judged: 4, errors: 1, model: "judge" });

    // a full rerun: nothing to do
    const all0 = server.requests.length;
    const r4 = await runEval({ ...base, items: selectItems(items, 5), judge });
    expect(server.requests.length - all0).toBe(0);
    expect(r4.summary.n).toBe(5);
    expect(lines(out)).toHaveLength(5);
    expect(summaryOf(out).judge?.errors).toBe(1);
  });

  test("an interrupted write (truncated last line) is redone; a different method in the same dir is refused", async () => {
    const out = join(tmp, "gen");
    const base = { method: METHODS["naive-gen"], dataset: "capitals", outDir: out, ctx, quiet: true };
    await runEval({ ...base, items: selectItems(items, 2) });
    appendFileSync(join(out, "predictions.jsonl"), '{"id": "q2", "question": "What is the cap');
    const m0 = modelRequests();
    await runEval({ ...base, items: selectItems(items, 3) });
    expect(modelRequests() - m0).toBe(1);
    expect(lines(out).map((r) => r.id)).toEqual(["q0", "q1", "q2"]);
    await expect(runEval({ ...base, method: METHODS["naive-rag"], items })).rejects.toBeInstanceOf(UserError);
  });

  test("research: concurrency K keeps K questions in flight; search behaviour is summarised", async () => {
    const out = join(tmp, "research");
    maxInFlight = 0;
    const r = await runEval({ method: METHODS.research, dataset: "capitals", outDir: out, ctx, items, concurrency: 4, quiet: true });
    expect(maxInFlight).toBe(4);
    expect(r.summary.em).toBe(1);
    expect(r.summary.search).toMatchObject({ searchesPerQuestion: 7 / 8, withSearchShare: 7 / 8, responseTokensEstimated: true, finishReasons: { eos: 8 } });
    expect(r.summary.search!.meanResponseTokens).toBeGreaterThan(5);
    const rec = lines(out);
    expect(rec.map((x) => x.id)).toEqual(items.map((x) => x.id));
    expect(rec[0].trajectory?.queries).toEqual(["capital of France"]);
  });

  test("a judge configuration error stops the run, but the model outputs already made are kept", async () => {
    const out = join(tmp, "judge-401");
    const denied = await startScriptedServer(() => ({ status: 401, text: "invalid api key" }));
    const base = { method: METHODS["naive-rag"], dataset: "capitals", outDir: out, ctx, quiet: true, items: selectItems(items, 2) };
    try {
      const m0 = modelRequests();
      await expect(runEval({ ...base, judge: createJudge({ baseUrl: denied.baseUrl, model: "j" }) })).rejects.toThrow(/answered 401/);
      expect(modelRequests() - m0).toBeGreaterThanOrEqual(1);
      const m1 = modelRequests();
      const r = await runEval({ ...base, judge: createJudge({ baseUrl: server.baseUrl, model: "judge" }) });
      expect(modelRequests() - m1).toBe(2 - (m1 - m0)); // only items the first run never reached
      expect(r.summary.judge?.judged).toBe(2);
      expect(lines(out)).toHaveLength(2);
    } finally {
      await denied.close();
    }
  });

  test("a server that fails every request stops the run after 10 items instead of trying them all", async () => {
    const broken = await startScriptedServer(() => ({ status: 404, text: "model not found" }));
    const backend = createOpenAIBackend({ baseUrls: [broken.baseUrl], modelName: "nope", retries: 0 });
    const many = Array.from({ length: 30 }, (_, i) => ({ id: `x${i}`, question: `q${i}`, goldenAnswers: ["a"] }));
    try {
      const run = runEval({ method: METHODS["naive-gen"], items: many, dataset: "d", outDir: join(tmp, "broken"), ctx: { ...ctx, backend }, concurrency: 2, quiet: true });
      await expect(run).rejects.toThrow(/first 1\d items all failed \(first: x0: .*404/);
      expect(broken.requests.length).toBeLessThan(13);
    } finally {
      await broken.close();
    }
  });

  test("duplicate ids are refused", () => {
    expect(() => selectItems([items[0], items[0]])).toThrow(/duplicate example id "q0"/);
  });
});
