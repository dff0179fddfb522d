import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { main } from "../cli/main.js";
import { buildIndex } from "../retrieval/index.js";
import { startScriptedServer, type ScriptedServer } from "./testing/scripted-openai.js";

const tmp = mkdtempSync(join(tmpdir(), "eval-cli-"));
let server: ScriptedServer;

beforeAll(async () => {
  writeFileSync(
    join(tmp, "corpus.jsonl"),
    ['{"id": "1", "contents": "\\"Paris\\"\\nParis is the capital of France."}', '{"id": "2", "contents": "\\"Rome\\"\\nRome is the capital of Italy."}'].join("\n") + "\n",
  );
  await buildIndex({ corpus: join(tmp, "corpus.jsonl"), out: join(tmp, "index"), quiet: true });
  writeFileSync(
    join(tmp, "bamboogle_mini.jsonl"),
    [
      { id: "a", question: "What is the capital of France?", golden_answers: ["Paris"] },
      { id: "b", question: "What is the capital of Italy?", golden_answers: ["Rome"] },
      { id: "c", question: "What is the capital of Spain?", golden_answers: ["Madrid"] },
    ].map((x) => JSON.stringify(x)).join("\n") + "\n",
  );
  server = await startScriptedServer((req) => {
    if (req.path === "/chat/completions") return '{"rationale": "ok", "verdict": "correct"}';
    if (req.text.includes("A conversation between User and Assistant")) {
      if (!req.text.includes("</search> <result>\n")) return "<think> look it up </think> <search> capital of France";
      return ` <answer> \\boxed{${/<result>\n"(\w+)"/.exec(req.text)?.[1]}} </answer>`;
    }
    return ` ${/Doc 1\(Title: "(\w+)"\)/.exec(req.text)?.[1] ?? "?"}`;
  });
});
afterAll(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ out: string; code: number }> {
  let out = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const errSpy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  process.exitCode = 0;
  try {
    await main(["node", "research", ...args]);
  } finally {
    spy.mockRestore();
    errSpy.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, code };
}

describe("research eval / research eval table", () => {
  test("eval runs a method with the judge and prints the summary; table renders it", async () => {
    const out = join(tmp, "run");
    const args = ["eval", "--dataset", join(tmp, "bamboogle_mini.jsonl"), "--method", "naive-rag", "--base-url", server.baseUrl, "--model-name", "m"];
    const more = ["--index", join(tmp, "index"), "--out", out, "--limit", "2", "--concurrency", "2", "--quiet"];
    const judge = ["--judge-base-url", server.baseUrl, "--judge-model", "j", "--label", "Tiny"];
    const r = await cli([...args, ...more, ...judge]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({ method: "naive-rag", dataset: "bamboogle_mini", n: 2, em: 1, judge: { accuracy: 1, judged: 2, errors: 0 } });
    const completion = server.requests.find((q) => q.path === "/completions")!;
    expect(completion.body).toMatchObject({ model: "m", temperature: 0, max_tokens: 32 });
    expect(JSON.parse(readFileSync(join(out, "run.json"), "utf8")).settings.topN).toBe(5);

    const md = await cli(["eval", "table", out]);
    expect(md.out).toBe("| Model | Method | Bamboogle EM | Bamboogle LJ |\n| --- | --- | ---: | ---: |\n| Tiny | Naive RAG | 100.0 | 100.0 |\n");
    const csv = await cli(["eval", "table", out, "--csv", "--metrics", "em,f1"]);
    expect(csv.out).toBe("Model,Method,Bamboogle EM,Bamboogle F1\nTiny,Naive RAG,100.0,100.0\n");
  });

  test("research through a retriever server (--retriever-url): searches, answers, reports search behaviour", async () => {
    const { startRetrieverServer } = await import("../retrieval/server.js");
    const rs = await startRetrieverServer({ index: join(tmp, "index"), port: 0, workers: 1 });
    try {
      const out = join(tmp, "research");
      const args = ["eval", "--dataset", join(tmp, "bamboogle_mini.jsonl"), "--method", "research", "--base-url", server.baseUrl, "--model-name", "m"];
      const r = await cli([...args, "--retriever-url", rs.url, "--out", out, "--quiet", "--limit", "1"]);
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.out);
      expect(summary).toMatchObject({ method: "research", n: 1, em: 1, search: { searchesPerQuestion: 1, withSearchShare: 1, finishReasons: { eos: 1 } } });
      const rec = JSON.parse(readFileSync(join(out, "predictions.jsonl"), "utf8"));
      expect(rec.pred).toBe("Paris");
      expect(rec.trajectory.queries).toEqual(["capital of France"]);
    } finally {
      await rs.close();
    }
  });

  test("bad input is a clear error with exit code 1", async () => {
    expect((await cli(["eval", "--method", "naive-gen", "--out", join(tmp, "x")])).code).toBe(1);
    expect((await cli(["eval", "table", join(tmp, "nothing-here")])).code).toBe(1);
    const noRetriever = ["eval", "--dataset", join(tmp, "bamboogle_mini.jsonl"), "--method", "ircot", "--base-url", server.baseUrl, "--model-name", "m", "--out", join(tmp, "y")];
    expect((await cli(noRetriever)).code).toBe(1);
  });
});
