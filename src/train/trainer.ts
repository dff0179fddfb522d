/**
 * @module train/trainer — the GRPO training loop of ReSearch (arXiv 2503.19470 §2.2), flat and numbered:
 *   1) roll out G per prompt  2) score  3) advantages  4) recompute old (and reference) log-probs
 *   5) micro-batched update: grad accumulation, clip, AdamW  6) sync weights into the inference engine  7) log.
 * Everything it touches is injected (policy, optimizer, backend, retriever), so the same loop runs the CLI's real
 * model and the tests' tiny one. Deterministic: same seed and state → same step, which makes resume exact.
 */
import type { Retriever } from "../retrieval/types.js";
import type { PolicyBackend, Trajectory } from "../rollout/types.js";
import type { PromptTemplate } from "../rollout/prompts.js";
import { getTemplate } from "../rollout/prompts.js";
import { runRollouts, type RolloutExample } from "../rollout/loop.js";
import type { TrainableModel } from "../model/trainable.js";
import type { AdamW } from "../model/optim.js";
import type { WeightMap } from "../model/weights.js";
import { createRng, type Rng } from "../util/rng.js";
import { UserError } from "../util/errors.js";
import { checkConsistency, lrAt, type TrainConfig } from "./config.js";
import { groupAdvantages } from "./grpo.js";
import { sequenceOf, type TrainSequence } from "./batch.js";
import { planUpdate, runUpdate, type UpdateRow } from "./update.js";
import { forcedFollowUpProbAt, forcedSearchProbAt, maxHopsAt, retrievalBonusAt, scoreEpisodes, type EpisodeScore } from "./shaping.js";
import { createSampler, type TrainExample } from "./sampler.js";
import type { CheckpointState } from "./run.js";

export interface TrainerDeps {
  policy: TrainableModel;
  /** Frozen reference policy: required when klCoef > 0, and never built otherwise. */
  reference?: TrainableModel;
  /** AdamW over `policy.params` (model/optim.ts); its state is saved with each checkpoint. */
  optimizer: AdamW;
  /** Samples rollouts (the native engine over the same weights). */
  backend: PolicyBackend;
  /** Push the policy's new weights into the backend's engine after each update. */
  syncWeights(weights: WeightMap): void | Promise<void>;
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
  forced_search_prob: number;
  /** Probability of forced follow-up searches this step (curriculum.forcedFollowUpProb, annealed), and the mean
   *  number of searches per rollout that the scaffold forced. */
  forced_follow_up_prob: number;
  forced_searches_mean: number;
  /** Searches whose query the environment wrote (curriculum.forcedFollowUpQuery: "gold"), per rollout. */
  hinted_searches_mean: number;
  /** Searches whose query the environment picked among the question's and the last result's names, per rollout
   *  (forcedFollowUpQuery: "mention"). */
  mention_searches_mean: number;
  /** Share of rollouts whose answer the environment picked among the last result's names (forcedFollowUpAnswer). */
  answer_mention_rate: number;
  max_hops: number | null;
  /** Weight of the retrieval-bonus scaffold this step (0 = off). */
  retrieval_bonus: number;
  /** Mean share of the gold passages retrieved, over rollouts whose question names them; null when none does. */
  gold_recall_mean: number | null;
  skipped: boolean;
  skip_reason?: string;
  seconds: { rollout: number; reward: number; logprobs: number; backward: number; optimizer: number; sync: number; total: number };
  tokens_per_s: number;
}

export interface StepOutput {
  metrics: StepMetrics;
  /** Trajectories with their scores (for trajectories/step-N.jsonl). */
  trajectories: Array<Trajectory & { reward: number; score: EpisodeScore; advantage: number; forced: boolean }>;
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
}

const now = () => performance.now();
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const std = (xs: number[]) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};

/** A per-step seed from the run seed (FNV-1a), so a resumed step samples exactly as the uninterrupted one. */
export function stepSeed(seed: number, step: number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const c of `step:${step}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h >>> 0;
}

/**
 * A training question as the rollout loop sees it (`id` unique within the step even when a question repeats). Held to
 * a forced follow-up (`followUp`): the first round(share × G) samples must search once per hop, and with
 * `forcedFollowUpQuery: "gold"` the environment writes their follow-up queries (2nd search on) from the gold chain
 * where the question does not name the entity; with "mention" it picks them at random among the names of the question
 * and of the last result.
 */
export function rolloutExampleOf(e: TrainExample, id: string, followUp: boolean, cfg: Pick<TrainConfig, "curriculum">, G: number): RolloutExample {
  const base = { id, question: e.question, goldenAnswers: e.goldenAnswers };
  if (!followUp) return base;
  const held = Math.max(1, Math.round(cfg.curriculum.forcedFollowUpShare * G));
  return {
    ...base,
    minSearches: e.hops ?? 1,
    minSearchesSamples: held,
    ...followUpQueries(e, cfg.curriculum.forcedFollowUpQuery, held),
    ...(cfg.curriculum.forcedFollowUpAnswer === "mention" ? { answerMentions: true } : {}),
  };
}

/** Who writes a held rollout's follow-up queries (curriculum.forcedFollowUpQuery); `held` samples are held. */
function followUpQueries(e: TrainExample, mode: TrainConfig["curriculum"]["forcedFollowUpQuery"], held: number): Partial<RolloutExample> {
  if (mode === "gold") return goldFollowUps(e);
  if (mode === "mention") return { followUpMentions: true };
  if (mode === "gold-mention") return { ...goldFollowUps(e), forcedQueriesSamples: Math.ceil(held / 2), followUpMentions: true };
  return {};
}

/** The gold follow-up queries: the chain's entities after the first that the question does not name (a comparison's
 * second name is in the question: the policy copies it from there). None: no hint. */
function goldFollowUps(e: TrainExample): { forcedQueries?: (string | null)[] } {
  const q = e.question.toLowerCase();
  const hints = (e.chainNames ?? []).map((n, i) => (i === 0 || q.includes(n.toLowerCase()) ? null : n));
  return hints.some((h) => h !== null) ? { forcedQueries: hints } : {};
}

export function createTrainer(cfg: TrainConfig, deps: TrainerDeps): Trainer {
  checkConsistency(cfg);
  if (cfg.klCoef > 0 && !deps.reference) throw new Error("klCoef > 0 needs a reference model");
  if (cfg.klCoef === 0 && deps.reference) throw new Error("klCoef = 0: do not keep a reference model in memory");
  const G = cfg.groupSize;
  const P = cfg.promptsPerStep;
  const sampler = createSampler(deps.examples, cfg.seed, cfg.curriculum);
  const rng: Rng = createRng(cfg.seed ^ 0x2545f491);
  const totalSteps = cfg.maxSteps ?? Math.max(1, Math.ceil((cfg.epochs * deps.examples.length) / P));
  const template = typeof deps.template === "object" ? deps.template : getTemplate(deps.template ?? "research");
  if (template.chat && cfg.curriculum.forcedSearchProb > 0)
    throw new UserError(`curriculum.forcedSearchProb: a forced first search appends to a completion prompt; template "${template.name}" is a chat template`);
  let stepsDone = 0;
  let badSteps = 0;

  async function step(signal?: AbortSignal): Promise<StepOutput | null> {
    const s = stepsDone; // 0-based index of this step
    const t0 = now();
    const startState = { cursor: sampler.cursor(), rng: rng.getState() };
    const examples = sampler.take(s, P);
    const forcedProb = forcedSearchProbAt(cfg.curriculum, s);
    const forced = examples.map(() => forcedProb > 0 && rng.next() < forcedProb);
    const followUpProb = forcedFollowUpProbAt(cfg.curriculum, s);
    const followUp = examples.map(() => followUpProb > 0 && rng.next() < followUpProb);
    const abort = () => {
      sampler.setCursor(startState.cursor);
      rng.setState(startState.rng);
      return null;
    };

    // 1) roll out G per prompt (forced-search prompts get the prefix appended to the prompt, never trained on; forced
    //    follow-up ones must search once per hop, their spliced search tag trained only with forcedFollowUpTrained)
    const trajectories = await rollOut(examples, forced, followUp, s);
    const tRollout = now();
    if (signal?.aborted) return abort();

    // 2) score
    const prefix = cfg.curriculum.forcedPrefix;
    const episodes = trajectories.map((t, i) => ({
      response: (forced[Math.floor(i / G)] ? prefix : "") + t.response,
      goldenAnswers: t.goldenAnswers ?? [],
      eosText: deps.backend.eosText,
      searches: t.searches,
      goldPassages: examples[Math.floor(i / G)].goldPassages,
      retrievedIds: t.retrievedIds,
    }));
    const bonusWeight = retrievalBonusAt(cfg.reward, s);
    const scores = scoreEpisodes(episodes, cfg.reward, bonusWeight);
    const rewards = scores.map((x) => x.reward);
    const tReward = now();

    // 3) advantages: one per rollout, the same on each of its tokens
    const advantages = groupAdvantages(rewards, G, cfg.advEps);

    // 4) old log-probs (and reference log-probs) of every sampled token, before any update
    const rows = trajectories
      .map((t, i) => ({ seq: trainable(t), adv: advantages[i], rolloutLogp: rolloutLogprobs(t) }))
      .filter((r) => r.seq !== null) as UpdateRow[];
    const plan = planUpdate(rows, cfg, deps);
    const tLogprobs = now();
    if (signal?.aborted) {
      plan.dispose();
      return abort();
    }

    // 5) update: per mini-batch, accumulate gradients over its micro-batches, check finiteness, clip, AdamW
    const lr = lrAt(cfg, s);
    const u = runUpdate(plan, rows, cfg, deps, lr);
    plan.dispose();
    const { stats, lpDiff, skipReason, backwardMs, optimMs } = u;

    // 6) sync the new weights into the inference engine
    const ts = now();
    if (!skipReason) await deps.syncWeights(deps.policy.exportWeights());
    const tSync = now();

    // 7) log
    badSteps = skipReason ? badSteps + 1 : 0;
    stepsDone++;
    const trainedTokens = plan.trainedTokens;
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
      skipped_rows: plan.skippedRows,
      loss: stats.loss,
      pg_loss: stats.pg,
      kl: stats.kl,
      entropy: stats.ent,
      clip_frac: stats.clip,
      approx_kl: stats.akl,
      rollout_logprob_diff: lpDiff.n ? lpDiff.sum / lpDiff.n : null,
      grad_norm: stats.gnorm,
      lr,
      forced_search_prob: forcedProb,
      forced_follow_up_prob: followUpProb,
      forced_searches_mean: mean(trajectories.map((t) => t.forcedSearches ?? 0)),
      hinted_searches_mean: mean(trajectories.map((t) => t.hintedSearches ?? 0)),
      mention_searches_mean: mean(trajectories.map((t) => t.mentionSearches ?? 0)),
      answer_mention_rate: mean(trajectories.map((t) => t.answerMentions ?? 0)),
      retrieval_bonus: bonusWeight,
      gold_recall_mean: recalls.length ? mean(recalls) : null,
      max_hops: maxHopsAt(cfg.curriculum, s),
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
    };
    const out: StepOutput = {
      metrics,
      trajectories: trajectories.map((t, i) => ({ ...t, reward: rewards[i], score: scores[i], advantage: advantages[i], forced: forced[Math.floor(i / G)] })),
    };
    if (badSteps >= cfg.maxBadSteps) {
      const err = new UserError(`stopping: ${badSteps} consecutive steps with a NaN/Inf loss or gradient (last: step ${stepsDone}, ${skipReason}); lower lr or check the data`);
      (err as UserError & { output?: StepOutput }).output = out;
      throw err;
    }
    return out;
  }

  /** 1) of the loop: rollouts of every prompt, G each, in prompt order (group after group). */
  async function rollOut(examples: TrainExample[], forced: boolean[], followUp: boolean[], s: number): Promise<Trajectory[]> {
    const common = {
      backend: deps.backend,
      retriever: deps.retriever,
      n: G,
      temperature: cfg.temperature,
      topP: cfg.topP < 1 ? cfg.topP : undefined,
      maxResponseTokens: cfg.maxResponseTokens,
      maxPromptTokens: cfg.maxPromptTokens,
      topN: cfg.topN,
      maxSearches: cfg.maxSearches ?? undefined,
      forcedSearchTrained: cfg.curriculum.forcedFollowUpTrained,
      seed: stepSeed(cfg.seed, s),
      batchSize: Math.max(1, P * G),
    };
    const asRollout = (e: TrainExample, i: number) => rolloutExampleOf(e, `${s + 1}:${i}:${e.id}`, followUp[i], cfg, G);
    const plain = examples.map(asRollout).filter((_, i) => !forced[i]);
    const forcedEx = examples.map(asRollout).filter((_, i) => forced[i]);
    const forcedTemplate: PromptTemplate = { ...template, completion: (q) => template.completion(q) + cfg.curriculum.forcedPrefix };
    const byId = new Map<string, Trajectory>();
    for (const t of plain.length ? await runRollouts({ ...common, examples: plain, template }) : []) byId.set(t.id, t);
    for (const t of forcedEx.length ? await runRollouts({ ...common, examples: forcedEx, template: forcedTemplate }) : []) byId.set(t.id, t);
    const out: Trajectory[] = [];
    examples.forEach((e, i) => {
      for (let k = 0; k < G; k++) {
        const t = byId.get(`${asRollout(e, i).id}#${k}`);
        if (!t) throw new Error(`rollout ${asRollout(e, i).id}#${k} is missing from the rollout results`);
        out.push(t);
      }
    });
    return out;
  }

  /** The sampler's log-prob of each response token (NaN for tool tokens), or null when the backend gave none. */
  function rolloutLogprobs(t: Trajectory): number[] | null {
    const out: number[] = [];
    for (const seg of t.segments) {
      const n = seg.tokenIds?.length ?? 0;
      if (seg.kind === "policy") {
        if (!seg.logprobs || seg.logprobs.length !== n) return null;
        out.push(...seg.logprobs);
      } else for (let i = 0; i < n; i++) out.push(NaN);
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
    state: () => ({ step: stepsDone, cursor: sampler.cursor(), rng: rng.getState(), badSteps, optimizer: { step: deps.optimizer.stepCount } }),
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
  };
}


