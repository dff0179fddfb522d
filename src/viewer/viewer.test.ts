/**
 * The viewer's data layer, API and report against a real run directory: a short GRPO run of the trainer's tiny
 * search task (E's session writer) and two evaluations of it (F's eval runner), laid out like `research demo`'s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { makeRun, replicateRun } from "./testing/make-run.js";
import { discoverRuns, rootNames } from "./runs.js";
import { createTrainReader, groupTrajectories, pageGroups } from "./train-data.js";
import { METRICS, REFLECTION_METRICS, renderCharts, scaffoldMetrics } from "./charts.js";
import { createViewerApp, interventionCounts, startViewer } from "./server.js";
import { writeReport } from "./report.js";
import { readMetrics, truncateMetrics } from "../train/run.js";
import { buildEvalTable, createEvalReader, isWrong } from "./eval-data.js";
import { main } from "../cli/main.js";

let root: string;
let app: FastifyInstance;
const STEPS = 3;
const pointsIn = (svg: string) => (svg.match(/aria-roledescription="point"/g) ?? []).length;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "viewer-"));
  await makeRun(join(root, "demo"), STEPS);
  app = await createViewerApp([join(root, "demo")]);
}, 180_000);
afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

const get = async (url: string) => {
  const r = await app.inject({ method: "GET", url });
  return { status: r.statusCode, body: r.json() as Record<string, any> };
};

describe("runs and readers", () => {
  it("finds the training run and both evaluations under a demo-style directory", () => {
    const runs = discoverRuns([join(root, "demo")]);
    expect(runs.map((r) => [r.id, r.kind])).toEqual([
      ["demo/eval/base-tiny-a", "eval"],
      ["demo/eval/base-tiny-b", "eval"],
      ["demo/train", "train"],
    ]);
    expect(() => discoverRuns([join(root, "nope")])).toThrow(/not a directory/);
    expect(rootNames(["/a/x/train", "/b/y/train", "/c/run"])).toEqual(["x/train", "y/train", "run"]);
    expect(rootNames(["/a/x/train", "/b/x/train"])).toEqual(["x/train~1", "x/train~2"]);
  });

  it("reads metrics incrementally: a half-written line waits, a truncated file is read again", () => {
    const dir = join(root, "demo", "train");
    const reader = createTrainReader();
    const full = readMetrics(dir);
    expect(reader.metrics(dir).map((m) => m.step)).toEqual([1, 2, 3]);
    const line = JSON.stringify({ ...full[2], step: 4 });
    appendFileSync(join(dir, "metrics.jsonl"), line.slice(0, 40));
    expect(reader.metrics(dir)).toHaveLength(3);
    appendFileSync(join(dir, "metrics.jsonl"), line.slice(40) + "\n");
    expect(reader.metrics(dir).map((m) => m.step)).toEqual([1, 2, 3, 4]);
    truncateMetrics(dir, Buffer.byteLength(readFileSync(join(dir, "metrics.jsonl"), "utf8").split("\n").slice(0, 3).join("\n") + "\n"));
    expect(reader.metrics(dir).map((m) => m.step)).toEqual([1, 2, 3]);
  });

  it("groups a step's rollouts by prompt (G = 3) and filters without splitting groups", () => {
    const dir = join(root, "demo", "train");
    const reader = createTrainReader();
    expect(reader.steps(dir).map((s) => s.step)).toEqual([1, 2, 3]);
    const rows = reader.trajectories(dir, 1);
    expect(reader.count(dir, 1)).toBe(rows.length);
    const groups = groupTrajectories(1, rows);
    expect(groups).toHaveLength(4);
    for (const g of groups) expect(g.rollouts).toHaveLength(3);
    const all = pageGroups(groups, {}, 0, 10);
    expect(all.matchedRollouts).toBe(12);
    const searched = pageGroups(groups, { minSearches: 1 }, 0, 10);
    expect(searched.matchedRollouts).toBe(rows.filter((t) => t.searches >= 1).length);
    for (const g of searched.groups) {
      expect(g.rollouts).toHaveLength(3);
      g.rollouts.forEach((t, i) => expect(g.matches[i]).toBe(t.searches >= 1));
    }
    const top = Math.max(...rows.map((t) => t.reward ?? 0));
    expect(pageGroups(groups, { minReward: top }, 0, 10).matchedRollouts).toBe(rows.filter((t) => t.reward === top).length);
    expect(pageGroups(groups, { text: rows[5].question.toUpperCase() }, 0, 10).groups.map((g) => g.question)).toEqual([rows[5].question]);
    expect(pageGroups(groups, { question: rows[5].question.slice(0, -1) }, 0, 10).matchedGroups).toBe(0);
    const paged = pageGroups(groups, {}, 1, 3);
    expect(paged.groups.map((g) => g.key)).toEqual([groups[3].key]);
  });
});

describe("charts", () => {
  it("draws one point per logged step per run, overlaying runs", async () => {
    const rows = createTrainReader().metrics(join(root, "demo", "train"));
    const charts = await renderCharts([
      { name: "a", rows },
      { name: "b", rows: rows.slice(0, 2) },
    ]);
    // METRICS, then the reflection metrics the trainer logged (a null share is no point)
    const logged = (d: (typeof REFLECTION_METRICS)[number], rs: typeof rows) => rs.filter((m) => d.value(m) !== undefined).length;
    const reflection = REFLECTION_METRICS.filter((d) => logged(d, rows) > 0);
    expect(reflection.length).toBeGreaterThan(0);
    expect(charts.map((c) => c.key)).toEqual([...METRICS, ...reflection].map((m) => m.key));
    for (const c of charts.slice(METRICS.length)) {
      const d = reflection.find((x) => x.key === c.key)!;
      expect(pointsIn(c.svg), c.key).toBe(logged(d, rows) + logged(d, rows.slice(0, 2)));
    }
    for (const c of charts.slice(0, METRICS.length)) {
      expect(c.points).toEqual({ a: STEPS, b: 2 });
      expect(pointsIn(c.svg)).toBe(STEPS + 2);
      expect(c.svg.startsWith("<svg")).toBe(true);
    }
  });
  it("draws every scaffold/<name>/<key> metric a run logged, knowing no scaffold by name; old runs' names too", async () => {
    const rows = [1, 2, 3].map((step) => ({ step, reward_mean: 0.5, "scaffold/min-searches/prob": 1 - step / 10, "scaffold/any-new-one/rate": step }));
    const old = [1, 2].map((step) => ({ step, forced_follow_up_prob: 0.5, max_hops: 0 }));
    expect(scaffoldMetrics([{ rows }, { rows: old }]).map((m) => [m.key, m.title])).toEqual([
      ["scaffold-min-searches-prob", "Scaffold min-searches: prob"],
      ["scaffold-any-new-one-rate", "Scaffold any-new-one: rate"],
    ]);
    const charts = await renderCharts([{ name: "new", rows }, { name: "old", rows: old }]);
    const prob = charts.find((c) => c.key === "scaffold-min-searches-prob")!;
    expect(prob.points).toEqual({ new: 3, old: 2 });
    expect(charts.find((c) => c.key === "scaffold-any-new-one-rate")!.points).toEqual({ new: 3 });
  });
  it("lists a rollout's interventions (and old runs' forced-search fields)", () => {
    expect(interventionCounts({ interventions: { "min-searches/forced_searches": 1 } } as never)).toEqual({ "min-searches/forced_searches": 1 });
    expect(interventionCounts({ forced: true, forcedSearches: 2 } as never)).toEqual({ "forced first search": 1, "forced follow-up searches": 2 });
    expect(interventionCounts({} as never)).toEqual({});
  });
});

describe("viewer API", () => {
  it("serves the page, runs and charts", async () => {
    const page = await app.inject({ method: "GET", url: "/" });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<script type="module" src="/static/app.js">');
    expect((await app.inject({ method: "GET", url: "/static/app.js" })).headers["content-type"]).toMatch(/javascript/);
    const runs = await get("/api/runs");
    expect(runs.body.runs.find((r: any) => r.kind === "train").steps).toBe(STEPS);
    const charts = await get("/api/charts");
    expect(charts.body.steps).toEqual({ "demo/train": STEPS });
    expect(pointsIn(charts.body.charts[0].svg)).toBe(STEPS);
  });

  it("pages groups with rendered trajectories; bad queries get 400/404 with a message", async () => {
    const r = await get("/api/groups?run=demo/train&step=2&pageSize=2");
    expect(r.status).toBe(200);
    expect(r.body.matchedGroups).toBe(4);
    expect(r.body.groups).toHaveLength(2);
    const ro = r.body.groups[0].rollouts[0];
    expect(ro.html).toContain("tag-think");
    expect(ro.tokens).toBeGreaterThan(0);
    const bad = await get("/api/groups?run=demo/train&minReward=abc");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/minReward/);
    expect((await get("/api/groups?run=nope")).status).toBe(404);
  });

  it("builds the methods × datasets table and filters wrong answers", async () => {
    const t = await get("/api/eval/table");
    expect(t.body.datasets).toEqual(["tiny-a", "tiny-b"]);
    expect(t.body.rows.map((r: any) => [r.label, r.methodLabel])).toEqual([["base", "ReSearch"]]);
    const all = await get("/api/eval/items?run=demo/eval/base-tiny-a");
    const wrong = await get("/api/eval/items?run=demo/eval/base-tiny-a&wrong=1");
    expect(all.body.total).toBe(8);
    expect(wrong.body.matched).toBe(all.body.items.filter((i: any) => i.wrong).length);
    for (const i of wrong.body.items) expect(i.wrong).toBe(true);
    const item = await get(`/api/eval/item?run=demo/eval/base-tiny-a&id=${all.body.items[0].id}`);
    expect(item.body.trajectory.html).toContain("tag-answer");
    expect((await get("/api/eval/item?run=demo/eval/base-tiny-a&id=zzz")).status).toBe(404);
  });

  it("puts a summary of another writer (the demo's oracle: no method, no dataset) in the table by its folder name", () => {
    const reader = createEvalReader();
    const runs = discoverRuns([join(root, "demo")]).filter((r) => r.kind === "eval");
    const infos = runs.map((r) => reader.info(r));
    const oracle = { id: "demo/eval/oracle", method: "oracle", dataset: "", label: "", summary: { ...infos[0].summary!, method: undefined, dataset: undefined, total: undefined, search: undefined, searches_mean: 2 } as never };
    const recs = (id: string) => reader.records(runs.find((r) => r.id === id)!);
    const one = buildEvalTable([infos[0], oracle], recs); // one dataset: the oracle joins it
    expect(one.datasets).toEqual(["tiny-a"]);
    expect(one.rows.map((r) => [r.label, r.method, r.cells[0]?.searches])).toEqual([["", "oracle", 2], ["base", "research", infos[0].summary!.search!.searchesPerQuestion]]);
    const two = buildEvalTable([...infos, oracle], recs); // two: it gets a column of its own
    expect(two.datasets).toEqual(["?", "tiny-a", "tiny-b"]);
    expect(two.rows[0].cells.map((c) => c?.searches ?? null)).toEqual([2, null, null]);
  });

  it("pages 10,000 trajectories quickly (file parsed once, then cached)", async () => {
    const dir = join(root, "big");
    replicateRun(join(root, "demo", "train"), dir, { steps: 100, perStep: 100 });
    const big = await createViewerApp([dir]);
    try {
      let t0 = performance.now();
      const first = await big.inject({ method: "GET", url: "/api/groups?run=big&step=all&minSearches=1&page=3" });
      const firstMs = performance.now() - t0;
      expect(first.statusCode).toBe(200);
      expect(first.json().totalRollouts).toBe(10_000);
      expect(first.json().groups).toHaveLength(10);
      t0 = performance.now();
      const again = await big.inject({ method: "GET", url: "/api/groups?run=big&step=all&text=e1&page=7" });
      const againMs = performance.now() - t0;
      expect(again.statusCode).toBe(200);
      expect(firstMs).toBeLessThan(5000);
      expect(againMs).toBeLessThan(1500);
    } finally {
      await big.close();
    }
  });

  it("listens on a real port", async () => {
    const v = await startViewer({ dirs: [join(root, "demo")], port: 0 });
    try {
      const res = await fetch(v.url + "api/version");
      expect(res.status).toBe(200);
      expect(((await res.json()) as { version: string }).version).toContain("demo/train:3:3");
    } finally {
      await v.close();
    }
  });
});

describe("CLI", () => {
  it("research report writes the file; research view rejects a bad port", async () => {
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    try {
      await main(["node", "research", "report", join(root, "demo"), "--out", join(root, "cli", "r.html"), "--trajectories", "1"]);
      expect(existsSync(join(root, "cli", "r.html"))).toBe(true);
      expect(existsSync(join(root, "cli", "r-plots", "searches.svg"))).toBe(true);
      await main(["node", "research", "view", join(root, "demo"), "--port", "x"]);
      expect(process.exitCode).toBe(1);
      expect(err.join("")).toContain('error: --port: expected an integer in 0..65535, got "x"');
      await main(["node", "research", "report", join(root, "missing"), "--out", join(root, "cli", "m.html")]);
      expect(err.join("")).toMatch(/error: not a directory: .*missing/);
    } finally {
      process.stderr.write = write;
      process.exitCode = 0;
    }
  });
});

describe("report", () => {
  it("writes one self-contained HTML file with inline SVG charts, the eval table, trajectories and plots beside it", async () => {
    const out = join(root, "out", "report.html");
    const r = await writeReport({ dirs: [join(root, "demo")], out });
    const html = readFileSync(out, "utf8");
    expect(html).not.toMatch(/<script|<link|<img|\ssrc=|\shref=|url\(/i);
    const rows = createTrainReader().metrics(join(root, "demo", "train"));
    const reflection = REFLECTION_METRICS.map((d) => rows.filter((m) => d.value(m) !== undefined).length).filter((n) => n > 0);
    expect((html.match(/<figure class="chart"/g) ?? []).length).toBe(METRICS.length + reflection.length);
    expect(pointsIn(html)).toBe(METRICS.length * STEPS + reflection.reduce((a, b) => a + b, 0));
    expect(html).toContain("ReSearch</td>");
    expect(html).toContain("tag-search");
    expect(r.plots).toHaveLength(METRICS.length + reflection.length);
    for (const p of r.plots) expect(readFileSync(p, "utf8")).toMatch(/^<\?xml[^]*<svg/);
    expect(existsSync(join(root, "out", "report-plots", "reward.svg"))).toBe(true);
    const records = readFileSync(join(root, "demo", "eval", "base-tiny-a", "predictions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    if (records.some(isWrong) && records.some((x) => !isWrong(x))) expect(html).toMatch(/— <span class="right">right/);
    await expect(writeReport({ dirs: [join(root, "out")], out: join(root, "x.html") })).rejects.toThrow(/no training or evaluation runs/);
  });
});
