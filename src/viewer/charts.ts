/**
 * @module viewer/charts — the training curves of ReSearch (arXiv 2503.19470 §3.4: reward, searches per rollout,
 * response length) plus the optimisation health curves (format rate, KL, entropy, clip fraction, step time), as
 * Vega-Lite specs rendered to SVG in Node, headless (vega View.toSVG, no canvas, no network). Several runs overlay
 * as coloured series. The viewer and the static report draw the same SVG.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { MetricsRow } from "./train-data.js";

export interface MetricDef {
  key: string;
  title: string;
  /** The value of a metrics row (undefined: not logged at that step). */
  value(m: MetricsRow): number | undefined;
  /** Half-width of the band drawn around the curve (reward ± std). */
  spread?(m: MetricsRow): number | undefined;
}

const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : undefined);
const field = (k: string) => (m: MetricsRow) => num(m[k]);

/** The curves, in display order (keys are trainer StepMetrics fields). */
export const METRICS: MetricDef[] = [
  { key: "reward", title: "Reward (mean ± std)", value: field("reward_mean"), spread: field("reward_std") },
  { key: "format_rate", title: "Format-valid rate", value: field("format_rate") },
  { key: "searches", title: "Searches per rollout", value: field("searches_mean") },
  { key: "response_tokens", title: "Response length (tokens)", value: field("response_tokens_mean") },
  { key: "kl", title: "KL to reference", value: field("kl") },
  { key: "entropy", title: "Entropy", value: field("entropy") },
  { key: "clip_frac", title: "Clip fraction", value: field("clip_frac") },
  { key: "step_time", title: "Step time (s)", value: (m) => num((m.seconds as Record<string, unknown> | undefined)?.total) },
];

/**
 * The reflection metrics the trainer logs per step (eval/reflection.ts; StepMetrics `reflection_*`), drawn after
 * METRICS for runs that logged them (null steps, where a share's denominator was empty, are gaps).
 */
export const REFLECTION_METRICS: MetricDef[] = [
  { key: "reflection_search_after_miss", title: "Reflection: searches again after a miss", value: field("reflection_search_after_miss") },
  { key: "reflection_query_revision", title: "Reflection: revises a query", value: field("reflection_query_revision") },
  { key: "reflection_recovery", title: "Reflection: right answer after a miss", value: field("reflection_recovery") },
  { key: "reflection_miss_rate", title: "Reflection: miss rate", value: field("reflection_miss_rate") },
];

/** Metrics runs logged before scaffolds were plug-ins, under the names scaffolds log them now. */
const LEGACY_SCAFFOLD_METRICS: Record<string, string> = {
  "scaffold/min-searches/prob": "forced_follow_up_prob",
  "scaffold/min-searches/forced_searches_mean": "forced_searches_mean",
  "scaffold/follow-up-picks/searches_mean": "mention_searches_mean",
  "scaffold/answer-picks/rate": "answer_mention_rate",
  "scaffold/retrieval-bonus/weight": "retrieval_bonus",
  "scaffold/hop-curriculum/max_hops": "max_hops",
};

/**
 * One curve per training-scaffold metric the runs logged (`scaffold/<name>/<key>` in metrics.jsonl, see
 * train/scaffolds/), in order of first appearance: the viewer knows no scaffold by name.
 */
export function scaffoldMetrics(runs: { rows: MetricsRow[] }[]): MetricDef[] {
  const keys = new Set<string>();
  for (const r of runs) for (const m of r.rows) for (const k of Object.keys(m)) if (k.startsWith("scaffold/")) keys.add(k);
  for (const [now, old] of Object.entries(LEGACY_SCAFFOLD_METRICS)) if (runs.some((r) => r.rows.some((m) => num(m[old]) !== undefined && m[old] !== 0))) keys.add(now);
  return [...keys].map((k) => {
    const [, name, metric] = k.split("/");
    const old = LEGACY_SCAFFOLD_METRICS[k];
    return { key: k.replace(/\//g, "-"), title: `Scaffold ${name}: ${metric}`, value: (m: MetricsRow) => num(m[k]) ?? (old ? num(m[old]) : undefined) };
  });
}

/** Above this many steps in a run, the curve is drawn without a point per step. */
export const MAX_POINTS_PER_RUN = 400;

export interface SeriesRow {
  run: string;
  step: number;
  value: number;
  lo?: number;
  hi?: number;
}

/** The rows of one metric over several runs (steps where the metric is missing are left out). */
export function metricSeries(def: MetricDef, runs: { name: string; rows: MetricsRow[] }[]): SeriesRow[] {
  const out: SeriesRow[] = [];
  for (const r of runs) {
    for (const m of r.rows) {
      const v = def.value(m);
      if (v === undefined) continue;
      const s = def.spread?.(m);
      out.push({ run: r.name, step: m.step, value: v, ...(s !== undefined ? { lo: v - s, hi: v + s } : {}) });
    }
  }
  return out;
}

/** The Vega-Lite spec of one chart: band (when the metric has a spread), line, and a point per step. */
export function chartSpec(def: MetricDef, rows: SeriesRow[], opts: { width?: number; height?: number } = {}): TopLevelSpec {
  const perRun = new Map<string, number>();
  for (const r of rows) perRun.set(r.run, (perRun.get(r.run) ?? 0) + 1);
  const points = Math.max(0, ...perRun.values()) <= MAX_POINTS_PER_RUN;
  const x = { field: "step", type: "quantitative", title: "step", axis: { tickMinStep: 1 } } as const;
  const color = { field: "run", type: "nominal", title: "run", legend: perRun.size > 1 ? { orient: "bottom" } : null } as const;
  const layers: object[] = [];
  if (def.spread) layers.push({ mark: { type: "area", opacity: 0.2 }, encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" }, color } });
  layers.push({ mark: { type: "line", strokeWidth: 1.5 }, encoding: { x, y: { field: "value", type: "quantitative", title: def.title, scale: { zero: false }, axis: { format: ".4~r" } }, color } });
  if (points) layers.push({ mark: { type: "point", filled: true, size: 18 }, encoding: { x, y: { field: "value", type: "quantitative" }, color } });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: def.title,
    width: opts.width ?? 340,
    height: opts.height ?? 170,
    background: "white",
    data: { values: rows },
    layer: layers,
  } as TopLevelSpec;
}

/** Render a Vega-Lite spec to an SVG string, headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface RenderedChart {
  key: string;
  title: string;
  svg: string;
  /** Points drawn per run (steps where the metric was logged). */
  points: Record<string, number>;
}

/** Every metric of METRICS, then the reflection metrics, then each scaffold metric, as an SVG chart over the given runs; metrics no run logged are skipped. */
export async function renderCharts(runs: { name: string; rows: MetricsRow[] }[], opts: { width?: number; height?: number } = {}): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  for (const def of [...METRICS, ...REFLECTION_METRICS, ...scaffoldMetrics(runs)]) {
    const rows = metricSeries(def, runs);
    if (!rows.length) continue;
    const points: Record<string, number> = {};
    for (const r of rows) points[r.run] = (points[r.run] ?? 0) + 1;
    out.push({ key: def.key, title: def.title, svg: await renderSvg(chartSpec(def, rows, opts)), points });
  }
  return out;
}
