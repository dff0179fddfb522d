import { describe, expect, it } from "vitest";
import { datumOf } from "./backend.js";
import { buildTrainBatch, type TrainSequence } from "./batch.js";

describe("datumOf (Tinker Datum layout of a training row)", () => {
  // prompt [1 5 6], response: policy 7 8, tool text 9 9 (a <result> block), policy 10, EOS 2, then 11 after EOS
  const seq: TrainSequence = { promptIds: [1, 5, 6], responseIds: [7, 8, 9, 9, 10, 2, 11], policyMask: [1, 1, 0, 0, 1, 1, 1] };

  it("shifts tokens into model_input/target_tokens and puts weight and advantage only on trained positions", () => {
    const d = datumOf(seq, 0.75, 2);
    expect(d.modelInput).toEqual([1, 5, 6, 7, 8, 9, 9, 10, 2]);
    expect(d.targetTokens).toEqual([5, 6, 7, 8, 9, 9, 10, 2, 11]);
    expect(d.weights).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 0]); // prompt, <result> text and after-EOS excluded
    expect(d.advantages).toEqual([0, 0, 0.75, 0.75, 0, 0, 0.75, 0.75, 0]);
  });

  it("agrees with the in-process batch's loss mask", () => {
    const b = buildTrainBatch([seq], 2);
    expect(datumOf(seq, 1, 2).weights).toEqual(b.lossMask[0]);
    expect(() => datumOf({ promptIds: [], responseIds: [3], policyMask: [1] }, 1, null)).toThrow("empty prompt");
  });
});
