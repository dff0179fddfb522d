import { expect, test } from "vitest";
import { mean, std } from "./stats.js";

test("mean and sample std: empty and single lists are 0; Bessel's n − 1", () => {
  expect(mean([])).toBe(0);
  expect(mean([1, 2, 3, 6])).toBe(3);
  expect(std([])).toBe(0);
  expect(std([5])).toBe(0);
  expect(std([1, 2, 3, 6])).toBeCloseTo(Math.sqrt(14 / 3), 14);
});
