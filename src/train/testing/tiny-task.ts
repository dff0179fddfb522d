/**
 * @module train/testing/tiny-task — a small synthetic search task of the trainer's own, for its learning test, its
 * resume test and its benchmark: "Q: <entity> ?" whose answer (the entity's value) is only in the corpus. A word-level
 * vocabulary, one-token tags, episodes of ~20 tokens:
 *
 *   <bos> Q: e7 ? <think> </think> <search> e7 </search> <result> e7 v3 </result> <think> </think>
 *   <answer> \boxed{ v3 } </answer> <eos>
 *
 * The base model is pre-trained on content-free text in that format (random words; rarely a search; `unknown` as
 * the answer when it did not search) so it can copy
 * a question's entity into a query and a result's value into the answer, but knows no fact and seldom searches.
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "../../model/config.js";
import type { WeightMap } from "../../model/weights.js";
import type { Tokenizer } from "../../tokenizer/types.js";
import type { Retriever, SearchHit } from "../../retrieval/types.js";
import { TEMPLATES, type PromptTemplate } from "../../rollout/prompts.js";
import { createTrainableModel, initWeights, type TrainableModel } from "../../model/trainable.js";
import { computeGrads, createAdamW } from "../../model/optim.js";
import { createRng, type Rng } from "../../util/rng.js";
import type { TrainExample } from "../sampler.js";

export const SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"];
export const TAGS = ["<think>", "</think>", "<search>", "</search>", "<result>", "</result>", "<answer>", "</answer>", "\\boxed{", "}", "Q:", "?", "unknown"];

export interface TinyTask {
  tokenizer: Tokenizer;
  entities: string[];
  values: string[];
  /** entity → its value (the facts, only in the corpus). */
  facts: Map<string, string>;
  retriever: Retriever;
  examples: TrainExample[];
  template: PromptTemplate;
  modelConfig: ModelConfig;
}

/** Word-level tokenizer: encode splits on whitespace; each id decodes to " word", so decoding is concatenative. */
export function createWordTokenizer(words: string[]): Tokenizer {
  const index = new Map(words.map((w, i) => [w, i]));
  const unk = index.get("<unk>")!;
  return {
    vocabSize: words.length,
    bosId: index.get("<bos>")!,
    eosId: index.get("<eos>")!,
    eosText: "<eos>",
    encode: (text, opts) => {
      const ids = text.split(/\s+/).filter(Boolean).map((w) => index.get(w) ?? unk);
      return opts?.addBos ? [index.get("<bos>")!, ...ids] : ids;
    },
    decode: (ids) => ids.map((i) => " " + (words[i] ?? "<unk>")).join(""),
  };
}

export function createTinyTask(opts: { entities?: number; values?: number; seed?: number; dim?: number } = {}): TinyTask {
  const rng = createRng(opts.seed ?? 7);
  const entities = Array.from({ length: opts.entities ?? 40 }, (_, i) => `e${i}`);
  const values = Array.from({ length: opts.values ?? 30 }, (_, i) => `v${i}`);
  const tokenizer = createWordTokenizer([...SPECIALS, ...TAGS, ...entities, ...values]);
  const facts = new Map(entities.map((e) => [e, values[rng.int(values.length)]]));
  const passages = entities.map((e, i) => ({ id: `p${i}`, contents: `${e} ${facts.get(e)}` }));
  const retriever: Retriever = {
    async search(queries, topN) {
      return queries.map((q) => {
        const words = q.split(/\s+/);
        const hit = passages.find((p) => words.includes(p.contents.split(" ")[0]));
        // a query naming no entity still gets a passage (as BM25 would): an unrelated one, chosen by the query text
        const fallback = passages[[...q].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7) % passages.length];
        return [{ ...(hit ?? fallback), score: hit ? 1 : 0 } as SearchHit].slice(0, topN);
      });
    },
  };
  const examples = entities.map((e, i) => ({ id: `q${i}`, question: `Q: ${e} ?`, goldenAnswers: [facts.get(e)!] }));
  const template: PromptTemplate = { ...TEMPLATES.research, completion: (q) => `<bos> ${q}` };
  const D = opts.dim ?? 48;
  const modelConfig: ModelConfig = {
    model_type: "llama",
    vocab_size: tokenizer.vocabSize,
    hidden_size: D,
    intermediate_size: 2 * D,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    bos_token_id: tokenizer.bosId,
    eos_token_id: tokenizer.eosId,
  };
  return { tokenizer, entities, values, facts, retriever, examples, template, modelConfig };
}

/**
 * One content-free pre-training episode as segments (train = the policy would write it; copy = a token copied from
 * the context): random entity and value words, a search with probability `searchProb`; without one the answer is
 * `unknown`, so the base model never guesses a value. Like RL, the loss covers the policy's tokens only.
 */
export function pretrainEpisode(task: TinyTask, rng: Rng, searchProb: number): { text: string; train: boolean; copy?: boolean }[] {
  const e = task.entities[rng.int(task.entities.length)];
  const v = task.values[rng.int(task.values.length)];
  const prompt = { text: `<bos> Q: ${e} ?`, train: false };
  if (rng.next() >= searchProb) return [prompt, { text: "<think> </think> <answer> \\boxed{ unknown } </answer> <eos>", train: true }];
  return [
    prompt,
    { text: "<think> </think> <search>", train: true },
    { text: e, train: true, copy: true },
    { text: "</search>", train: true },
    { text: `<result> ${e} ${v} </result>`, train: false },
    { text: "<think> </think> <answer> \\boxed{", train: true },
    { text: v, train: true, copy: true },
    { text: "} </answer> <eos>", train: true },
  ];
}

export interface PretrainPhase {
  steps: number;
  /** Share of episodes that search. */
  searchProb: number;
  /** Loss on the copied tokens only (the query entity, the answer value): a tiny transformer learns to copy far
   *  sooner when that signal is not averaged with the format tokens. */
  copyOnly?: boolean;
}

/** Copying first (every episode searches), then the format, then a low search rate so RL starts near zero. */
export const DEFAULT_PRETRAIN: PretrainPhase[] = [
  { steps: 100, searchProb: 1, copyOnly: true },
  { steps: 60, searchProb: 0.5 },
  { steps: 30, searchProb: 0.06 },
];

/** Pre-train a fresh tiny model with next-token cross-entropy on content-free episodes; returns its weights. */
export function pretrainBaseModel(
  task: TinyTask,
  opts: { phases?: PretrainPhase[]; batch?: number; lr?: number; seed?: number } = {},
): WeightMap {
  const rng = createRng(opts.seed ?? 11);
  const model: TrainableModel = createTrainableModel(task.modelConfig, initWeights(task.modelConfig, opts.seed ?? 11));
  const adam = createAdamW(model.params, { lr: opts.lr ?? 3e-3, weightDecay: 0 });
  const B = opts.batch ?? 32;
  const schedule = (opts.phases ?? DEFAULT_PRETRAIN).flatMap((p) => Array<PretrainPhase>(p.steps).fill(p));
  let step = 0;
  for (const { searchProb, copyOnly } of schedule) {
    const rows = Array.from({ length: B }, () =>
      pretrainEpisode(task, rng, searchProb).flatMap((seg) =>
        task.tokenizer.encode(seg.text).map((id) => ({ id, train: copyOnly ? seg.copy === true : seg.train })),
      ),
    );
    const T = Math.max(...rows.map((r) => r.length));
    const ids = new Int32Array(B * T);
    const attn = new Float32Array(B * T);
    const lossMask = new Float32Array(B * (T - 1)); // position t predicts token t+1
    rows.forEach((r, b) =>
      r.forEach((x, t) => {
        ids[b * T + t] = x.id;
        attn[b * T + t] = 1;
        if (t > 0 && x.train) lossMask[b * (T - 1) + t - 1] = 1;
      }),
    );
    const tokens = lossMask.reduce((a, x) => a + x, 0);
    const g = computeGrads(model.params, [
      () =>
        tf.tidy(() => {
          const lp = model.tokenLogprobs({ inputIds: ids, B, T, attentionMask: attn }).logprobs; // (B, T−1)
          return tf.div(tf.neg(tf.sum(tf.mul(lp, tf.tensor2d(lossMask, [B, T - 1])))), tokens) as tf.Scalar;
        }),
    ]);
    if (process.env.TINY_PRETRAIN_VERBOSE && step % 20 === 0) console.log(`pretrain ${step} loss ${g.loss.toFixed(3)} p=${searchProb}${copyOnly ? " copy" : ""}`);
    step++;
    adam.update(g.grads);
    tf.dispose([...g.grads.values()]);
  }
  const weights = model.exportWeights();
  adam.dispose();
  model.dispose();
  return weights;
}
