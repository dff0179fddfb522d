/**
 * @module model/trainable-masks — position ids, RoPE tables and the additive attention bias for a padded batch.
 * Positions count real tokens only (cumsum(mask) − 1, as Hugging Face does for left-padded batches), so a sequence
 * gets the same positions whether it is padded on the left, on the right, or not at all.
 */
import * as tf from "@tensorflow/tfjs";

/** Large negative logit for masked keys: exp underflows to 0 while staying finite (no NaN on fully masked rows). */
export const MASKED = -1e9;

export interface RopeTables {
  cos: tf.Tensor4D; // (B, 1, T, hd/2)
  sin: tf.Tensor4D; // (B, 1, T, hd/2)
}

/** Position of each token: number of real tokens before it (padding gets the position of the previous real token). */
export function positionIds(B: number, T: number, attentionMask?: ArrayLike<number>): Int32Array {
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) {
      const real = attentionMask ? Number(attentionMask[b * T + t]) !== 0 : true;
      if (real) n++;
      pos[b * T + t] = Math.max(0, n - 1);
    }
  }
  return pos;
}

/** cos/sin of position·θ^(−2i/hd), i < hd/2 (angles in float64, stored as float32). */
export function buildRopeTables(B: number, T: number, hd: number, theta: number, attentionMask?: ArrayLike<number>): RopeTables {
  const half = hd / 2;
  const pos = positionIds(B, T, attentionMask);
  const invFreq = Array.from({ length: half }, (_, i) => Math.fround(1 / Math.pow(theta, (2 * i) / hd)));
  const cos = new Float32Array(B * T * half);
  const sin = new Float32Array(B * T * half);
  for (let bt = 0; bt < B * T; bt++)
    for (let i = 0; i < half; i++) {
      const a = pos[bt] * invFreq[i];
      cos[bt * half + i] = Math.cos(a);
      sin[bt * half + i] = Math.sin(a);
    }
  return { cos: tf.tensor4d(cos, [B, 1, T, half]), sin: tf.tensor4d(sin, [B, 1, T, half]) };
}

/** Additive bias (B·T·T): 0 where query i may attend key j (j ≤ i and key j is real), MASKED elsewhere. */
export function buildAttentionBias(B: number, T: number, attentionMask?: ArrayLike<number>): Float32Array {
  const bias = new Float32Array(B * T * T);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < T; i++) {
      const row = (b * T + i) * T;
      for (let j = 0; j < T; j++) {
        const real = attentionMask ? Number(attentionMask[b * T + j]) !== 0 : true;
        bias[row + j] = j <= i && real ? 0 : MASKED;
      }
    }
  return bias;
}
