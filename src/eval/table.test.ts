import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { writeJsonAtomic } from "../util/fs.js";
import type { EvalSummary } from "./summary.js";
import { benchmarkOf, buildTable, loadRuns, renderCsv, renderMarkdown } from "./table.js";

const tmp = mkdtempSync(join(tmpdir(), "eval-table-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(name: string, s: Partial<EvalSummary>): string {
  const dir = join(tmp, "runs", name);
  mkdirSync(dir, { recursive: true });
  const base = { n: 10, total: 10, failed: 0, em: 0, f1: 0, acc: 0, session: { ran: 10, seconds: 1, questionsPerSecond: 10 }, updatedAt: "" };
  writeJsonAtomic(join(dir, "summary.json"), { ...base, ...s });
  return dir;
}

describe("eval table (paper Table 2 layout)", () => {
  test.each([
    ["r1searcher_hotpotqa_500", "HotpotQA"],
    ["2wiki_dev_1000_aliases", "2Wiki"],
    ["musique_dev", "MuSiQue"],
    ["bamboogle_qa_agenticrag", "Bamboogle"],
    ["nq", "nq"],
  ])("benchmarkOf(%s) = %s", (name, want) => expect(benchmarkOf(name)).toBe(want));

  test("methods × datasets, paper order, EM and LJ in %, missing cells marked; CSV alongside", () => {
    run("a", { method: "research", dataset: "r1searcher_bamboogle", em: 0.424, judge: { accuracy: 0.544, judged: 10, errors: 0 } });
    run("b", { method: "naive-rag", dataset: "r1searcher_hotpotqa_500", em: 0.25 });
    run("c", { method: "research", dataset: "r1searcher_hotpotqa_500", em: 0.4, judge: { accuracy: 0.61, judged: 9, errors: 1 } });
    run("d", { method: "naive-gen", dataset: "musique_dev", em: 0.031 });
    const t = buildTable(loadRuns([join(tmp, "runs")]));
    expect(t.header).toEqual(["Model", "Method", "HotpotQA EM", "HotpotQA LJ", "MuSiQue EM", "MuSiQue LJ", "Bamboogle EM", "Bamboogle LJ"]);
    expect(t.rows).toEqual([
      ["", "Naive Generation", "", "", "3.1", "", "", ""],
      ["", "Naive RAG", "25.0", "", "", "", "", ""],
      ["", "ReSearch", "40.0", "61.0", "", "", "42.4", "54.4"],
    ]);
    const md = renderMarkdown(t);
    expect(md.split("\n")[1]).toBe("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    expect(md).toContain("|  | ReSearch | 40.0 | 61.0 | – | – | 42.4 | 54.4 |");
    expect(renderCsv(t).split("\n")[3]).toBe(",ReSearch,40.0,61.0,,,42.4,54.4");
  });

  test("model labels group rows; two runs for one cell are refused", () => {
    const dirs = [
      run("x1", { method: "research", dataset: "hotpotqa", label: "Qwen-7B", em: 0.1 }),
      run("x2", { method: "research", dataset: "hotpotqa", label: "Qwen-32B", em: 0.2 }),
    ];
    const t = buildTable(loadRuns(dirs), ["em", "f1"]);
    expect(t.rows.map((r) => r.slice(0, 3))).toEqual([["Qwen-7B", "ReSearch", "10.0"], ["Qwen-32B", "ReSearch", "20.0"]]);
    expect(() => buildTable(loadRuns([...dirs, run("x3", { method: "research", dataset: "hotpot_dev", label: "Qwen-7B" })]))).toThrow(/two runs/);
  });

  test("a directory without summaries is a clear error", () => {
    mkdirSync(join(tmp, "empty"));
    expect(() => loadRuns([join(tmp, "empty")])).toThrow(/no summary.json/);
  });
});
