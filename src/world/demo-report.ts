/**
 * @module world/demo-report — the demo's report: `report.json` (train curve, per-method evaluation with per-hop and
 * per-question-type breakdowns, world, base model, config) and `report.md` (tables, the curves as SVG pictures drawn with Vega-Lite,
 * and three example trajectories: a success, a failure and a multi-search one).
 */
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../util/fs.js";
import { mean } from "../util/stats.js";
import type { EvalRecord } from "../eval/summary.js";
import { segmentAuthor } from "../rollout/types.js";
import { summarizeRecordsReflection } from "../eval/summary.js";
import type { ReflectionGold, ReflectionSummary } from "../eval/reflection.js";
import { containsSpan } from "./gates.js";
import type { WorldQuestion } from "./questions.js";
import type { HopStats } from "./build.js";

export const DEMO_METHODS = ["base-research", "research", "naive-gen", "naive-rag", "iter-retgen", "ircot", "oracle"] as const;
export type DemoMethod = (typeof DEMO_METHODS)[number];

export interface TrainPoint {
  step: number;
  reward_mean: number;
  answer_f1_mean: number;
  format_rate: number;
  searches_mean: number;
  response_tokens_mean: number;
  seconds: number;
  /** The trainer's reflection metrics at that step (train/trainer.ts StepMetrics; absent in older runs). */
  reflection_miss_rate?: number | null;
  reflection_search_after_miss?: number | null;
  reflection_query_revision?: number | null;
  reflection_recovery?: number | null;
}

/** The reflection metrics a train point may carry, in chart order. */
export const REFLECTION_FIELDS = ["reflection_miss_rate", "reflection_search_after_miss", "reflection_query_revision", "reflection_recovery"] as const;

export interface MethodReport {
  n: number;
  em: number;
  f1: number;
  acc: number;
  searches_mean: number;
  by_hops: Record<string, { n: number; em: number; searches_mean: number }>;
  /** EM by question type (`questionType`): which kinds of question a method answers, which it never does. */
  by_type?: Record<string, { n: number; em: number }>;
  /** Reflection metrics of the method's searches, misses judged against each question's gold chain (eval/reflection.ts). */
  reflection?: ReflectionSummary;
}

/** The four test benchmarks (demo option `benchmarks`): per benchmark and method, and the paper's Table 2. */
export interface BenchmarksReport {
  trained_on: string;
  /** Rows (model label, method) × columns (benchmark EM, F1), in %, as `research eval table` builds it. */
  table: { header: string[]; rows: string[][] };
  table_md: string;
  by_benchmark: Partial<Record<string, { n: number; questions: HopStats; methods: Partial<Record<DemoMethod, MethodReport>> }>>;
}

export interface DemoReport {
  train: { steps: TrainPoint[] };
  eval: Partial<Record<DemoMethod, MethodReport>>;
  world: Record<string, unknown>;
  base_model: Record<string, unknown>;
  config: Record<string, unknown>;
  checks?: Record<string, { value: number | null; target: string; pass: boolean | null }>;
  /** The fresh test sample evaluated instead of test.jsonl (demo option `testQuestionSeed`). */
  test_sample?: { seed: number; file: string; questions: HopStats };
  benchmarks?: BenchmarksReport;
}

/** Searches a record made: ReSearch rollouts count `<search>` calls, baselines count retriever calls. */
export function searchesOf(r: EvalRecord): number {
  return r.trajectory ? r.trajectory.searches : (r.retrievals?.length ?? 0);
}

/**
 * A question's type for the breakdowns: `comparison`, `yesno`, or for a compositional question the relation its answer
 * comes from (`born_in`, `birth_year`, `employer` …, the last hop of the chain, whatever the number of hops).
 */
export function questionType(q: WorldQuestion | undefined): string {
  if (!q) return "?";
  const md = q.metadata;
  return md.kind === "compositional" ? (md.relations[md.relations.length - 1] ?? "?") : md.kind;
}

/** Count and mean EM of items grouped by `key` (keys sorted by count, then name). */
export function emBy<T>(items: T[], key: (x: T) => string, em: (x: T) => number): Record<string, { n: number; em: number }> {
  const groups = new Map<string, number[]>();
  for (const it of items) {
    const k = key(it);
    const g = groups.get(k);
    if (g) g.push(em(it));
    else groups.set(k, [em(it)]);
  }
  const sorted = [...groups].sort(([a, x], [b, y]) => y.length - x.length || a.localeCompare(b));
  return Object.fromEntries(sorted.map(([k, ems]) => [k, { n: ems.length, em: mean(ems) }]));
}

/** EM/F1/acc, searches and the per-hop and per-type breakdowns of a method's records over the test questions. */
export function methodReport(records: EvalRecord[], questions: Map<string, WorldQuestion>): MethodReport {
  const by_hops: MethodReport["by_hops"] = {};
  const groups = new Map<string, EvalRecord[]>();
  for (const r of records) {
    const h = String(questions.get(r.id)?.metadata.hops ?? "?");
    groups.set(h, [...(groups.get(h) ?? []), r]);
  }
  for (const [h, rs] of [...groups].sort()) by_hops[h] = { n: rs.length, em: mean(rs.map((r) => r.scores.em)), searches_mean: mean(rs.map(searchesOf)) };
  return {
    n: records.length,
    em: mean(records.map((r) => r.scores.em)),
    f1: mean(records.map((r) => r.scores.f1)),
    acc: mean(records.map((r) => r.scores.acc)),
    searches_mean: mean(records.map(searchesOf)),
    by_hops,
    by_type: emBy(records, (r) => questionType(questions.get(r.id)), (r) => r.scores.em),
    reflection: summarizeRecordsReflection(records, goldChains(questions)),
  };
}

/** Each question's gold chain, for the reflection metrics. */
export function goldChains(questions: Map<string, WorldQuestion>): Map<string, ReflectionGold> {
  return new Map([...questions].filter(([, q]) => q.metadata.chainNames?.length).map(([id, q]) => [id, { kind: q.metadata.kind, chainNames: q.metadata.chainNames }]));
}

/** The issue's targets, evaluated on a report (null where a number is missing). */
export function demoChecks(rep: DemoReport): NonNullable<DemoReport["checks"]> {
  const s = rep.train.steps;
  const first = mean(s.slice(0, 10).map((x) => x.answer_f1_mean));
  const last = mean(s.slice(-10).map((x) => x.answer_f1_mean));
  const e = rep.eval;
  const baselines = (["naive-gen", "naive-rag", "iter-retgen", "ircot"] as const).map((m) => e[m]?.em ?? 0);
  const multi = (m?: MethodReport) => {
    if (!m) return null;
    const hs = Object.entries(m.by_hops).filter(([h]) => Number(h) >= 2);
    const n = hs.reduce((a, [, b]) => a + b.n, 0);
    return n ? { em: hs.reduce((a, [, b]) => a + b.em * b.n, 0) / n, searches: hs.reduce((a, [, b]) => a + b.searches_mean * b.n, 0) / n } : null;
  };
  const r = e.research;
  const check = (value: number | null | undefined, target: string, ok: (v: number) => boolean) => ({ value: value ?? null, target, pass: value === null || value === undefined ? null : ok(value) });
  return {
    f1_rise: check(s.length ? last - first : null, "≥ 0.25 (mean answer F1, last 10 steps − first 10)", (v) => v >= 0.25),
    searches_vs_base: check(r && e["base-research"] ? r.searches_mean - e["base-research"].searches_mean : null, "> 0 (searches per rollout, trained − base)", (v) => v > 0),
    em_1hop: check(r?.by_hops["1"]?.em, "≥ 0.5", (v) => v >= 0.5),
    em_2hop: check(r?.by_hops["2"]?.em, "≥ 0.25", (v) => v >= 0.25),
    em_vs_best_baseline: check(r ? r.em / Math.max(1e-9, Math.max(...baselines)) : null, "≥ 2 (× best baseline EM)", (v) => v >= 2),
    em_vs_base: check(r && e["base-research"] ? r.em - e["base-research"].em : null, "≥ 0.20 (EM points over base-research)", (v) => v >= 0.2),
    multihop_searches: check(multi(r)?.searches, "≥ 2 searches on ≥ 2-hop questions", (v) => v >= 2),
    multihop_vs_naive_rag: check(multi(r) && multi(e["naive-rag"]) ? multi(r)!.em - multi(e["naive-rag"])!.em : null, "> 0 (EM on ≥ 2-hop, research − naive-rag)", (v) => v > 0),
  };
}

/** A line chart of one or more train metrics as SVG (Vega-Lite compiled and rendered headless). */
export async function lineChartSvg(points: TrainPoint[], fields: (keyof TrainPoint)[], title: string): Promise<string> {
  const vl = await import("vega-lite");
  const vega = await import("vega");
  // a missing value (a null reflection share) leaves a gap instead of a point
  const values = points.flatMap((p) => fields.map((f) => ({ step: p.step, metric: f, value: p[f] }))).filter((v) => v.value !== null && v.value !== undefined);
  const spec = vl.compile({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title, width: 480, height: 200, data: { values },
    mark: { type: "line", point: points.length < 40 },
    encoding: { x: { field: "step", type: "quantitative" }, y: { field: "value", type: "quantitative" }, color: { field: "metric", type: "nominal" } },
  } as never).spec;
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

const pct = (x: number | undefined) => (x === undefined ? "—" : (x * 100).toFixed(1));

/** A right answer that a retrieved passage states (not a guess between the question's own names or a yes/no coin). */
export function answerFromEvidence(r: EvalRecord): boolean {
  const results = (r.trajectory?.segments ?? []).filter((g) => segmentAuthor(g) === "tool").map((g) => g.text);
  const inQuestion = r.goldenAnswers.some((g) => containsSpan(r.question, g));
  return r.scores.em === 1 && !inQuestion && r.goldenAnswers.some((g) => results.some((t) => containsSpan(t, g)));
}

function trajectoryBlock(title: string, r: EvalRecord | undefined): string {
  if (!r) return `### ${title}\n\n(none in this run)\n`;
  const text = (r.trajectory?.response ?? r.raw ?? r.pred).replace(/```/g, "'''");
  return `### ${title}\n\nQuestion: ${r.question}  \nGold: ${r.goldenAnswers.join(" / ")} · predicted: \`${r.pred}\` · EM ${r.scores.em} · searches ${searchesOf(r)}\n\n\`\`\`text\n${text}\n\`\`\`\n`;
}

/** The reflection metrics per method as a markdown table ("" when no method has them). */
export function reflectionMarkdown(evalReport: DemoReport["eval"]): string {
  const methods = DEMO_METHODS.filter((m) => evalReport[m]?.reflection && evalReport[m]!.reflection!.searched > 0);
  if (!methods.length) return "";
  const p = (x: number | null) => (x === null ? "—" : (x * 100).toFixed(1));
  return [
    `| method | searched | with a miss | miss rate | search after miss | query revision | recovery |`,
    `|---|---|---|---|---|---|---|`,
    ...methods.map((m) => {
      const r = evalReport[m]!.reflection!;
      return `| ${m} | ${r.searched} | ${r.with_miss} | ${p(r.miss_rate)} | ${p(r.search_after_miss)} | ${p(r.query_revision)} | ${p(r.recovery)} |`;
    }),
  ].join("\n");
}

/** The benchmarks section: Table 2, then EM by hop count and by answer type per benchmark. */
export function benchmarksMarkdown(b: BenchmarksReport): string[] {
  const out = [`## The four test benchmarks (RL trained on ${b.trained_on} only)`, ``, `The paper's Table 2 layout (\`research eval table\` over DIR/eval-bench/*/*), EM and F1 in %; world-base is the base model, world-trained the GRPO policy:`, ``, b.table_md.trimEnd(), ``];
  for (const [name, bench] of Object.entries(b.by_benchmark)) {
    if (!bench) continue;
    const methods = DEMO_METHODS.filter((m) => bench.methods[m]);
    const hops = [...new Set(methods.flatMap((m) => Object.keys(bench.methods[m]!.by_hops)))].sort();
    const types = Object.keys(bench.methods.research?.by_type ?? bench.methods[methods[0]]?.by_type ?? {});
    out.push(
      `### ${name} (${bench.n} questions)`, ``,
      `| method | EM | ${hops.map((h) => `EM ${h}-hop`).join(" | ")} | ${types.map((t) => `EM ${t}`).join(" | ")} |`,
      `|---|---|${hops.map(() => "---").join("|")}|${types.map(() => "---").join("|")}|`,
      ...methods.map((m) => {
        const e = bench.methods[m]!;
        return `| ${m} | ${pct(e.em)} | ${hops.map((h) => pct(e.by_hops[h]?.em)).join(" | ")} | ${types.map((t) => pct(e.by_type?.[t]?.em)).join(" | ")} |`;
      }),
      ``,
    );
  }
  return out;
}

export async function writeDemoReport(dir: string, rep: DemoReport, trained: EvalRecord[]): Promise<void> {
  rep.checks = demoChecks(rep);
  writeJsonAtomic(join(dir, "report.json"), rep);
  const charts: string[] = [];
  if (rep.train.steps.length) {
    for (const [file, fields, title] of [
      ["curve-reward.svg", ["reward_mean", "answer_f1_mean", "format_rate"], "GRPO: reward, answer F1, format rate"],
      ["curve-searches.svg", ["searches_mean"], "GRPO: searches per rollout"],
      ["curve-length.svg", ["response_tokens_mean"], "GRPO: response tokens"],
    ] as const) {
      writeFileAtomic(join(dir, file), await lineChartSvg(rep.train.steps, [...fields], title));
      charts.push(`![${title}](${file})`);
    }
    // reflection beside searches and length (steps logged before the trainer kept them have none)
    const withReflection = rep.train.steps.filter((p) => REFLECTION_FIELDS.some((f) => typeof p[f] === "number"));
    if (withReflection.length) {
      const title = "GRPO: reflection (search after a miss, query revision, recovery, miss rate)";
      writeFileAtomic(join(dir, "curve-reflection.svg"), await lineChartSvg(withReflection, [...REFLECTION_FIELDS], title));
      charts.push(`![${title}](curve-reflection.svg)`);
    }
  }
  const methods = DEMO_METHODS.filter((m) => rep.eval[m]);
  const hops = [...new Set(methods.flatMap((m) => Object.keys(rep.eval[m]!.by_hops)))].sort();
  const table = [
    `| method | n | EM | F1 | acc | searches | ${hops.map((h) => `EM ${h}-hop`).join(" | ")} |`,
    `|---|---|---|---|---|---|${hops.map(() => "---").join("|")}|`,
    ...methods.map((m) => {
      const e = rep.eval[m]!;
      return `| ${m} | ${e.n} | ${pct(e.em)} | ${pct(e.f1)} | ${pct(e.acc)} | ${e.searches_mean.toFixed(2)} | ${hops.map((h) => pct(e.by_hops[h]?.em)).join(" | ")} |`;
    }),
  ].join("\n");
  const typeCols = methods.filter((m) => rep.eval[m]!.by_type);
  const types = Object.keys(rep.eval.research?.by_type ?? rep.eval[typeCols[0]]?.by_type ?? {});
  const typeTable = [
    `| question type | n | ${typeCols.map((m) => `EM ${m}`).join(" | ")} |`,
    `|---|---|${typeCols.map(() => "---").join("|")}|`,
    ...types.map((t) => `| ${t} | ${rep.eval[typeCols[0]]!.by_type![t]?.n ?? 0} | ${typeCols.map((m) => pct(rep.eval[m]!.by_type![t]?.em)).join(" | ")} |`),
  ].join("\n");
  const reflectionTable = reflectionMarkdown(rep.eval);
  const checks = Object.entries(rep.checks)
    .map(([k, c]) => `| ${k} | ${c.value === null ? "—" : c.value.toFixed(3)} | ${c.target} | ${c.pass === null ? "—" : c.pass ? "yes" : "no"} |`)
    .join("\n");
  const gates = rep.base_model.gates as { query_has_entity?: number; answer_in_result?: number } | undefined;
  const md = [
    `# ReSearch on a synthetic multi-hop world`,
    ``,
    `World seed ${String(rep.world.seed)}: ${String(rep.world.passages)} passages; test questions never share an entity with the training or pre-training questions.`,
    `Base model: ${String(rep.base_model.dir)} (${String(rep.base_model.params)} parameters). Gates before RL: queries contain the entity in ${pct(gates?.query_has_entity)}% of episodes (≥ 25%), answers are a span of a result in ${pct(gates?.answer_in_result)}% (≥ 50%).`,
    ``,
    `## Evaluation on held-out test questions (%, searches per question)`,
    ``,
    table,
    ``,
    ...(types.length ? [`EM by question type (a compositional question's type is the relation its answer comes from):`, ``, typeTable, ``] : []),
    ...(reflectionTable ? [`Reflection (%; eval/reflection.ts: a miss is a result without the next hop's entity, judged against the gold chain): searching again after a miss and recovering are shares of the questions with a miss; revision (a later query with token overlap ≥ 0.5 that differs) of those with ≥ 2 searches.`, ``, reflectionTable, ``] : []),
    ...(rep.test_sample ? [`Evaluated on a fresh test sample (seed ${rep.test_sample.seed}: new questions over the same test entities): ${rep.test_sample.file}.`, ``] : []),
    ...(rep.benchmarks ? benchmarksMarkdown(rep.benchmarks) : []),
    `## Targets`,
    ``,
    `| check | value | target | met |`,
    `|---|---|---|---|`,
    checks,
    ``,
    `## Training curves`,
    ``,
    ...(charts.length ? charts : ["(no training steps in this run)"]),
    ``,
    `## Example trajectories of the trained policy`,
    ``,
    trajectoryBlock("A success", trained.find(answerFromEvidence) ?? trained.find((r) => r.scores.em === 1)),
    trajectoryBlock("A failure", trained.find((r) => r.scores.em === 0)),
    trajectoryBlock("Several searches", trained.find((r) => searchesOf(r) >= 2)),
  ].join("\n");
  writeFileAtomic(join(dir, "report.md"), md + "\n");
}
