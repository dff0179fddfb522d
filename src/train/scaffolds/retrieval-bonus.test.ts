import { describe, expect, it } from "vitest";
import { createRetrievalBonus, retrievalBonusAt, RetrievalBonusOptions } from "./retrieval-bonus.js";
import { createRng } from "../../util/rng.js";
import type { Trajectory } from "../../rollout/types.js";

describe("retrieval-bonus scaffold", () => {
  it("weight from a step, constant or annealed to 0", () => {
    const c = RetrievalBonusOptions.parse({ weight: 0.4, from: 10, annealSteps: 4 });
    expect([0, 10, 12, 14, 30].map((st) => retrievalBonusAt(c, st))).toEqual([0, 0.4, 0.2, 0, 0]);
    expect([0, 50].map((st) => retrievalBonusAt(RetrievalBonusOptions.parse({ weight: 0.3 }), st))).toEqual([0.3, 0.3]);
    expect(retrievalBonusAt(RetrievalBonusOptions.parse({ weight: 0.3, from: 5 }), 4)).toBe(0);
  });
  it("adds weight × the share of gold passages retrieved (0 when the data names none), and logs the weight", () => {
    const sc = createRetrievalBonus(RetrievalBonusOptions.parse({ weight: 0.4, from: 10, annealSteps: 4 }));
    const e = (goldRecall: number | null) => ({ prompt: { id: "q", question: "q", goldenAnswers: [] }, trajectory: {} as Trajectory, goldRecall });
    sc.beginStep!({ step: 12, G: 1, rng: createRng(1) }, []);
    expect([e(0.5), e(1), e(null)].map((x) => sc.reward!(x))).toEqual([0.1, 0.2, 0]);
    expect(sc.metrics!([])).toEqual({ weight: 0.2 });
  });
});
