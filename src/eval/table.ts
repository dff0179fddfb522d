/**
 * @module eval/table — the ReSearch paper's Table 2 from run directories: rows are (model label, method), columns
 * the four benchmarks (HotpotQA, 2Wiki, MuSiQue, Bamboogle) × metrics (EM and LLM-as-judge "LJ" by default), in %.
 * Rendered as markdown or CSV.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { InputError, UserError } from "../util/errors.js";
import { SUMMARY_FILE } from "./run.js";
import type { EvalSummary } from "./summary.js";
import { METHOD_NAMES, type MethodName } from "./types.js";

export const METHOD_LABELS: Record<MethodName, string> = {
  "naive-gen": "Naive Generation",
  "naive-rag": "Naive RAG",
  "iter-retgen": "Iter-RetGen",
  ircot: "IRCoT",
  research: "ReSearch",
};

/** The paper's benchmarks, in its column order, and how a dataset name is recognised. */
export const BENCHMARKS: { name: string; pattern: RegExp }[] = [
  { name: "HotpotQA", pattern: /hotpot/i },
  { name: "2Wiki", pattern: /2wiki|wikimultihop/i },
  { name: "MuSiQue", pattern: /musique/i },
  { name: "Bamboogle", pattern: /bamboogle/i },
];

export const TABLE_METRICS = ["em", "f1", "acc", "lj"] as const;
export type TableMetric = (typeof TABLE_METRICS)[number];
const METRIC_LABELS: Record<TableMetric, string> = { em: "EM", f1: "F1", acc: "Acc", lj: "LJ" };

/** The column a dataset goes to: one of the paper's benchmarks, else the dataset name itself. */
export function benchmarkOf(dataset: string): string {
  return BENCHMARKS.find((b) => b.pattern.test(dataset))?.name ?? dataset;
}

export interface LoadedRun {
  dir: string;
  summary: EvalSummary;
}

/** Summaries of the given directories: each is a run directory, or a folder whose subfolders are run directories. */
export function loadRuns(dirs: string[]): LoadedRun[] {
  const out: LoadedRun[] = [];
  const read = (dir: string) => {
    const path = join(dir, SUMMARY_FILE);
    let summary: EvalSummary;
    try {
      summary = JSON.parse(readFileSync(path, "utf8")) as EvalSummary;
    } catch (e) {
      throw new InputError(path, undefined, undefined, `cannot read summary (${(e as Error).message})`);
    }
    if (!(METHOD_NAMES as readonly string[]).includes(summary.method)) throw new InputError(path, undefined, "method", `unknown method "${summary.method}"`);
    if (typeof summary.dataset !== "string") throw new InputError(path, undefined, "dataset", "missing");
    out.push({ dir, summary });
  };
  for (const dir of dirs) {
    if (!existsSync(dir)) throw new UserError(`not found: ${dir}`);
    if (existsSync(join(dir, SUMMARY_FILE))) read(dir);
    else {
      const subs = readdirSync(dir)
        .map((d) => join(dir, d))
        .filter((d) => statSync(d).isDirectory() && existsSync(join(d, SUMMARY_FILE)))
        .sort();
      if (!subs.length) throw new UserError(`${dir} has no ${SUMMARY_FILE} and no run directories with one`);
      subs.forEach(read);
    }
  }
  return out;
}

export interface Table {
  header: string[];
  rows: string[][];
}

function metricValue(s: EvalSummary, m: TableMetric): number | undefined {
  if (m === "lj") return s.judge?.accuracy;
  return s[m];
}

/** Build the table: rows grouped by model label, methods in the paper's order; missing cells are "–" (CSV: empty). */
export function buildTable(runs: LoadedRun[], metrics: TableMetric[] = ["em", "lj"], opts: { digits?: number } = {}): Table {
  const digits = opts.digits ?? 1;
  const cells = new Map<string, LoadedRun>();
  const labels: string[] = [];
  const datasets: string[] = [];
  for (const run of runs) {
    const label = run.summary.label ?? "";
    const bench = benchmarkOf(run.summary.dataset);
    const key = `${label}\u0000${run.summary.method}\u0000${bench}`;
    const prev = cells.get(key);
    if (prev) throw new UserError(`two runs for ${label || "(no label)"} / ${run.summary.method} / ${bench}: ${prev.dir} and ${run.dir}`);
    cells.set(key, run);
    if (!labels.includes(label)) labels.push(label);
    if (!datasets.includes(bench)) datasets.push(bench);
  }
  const known = BENCHMARKS.map((b) => b.name).filter((b) => datasets.includes(b));
  const columns = [...known, ...datasets.filter((d) => !known.includes(d)).sort()];
  const header = ["Model", "Method", ...columns.flatMap((d) => metrics.map((m) => `${d} ${METRIC_LABELS[m]}`))];
  const rows: string[][] = [];
  for (const label of labels) {
    for (const method of METHOD_NAMES) {
      const row = columns.flatMap((d) =>
        metrics.map((m) => {
          const run = cells.get(`${label}\u0000${method}\u0000${d}`);
          const v = run && metricValue(run.summary, m);
          return v === undefined ? "" : (100 * v).toFixed(digits);
        }),
      );
      if (row.every((c) => c === "")) continue;
      rows.push([label, METHOD_LABELS[method], ...row]);
    }
  }
  return { header, rows };
}

export function renderMarkdown(t: Table): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const align = t.header.map((_, i) => (i < 2 ? "---" : "---:"));
  return [line(t.header), line(align), ...t.rows.map((r) => line(r.map((c, i) => (i >= 2 && c === "" ? "–" : c))))].join("\n") + "\n";
}

export function renderCsv(t: Table): string {
  const esc = (c: string) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return [t.header, ...t.rows].map((r) => r.map(esc).join(",")).join("\n") + "\n";
}
