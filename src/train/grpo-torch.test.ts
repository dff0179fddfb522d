/**
 * GRPO against PyTorch: advantages, loss parts and the gradients w.r.t. log-probs and entropy from `grpo.ts` equal
 * those of a torch (float64 autograd) transcription of verl's core_algos. Skipped where python3 has no torch.
 */
import { describe, expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../util/rng.js";
import { groupAdvantages, grpoLoss, LOSS_AGG_MODES } from "./grpo.js";

const PY = "/usr/bin/python3";
const hasTorch = spawnSync(PY, ["-c", "import torch"]).status === 0;
const SCRIPT = join(import.meta.dirname, "testing", "grpo_torch.py");

describe.skipIf(!hasTorch)("GRPO vs a PyTorch transcription of verl", () => {
  test.each(LOSS_AGG_MODES.map((m, i) => [m, i + 1] as const))("%s", (lossAgg, seed) => {
    const rng = createRng(seed);
    const G = 4;
    const B = 8;
    const T = 7;
    const mat = (f: () => number) => Array.from({ length: B }, () => Array.from({ length: T }, f));
    const logp = mat(() => -2.5 * rng.next());
    const input = {
      logp,
      entropy: mat(() => 1.5 * rng.next()),
      oldLogp: logp.map((r) => r.map((v) => v + 0.5 * rng.normal())),
      refLogp: logp.map((r) => r.map((v) => v + 0.7 * rng.normal())),
      lossMask: mat(() => (rng.next() < 0.75 ? 1 : 0)),
      rewards: Array.from({ length: B }, () => [0, 0.1, 1, 0.5][rng.int(4)]),
      groupSize: G,
      advEps: 1e-6,
      clipRatio: 0.2,
      klCoef: 0.05,
      entropyCoef: 0.02,
      lossAgg,
    };
    const r = spawnSync(PY, [SCRIPT], { input: JSON.stringify(input), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const ref = JSON.parse(r.stdout) as Record<string, number | number[] | number[][]>;

    const adv = groupAdvantages(input.rewards, G, input.advEps);
    (ref.advantages as number[]).forEach((a, i) => expect(adv[i]).toBeCloseTo(a, 10));
    const lp = tf.variable(tf.tensor2d(input.logp));
    const ent = tf.variable(tf.tensor2d(input.entropy));
    let parts: Record<string, number> = {};
    const { grads } = tf.variableGrads(() => {
      const o = grpoLoss(
        { logp: lp, entropy: ent, oldLogp: tf.tensor2d(input.oldLogp), refLogp: tf.tensor2d(input.refLogp), advantages: tf.tensor2d(adv, [B, 1]), lossMask: tf.tensor2d(input.lossMask) },
        { clipRatio: 0.2, klCoef: input.klCoef, entropyCoef: input.entropyCoef, lossAgg },
      );
      parts = Object.fromEntries(Object.entries(o).map(([k, v]) => [k, (v as tf.Scalar).dataSync()[0]]));
      return o.loss;
    }, [lp, ent]);
    for (const k of ["loss", "pgLoss", "kl", "entropy", "clipFrac", "approxKl"]) expect(parts[k], k).toBeCloseTo(ref[k] as number, 5);
    const gl = grads[lp.name].arraySync() as number[][];
    const ge = grads[ent.name].arraySync() as number[][];
    (ref.gradLogp as number[][]).forEach((row, b) => row.forEach((g, t) => expect(gl[b][t], `dL/dlogp[${b},${t}]`).toBeCloseTo(g, 5)));
    (ref.gradEntropy as number[][]).forEach((row, b) => row.forEach((g, t) => expect(ge[b][t], `dL/dH[${b},${t}]`).toBeCloseTo(g, 6)));
    lp.dispose();
    ent.dispose();
  });
});
