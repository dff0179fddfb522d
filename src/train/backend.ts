/**
 * @module train/backend — what the GRPO loop (train/trainer.ts) talks to for its steps 4–6: old log-probs and the
 * update (forward/backward with per-token advantages under the loss mask, then an AdamW step), publishing the new
 * weights to the sampler, and saving/loading the training state for checkpoints.
 *
 * Two implementations:
 *   - in-process (`createInProcessBackend`, the default): our tfjs policy, planUpdate/runUpdate (train/update.ts) and
 *     the weight sync into the native engine, exactly as the loop did before the interface existed;
 *   - Tinker (`train/tinker-client.ts`): the same layout sent as Tinker `Datum`s to a Tinker-compatible REST service
 *     (thinking-machines-lab/tinker, or `research serve trainer`, train/tinker-server.ts).
 *
 * `Datum` mirrors the Tinker SDK's (src/tinker/types/datum.py, model_input.py, tensor_data.py): `model_input` holds
 * tokens[0..L−2], `loss_fn_inputs` holds per-position `target_tokens` (tokens[1..L−1]), `weights` (our loss mask:
 * 0 on the prompt, inside `<result>` blocks and after EOS), `advantages` (the rollout's advantage where the weight
 * is 1, else 0) and optionally `logprobs` (π_old / the sampler's log-probs of the targets).
 */
import type { TrainableModel } from "../model/trainable.js";
import type { AdamW } from "../model/optim.js";
import type { WeightMap } from "../model/weights.js";
import type { TrainConfig } from "./config.js";
import { responseLossMask, type TrainSequence } from "./batch.js";
import { planUpdate, runUpdate, type UpdateResult, type UpdateRow } from "./update.js";

/** One training sequence, unpadded, in Tinker's layout (all arrays have length L − 1). */
export interface Datum {
  /** Input tokens: prompt ++ response without the last token. */
  modelInput: number[];
  /** Next-token targets: prompt ++ response without the first token. */
  targetTokens: number[];
  /** 1 = trained on (a policy-generated response token at or before EOS), 0 = not (prompt, `<result>` text, after EOS). */
  weights: number[];
  /** The rollout's advantage on trained positions, 0 elsewhere. */
  advantages: number[];
  /** π_old(target) per position, when known before the update (later mini-batches); else the service uses its own. */
  logprobs?: number[];
}

/** A row of the update as a Datum (the tokens and mask of train/batch.ts buildTrainBatch, before padding). */
export function datumOf(seq: TrainSequence, adv: number, eosId: number | null): Datum {
  const tokens = [...seq.promptIds, ...seq.responseIds];
  if (seq.promptIds.length === 0) throw new Error("datumOf: empty prompt (start prompts with BOS)");
  const weights = new Array<number>(tokens.length - 1).fill(0);
  const resp = responseLossMask(seq, eosId);
  const P = seq.promptIds.length;
  for (let i = 0; i < resp.length; i++) weights[P + i - 1] = resp[i]; // logits at P+i−1 predict response token i
  return { modelInput: tokens.slice(0, -1), targetTokens: tokens.slice(1), weights, advantages: weights.map((w) => (w ? adv : 0)) };
}

/** Steps 4–5 of one GRPO step, whatever runs them. */
export interface BackendUpdate extends UpdateResult {
  /** Tokens the backward trained on. */
  trainedTokens: number;
  /** Rows left out because their advantage was 0 (skipZeroAdvantage). */
  skippedRows: number;
  /** Time spent computing log-probs before the update (π_old of later mini-batches, π_ref). */
  logprobsMs: number;
}

/** The training state a checkpoint holds: a loadable model's weights, the optimizer state, and backend references. */
export interface TrainingState {
  weights: WeightMap;
  /** AdamW moments (model/optim.ts exportState); empty when the optimizer lives in a remote service. */
  optimizer: WeightMap;
  /** Backend-specific references, e.g. the Tinker `tinker://…/weights/…` path holding weights + optimizer. */
  refs?: Record<string, string>;
}

export interface TrainingBackend {
  readonly kind: "in-process" | "tinker";
  /** 4)+5) old (and reference) log-probs, forward/backward per mini-batch, clip, AdamW. */
  update(rows: UpdateRow[], cfg: TrainConfig, lr: number): Promise<BackendUpdate>;
  /** 6) make the new weights the sampler's (the rollout engine's). */
  publish(): Promise<void>;
  /** Optimizer updates applied so far (checkpoint bookkeeping). */
  optimizerSteps(): number;
  /** The state to checkpoint after `step` steps. */
  save(step: number): Promise<TrainingState>;
  /** Restore a checkpoint's state (and publish its weights to the sampler). */
  load(state: TrainingState): Promise<void>;
  /** Release what the backend holds (remote models, sockets); idempotent. */
  close?(): Promise<void>;
}

/** The default: our tfjs policy and AdamW in this process, weights synced into the native engine. */
export function createInProcessBackend(deps: {
  policy: TrainableModel;
  reference?: TrainableModel;
  optimizer: AdamW;
  syncWeights(weights: WeightMap): void | Promise<void>;
  eosId: number | null;
}): TrainingBackend {
  return {
    kind: "in-process",
    async update(rows, cfg, lr) {
      const t0 = performance.now();
      const plan = planUpdate(rows, cfg, deps);
      const logprobsMs = performance.now() - t0;
      try {
        const u = runUpdate(plan, rows, cfg, deps, lr);
        return { ...u, trainedTokens: plan.trainedTokens, skippedRows: plan.skippedRows, logprobsMs };
      } finally {
        plan.dispose();
      }
    },
    publish: async () => {
      await deps.syncWeights(deps.policy.exportWeights());
    },
    optimizerSteps: () => deps.optimizer.stepCount,
    save: async () => ({ weights: deps.policy.exportWeights(), optimizer: deps.optimizer.exportState() }),
    async load(s) {
      deps.policy.loadWeights(s.weights);
      deps.optimizer.importState(s.optimizer);
      await deps.syncWeights(s.weights);
    },
  };
}
