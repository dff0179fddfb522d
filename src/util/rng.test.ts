import { describe, expect, it } from "vitest";
import { createRng, pickWeighted } from "./rng.js";

describe("pickWeighted", () => {
  it("draws indices in proportion to the weights, never a zero weight, one rng draw each", () => {
    const rng = createRng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[pickWeighted(rng, [1, 0, 2, 1])]++;
    expect(counts[1]).toBe(0);
    expect(counts[0] / 20_000).toBeCloseTo(0.25, 1);
    expect(counts[2] / 20_000).toBeCloseTo(0.5, 1);
    const a = createRng(5);
    const b = createRng(5);
    pickWeighted(a, [1, 2, 3]);
    b.next();
    expect(a.next()).toBe(b.next());
  });
  it("returns the fallback when the draw runs past every weight", () => {
    const one = { next: () => 0.999999, int: () => 0, normal: () => 0, getState: () => [], setState: () => {} };
    expect(pickWeighted(one, [0, 0], 0)).toBe(0);
    expect(pickWeighted(one, [0, 0])).toBe(1);
  });
});
