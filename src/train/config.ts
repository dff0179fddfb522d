/**
 * @module train/config — the one documented GRPO training config (TRL `GRPOConfig` style), a strict zod schema:
 * unknown keys are errors. Defaults are our small-model values (tuned for a tiny policy on 2 CPU cores);
 * `preset: paper` starts from the ReSearch paper's values instead (arXiv 2503.19470, §4.1 / verl defaults).
 * Files are YAML or JSON; CLI flags override the file.
 */
import { z } from "zod";
import { UserError } from "../util/errors.js";
import { ROLLOUT_DEFAULTS } from "../rollout/types.js";
import { ScaffoldsConfig } from "./scaffolds/index.js";
import { lrAt as scheduleLrAt } from "./schedule.js";
import { upgradeLegacyFields } from "./config-legacy.js";

export { readConfigFile } from "../util/config-file.js";

export const RewardConfig = z
  .object({
    metric: z.enum(["f1", "em"]).default("f1").describe("answer score: token F1 (ReSearch) or exact match (stricter, for small models that pad answers)"),
    formatBonus: z.number().min(0).default(0.1).describe("reward for a well-formed response whose answer scores 0 (ReSearch: 0.1)"),
    formatBonusWhen: z
      .enum(["always", "below-valid-rate", "searched"])
      .default("always")
      .describe("always (ReSearch); below-valid-rate: only while the step's valid-format rate < formatBonusValidRate; searched: only for episodes that searched"),
    formatBonusValidRate: z.number().min(0).max(1).default(0.5).describe("threshold for formatBonusWhen = below-valid-rate"),
    maxAnswerWords: z.number().int().positive().nullable().default(null).describe("answers longer than this many words score 0 (null: no limit, as in ReSearch)"),
  })
  .strict();

export const TrainConfig = z
  .object({
    preset: z.enum(["small", "paper"]).default("small").describe("base values: small (our tiny-model defaults) or paper (ReSearch: 256×5 per step, lr 1e-6, 8192-token budget)"),
    model: z.string().default("").describe("policy checkpoint: Hugging Face directory or llama2.c .bin (directory holding model + tokenizer)"),
    data: z.string().default("").describe("training questions: any file the data loaders read (FlashRAG JSONL, R1-Searcher, MuSiQue, …)"),
    index: z.string().nullable().default(null).describe("local retriever index directory (research index)"),
    retrieverUrl: z.string().nullable().default(null).describe("or a retriever server URL (research serve retriever)"),
    topN: z.number().int().positive().default(ROLLOUT_DEFAULTS.topN).describe("passages per search (ReSearch: 5)"),
    promptTemplate: z.enum(["base", "instruct"]).default("base").describe("ReSearch base completion prompt or the model's chat template with the system message"),

    groupSize: z.number().int().min(1).default(5).describe("G: rollouts per prompt (GRPO; ReSearch: 5)"),
    promptsPerStep: z.number().int().positive().default(8).describe("prompts per step; the batch is promptsPerStep × G rollouts (paper: 256)"),
    temperature: z.number().positive().default(1.0).describe("rollout sampling temperature (ReSearch: 1.0); the loss uses the log-probs and entropy of softmax(logits / temperature), the distribution the rollouts were drawn from (as verl)"),
    topP: z.number().gt(0).max(1).default(1.0).describe("rollout nucleus sampling (1 = off)"),
    maxResponseTokens: z.number().int().positive().default(256).describe("response token budget per rollout (paper: 8192)"),
    maxPromptTokens: z.number().int().positive().default(512).describe("longer prompts end as error rollouts: scored 0, never trained on (ReSearch: 512)"),
    maxSearches: z.number().int().positive().nullable().default(null).describe("cap on searches per rollout (null: none, as in the paper)"),

    lr: z.number().positive().default(3e-4).describe("AdamW learning rate, constant (paper: 1e-6 for 7B/32B; tiny models need far more)"),
    warmupSteps: z.number().int().min(0).default(0).describe("linear warm-up steps before the constant lr (paper: 0)"),
    lrDecayFrom: z.number().int().min(0).nullable().default(null).describe("step at which the lr starts to fall linearly to lr × lrDecayTo over lrDecaySteps steps, then stays there (null: constant lr, as in the paper)"),
    lrDecaySteps: z.number().int().min(1).default(100).describe("length of the lr decay (lrDecayFrom)"),
    lrDecayTo: z.number().min(0).max(1).default(0.1).describe("final lr as a share of lr (lrDecayFrom)"),
    weightDecay: z.number().min(0).default(0.01).describe("AdamW decoupled weight decay (verl default 0.01)"),
    beta1: z.number().min(0).lt(1).default(0.9).describe("AdamW β1"),
    beta2: z.number().min(0).lt(1).default(0.999).describe("AdamW β2"),
    adamEps: z.number().positive().default(1e-8).describe("AdamW ε"),
    gradClip: z.number().positive().default(1.0).describe("global gradient-norm clip (ReSearch: 1.0)"),
    microBatchSize: z.number().int().positive().default(8).describe("sequences per forward/backward; gradients accumulate over micro-batches so memory is bounded"),
    updatesPerStep: z.number().int().positive().default(1).describe("optimizer updates per step: the batch splits into this many mini-batches (paper: 1, fully on-policy)"),

    clipRatio: z.number().positive().default(0.2).describe("PPO clip ε (ReSearch: 0.2)"),
    klCoef: z.number().min(0).default(0.001).describe("weight of the k3 low_var_kl penalty to the frozen reference (ReSearch: 0.001); 0 keeps no reference model"),
    entropyCoef: z.number().min(0).default(0.001).describe("entropy bonus weight (ReSearch: 0.001)"),
    lossAgg: z.enum(["token-mean", "seq-mean-token-sum", "seq-mean-token-mean"]).default("token-mean").describe("loss aggregation (ReSearch/verl: token-mean over the mini-batch)"),
    advEps: z.number().positive().default(1e-6).describe("ε in (r − mean)/(std + ε) (GRPO)"),
    skipZeroAdvantage: z
      .boolean()
      .default(false)
      .describe("leave rollouts whose advantage is 0 (groups with one reward) out of the forward/backward: their policy-gradient term is 0 and the loss normalizer still counts their tokens, so only their entropy bonus and KL terms are dropped; saves the compute of those rows (often half the batch)"),

    epochs: z.number().positive().default(2).describe("passes over the training questions when maxSteps is null (paper: 2)"),
    maxSteps: z.number().int().positive().nullable().default(null).describe("stop after this many steps (null: epochs × questions / promptsPerStep)"),
    checkpointEvery: z.number().int().positive().default(10).describe("save weights, optimizer, RNG and data cursor every N steps (and at the end)"),
    keepCheckpoints: z.number().int().positive().default(2).describe("keep the last K checkpoints"),
    maxBadSteps: z.number().int().positive().default(3).describe("stop after this many consecutive steps whose loss or gradient was NaN/Inf"),
    logTrajectories: z.number().int().min(0).default(1_000_000).describe("trajectories written per step to trajectories/step-N.jsonl (0: none)"),
    seed: z.number().int().default(0).describe("seed for data order, sampling and curriculum draws: same seed, same run"),

    reward: RewardConfig.default(RewardConfig.parse({})).describe("reward shaping options for small models (defaults = the exact ReSearch reward)"),
    tinker: z
      .object({
        baseUrl: z.string().url().describe("service root, e.g. http://127.0.0.1:8001 (routes under /api/v1/)"),
        baseModel: z.string().min(1).describe("base model name the service knows (research serve trainer: a directory under --models)"),
        loraRank: z.number().int().min(0).default(0).describe("LoRA rank for create_model (0: full fine-tune, the only mode research serve trainer has)"),
      })
      .strict()
      .optional()
      .describe("train through a Tinker-compatible service (src/train/tinker-client.ts; research train --backend tinker) instead of in process; needs klCoef 0, entropyCoef 0, updatesPerStep 1"),
    scaffolds: ScaffoldsConfig.default({}).describe("training scaffolds for small models by name (src/train/scaffolds/: hop-curriculum, min-searches, follow-up-picks, answer-picks, retrieval-bonus), each with its own options; default none (ReSearch)"),
  })
  .strict();

export type TrainConfig = z.infer<typeof TrainConfig>;
export type RewardConfig = z.infer<typeof RewardConfig>;

/** The ReSearch paper's values (verl trainer), applied under the user's keys when `preset: paper`. */
export const PAPER_PRESET: Partial<Record<keyof TrainConfig, unknown>> = {
  promptsPerStep: 256,
  groupSize: 5,
  lr: 1e-6,
  maxResponseTokens: ROLLOUT_DEFAULTS.maxResponseTokens,
  maxPromptTokens: ROLLOUT_DEFAULTS.maxPromptTokens,
  microBatchSize: 8,
  updatesPerStep: 1,
  epochs: 2,
  temperature: ROLLOUT_DEFAULTS.temperature,
  clipRatio: 0.2,
  klCoef: 0.001,
  entropyCoef: 0.001,
};

/** Validate a raw object (from a file and flags) into a full config; errors name the file and the field path. */
export function resolveTrainConfig(raw: unknown, source = "config"): TrainConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new UserError(`${source}: expected an object of training options`);
  const obj = upgradeLegacyFields(raw as Record<string, unknown>, source);
  const base = obj.preset === "paper" ? { ...PAPER_PRESET, ...obj } : obj;
  const parsed = TrainConfig.safeParse(base);
  if (!parsed.success) {
    const msgs = parsed.error.issues.map((i) => `${source}: ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new UserError(msgs.join("\n"));
  }
  const c = parsed.data;
  if (!c.model) throw new UserError(`${source}: model: required (a model directory or .bin)`);
  if (!c.data) throw new UserError(`${source}: data: required (a training question file)`);
  if (!c.index && !c.retrieverUrl) throw new UserError(`${source}: index or retrieverUrl: one is required`);
  checkConsistency(c, source);
  return c;
}

/** Cross-field rules that apply to programmatic configs too (the trainer calls this). */
export function checkConsistency(c: TrainConfig, source = "config"): void {
  if ((c.promptsPerStep * c.groupSize) % c.updatesPerStep !== 0)
    throw new UserError(`${source}: updatesPerStep: ${c.updatesPerStep} must divide the batch of ${c.promptsPerStep * c.groupSize} rollouts`);
}

/**
 * Learning rate at a step (0-based): linear warm-up, then constant (ReSearch uses a constant lr), and when
 * lrDecayFrom is set a linear fall from that step to lr × lrDecayTo over lrDecaySteps steps.
 */
export function lrAt(c: Pick<TrainConfig, "lr" | "warmupSteps" | "lrDecayFrom" | "lrDecaySteps" | "lrDecayTo">, step: number): number {
  const decay = c.lrDecayFrom === null ? null : { shape: "linear" as const, from: c.lrDecayFrom, steps: c.lrDecaySteps, to: c.lrDecayTo };
  return scheduleLrAt({ lr: c.lr, warmup: c.warmupSteps, decay }, step);
}
