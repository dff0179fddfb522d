/**
 * The ggml training backend against the tfjs one (the spec: tfjs autodiff of train/grpo.ts's loss through the tfjs
 * model, cross-checked against PyTorch): the same rows, config and weights give the same update statistics and the
 * same weights after AdamW, on the one-pass path (π_old = π_θ, no KL) and the two-pass paths (later mini-batches,
 * KL to a reference), with clipping.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "../tensor/backend.js";
import { createTrainableModel } from "../model/trainable.js";
import { randomWeights, tinyQwen } from "../model/trainable-fixtures.js";
import { AdamWConfigSchema, createAdamW } from "../model/optim.js";
import { openGgml } from "../ggml/lib.js";
import { GgmlWeights } from "../ggml/model.js";
import { GgmlAdamW, GgmlPolicy } from "../ggml/train.js";
import type { WeightMap } from "../model/weights.js";
import { TrainConfig } from "./config.js";
import { createGgmlBackend } from "./ggml-backend.js";
import { createInProcessBackend } from "./backend.js";
import type { UpdateRow } from "./update.js";

const config = tinyQwen(false);
const EOS = 2;
const rows: UpdateRow[] = [
  { seq: { promptIds: [1, 5, 6], responseIds: [3, 4, 7, 9, EOS], policyMask: [1, 1, 1, 1, 1] }, adv: 1.2, rolloutLogp: null },
  { seq: { promptIds: [1, 5], responseIds: [8, 11, 12, 13, 9, 30, EOS], policyMask: [1, 0, 0, 1, 1, 1, 1] }, adv: -0.4, rolloutLogp: null },
  { seq: { promptIds: [1, 3], responseIds: [5, EOS], policyMask: [1, 1] }, adv: -0.7, rolloutLogp: null },
  { seq: { promptIds: [1, 3, 4, 4], responseIds: [20, 21, 22, EOS], policyMask: [1, 1, 1, 1] }, adv: 0.9, rolloutLogp: null },
];

async function both(over: Record<string, unknown>) {
  const cfg = TrainConfig.parse({ model: "m", data: "d", index: "i", microBatchSize: 2, klCoef: 0, entropyCoef: 0.05, ...over });
  const w = randomWeights(config, 7);
  const adam = { lr: 1e-2, weightDecay: 0.01 };
  // tfjs
  const policy = createTrainableModel(config, w);
  const reference = cfg.klCoef > 0 ? createTrainableModel(config, w, { trainable: false }) : undefined;
  const optimizer = createAdamW(policy.params, adam);
  const tb = createInProcessBackend({ policy, reference, optimizer, syncWeights: () => {}, eosId: EOS });
  // ggml
  const rt = openGgml({ device: "cpu" });
  const gw = new GgmlWeights(rt, config, w);
  const gpol = new GgmlPolicy(gw);
  const rw = reference ? new GgmlWeights(rt, config, w) : undefined;
  const gref = rw && new GgmlPolicy(rw, false);
  const gopt = new GgmlAdamW(gpol, AdamWConfigSchema.parse(adam));
  const gb = createGgmlBackend({ policy: gpol, reference: gref, optimizer: gopt, eosId: EOS });
  const out: Array<{ stats: Record<string, number>; weights: WeightMap; steps: number }> = [];
  for (const b of [tb, gb]) {
    const u1 = await b.update(rows, cfg, 1e-2);
    const u2 = await b.update(rows, cfg, 1e-2); // a second step: AdamW's moments and a moved policy
    expect(u1.skipReason).toBeUndefined();
    out.push({ stats: { ...u2.stats }, weights: (await b.save(2)).weights, steps: b.optimizerSteps() });
  }
  policy.dispose();
  reference?.dispose();
  optimizer.dispose();
  gopt.dispose();
  gpol.dispose();
  gref?.dispose();
  rw?.dispose();
  gw.dispose();
  return { tfjs: out[0], ggml: out[1] };
}

function expectSame(r: Awaited<ReturnType<typeof both>>) {
  expect(r.ggml.steps).toBe(r.tfjs.steps);
  for (const k of ["loss", "pg", "kl", "ent", "clip", "akl", "gnorm"]) {
    const a = r.ggml.stats[k], b = r.tfjs.stats[k];
    expect(Math.abs(a - b), `${k}: ggml ${a} vs tfjs ${b}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(b)));
  }
  let max = 0;
  for (const [name, t] of r.tfjs.weights) {
    const g = r.ggml.weights.get(name)!.data;
    for (let i = 0; i < g.length; i++) max = Math.max(max, Math.abs(g[i] - t.data[i]));
  }
  expect(max).toBeLessThan(1e-4); // lr 1e-2: Adam steps of ~1e-2 per parameter agree to 1%
}

describe("train/ggml-backend", () => {
  beforeAll(async () => {
    await initTensorBackend({ quiet: true });
  });

  it("one pass per micro-batch (π_old = π_θ, no KL): statistics and updated weights equal the tfjs backend's", async () => {
    const r = await both({});
    expect(r.ggml.stats.ent).toBeGreaterThan(0);
    expect(r.ggml.stats.akl).toBe(0);
    expectSame(r);
  });

  it("two mini-batches per step (π_old from before the first update), clipped gradient", async () => {
    const r = await both({ updatesPerStep: 2, gradClip: 0.05 });
    expect(r.ggml.steps).toBe(4);
    expect(r.ggml.stats.gnorm).toBeGreaterThan(0.05);
    expectSame(r);
  });

  it("KL to a frozen reference", async () => {
    const r = await both({ klCoef: 0.3 });
    expect(r.ggml.stats.kl).toBeGreaterThan(0);
    expectSame(r);
  });
});
