import { describe, expect, test } from "vitest";
import { deriveSeed } from "../rollout/loop.js";
import { stepSeed } from "../train/trainer.js";
import { fnv1a } from "./hash.js";

describe("fnv1a", () => {
  test("known values: the FNV-1a offset basis for an empty string and seed 0; unsigned 32-bit", () => {
    expect(fnv1a(0, "")).toBe(0x811c9dc5);
    expect(fnv1a(0, "a")).toBe(0xe40c292c); // the published FNV-1a 32 of "a"
    for (const s of [0, 1, -1, 2 ** 31, 12345]) expect(fnv1a(s, "x")).toBeGreaterThanOrEqual(0);
  });
  test("reproduces rollout deriveSeed and trainer stepSeed exactly (astral code points included)", () => {
    for (const seed of [0, 1, 7, -3, 2 ** 32 + 5]) {
      for (const id of ["q1", "", "héllo", "𝒳y", "a\u0000b"]) for (const round of [0, 1, 17]) expect(fnv1a(seed, `${id}\u0000${round}`)).toBe(deriveSeed(seed, id, round));
      for (const step of [0, 1, 99, 12345]) expect(fnv1a(seed, `step:${step}`)).toBe(stepSeed(seed, step));
    }
  });
});
