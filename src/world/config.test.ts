import { describe, expect, it } from "vitest";
import { WorldConfigSchema } from "./config.js";
import { DemoConfigSchema } from "./demo.js";
import { PretrainConfigSchema } from "./pretrain.js";

describe("world, demo and pre-training configs are strict", () => {
  it("a typo is an error naming the key, not a silent default; a removed pre-training option says so", () => {
    expect(WorldConfigSchema.safeParse({ sed: 1 }).success).toBe(false);
    expect(WorldConfigSchema.safeParse({ sizes: { poeple: 3 } }).success).toBe(false);
    expect(DemoConfigSchema.safeParse({ quik: true }).success).toBe(false);
    expect(DemoConfigSchema.safeParse({ quick: true }).success).toBe(true);
    const typo = PretrainConfigSchema.safeParse({ stpes: 10 });
    expect(typo.success).toBe(false);
    expect(typo.error!.issues[0].message).toContain("stpes");
    expect(PretrainConfigSchema.safeParse({ copyWeight: 8 }).error!.issues[0].message).toMatch(/copyWeight.*removed/);
  });
});
