import { expect, test } from "vitest";
import { lrAt } from "./schedule.js";

/** The two schedules this one replaced, verbatim: pre-training's (warm-up + cosine) and GRPO's (warm-up + linear). */
function oldPretrainLr(c: { lr: number; warmup: number; steps: number; minLrRatio: number }, step: number): number {
  if (step < c.warmup) return (c.lr * (step + 1)) / c.warmup;
  const p = Math.min(1, (step - c.warmup) / Math.max(1, c.steps - c.warmup));
  return c.lr * (c.minLrRatio + (1 - c.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * p)));
}
function oldGrpoLr(c: { lr: number; warmupSteps: number; lrDecayFrom: number | null; lrDecaySteps: number; lrDecayTo: number }, step: number): number {
  const warm = c.warmupSteps <= 0 ? 1 : Math.min(1, (step + 1) / c.warmupSteps);
  if (c.lrDecayFrom === null || step < c.lrDecayFrom) return c.lr * warm;
  const done = Math.min(1, (step - c.lrDecayFrom) / c.lrDecaySteps);
  return c.lr * warm * (1 - (1 - c.lrDecayTo) * done);
}

test("warm-up + cosine: bit-identical to the pre-training schedule it replaced (every shipped stage's values)", () => {
  for (const lr of [0.002, 0.0015, 0.001]) for (const [warmup, steps] of [[40, 700], [20, 600], [20, 500], [5, 40], [0, 30], [100, 3000]]) {
    const sched = { lr, warmup, decay: { shape: "cosine" as const, from: warmup, steps: steps - warmup, to: 0.1 } };
    for (let s = 0; s < steps + 10; s++) expect(lrAt(sched, s), `lr ${lr} warmup ${warmup} step ${s}`).toBe(oldPretrainLr({ lr, warmup, steps, minLrRatio: 0.1 }, s));
  }
});

test("no warm-up + linear decay: bit-identical to the GRPO schedule it replaced; constant without a decay", () => {
  for (const c of [{ lr: 0.0003, lrDecayFrom: 300, lrDecaySteps: 200, lrDecayTo: 0.1 }, { lr: 2, lrDecayFrom: 10, lrDecaySteps: 4, lrDecayTo: 0.25 }, { lr: 1e-6, lrDecayFrom: null, lrDecaySteps: 100, lrDecayTo: 0.1 }]) {
    const sched = { lr: c.lr, warmup: 0, decay: c.lrDecayFrom === null ? null : { shape: "linear" as const, from: c.lrDecayFrom, steps: c.lrDecaySteps, to: c.lrDecayTo } };
    for (let s = 0; s < 600; s++) expect(lrAt(sched, s), `step ${s}`).toBe(oldGrpoLr({ ...c, warmupSteps: 0 }, s));
  }
  // with a warm-up the rate is lr × (s + 1) / warmup (GRPO's lr × ((s + 1) / warmup) may differ in the last bit)
  for (let s = 0; s < 12; s++) expect(lrAt({ lr: 1, warmup: 4 }, s)).toBeCloseTo(oldGrpoLr({ lr: 1, warmupSteps: 4, lrDecayFrom: null, lrDecaySteps: 1, lrDecayTo: 1 }, s), 15);
  expect([0, 1, 3, 9].map((s) => lrAt({ lr: 1, warmup: 4 }, s))).toEqual([0.25, 0.5, 1, 1]);
});
