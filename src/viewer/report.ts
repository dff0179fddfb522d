/**
 * @module viewer/report — `research report`: one self-contained HTML file (inline CSS and SVG, no script, nothing
 * fetched) with the training curves, a first/last-step summary, the methods × datasets table and selected
 * trajectories, plus each chart as an SVG file beside it (`<name>-plots/<metric>.svg`) for papers and issues.
 */
import { basename, dirname, join, resolve } from "node:path";
import { z } from "zod";
import { UserError } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs.js";
import type { EvalRecord } from "../eval/summary.js";
import { METRICS, renderCharts, type RenderedChart } from "./charts.js";
import { buildEvalTable, createEvalReader, isWrong, type EvalTable } from "./eval-data.js";
import { discoverRuns, readDemoReport, rootNames, type RunRef } from "./runs.js";
import { createTrainReader, groupTrajectories, type MetricsRow, type TrajectoryGroup } from "./train-data.js";
import { escapeHtml as esc, TRAJECTORY_CSS, trajectoryHtml } from "./trajectory-view.js";

export const ReportOptions = z.object({
  dirs: z.array(z.string()).min(1).describe("run directories (training, evaluation, or a folder of them such as a demo output)"),
  out: z.string().describe("the HTML file to write; charts go to <name>-plots/ beside it"),
  trajectories: z.number().int().min(0).default(2).describe("GRPO groups shown per training run (spread over its steps) and items per evaluation run"),
  title: z.string().optional().describe("page title (default: the run directories' names)"),
});
export type ReportOptions = z.input<typeof ReportOptions>;

export interface ReportResult {
  html: string;
  plots: string[];
  charts: RenderedChart[];
}

const fmt = (x: unknown, d = 3) => (typeof x === "number" ? (Number.isInteger(x) ? String(x) : x.toFixed(d)) : "–");
const pct = (x: number | undefined) => (x === undefined ? "–" : (100 * x).toFixed(1));

function trainSummaryHtml(runs: { name: string; rows: MetricsRow[] }[]): string {
  const head = `<tr><th>run</th><th>steps</th>${METRICS.map((m) => `<th>${esc(m.title)}<br><span class="muted">first → last</span></th>`).join("")}</tr>`;
  const body = runs
    .map((r) => {
      const first = r.rows[0];
      const last = r.rows[r.rows.length - 1];
      const cells = METRICS.map((m) => `<td>${first ? `${fmt(m.value(first))} → ${fmt(m.value(last))}` : "–"}</td>`).join("");
      return `<tr><td>${esc(r.name)}</td><td>${r.rows.length}</td>${cells}</tr>`;
    })
    .join("");
  return `<table class="eval">${head}${body}</table>`;
}

function evalTableHtml(t: EvalTable): string {
  if (!t.rows.length) return `<p class="muted">No evaluation runs.</p>`;
  const head = `<tr><th>Model</th><th>Method</th>${t.datasets.map((d) => `<th>${esc(d)}<br><span class="muted">EM / F1 / LJ %</span></th>`).join("")}</tr>`;
  const rows = t.rows
    .map(
      (r) =>
        `<tr><td>${esc(r.label || "–")}</td><td>${esc(r.methodLabel)}</td>${r.cells
          .map((c) =>
            c
              ? `<td title="${esc(c.run)}">${pct(c.em)} / ${pct(c.f1)} / ${pct(c.lj)}${c.searches !== undefined ? `<br><span class="muted">${fmt(c.searches, 2)} searches/q</span>` : ""}</td>`
              : "<td>–</td>",
          )
          .join("")}</tr>`,
    )
    .join("");
  return `<table class="eval">${head}${rows}</table>`;
}

/** The groups to show: the one with the widest reward spread at evenly spread steps (first and last included). */
export function selectGroups(groupsByStep: TrajectoryGroup[][], n: number): TrajectoryGroup[] {
  const withGroups = groupsByStep.filter((g) => g.length);
  if (!n || !withGroups.length) return [];
  const picks = n === 1 ? [withGroups.length - 1] : Array.from({ length: n }, (_, i) => Math.round((i * (withGroups.length - 1)) / (n - 1)));
  const spread = (g: TrajectoryGroup) => {
    const r = g.rollouts.map((t) => t.reward ?? 0);
    return Math.max(...r) - Math.min(...r) + 1e-3 * g.rollouts.reduce((a, t) => a + t.searches, 0);
  };
  return [...new Set(picks)].map((i) => withGroups[i].reduce((best, g) => (spread(g) > spread(best) ? g : best)));
}

function groupHtml(g: TrajectoryGroup): string {
  const cards = g.rollouts
    .map(
      (t) =>
        `<div class="rollout"><div class="meta">reward <b>${fmt(t.reward)}</b> · adv ${fmt(t.advantage, 2)} · ${t.searches} searches · ${esc(t.finishReason)} · answer <b>${esc(String(t.score?.prediction ?? t.answer ?? "–"))}</b></div>${trajectoryHtml(t)}</div>`,
    )
    .join("");
  return `<div class="group"><h4>step ${g.step} · ${esc(g.question)} <span class="gold">gold: ${esc(g.goldenAnswers.join(" | "))}</span></h4><div class="rollouts">${cards}</div></div>`;
}

function evalItemHtml(r: EvalRecord): string {
  const verdict = isWrong(r) ? `<span class="wrong">wrong</span>` : `<span class="right">right</span>`;
  const body = r.trajectory ? trajectoryHtml(r.trajectory) : `<pre>${esc(r.raw ?? r.pred)}</pre>`;
  return `<div class="group"><h4>${esc(r.id)}: ${esc(r.question)} — ${verdict}, predicted <b>${esc(r.pred)}</b>, gold ${esc(r.goldenAnswers.join(" | "))}</h4>${body}</div>`;
}

/** Build the report's HTML and charts from run directories (no file written). */
export async function buildReport(opts: ReportOptions): Promise<{ html: string; charts: RenderedChart[] }> {
  const o = ReportOptions.parse(opts);
  const runs = discoverRuns(o.dirs);
  if (!runs.length) throw new UserError(`no training or evaluation runs under ${o.dirs.join(", ")} (looked for metrics.jsonl and summary.json)`);
  const train = createTrainReader();
  const evals = createEvalReader();
  const trainRuns = runs.filter((r) => r.kind === "train");
  const evalRuns = runs.filter((r) => r.kind === "eval");
  const series = trainRuns.map((r) => ({ name: r.id, rows: train.metrics(r.dir) }));
  const charts = await renderCharts(series, { width: 380, height: 190 });
  const table = buildEvalTable(
    evalRuns.map((r) => evals.info(r)),
    (id) => evals.records(evalRuns.find((r) => r.id === id)!),
  );
  const title = o.title ?? `ReSearch.ts report: ${rootNames(o.dirs).join(", ")}`;
  const demo = [...new Set(runs.map((r) => r.root))].map((root) => ({ root, report: readDemoReport(root) })).filter((x) => x.report);

  const sections: string[] = [];
  if (demo.length)
    sections.push(`<h2>Summary</h2>${demo.map((d) => `<details open><summary>report.json (${esc(d.root)})</summary><pre>${esc(JSON.stringify(d.report, null, 2))}</pre></details>`).join("")}`);
  if (trainRuns.length) {
    sections.push(`<h2>Training</h2><div class="charts">${charts.map((c) => `<figure class="chart" id="chart-${c.key}">${c.svg}</figure>`).join("")}</div>`);
    sections.push(trainSummaryHtml(series));
  }
  sections.push(`<h2>Evaluation</h2>${evalTableHtml(table)}`);
  if (o.trajectories > 0) {
    const parts: string[] = [];
    for (const r of trainRuns) {
      const groups = selectGroups(train.steps(r.dir).map((s) => groupTrajectories(s.step, train.trajectories(r.dir, s.step))), o.trajectories);
      if (groups.length) parts.push(`<h3>${esc(r.id)}</h3>${groups.map(groupHtml).join("")}`);
    }
    for (const r of evalRuns) parts.push(...evalItems(r, evals.records(r), o.trajectories));
    if (parts.length) sections.push(`<h2>Selected trajectories</h2>${legend}${parts.join("")}`);
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${REPORT_CSS}${TRAJECTORY_CSS}</style></head>
<body><h1>${esc(title)}</h1><p class="muted">Generated ${new Date().toISOString()} from ${runs.map((r) => `${esc(r.id)} (${r.kind})`).join(", ")}.</p>
${sections.join("\n")}
</body></html>
`;
  return { html, charts };
}

/** Up to n items of an evaluation run: wrong and right ones alternately, those with a trajectory first. */
function evalItems(r: RunRef, records: EvalRecord[], n: number): string[] {
  if (!records.length || !n) return [];
  const sorted = [...records].sort((a, b) => Number(!!b.trajectory) - Number(!!a.trajectory));
  const wrong = sorted.filter(isWrong);
  const right = sorted.filter((x) => !isWrong(x));
  const pick: EvalRecord[] = [];
  for (let i = 0; pick.length < n && (i < wrong.length || i < right.length); i++) {
    if (i < right.length) pick.push(right[i]);
    if (pick.length < n && i < wrong.length) pick.push(wrong[i]);
  }
  return [`<h3>${esc(r.id)}</h3>`, ...pick.map(evalItemHtml)];
}

const legend = `<p class="legend"><span class="tag tag-think">&lt;think&gt;</span><span class="tag tag-search">&lt;search&gt;</span><span class="tag tag-result">&lt;result&gt;</span><span class="tag tag-answer">&lt;answer&gt;</span><span class="seg mask-yes">trained (lossMask 1)</span> <span class="seg mask-no">masked (lossMask 0)</span></p>`;

const REPORT_CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; font-size: 14px; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; } h3 { font-size: 15px; } h4 { font-size: 13px; margin: 0 0 6px; }
.charts { display: flex; flex-wrap: wrap; gap: 8px; } .chart { margin: 0; border: 1px solid #ddd; }
table.eval { border-collapse: collapse; margin: 8px 0; } table.eval th, table.eval td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; font-size: 12px; }
table.eval td:first-child, table.eval td:nth-child(2) { text-align: left; }
.group { border: 1px solid #ddd; border-radius: 4px; padding: 8px; margin: 8px 0; }
.rollouts { display: grid; grid-auto-flow: column; grid-auto-columns: minmax(260px, 1fr); gap: 8px; overflow-x: auto; }
.rollout { border: 1px solid #eee; padding: 6px; } .meta { font-size: 12px; margin-bottom: 4px; }
.gold { color: #0b6e4f; font-weight: normal; } .muted { color: #777; font-weight: normal; } .wrong { color: #b3261e; } .right { color: #0b6e4f; }
pre { white-space: pre-wrap; font-size: 12px; }
`;

/** Write the report and its plots; returns the paths written. */
export async function writeReport(opts: ReportOptions): Promise<ReportResult> {
  const o = ReportOptions.parse(opts);
  const out = resolve(o.out);
  const { html, charts } = await buildReport(o);
  const plotDir = join(dirname(out), `${basename(out).replace(/\.html?$/i, "")}-plots`);
  const plots = charts.map((c) => {
    const p = join(plotDir, `${c.key}.svg`);
    writeFileAtomic(p, `<?xml version="1.0" encoding="UTF-8"?>\n${c.svg}\n`);
    return p;
  });
  writeFileAtomic(out, html);
  return { html: out, plots, charts };
}
