import { describe, expect, it } from "vitest";
import { createHopCurriculum, hopStageAt, HopCurriculumOptions, maxHopsAt } from "./hop-curriculum.js";
import { createRng } from "../../util/rng.js";

describe("hop-curriculum scaffold", () => {
  const o = HopCurriculumOptions.parse({ stages: [{ untilStep: 3, maxHops: 1 }, { untilStep: 6, maxHops: 2 }] });
  it("stages the hop limit by step; after the last stage every question", () => {
    expect([0, 2, 3, 5, 6].map((s) => maxHopsAt(o, s))).toEqual([1, 1, 2, 2, null]);
    expect([0, 3, 7].map((s) => hopStageAt(o, s))).toEqual([0, 1, 2]);
    expect(() => HopCurriculumOptions.parse({ stages: [{ untilStep: 6, maxHops: 1 }, { untilStep: 3, maxHops: 2 }] })).toThrow(/increasing untilStep/);
  });
  it("gives the sampler each stage's pool and logs the step's limit", () => {
    const sc = createHopCurriculum(o);
    const ex = [1, 2, 3].map((h) => ({ id: `q${h}`, question: "q", goldenAnswers: [], hops: h }));
    expect(sc.stages!.pool(0, 0, ex).map((e) => e.id)).toEqual(["q1"]);
    expect(sc.stages!.pool(1, 4, ex).map((e) => e.id)).toEqual(["q1", "q2"]);
    expect(sc.stages!.pool(2, 9, ex)).toBe(ex);
    sc.beginStep!({ step: 4, G: 1, rng: createRng(1) }, []);
    expect(sc.metrics!([])).toEqual({ max_hops: 2 });
    sc.beginStep!({ step: 9, G: 1, rng: createRng(1) }, []);
    expect(sc.metrics!([])).toEqual({ max_hops: null });
  });
});
