/**
 * Eval harness throughput: questions/s for `naive-rag` and `research` with 1 vs 16 questions in flight, against
 * OpenAI-compatible servers over HTTP, with a real BM25 index (FlashRAG's 1,000 wiki-18 passages) and real HotpotQA
 * questions. Two servers:
 * - `scripted`: replies from a script after a fixed latency per completion (`--latency=MS`, default 100), standing in
 *   for a remote GPU server, so the number measures the harness's concurrency, not this machine's CPU;
 * - `model`: the project's own model server (`research serve model`) running a random tiny Qwen2 on this CPU, whose
 *   engine batches concurrent requests — real generation, bounded by 2 shared cores.
 * `--questions=N` (default 48), `--model-questions=N` (default 8) for the model server. Prints a table and writes bench/results/eval.json.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { METHODS } from "../src/eval/methods/index.js";
import { createRolloutRunner } from "../src/eval/methods/research.js";
import { runEval, selectItems } from "../src/eval/run.js";
import { buildWikiIndex, hotpotItems, tinyEvalModel } from "../src/eval/testing/fixtures.js";
import { startScriptedServer } from "../src/eval/testing/scripted-openai.js";
import type { EvalItem, MethodContext, MethodName } from "../src/eval/types.js";
import { startModelServer } from "../src/model/server.js";
import { openRetriever } from "../src/retrieval/index.js";
import type { Retriever } from "../src/retrieval/types.js";
import { createOpenAIBackend } from "../src/rollout/backends/openai.js";
import { writeJsonAtomic } from "../src/util/fs.js";

/** `--name=value` (bench/run.ts treats bare words as benchmark names). */
const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
};

interface Row {
  server: string;
  method: MethodName;
  concurrency: number;
  questions: number;
  requests: number;
  seconds: number;
  questionsPerSecond: number;
}

async function measure(server: string, baseUrl: string, retriever: Retriever, items: EvalItem[], tmp: string, count: () => number, gen: { maxTokens: number; maxResponseTokens: number }): Promise<Row[]> {
  const backend = createOpenAIBackend({ baseUrls: [baseUrl], modelName: "bench", concurrency: 64 });
  const ctx: MethodContext = {
    backend,
    retriever,
    topK: 5,
    gen: { maxTokens: gen.maxTokens, temperature: 0 },
    rollout: createRolloutRunner({ backend, retriever, temperature: 0, topN: 5, template: "research", maxResponseTokens: gen.maxResponseTokens, maxPromptTokens: 8192 }),
  };
  const rows: Row[] = [];
  for (const method of ["naive-rag", "research"] as MethodName[]) {
    for (const concurrency of [1, 16]) {
      const before = count();
      const t0 = performance.now();
      const r = await runEval({ method: METHODS[method], items, dataset: "hotpotqa", outDir: join(tmp, `${server}-${method}-${concurrency}`), ctx, concurrency, quiet: true });
      const seconds = (performance.now() - t0) / 1000;
      if (r.failures.length) throw new Error(`${r.failures.length} items failed: ${r.failures[0].error}`);
      rows.push({ server, method, concurrency, questions: r.ran, requests: count() - before, seconds, questionsPerSecond: r.ran / seconds });
    }
  }
  return rows;
}

export async function main(): Promise<void> {
  const latencyMs = arg("latency", 100);
  const nQuestions = arg("questions", 48);
  const tmp = mkdtempSync(join(tmpdir(), "bench-eval-"));
  try {
    const retriever = await openRetriever({ index: (await buildWikiIndex(tmp, 400)).index });
    const items = selectItems(await hotpotItems(nQuestions));

    // 1) scripted server: baselines answer at once; ReSearch searches once with its question, then answers
    const scripted = await startScriptedServer(
      (req) => {
        if (!req.text.includes("A conversation between User and Assistant")) return " Paris";
        if (!req.text.includes("</search> <result>\n")) return `<think> I should look this up. </think> <search> ${/User: (.*)\. Assistant:/.exec(req.text)?.[1] ?? ""}`;
        return " <think> Found it. </think> <answer> The final answer is \\[ \\boxed{Paris} \\] </answer>";
      },
      { delayMs: latencyMs },
    );
    const rows = await measure(`scripted ${latencyMs} ms`, scripted.baseUrl, retriever, items, tmp, () => scripted.requests.length, { maxTokens: 32, maxResponseTokens: 8192 });
    await scripted.close();

    await retriever.close?.();

    // 2) the project's model server with a random tiny model on this CPU; passages cut to 160 characters, since the
    //    tiny model's tokenizer is nearly per character and prefill dominates
    const model = await startModelServer({ model: tinyEvalModel(), port: 0, modelName: "bench", maxBatch: 16 });
    const shortDir = join(tmp, "short");
    mkdirSync(shortDir);
    const short = await openRetriever({ index: (await buildWikiIndex(shortDir, 160)).index });
    const modelItems = items.slice(0, arg("model-questions", 8));
    rows.push(...(await measure("model server (tiny, CPU)", `${model.url}/v1`, short, modelItems, tmp, () => NaN, { maxTokens: 16, maxResponseTokens: 32 })));
    await model.close();
    await short.close?.();

    const speedups: Record<string, number> = {};
    for (const r of rows.filter((x) => x.concurrency === 16)) {
      const one = rows.find((x) => x.server === r.server && x.method === r.method && x.concurrency === 1)!;
      speedups[`${r.server} / ${r.method}`] = r.questionsPerSecond / one.questionsPerSecond;
    }
    console.log(`HotpotQA questions, BM25 over 1,000 wiki-18 passages (cut to 400 chars; 160 for the model server), top-5`);
    console.log("| server | method | in flight | questions | seconds | questions/s | speed-up |");
    console.log("|---|---|---:|---:|---:|---:|---:|");
    for (const r of rows) {
      const s = r.concurrency === 16 ? `${speedups[`${r.server} / ${r.method}`].toFixed(1)}×` : "";
      console.log(`| ${r.server} | ${r.method} | ${r.concurrency} | ${r.questions} | ${r.seconds.toFixed(2)} | ${r.questionsPerSecond.toFixed(2)} | ${s} |`);
    }
    writeJsonAtomic(join(import.meta.dirname, "results", "eval.json"), { latencyMs, rows: rows.map(({ requests, ...r }) => (Number.isNaN(requests) ? r : { ...r, requests })), speedups, at: new Date().toISOString() });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
