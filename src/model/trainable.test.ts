import { beforeAll, describe, expect, test } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { initTensorBackend } from "../tensor/backend.js";
import { createTrainableModel, initWeights } from "./trainable.js";
import { referenceLogits, referenceTokenLogprobs } from "./trainable-reference.js";
import { randomWeights, tinyQwen } from "./trainable-fixtures.js";
import { createRng } from "../util/rng.js";

const randomIds = (n: number, V: number, seed: number) => {
  const rng = createRng(seed);
  return Int32Array.from({ length: n }, () => rng.int(V));
};

beforeAll(async () => {
  await initTensorBackend({ quiet: true });
});

describe.each([false, true])("trainable model (tied embeddings: %s)", (tied) => {
  const config = tinyQwen(tied);
  const weights = randomWeights(config, tied ? 11 : 12);

  test("logits equal the float64 reference forward", () => {
    const model = createTrainableModel(config, weights);
    const T = 9;
    const ids = randomIds(2 * T, config.vocab_size, 3);
    const logits = model.logits(ids, 2, T);
    expect(logits.shape).toEqual([2, T, config.vocab_size]);
    const got = logits.dataSync();
    for (let b = 0; b < 2; b++) {
      const ref = referenceLogits(config, weights, ids.subarray(b * T, (b + 1) * T));
      let maxErr = 0;
      for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(got[b * ref.length + i] - ref[i]));
      expect(maxErr).toBeLessThan(1e-4);
    }
    logits.dispose();
    model.dispose();
  });

  test("exportWeights returns exactly the loaded tensors", () => {
    const model = createTrainableModel(config, weights);
    const out = model.exportWeights();
    expect([...out.keys()].sort()).toEqual([...weights.keys()].sort());
    for (const [name, t] of weights) {
      expect(out.get(name)!.shape, name).toEqual(t.shape);
      expect(Array.from(out.get(name)!.data), name).toEqual(Array.from(t.data));
    }
    model.dispose();
  });
});

describe("token log-probs with padding", () => {
  const config = tinyQwen(false);
  const weights = randomWeights(config, 5);
  const lengths = [7, 4, 10];
  const seqs = lengths.map((n, i) => randomIds(n, config.vocab_size, 100 + i));
  const T = Math.max(...lengths);

  test.each(["right", "left"] as const)("%s-padded batch equals the reference on each sequence alone", (side) => {
    const model = createTrainableModel(config, weights);
    const ids = new Int32Array(seqs.length * T);
    const mask = new Int32Array(seqs.length * T);
    seqs.forEach((s, b) => {
      const off = side === "right" ? 0 : T - s.length;
      ids.set(s, b * T + off);
      mask.fill(1, b * T + off, b * T + off + s.length);
    });
    const { logprobs, entropy } = model.tokenLogprobs({ inputIds: ids, B: seqs.length, T, attentionMask: mask });
    expect(logprobs.shape).toEqual([seqs.length, T - 1]);
    const lp = logprobs.arraySync();
    const ent = entropy.arraySync();
    seqs.forEach((s, b) => {
      const ref = referenceTokenLogprobs(config, weights, s);
      const off = side === "right" ? 0 : T - s.length;
      for (let t = 0; t < T - 1; t++) {
        const j = t - off; // index of this target in the unpadded sequence's (n-1) targets
        if (j >= 0 && j < s.length - 1) {
          expect(lp[b][t]).toBeCloseTo(ref.logprobs[j], 4);
          expect(ent[b][t]).toBeCloseTo(ref.entropy[j], 4);
        } else if (mask[b * T + t + 1] === 0) {
          expect(Math.abs(lp[b][t])).toBe(0); // target is padding
          expect(Math.abs(ent[b][t])).toBe(0);
        }
      }
    });
    tf.dispose([logprobs, entropy]);
    model.dispose();
  });

  test("temperature: log-probs and entropy of softmax(logits / temperature)", () => {
    const model = createTrainableModel(config, weights);
    const s = seqs[2];
    const ids = Int32Array.from(s);
    const temp = 0.6;
    const { logprobs, entropy } = model.tokenLogprobs({ inputIds: ids, B: 1, T: s.length, temperature: temp });
    const plain = model.tokenLogprobs({ inputIds: ids, B: 1, T: s.length }).logprobs.arraySync()[0];
    const logp = tf.tidy(() => (tf.logSoftmax(model.logits(ids, 1, s.length).div(temp)) as tf.Tensor3D).arraySync()[0]); // (T, V)
    const lp = logprobs.arraySync()[0], ent = entropy.arraySync()[0];
    let differs = 0;
    for (let t = 0; t < s.length - 1; t++) {
      expect(lp[t]).toBeCloseTo(logp[t][s[t + 1]], 4);
      expect(ent[t]).toBeCloseTo(-logp[t].reduce((a, x) => a + Math.exp(x) * x, 0), 4);
      if (Math.abs(plain[t] - lp[t]) > 1e-3) differs++;
    }
    expect(differs).toBeGreaterThan(0); // not the temperature-1 distribution
    expect(() => model.tokenLogprobs({ inputIds: ids, B: 1, T: s.length, temperature: 0 })).toThrow(/temperature/);
    tf.dispose([logprobs, entropy]);
    model.dispose();
  });

  test("bad input gets a clear error", () => {
    const model = createTrainableModel(config, weights);
    expect(() => model.logits(new Int32Array([1, 2, 3]), 1, 4)).toThrow(/expected B\*T/);
    expect(() => model.logits(new Int32Array([1, 99]), 1, 2)).toThrow(/token id 99 at \[0, 1\] is outside the vocabulary/);
    const bad = new Map(weights);
    bad.set("model.norm.weight", { shape: [3], data: new Float32Array(3) });
    expect(() => createTrainableModel(config, bad)).toThrow(/model.norm.weight has shape \[3\], expected \[16\]/);
    bad.set("model.norm.weight", weights.get("model.norm.weight")!);
    bad.delete("lm_head.weight");
    expect(() => createTrainableModel(config, bad)).toThrow(/missing tensor/);
    const before = tf.memory().numTensors;
    expect(() => createTrainableModel(config, bad)).toThrow(/missing tensor/);
    expect(tf.memory().numTensors).toBe(before); // a failed load frees its variables
    model.dispose();
  });
});

test("initWeights is deterministic and seed-dependent", () => {
  const c = tinyQwen(true);
  const a = initWeights(c, 1).get("model.layers.0.mlp.up_proj.weight")!.data;
  const b = initWeights(c, 1).get("model.layers.0.mlp.up_proj.weight")!.data;
  const d = initWeights(c, 2).get("model.layers.0.mlp.up_proj.weight")!.data;
  expect(Array.from(a)).toEqual(Array.from(b));
  expect(Array.from(a)).not.toEqual(Array.from(d));
});
