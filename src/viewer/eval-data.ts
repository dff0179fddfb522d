/**
 * @module viewer/eval-data — evaluation runs (eval/run.ts layout: run.json, predictions.jsonl, summary.json) for the
 * viewer: the methods × datasets table (rows: model label × method, in the paper's method order; columns: datasets
 * as eval/table.ts names them) and the per-item list behind every cell, with a wrong-answer filter and paging.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import type { EvalRecord, EvalSummary } from "../eval/summary.js";
import { benchmarkOf, METHOD_LABELS } from "../eval/table.js";
import { METHOD_NAMES, type MethodName } from "../eval/types.js";
import { InputError } from "../util/errors.js";
import type { RunRef } from "./runs.js";

export interface EvalRunInfo {
  id: string;
  method: string;
  dataset: string;
  label: string;
  /** Null while the run has written no summary yet (still running). */
  summary: EvalSummary | null;
}

export interface EvalCell {
  run: string;
  n: number;
  total: number;
  em: number;
  f1: number;
  acc: number;
  lj?: number;
  searches?: number;
  /** Still running: counts from predictions.jsonl, no summary yet. */
  partial?: boolean;
}

export interface EvalTable {
  datasets: string[];
  rows: { label: string; method: string; methodLabel: string; cells: (EvalCell | null)[] }[];
}

export interface EvalReader {
  info(run: RunRef): EvalRunInfo;
  records(run: RunRef): EvalRecord[];
}

const readJson = <T>(path: string): T | null => {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return null; // being rewritten: the next refresh reads it
  }
};

export function createEvalReader(): EvalReader {
  const cache = new Map<string, { key: string; rows: EvalRecord[] }>();
  return {
    info(run) {
      const summary = readJson<EvalSummary>(join(run.dir, "summary.json"));
      const meta = readJson<{ method?: string; dataset?: string; label?: string }>(join(run.dir, "run.json")) ?? {};
      return {
        id: run.id,
        // a summary of another writer (e.g. the demo's oracle: em/f1/acc/searches_mean only) is named by its folder
        method: summary?.method ?? meta.method ?? basename(run.dir),
        dataset: summary?.dataset ?? meta.dataset ?? "",
        label: summary?.label ?? meta.label ?? "",
        summary: summary && typeof summary.em === "number" ? summary : null,
      };
    },
    records(run) {
      const path = join(run.dir, "predictions.jsonl");
      if (!existsSync(path)) return [];
      const st = statSync(path);
      const key = `${st.size}:${st.mtimeMs}`;
      const hit = cache.get(path);
      if (hit?.key === key) return hit.rows;
      const byId = new Map<string, EvalRecord>(); // a later line for the same id wins (eval/run.ts appends, then rewrites)
      const text = readFileSync(path, "utf8");
      const lines = text.split("\n");
      lines.forEach((line, i) => {
        if (!line.trim()) return;
        try {
          const r = JSON.parse(line) as EvalRecord;
          if (typeof r.id !== "string") throw new Error("no id");
          byId.set(r.id, r);
        } catch (e) {
          if (i === lines.length - 1) return; // a line still being appended
          throw new InputError(path, i + 1, undefined, `invalid record (${(e as Error).message})`);
        }
      });
      const rows = [...byId.values()];
      cache.set(path, { key, rows });
      return rows;
    },
  };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** The cell of one run: its summary, or (still running) means over the records written so far. */
export function cellOf(info: EvalRunInfo, records: () => EvalRecord[]): EvalCell {
  const s = info.summary;
  if (s) {
    const searches = s.search?.searchesPerQuestion ?? (s as { searches_mean?: number }).searches_mean;
    return {
      run: info.id, n: s.n, total: s.total ?? s.n, em: s.em, f1: s.f1, acc: s.acc,
      ...(s.judge ? { lj: s.judge.accuracy } : {}),
      ...(typeof searches === "number" ? { searches } : {}),
    };
  }
  const rs = records();
  return { run: info.id, n: rs.length, total: rs.length, em: mean(rs.map((r) => r.scores.em)), f1: mean(rs.map((r) => r.scores.f1)), acc: mean(rs.map((r) => r.scores.acc)), partial: true };
}

/** Methods × datasets: one row per (label, method) in the paper's order, one column per dataset. */
export function buildEvalTable(infos: EvalRunInfo[], records: (id: string) => EvalRecord[]): EvalTable {
  // a run that names no dataset (the demo's oracle) joins the one dataset all the others share
  const named = [...new Set(infos.map((i) => i.dataset).filter(Boolean))];
  infos = infos.map((i) => (i.dataset ? i : { ...i, dataset: named.length === 1 ? named[0] : "?" }));
  const datasets = [...new Set(infos.map((i) => benchmarkOf(i.dataset)))].sort();
  const labels = [...new Set(infos.map((i) => i.label))].sort();
  const order = (m: string) => ((METHOD_NAMES as readonly string[]).includes(m) ? METHOD_NAMES.indexOf(m as MethodName) : 99);
  const rows: EvalTable["rows"] = [];
  for (const label of labels) {
    const methods = [...new Set(infos.filter((i) => i.label === label).map((i) => i.method))].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
    for (const method of methods) {
      const cells = datasets.map((d) => {
        const info = infos.find((i) => i.label === label && i.method === method && benchmarkOf(i.dataset) === d);
        return info ? cellOf(info, () => records(info.id)) : null;
      });
      rows.push({ label, method, methodLabel: METHOD_LABELS[method as MethodName] ?? method, cells });
    }
  }
  return { datasets, rows };
}

/** Wrong: exact match 0, or the judge said incorrect when there is a verdict. */
export function isWrong(r: EvalRecord): boolean {
  if (r.judge && r.judge.verdict !== "error") return r.judge.verdict !== "correct";
  return r.scores.em === 0;
}

export interface ItemQuery {
  wrongOnly?: boolean;
  text?: string;
  page: number;
  pageSize: number;
}

/** One page of a run's items (records in file order) after the filters. */
export function pageItems(records: EvalRecord[], q: ItemQuery): { matched: number; total: number; items: EvalRecord[] } {
  const needle = q.text?.toLowerCase();
  const hits = records.filter(
    (r) =>
      (!q.wrongOnly || isWrong(r)) &&
      (!needle || [r.id, r.question, r.pred, ...r.goldenAnswers].join("\n").toLowerCase().includes(needle)),
  );
  return { matched: hits.length, total: records.length, items: hits.slice(q.page * q.pageSize, (q.page + 1) * q.pageSize) };
}
