/**
 * @module train/schedule — the learning-rate schedule both trainers use (GRPO, train/config.ts; base-model
 * pre-training, world/pretrain.ts): an optional linear warm-up, then the peak rate, then an optional decay (linear
 * or cosine) from a step to a floor, held there. A pure function of the step.
 */

export interface LrSchedule {
  /** Peak learning rate. */
  lr: number;
  /** Linear warm-up steps: step s < warmup runs at lr × (s + 1) / warmup (0 = none). */
  warmup: number;
  /** From step `from` the rate falls over `steps` steps to lr × `to` (linear, or half a cosine), then stays there. */
  decay?: { shape: "linear" | "cosine"; from: number; steps: number; to: number } | null;
}

/** The learning rate at a (0-based) step. */
export function lrAt(s: LrSchedule, step: number): number {
  const base = s.warmup > 0 && step < s.warmup ? (s.lr * (step + 1)) / s.warmup : s.lr;
  const d = s.decay;
  if (!d || step < d.from) return base;
  const done = Math.min(1, (step - d.from) / Math.max(1, d.steps));
  return base * (d.shape === "linear" ? 1 - (1 - d.to) * done : d.to + (1 - d.to) * 0.5 * (1 + Math.cos(Math.PI * done)));
}
