/**
 * @module train/trainer — the GRPO training loop of ReSearch (arXiv 2503.19470 §2.2), flat and numbered:
 *   1) roll out G per prompt  2) score  3) advantages  4) recompute old (and reference) log-probs
 *   5) micro-batched update: grad accumulation, clip, AdamW  6) sync weights into the inference engine  7) log.
 * Everything it touches is injected (policy, optimizer, backend, retriever), so the same loop runs the CLI's real
 * model and the tests' tiny one. Steps 4–6 go through a training backend (train/backend.ts): in-process by default,
 * or a Tinker-compatible service (train/tinker-client.ts). Deterministic: same seed and state → same step, which makes resume exact.
 */
import type { Retriever } from "../retrieval/types.js";
import type { PolicyBackend, Trajectory } from "../rollout/types.js";
import type { PromptTemplate } from "../rollout/prompts.js";
import { getTemplate } from "../rollout/prompts.js";
import { runRollouts } from "../rollout/loop.js";
import { composeInterventions, type Intervention } from "../rollout/intervention.js";
import type { TrainableModel } from "../model/trainable.js";
import type { AdamW } from "../model/optim.js";
import type { WeightMap } from "../model/weights.js";
import { createRng, type Rng } from "../util/rng.js";
import { UserError } from "../util/errors.js";
import { fnv1a } from "../util/hash.js";
import { mean, std } from "../util/stats.js";
import { checkConsistency, lrAt, type TrainConfig } from "./config.js";
import { groupAdvantages } from "./grpo.js";
import { sequenceOf, type TrainSequence } from "./batch.js";
import type { UpdateRow } from "./update.js";
import { createInProcessBackend, type TrainingBackend } from "./backend.js";
import { scoreEpisodes, type EpisodeScore } from "./shaping.js";
import { createScaffolds, type RolloutPlan, type Scaffold } from "./scaffolds/index.js";
import { createSampler, type TrainExample } from "./sampler.js";
import type { CheckpointState } from "./run.js";
import { analyzeTrajectory, reflectionStepMetrics, stepsOfTrajectory, summarizeReflection } from "../eval/reflection.js";

export interface TrainerDeps {
  /** Runs steps 4–6 (train/backend.ts); default: in-process over `policy`, `optimizer` and `syncWeights`. */
  training?: TrainingBackend;
  /** With `training`: whether it holds a frozen reference policy (checked against klCoef when given). */
  hasReference?: boolean;
  /** The in-process policy (required without `training`). */
  policy?: TrainableModel;
  /** Frozen reference policy: required when klCoef > 0 (in-process), and never built otherwise. */
  reference?: TrainableModel;
  /** AdamW over `policy.params` (model/optim.ts); its state is saved with each checkpoint. */
  optimizer?: AdamW;
  /** Samples rollouts (the native engine over the same weights). */
  backend: PolicyBackend;
  /** Push the policy's new weights into the backend's engine after each update (in-process). */
  syncWeights?(weights: WeightMap): void | Promise<void>;
  retriever: Retriever;
  examples: TrainExample[];
  /** EOS token id (the loss mask stops after it); null if the tokenizer has none. */
  eosId: number | null;
  /** Prompt template (name or object); default "research". */
  template?: PromptTemplate | string;
}

export interface StepMetrics {
  step: number;
  reward_mean: number;
  reward_std: number;
  research_reward_mean: number;
  format_rate: number;
  answer_f1_mean: number;
  answer_em_mean: number;
  searches_mean: number;
  search_rate: number;
  response_tokens_mean: number;
  trained_tokens: number;
  /** Rollouts left out of the backward because their advantage was 0 (skipZeroAdvantage; else 0). */
  skipped_rows: number;
  loss: number;
  pg_loss: number;
  kl: number;
  entropy: number;
  clip_frac: number;
  approx_kl: number;
  /** Mean |log π_old(token) − the sampler's log-prob| over trained tokens: ≈ 0 when rollouts are on-policy (null
   *  when the backend gives no log-probs or sampling is tempered). */
  rollout_logprob_diff: number | null;
  grad_norm: number;
  lr: number;
  /** Mean share of the gold passages retrieved, over rollouts whose question names them; null when none does. */
  gold_recall_mean: number | null;
  skipped: boolean;
  skip_reason?: string;
  /** Each scaffold's metrics this step, `scaffold/<name>/<key>` (train/scaffolds/). */
  [scaffoldMetric: `scaffold/${string}`]: number | null;
  seconds: { rollout: number; reward: number; logprobs: number; backward: number; optimizer: number; sync: number; total: number };
  tokens_per_s: number;
  /**
   * Reflection metrics of this step's rollouts (eval/reflection.ts; misses judged against each question's gold chain
   * when its metadata has `chainNames`, else the proxy): share of searching rollouts with a miss, of those with a miss
   * that searched again after it / answered right (recovered), of those with ≥ 2 searches that revised a query. Null
   * when the denominator is empty; absent in runs logged before they existed.
   */
  reflection_miss_rate?: number | null;
  reflection_search_after_miss?: number | null;
  reflection_query_revision?: number | null;
  reflection_recovery?: number | null;
}

export interface StepOutput {
  metrics: StepMetrics;
  /** Trajectories with their scores (for trajectories/step-N.jsonl). */
  trajectories: Array<Trajectory & { reward: number; score: EpisodeScore; advantage: number }>;
}

export interface Trainer {
  /** Run step `state.step + 1` and advance the state. Throws UserError after maxBadSteps non-finite steps in a row. */
  step(signal?: AbortSignal): Promise<StepOutput | null>;
  /** Everything a checkpoint needs besides the weights. */
  state(): Omit<CheckpointState, "metricsBytes">;
  restore(s: Omit<CheckpointState, "metricsBytes">): void;
  readonly stepsDone: number;
  /** Total steps of the run (maxSteps, or epochs × questions / promptsPerStep). */
  readonly totalSteps: number;
  /** What runs steps 4–6 (and saves/loads the training state). */
  readonly training: TrainingBackend;
}

const now = () => performance.now();

/** A per-step seed from the run seed (FNV-1a), so a resumed step samples exactly as the uninterrupted one. */
export function stepSeed(seed: number, step: number): number {
  return fnv1a(seed, `step:${step}`);
}

/** The deps' training backend: the given one, or the in-process one over policy, optimizer and syncWeights. */
export function trainingOf(cfg: TrainConfig, deps: TrainerDeps): TrainingBackend {
  const hasReference = deps.training ? deps.hasReference : deps.reference !== undefined;
  if (hasReference !== undefined) {
    if (cfg.klCoef > 0 && !hasReference) throw new Error("klCoef > 0 needs a reference model");
    if (cfg.klCoef === 0 && hasReference) throw new Error("klCoef = 0: do not keep a reference model in memory");
  }
  if (deps.training) return deps.training;
  const { policy, optimizer, syncWeights } = deps;
  if (!policy || !optimizer || !syncWeights) throw new Error("trainer: give `training`, or `policy`, `optimizer` and `syncWeights`");
  return createInProcessBackend({ policy, reference: deps.reference, optimizer, syncWeights, eosId: deps.eosId });
}

export function createTrainer(cfg: TrainConfig, deps: TrainerDeps): Trainer {
  checkConsistency(cfg);
  const training = trainingOf(cfg, deps);
  const G = cfg.groupSize;
  const P = cfg.promptsPerStep;
  const scaffolds: Scaffold[] = createScaffolds(cfg.scaffolds, { maxSearches: cfg.maxSearches });
  const stages = scaffolds.find((x) => x.stages)?.stages;
  const sampler = createSampler(deps.examples, cfg.seed, stages);
  const rng: Rng = createRng(cfg.seed ^ 0x2545f491);
  const totalSteps = cfg.maxSteps ?? Math.max(1, Math.ceil((cfg.epochs * deps.examples.length) / P));
  const template = typeof deps.template === "object" ? deps.template : getTemplate(deps.template ?? "research");
  let stepsDone = 0;
  let badSteps = 0;

  async function step(signal?: AbortSignal): Promise<StepOutput | null> {
    const s = stepsDone; // 0-based index of this step
    const t0 = now();
    const startState = { cursor: sampler.cursor(), rng: rng.getState() };
    const examples = sampler.take(s, P);
    for (const x of scaffolds) x.beginStep?.({ step: s, G, rng }, examples);
    const abort = () => {
      sampler.setCursor(startState.cursor);
      rng.setState(startState.rng);
      return null;
    };

    // 1) roll out G per prompt (the scaffolds' interventions, if any, on some of the rollouts)
    const trajectories = await rollOut(examples, s);
    const tRollout = now();
    if (signal?.aborted) return abort();

    // 2) score (+ the scaffolds' reward terms on well-formed episodes)
    const episodes = trajectories.map((t, i) => ({
      response: t.response,
      goldenAnswers: t.goldenAnswers ?? [],
      eosText: deps.backend.eosText,
      searches: t.searches,
      goldPassages: examples[Math.floor(i / G)].goldPassages,
      retrievedIds: t.retrievedIds,
    }));
    const rewardTerms = scaffolds.filter((x) => x.reward);
    const bonus = (i: number, goldRecall: number | null) =>
      rewardTerms.reduce((a, x) => a + x.reward!({ prompt: examples[Math.floor(i / G)], trajectory: trajectories[i], goldRecall }), 0);
    const scores = scoreEpisodes(episodes, cfg.reward, rewardTerms.length ? bonus : undefined);
    const rewards = scores.map((x) => x.reward);
    const tReward = now();

    // 3) advantages: one per rollout, the same on each of its tokens
    const advantages = groupAdvantages(rewards, G, cfg.advEps);

    // 4) old log-probs (and reference log-probs) of every sampled token, before any update
    const rows = trajectories
      .map((t, i) => ({ seq: trainable(t), adv: advantages[i], rolloutLogp: rolloutLogprobs(t) }))
      .filter((r) => r.seq !== null) as UpdateRow[];
    if (signal?.aborted) return abort();
    // 5) update: per mini-batch, accumulate gradients over its micro-batches, check finiteness, clip, AdamW
    const lr = lrAt(cfg, s);
    const u = await training.update(rows, cfg, lr);
    const tLogprobs = tReward + u.logprobsMs;
    const { stats, lpDiff, skipReason, backwardMs, optimMs } = u;

    // 6) publish the new weights to the sampler (the inference engine)
    const ts = now();
    if (!skipReason) await training.publish();
    const tSync = now();

    // 7) log
    badSteps = skipReason ? badSteps + 1 : 0;
    stepsDone++;
    const trainedTokens = u.trainedTokens;
    const recalls = scores.flatMap((x) => (x.goldRecall === null ? [] : [x.goldRecall]));
    const totalS = (tSync - t0) / 1000;
    const metrics: StepMetrics = {
      step: stepsDone,
      reward_mean: mean(rewards),
      reward_std: std(rewards),
      research_reward_mean: mean(scores.map((x) => x.researchReward)),
      format_rate: mean(scores.map((x) => (x.valid ? 1 : 0))),
      answer_f1_mean: mean(scores.map((x) => x.f1)),
      answer_em_mean: mean(scores.map((x) => x.em)),
      searches_mean: mean(trajectories.map((t) => t.searches)),
      search_rate: mean(trajectories.map((t) => (t.searches > 0 ? 1 : 0))),
      response_tokens_mean: mean(trajectories.map((t) => t.responseIds?.length ?? 0)),
      trained_tokens: trainedTokens,
      skipped_rows: u.skippedRows,
      loss: stats.loss,
      pg_loss: stats.pg,
      kl: stats.kl,
      entropy: stats.ent,
      clip_frac: stats.clip,
      approx_kl: stats.akl,
      rollout_logprob_diff: lpDiff.n ? lpDiff.sum / lpDiff.n : null,
      grad_norm: stats.gnorm,
      lr,
      gold_recall_mean: recalls.length ? mean(recalls) : null,
      skipped: skipReason !== undefined,
      ...(skipReason ? { skip_reason: skipReason } : {}),
      seconds: {
        rollout: (tRollout - t0) / 1000,
        reward: (tReward - tRollout) / 1000,
        logprobs: (tLogprobs - tReward) / 1000,
        backward: backwardMs / 1000,
        optimizer: optimMs / 1000,
        sync: (tSync - ts) / 1000,
        total: totalS,
      },
      tokens_per_s: totalS > 0 ? trainedTokens / totalS : 0,
      ...reflectionStepMetrics(summarizeReflection(trajectories.map((t, i) => {
        const ex = examples[Math.floor(i / G)];
        const gold = ex.chainNames?.length ? { kind: ex.kind, chainNames: ex.chainNames } : undefined;
        return analyzeTrajectory({ steps: stepsOfTrajectory(t), goldenAnswers: t.goldenAnswers ?? ex.goldenAnswers, correct: scores[i].em === 1, ...(gold ? { gold } : {}) });
      }))),
    };
    for (const x of scaffolds) for (const [k, v] of Object.entries(x.metrics?.(trajectories) ?? {})) metrics[`scaffold/${x.name}/${k}`] = v;
    const out: StepOutput = {
      metrics,
      trajectories: trajectories.map((t, i) => ({ ...t, reward: rewards[i], score: scores[i], advantage: advantages[i] })),
    };
    if (badSteps >= cfg.maxBadSteps) {
      const err = new UserError(`stopping: ${badSteps} consecutive steps with a NaN/Inf loss or gradient (last: step ${stepsDone}, ${skipReason}); lower lr or check the data`);
      (err as UserError & { output?: StepOutput }).output = out;
      throw err;
    }
    return out;
  }

  /** 1) of the loop: rollouts of every prompt, G each, in prompt order (group after group). */
  async function rollOut(examples: TrainExample[], s: number): Promise<Trajectory[]> {
    const ids = examples.map((e, i) => `${s + 1}:${i}:${e.id}`);
    const index = new Map(ids.map((id, i) => [id, i]));
    const intervene = (ex: { id: string }, k: number): Intervention | undefined => {
      const i = index.get(ex.id)!;
      const plan: RolloutPlan = { held: false, minSearches: 0 };
      return composeInterventions(scaffolds.flatMap((x) => x.intervene?.(i, k, examples[i], plan) ?? []));
    };
    const out = await runRollouts({
      backend: deps.backend,
      retriever: deps.retriever,
      examples: examples.map((e, i) => ({ id: ids[i], question: e.question, goldenAnswers: e.goldenAnswers })),
      template,
      n: G,
      temperature: cfg.temperature,
      topP: cfg.topP < 1 ? cfg.topP : undefined,
      maxResponseTokens: cfg.maxResponseTokens,
      maxPromptTokens: cfg.maxPromptTokens,
      topN: cfg.topN,
      maxSearches: cfg.maxSearches ?? undefined,
      seed: stepSeed(cfg.seed, s),
      batchSize: Math.max(1, P * G),
      ...(scaffolds.some((x) => x.intervene) ? { intervene } : {}),
    });
    out.forEach((t, j) => {
      if (t.id !== `${ids[Math.floor(j / G)]}#${j % G}`) throw new Error(`rollout ${ids[Math.floor(j / G)]}#${j % G} is missing from the rollout results`);
    });
    return out;
  }

  /** The sampler's log-prob of each response token (NaN for tool tokens), or null when the backend gave none. */
  function rolloutLogprobs(t: Trajectory): number[] | null {
    const out: number[] = [];
    for (const seg of t.segments) {
      const n = seg.tokenIds?.length ?? 0;
      if (seg.author === "policy") {
        if (!seg.logprobs || seg.logprobs.length !== n) return null;
        out.push(...seg.logprobs);
      } else for (let i = 0; i < n; i++) out.push(NaN); // tool text and environment splices (trained or not): not sampled
    }
    return out.length === (t.responseIds?.length ?? -1) ? out : null;
  }

  /** A trajectory's token view, or null when it has none (an errored rollout): scored, but not trained on. */
  function trainable(t: Trajectory): TrainSequence | null {
    if (!t.promptIds || !t.responseIds || !t.lossMask || t.responseIds.length === 0) {
      if (t.finishReason === "error") return null;
      return sequenceOf(t); // throws with a clear message (a backend without ids)
    }
    return sequenceOf(t);
  }

  return {
    step,
    state: () => ({ step: stepsDone, cursor: sampler.cursor(), rng: rng.getState(), badSteps, optimizer: { step: training.optimizerSteps() } }),
    restore: (st) => {
      stepsDone = st.step;
      sampler.setCursor(st.cursor);
      rng.setState(st.rng);
      badSteps = st.badSteps;
    },
    get stepsDone() {
      return stepsDone;
    },
    totalSteps,
    training,
  };
}


