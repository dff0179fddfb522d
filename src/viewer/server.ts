/**
 * @module viewer/server — `research view`: a fastify app over run directories. Server-rendered parts (SVG charts from
 * viewer/charts, trajectory HTML from viewer/trajectory-view) behind a small JSON API, and a plain ES-module front
 * end (viewer/static, no bundler, nothing from the network) that polls `/api/version` to update live.
 *
 *   GET /api/runs                    runs found under the given directories (rediscovered on every call)
 *   GET /api/version                 a string that changes when any run's files change (the live view polls it)
 *   GET /api/charts?runs=a,b         training curves of those runs (default all) as SVG, with points per run
 *   GET /api/steps?run=ID            steps with trajectories and their counts
 *   GET /api/groups?run=ID&step=N|all&minReward&maxReward&minSearches&maxSearches&text&question&page&pageSize
 *   GET /api/eval/table              methods × datasets
 *   GET /api/eval/items?run=ID&wrong=1&text&page&pageSize
 *   GET /api/eval/item?run=ID&id=ITEM
 */
import Fastify, { type FastifyInstance } from "fastify";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { EvalRecord } from "../eval/summary.js";
import { renderCharts, type RenderedChart } from "./charts.js";
import { buildEvalTable, createEvalReader, isWrong, pageItems } from "./eval-data.js";
import { discoverRuns, readDemoReport, type RunRef } from "./runs.js";
import { createTrainReader, groupTrajectories, pageGroups, type StepTrajectory, type TrajectoryGroup } from "./train-data.js";
import { TRAJECTORY_CSS, trajectoryHtml } from "./trajectory-view.js";

export const ViewerOptions = z.object({
  dirs: z.array(z.string()).min(1).describe("run directories (training, evaluation, or folders of them such as a demo output)"),
  port: z.number().int().min(0).max(65535).default(7860).describe("port to listen on (0: any free port)"),
  host: z.string().default("127.0.0.1").describe("interface to bind (127.0.0.1: this machine only)"),
});
export type ViewerOptions = z.input<typeof ViewerOptions>;

export interface Viewer {
  url: string;
  close(): Promise<void>;
}

const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), "static");
const optNum = z.preprocess((v) => (v === "" || v === undefined ? undefined : Number(v)), z.number().finite().optional());

const GroupsQuery = z.object({
  run: z.string(),
  step: z.union([z.literal("all"), z.coerce.number().int().min(0)]).default("all"),
  minReward: optNum,
  maxReward: optNum,
  minSearches: optNum,
  maxSearches: optNum,
  text: z.string().optional(),
  question: z.string().optional(),
  page: z.coerce.number().int().min(0).default(0),
  pageSize: z.coerce.number().int().min(1).max(200).default(10),
});

const ItemsQuery = z.object({
  run: z.string(),
  wrong: z.enum(["0", "1", "true", "false"]).optional(),
  text: z.string().optional(),
  page: z.coerce.number().int().min(0).default(0),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; "));
  return r.data;
}

/**
 * The interventions a rollout had (Trajectory.interventions, `<scaffold>/<counter>` → count), and the fields that runs
 * written before scaffolds were plug-ins used for the same.
 */
export function interventionCounts(t: StepTrajectory): Record<string, number> {
  const out: Record<string, number> = { ...t.interventions };
  if (t.forced) out["forced first search"] = 1;
  if (t.forcedSearches) out["forced follow-up searches"] = t.forcedSearches;
  return out;
}

/** One rollout as the trajectory panes show it. */
export function rolloutView(t: StepTrajectory) {
  return {
    id: t.id,
    reward: t.reward ?? null,
    advantage: t.advantage ?? null,
    searches: t.searches,
    queries: t.queries ?? [],
    finishReason: t.finishReason,
    answer: t.score?.prediction ?? t.answer ?? null,
    valid: t.score?.valid ?? null,
    reason: t.score?.reason ?? null,
    interventions: interventionCounts(t),
    tokens: t.responseIds?.length ?? null,
    trainedTokens: t.lossMask ? t.lossMask.reduce((a, b) => a + b, 0) : null,
    html: trajectoryHtml(t),
  };
}

export async function createViewerApp(dirs: string[]): Promise<FastifyInstance> {
  const train = createTrainReader();
  const evals = createEvalReader();
  const app = Fastify({ logger: false });
  discoverRuns(dirs); // fail fast on a missing directory
  const runs = () => discoverRuns(dirs);
  const find = (id: string, kind: RunRef["kind"]) => {
    const r = runs().find((x) => x.id === id && x.kind === kind);
    if (!r) throw new HttpError(404, `no ${kind} run "${id}"`);
    return r;
  };

  app.setErrorHandler((err, _req, reply) => {
    const status = err instanceof HttpError ? err.status : 500;
    void reply.code(status).send({ error: err instanceof Error ? err.message : String(err) });
  });

  const file = (name: string) => readFileSync(join(STATIC_DIR, name), "utf8");
  app.get("/", (_req, reply) => reply.type("text/html; charset=utf-8").send(file("index.html")));
  app.get("/static/app.js", (_req, reply) => reply.type("text/javascript; charset=utf-8").send(file("app.js")));
  app.get("/static/style.css", (_req, reply) => reply.type("text/css; charset=utf-8").send(file("style.css") + TRAJECTORY_CSS));
  app.get("/favicon.ico", (_req, reply) => reply.code(204).send());

  function version(): string {
    return runs()
      .map((r) => {
        if (r.kind === "train") {
          const steps = train.steps(r.dir);
          const last = steps[steps.length - 1];
          return `${r.id}:${train.metrics(r.dir).length}:${steps.length}:${last?.size ?? 0}`;
        }
        const info = evals.info(r);
        return `${r.id}:${info.summary?.updatedAt ?? ""}:${evals.records(r).length}`;
      })
      .join("|");
  }

  app.get("/api/runs", () => {
    const all = runs();
    const roots = [...new Set(all.map((r) => r.root))];
    return {
      runs: all.map((r) =>
        r.kind === "train"
          ? { id: r.id, kind: r.kind, dir: r.dir, steps: train.metrics(r.dir).length, trajectorySteps: train.steps(r.dir).length }
          : { ...evals.info(r), kind: r.kind, dir: r.dir },
      ),
      reports: roots.map((root) => ({ root, report: readDemoReport(root) })).filter((x) => x.report),
    };
  });

  app.get("/api/version", () => ({ version: version() }));

  const chartCache = new Map<string, RenderedChart[]>();
  app.get("/api/charts", async (req) => {
    const q = parse(z.object({ runs: z.string().optional() }), req.query);
    const all = runs().filter((r) => r.kind === "train");
    const wanted = q.runs ? q.runs.split(",").filter(Boolean) : all.map((r) => r.id);
    const chosen = wanted.map((id) => find(id, "train"));
    const data = chosen.map((r) => ({ name: r.id, rows: train.metrics(r.dir) }));
    const key = data.map((d) => `${d.name}:${d.rows.length}`).join("|");
    let charts = chartCache.get(key);
    if (!charts) {
      charts = await renderCharts(data);
      if (chartCache.size > 32) chartCache.clear();
      chartCache.set(key, charts);
    }
    return { steps: Object.fromEntries(data.map((d) => [d.name, d.rows.length])), charts };
  });

  app.get("/api/steps", (req) => {
    const q = parse(z.object({ run: z.string() }), req.query);
    const r = find(q.run, "train");
    return { steps: train.steps(r.dir).map((s) => ({ step: s.step, count: train.count(r.dir, s.step) })) };
  });

  app.get("/api/groups", (req) => {
    const q = parse(GroupsQuery, req.query);
    const r = find(q.run, "train");
    const steps = q.step === "all" ? train.steps(r.dir).map((s) => s.step) : [q.step];
    function* groups(): Generator<TrajectoryGroup> {
      for (const s of steps) yield* groupTrajectories(s, train.trajectories(r.dir, s));
    }
    const page = pageGroups(groups(), q, q.page, q.pageSize);
    return {
      ...page,
      groups: page.groups.map((g) => ({ step: g.step, key: g.key, question: g.question, goldenAnswers: g.goldenAnswers, matches: g.matches, rollouts: g.rollouts.map(rolloutView) })),
    };
  });

  app.get("/api/eval/table", () => {
    const all = runs().filter((r) => r.kind === "eval");
    const byId = new Map(all.map((r) => [r.id, r]));
    return buildEvalTable(
      all.map((r) => evals.info(r)),
      (id) => evals.records(byId.get(id)!),
    );
  });

  const itemLight = (r: EvalRecord) => ({
    id: r.id,
    question: r.question,
    goldenAnswers: r.goldenAnswers,
    pred: r.pred,
    scores: r.scores,
    judge: r.judge?.verdict ?? null,
    searches: r.trajectory?.searches ?? r.retrievals?.length ?? null,
    wrong: isWrong(r),
  });

  app.get("/api/eval/items", (req) => {
    const q = parse(ItemsQuery, req.query);
    const r = find(q.run, "eval");
    const page = pageItems(evals.records(r), { wrongOnly: q.wrong === "1" || q.wrong === "true", text: q.text, page: q.page, pageSize: q.pageSize });
    return { ...evals.info(r), matched: page.matched, total: page.total, page: q.page, pageSize: q.pageSize, items: page.items.map(itemLight) };
  });

  app.get("/api/eval/item", (req) => {
    const q = parse(z.object({ run: z.string(), id: z.string() }), req.query);
    const r = find(q.run, "eval");
    const rec = evals.records(r).find((x) => x.id === q.id);
    if (!rec) throw new HttpError(404, `no item "${q.id}" in ${q.run}`);
    return {
      ...itemLight(rec),
      raw: rec.raw ?? null,
      judgeDetail: rec.judge ?? null,
      retrievals: rec.retrievals ?? [],
      generations: rec.generations ?? [],
      trajectory: rec.trajectory ? { ...rolloutView(rec.trajectory), html: trajectoryHtml(rec.trajectory, { prompt: true }) } : null,
    };
  });

  return app;
}

/** Start the viewer; resolves once it listens. */
export async function startViewer(opts: ViewerOptions): Promise<Viewer> {
  const o = ViewerOptions.parse(opts);
  const app = await createViewerApp(o.dirs);
  await app.listen({ port: o.port, host: o.host });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : o.port;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host === "0.0.0.0" ? "127.0.0.1" : o.host;
  return { url: `http://${host}:${port}/`, close: () => app.close() };
}
