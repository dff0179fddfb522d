/**
 * Eval harness throughput: questions/s for `naive-rag` and `research` with 1 vs 16 items in flight, against an
 * OpenAI-compatible server over HTTP, with a real BM25 index (FlashRAG's 1,000 wiki-18 passages) and real HotpotQA
 * questions. The server is the scripted one with a fixed latency per completion standing in for a GPU server (so the
 * number measures the harness's concurrency, not this machine's CPU); `--latency=MS` changes it (default 100), `--questions=N` the count (48).
 * Prints a table and writes bench/results/eval.json.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadQAArray } from "../src/data/qa.js";
import { METHODS } from "../src/eval/methods/index.js";
import { createRolloutRunner } from "../src/eval/methods/research.js";
import { runEval, selectItems } from "../src/eval/run.js";
import { startScriptedServer } from "../src/eval/testing/scripted-openai.js";
import type { EvalItem, MethodContext, MethodName } from "../src/eval/types.js";
import { buildIndex, openRetriever } from "../src/retrieval/index.js";
import { createOpenAIBackend } from "../src/rollout/backends/openai.js";
import { writeJsonAtomic } from "../src/util/fs.js";

const DATA = join(import.meta.dirname, "..", "..", "shared", "data");
/** `--name=value` (bench/run.ts treats bare words as benchmark names). */
const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
};

export async function main(): Promise<void> {
  const latencyMs = arg("latency", 100);
  const nQuestions = arg("questions", 48);
  const tmp = mkdtempSync(join(tmpdir(), "bench-eval-"));
  try {
    await buildIndex({ corpus: join(DATA, "corpus", "wiki18_sample_1000.jsonl"), out: join(tmp, "index"), quiet: true });
    const retriever = await openRetriever({ index: join(tmp, "index") });
    const examples = await loadQAArray(join(DATA, "eval", "r1searcher_hotpotqa_500.jsonl"), { limit: nQuestions });
    const items: EvalItem[] = selectItems(examples.map((e) => ({ id: e.id, question: e.question, goldenAnswers: e.golden_answers })));
    // Scripted policy: baselines answer at once; ReSearch searches once with its question, then answers.
    const server = await startScriptedServer(
      (req) => {
        if (!req.text.includes("A conversation between User and Assistant")) return " Paris";
        if (!req.text.includes("</search> <result>\n")) return `<think> I should look this up. </think> <search> ${/User: (.*)\. Assistant:/.exec(req.text)?.[1] ?? ""}`;
        return " <think> Found it. </think> <answer> The final answer is \\[ \\boxed{Paris} \\] </answer>";
      },
      { delayMs: latencyMs },
    );
    const backend = createOpenAIBackend({ baseUrls: [server.baseUrl], modelName: "scripted", concurrency: 64 });
    const ctx: MethodContext = {
      backend,
      retriever,
      topK: 5,
      gen: { maxTokens: 32, temperature: 0 },
      rollout: createRolloutRunner({ backend, retriever, temperature: 0, topN: 5, template: "research" }),
    };
    const rows: { method: MethodName; concurrency: number; questions: number; requests: number; seconds: number; questionsPerSecond: number }[] = [];
    for (const method of ["naive-rag", "research"] as MethodName[]) {
      for (const concurrency of [1, 16]) {
        const before = server.requests.length;
        const t0 = performance.now();
        const r = await runEval({ method: METHODS[method], items, dataset: "hotpotqa", outDir: join(tmp, `${method}-${concurrency}`), ctx, concurrency, quiet: true });
        const seconds = (performance.now() - t0) / 1000;
        if (r.failures.length) throw new Error(`${r.failures.length} items failed: ${r.failures[0].error}`);
        rows.push({ method, concurrency, questions: r.ran, requests: server.requests.length - before, seconds, questionsPerSecond: r.ran / seconds });
      }
    }
    await server.close();
    await retriever.close?.();
    const speedups = Object.fromEntries(
      (["naive-rag", "research"] as const).map((m) => {
        const [one, many] = rows.filter((r) => r.method === m);
        return [m, many.questionsPerSecond / one.questionsPerSecond];
      }),
    );
    console.log(`server latency ${latencyMs} ms/completion, ${items.length} HotpotQA questions, BM25 over 1,000 wiki-18 passages`);
    console.log("| method | concurrency | questions | requests | seconds | questions/s |");
    console.log("|---|---:|---:|---:|---:|---:|");
    for (const r of rows) console.log(`| ${r.method} | ${r.concurrency} | ${r.questions} | ${r.requests} | ${r.seconds.toFixed(2)} | ${r.questionsPerSecond.toFixed(2)} |`);
    console.log(`speed-up 16 vs 1: naive-rag ${speedups["naive-rag"].toFixed(1)}×, research ${speedups.research.toFixed(1)}×`);
    writeJsonAtomic(join(import.meta.dirname, "results", "eval.json"), { latencyMs, questions: items.length, rows, speedups, at: new Date().toISOString() });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
