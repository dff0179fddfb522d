import { describe, expect, test } from "vitest";
import { UserError } from "../util/errors.js";
import type { DemoReport, MethodReport } from "./demo-report.js";
import { aggregateSeeds, headlineNumbers, parseSeeds, renderSeedsMarkdown } from "./seeds.js";

const method = (em: number, searches: number, extra: Partial<MethodReport> = {}): MethodReport => ({ n: 10, em, f1: em + 0.1, acc: em, searches_mean: searches, by_hops: { "1": { n: 5, em, searches_mean: 1 }, "2": { n: 5, em: em / 2, searches_mean: searches } }, ...extra });
const report = (em: number, pass: boolean, reflection?: number): DemoReport => ({
  train: { steps: Array.from({ length: 20 }, (_, i) => ({ step: i + 1, reward_mean: 0, answer_f1_mean: i < 10 ? 0.1 : em, format_rate: 1, searches_mean: 1 + i / 20, response_tokens_mean: 50, seconds: 1, ...(reflection !== undefined ? { reflection_recovery: reflection } : {}) })) },
  eval: { research: method(em, 2), "naive-rag": method(0.1, 1) },
  world: {}, base_model: {}, config: {},
  checks: { em_1hop: { value: em, target: "≥ 0.5", pass }, em_2hop: { value: null, target: "≥ 0.25", pass: null } },
});

describe("demo seeds", () => {
  test("parseSeeds: a comma-separated list of distinct integers, else a clear error", () => {
    expect(parseSeeds("1,2,3")).toEqual([1, 2, 3]);
    expect(parseSeeds(" 7 ")).toEqual([7]);
    for (const bad of ["", "1,,2", "1,a", "1.5", "1,1"]) expect(() => parseSeeds(bad), bad).toThrow(UserError);
    expect(() => parseSeeds("1,x")).toThrow(/--seeds: expected a comma-separated list of integers/);
  });

  test("headlineNumbers: per-method EM/F1/searches and per-hop EM, checks, train curve ends", () => {
    const h = headlineNumbers(report(0.6, true, 0.3));
    expect(h["eval.research.em"]).toBe(0.6);
    expect(h["eval.research.by_hops.2.em"]).toBe(0.3);
    expect(h["eval.naive-rag.searches_mean"]).toBe(1);
    expect(h["checks.em_1hop"]).toBe(0.6);
    expect("checks.em_2hop" in h).toBe(false); // null: left out
    expect(h["train.answer_f1_first10"]).toBeCloseTo(0.1);
    expect(h["train.answer_f1_last10"]).toBeCloseTo(0.6);
    expect(h["train.reflection_recovery_last10"]).toBeCloseTo(0.3);
  });

  test("aggregateSeeds: mean ± sample std of each number, pass counts per check", () => {
    const s = aggregateSeeds([{ seed: 1, report: report(0.4, false, 0.2) }, { seed: 2, report: report(0.6, true) }, { seed: 3, report: report(0.8, true, 0.4) }]);
    expect(s.seeds).toEqual([1, 2, 3]);
    const em = s.metrics["eval.research.em"];
    expect(em.mean).toBeCloseTo(0.6, 12);
    expect(em.std).toBeCloseTo(0.2, 12); // sqrt(((−.2)² + 0 + .2²) / 2)
    expect([em.min, em.max, em.n]).toEqual([0.4, 0.8, 3]);
    expect(em.values).toEqual({ "1": 0.4, "2": 0.6, "3": 0.8 });
    expect(s.metrics["eval.naive-rag.em"].std).toBeCloseTo(0, 12);
    // a number only some runs have: over those
    expect(s.metrics["train.reflection_recovery_last10"]).toMatchObject({ n: 2, mean: expect.closeTo(0.3, 12) as number });
    expect(s.checks).toEqual({ em_1hop: { passed: 2, of: 3 }, em_2hop: { passed: 0, of: 0 } });
    const md = renderSeedsMarkdown(s);
    expect(md).toContain("| eval.research.em | 60.0 ± 20.0 | 40.0 | 80.0 | 40.0 | 60.0 | 80.0 |");
    expect(md).toContain("| eval.research.searches_mean | 2.00 ± 0.00 |");
    expect(md).toContain("| em_1hop | 2 of 3 |");
    expect(aggregateSeeds([{ seed: 5, report: report(0.5, true) }]).metrics["eval.research.em"].std).toBe(0);
    expect(() => aggregateSeeds([])).toThrow(UserError);
  });
});
