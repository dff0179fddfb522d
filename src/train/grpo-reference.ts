/**
 * @module train/grpo-reference — the GRPO loss of `grpo.ts` as plain float64 loops over nested arrays: the
 * readable specification the fast tfjs version is tested against, and the oracle of the finite-difference test.
 */
import { KL_CLAMP, KL_LOG_RATIO_CLAMP, type GrpoLossOptions } from "./grpo.js";

export interface GrpoLossInputsRef {
  logp: number[][]; // (B, T)
  oldLogp: number[][]; // (B, T)
  refLogp?: number[][]; // (B, T)
  entropy?: number[][]; // (B, T)
  advantages: number[]; // (B,)
  lossMask: number[][]; // (B, T)
}

export interface GrpoLossPartsRef {
  loss: number;
  pgLoss: number;
  kl: number;
  entropy: number;
  clipFrac: number;
  approxKl: number;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

export function grpoLossReference(x: GrpoLossInputsRef, o: GrpoLossOptions): GrpoLossPartsRef {
  const B = x.logp.length;
  const sums = { pg: 0, kl: 0, ent: 0, clip: 0, akl: 0 };
  let tokens = 0;
  const seqTerms = { pg: 0, kl: 0, ent: 0, clip: 0, akl: 0 };
  for (let b = 0; b < B; b++) {
    const s = { pg: 0, kl: 0, ent: 0, clip: 0, akl: 0 };
    let n = 0;
    for (let t = 0; t < x.logp[b].length; t++) {
      const m = x.lossMask[b][t];
      if (m === 0) continue;
      const A = x.advantages[b];
      const ratio = Math.exp(x.logp[b][t] - x.oldLogp[b][t]);
      const l1 = -A * ratio;
      const l2 = -A * clamp(ratio, 1 - o.clipRatio, 1 + o.clipRatio);
      s.pg += m * Math.max(l1, l2);
      s.clip += m * (l2 > l1 ? 1 : 0);
      s.akl += m * (x.oldLogp[b][t] - x.logp[b][t]);
      if (x.refLogp) {
        const d = clamp(x.refLogp[b][t] - x.logp[b][t], -KL_LOG_RATIO_CLAMP, KL_LOG_RATIO_CLAMP);
        s.kl += m * clamp(Math.exp(d) - d - 1, -KL_CLAMP, KL_CLAMP);
      }
      if (x.entropy) s.ent += m * x.entropy[b][t];
      n += m;
    }
    tokens += n;
    for (const k of Object.keys(s) as (keyof typeof s)[]) {
      sums[k] += s[k];
      if (o.lossAgg === "seq-mean-token-sum") seqTerms[k] += s[k];
      if (o.lossAgg === "seq-mean-token-mean") seqTerms[k] += s[k] / Math.max(1, n);
    }
  }
  let agg: (k: keyof typeof sums) => number;
  if (o.lossAgg === "token-mean") agg = (k) => sums[k] / (o.normalizer ?? Math.max(1, tokens));
  else agg = (k) => seqTerms[k] / (o.normalizer ?? B);
  const pgLoss = agg("pg");
  const kl = agg("kl");
  const entropy = agg("ent");
  const loss = pgLoss - o.entropyCoef * entropy + o.klCoef * kl;
  const tokenMean = (k: keyof typeof sums) => sums[k] / (o.tokenNormalizer ?? (o.lossAgg === "token-mean" ? o.normalizer : undefined) ?? Math.max(1, tokens));
  return { loss, pgLoss, kl, entropy, clipFrac: tokenMean("clip"), approxKl: tokenMean("akl") };
}
