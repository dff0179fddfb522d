/**
 * @module world/pretrain — pre-train the world's base model (a small Llama-style transformer in Hugging Face format
 * with the world's word-level tokenizer) on the pre-training split: next-token loss on packed documents from
 * world/pretrain-data.ts, AdamW with warm-up + cosine decay, checkpoints every few steps (resumable after a kill).
 * Deterministic for a given config and step count; `maxMinutes` only decides where a run stops.
 *
 * The loop, checkpoints and log are the GRPO trainer's (train/session.ts `runStepLoop`, train/run.ts): OUT/checkpoints/
 * step-N/ (a loadable model dir + optimizer.safetensors + state.json, written atomically, the last one kept) and
 * OUT/pretrain-log.jsonl (one line per step, cut back to the checkpoint on resume). The finished model is OUT itself
 * (config.json, model.safetensors, tokenizer files) with OUT/pretrain.json.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { strictConfig } from "../util/schema.js";
import type { ModelConfig } from "../model/config.js";
import { memoryBm25Retriever } from "../retrieval/memory.js";
import type { Passage } from "../retrieval/types.js";
import type { RunLayout } from "../train/run.js";
import { lrAt, type LrSchedule } from "../train/schedule.js";
import { writeJsonAtomic } from "../util/fs.js";
import { createProgress } from "../util/progress.js";
import { createRng, type Rng } from "../util/rng.js";
import { UserError } from "../util/errors.js";
import { buildWorld, type World } from "./build.js";
import { WorldConfigSchema } from "./config.js";
import { nextDoc, PretrainMixSchema, type EpisodeOptions, type EpisodeSource } from "./pretrain-data.js";
import { createWordLevelTokenizer, saveWordLevelTokenizer, type WordLevelTokenizer } from "./tokenizer.js";
import { worldVocab } from "./vocab.js";
import { CITY_SUFFIXES, COMPANY_SUFFIXES, COUNTRY_PREFIXES, FILM_ADJECTIVES, FILM_NOUNS, GOVERNMENTS } from "./names.js";

export const BaseModelSchema = strictConfig({
  hidden_size: z.number().int().default(128).describe("D: small enough for ~4 s steps on 2 cores (wasm)"),
  num_hidden_layers: z.number().int().default(4).describe("L: ≥ 2 layers so induction (copy) heads can form"),
  num_attention_heads: z.number().int().default(4).describe("H: head dim 32"),
  intermediate_size: z.number().int().default(384).describe("SwiGLU hidden (3 × D)"),
  max_position_embeddings: z.number().int().default(1024).describe("context: prompt + 3 searches with top-1 results fit"),
  rope_theta: z.number().default(10000).describe("RoPE base (Llama default)"),
});

/** Pre-training options that were tried and removed (their measured results stay in the README's history). */
const REMOVED_OPTIONS = {
  copyWeight: "the copied-span loss weight did not help (README: stage 8 history); delete it from the config",
  lossMask: 'the copy-only loss ("lossMask: copy") did not help (README: stage 8 history); delete it from the config (every token is trained)',
  renameYears: "renaming years did not make the base copy years (README: stage 9 history); delete it from the config",
  answerFromResultProb: "answers after a search are drawn from the result with probability 0.9, fixed (README: stage 8 history); delete it from the config",
};

export const PretrainConfigSchema = strictConfig({
  seed: z.number().int().default(1).describe("data order and initialisation seed"),
  model: BaseModelSchema.default(BaseModelSchema.parse({})).describe("architecture (Llama, tied embeddings)"),
  seqLen: z.number().int().min(16).default(384).describe("T: tokens per row; longer documents keep their last T tokens"),
  batchSize: z.number().int().min(1).default(8).describe("B: rows per step (short documents are packed into a row)"),
  steps: z.number().int().min(1).default(3000).describe("optimizer steps for a full run"),
  lr: z.number().positive().default(2e-3).describe("peak learning rate (small models tolerate a high rate)"),
  warmup: z.number().int().min(0).default(100).describe("linear warm-up steps"),
  minLrRatio: z.number().min(0).max(1).default(0.1).describe("cosine decay floor as a fraction of the peak"),
  weightDecay: z.number().min(0).default(0.01).describe("AdamW decoupled weight decay on matrices"),
  maxGradNorm: z.number().min(0).default(1).describe("global gradient-norm clip"),
  checkpointEvery: z.number().int().min(1).default(25).describe("steps between resumable checkpoints"),
  maxMinutes: z.number().min(0).default(0).describe("stop (and save) after this many minutes; 0 = run all steps"),
  stopAt: z.number().int().min(0).default(0).describe("stop (and save) after this step, the schedule still spanning `steps` (0 = run all steps): a deterministic early stop"),
  init: z.string().default("").describe("start from this model directory's weights instead of a random init (a second stage); \"\" = random"),
  mix: PretrainMixSchema.default(PretrainMixSchema.parse({})).describe("document kinds and weights"),
  researchTopN: z.number().int().min(1).default(1).describe("passages per ReSearch search (the demo's topN)"),
  baselineTopK: z.number().int().min(1).default(3).describe("passages per baseline retrieval (the demo's topK)"),
  maxSearches: z.number().int().min(0).default(3).describe("most searches in a content-free ReSearch episode"),
  mentionQueryProb: z.number().min(0).max(1).default(0).describe("probability that a content-free ReSearch query is a name the question mentions, copied verbatim, instead of a random span (answers stay random spans: no episode solves a question)"),
  renameProb: z.number().min(0).max(1).default(0).describe("probability that a document's entity names are renamed by a random permutation within each name-part pool (consistently across prompt, queries and results): names become unpredictable, so the model must copy them from context instead of recalling memorised name pairs"),
  searchWeights: z.array(z.number().min(0)).nullable().default(null).describe("weights of 0, 1, 2, … searches in a content-free ReSearch episode (null: 0 with p 0.1, else 1..maxSearches uniformly); a base model that seldom searches leaves RL room to learn when to search"),
  querySpan: z.tuple([z.number().int().min(1), z.number().int().min(1)]).default([2, 4]).describe("words in a content-free query span, [min, max]: longer spans contain a whole name more often (still drawn at random)"),
  answerSpans: z.enum(["span", "entity"]).default("span").describe("what a content-free answer is: \"span\" = a uniformly random 1–3-word span of the question or results; \"entity\" = a uniformly random entity mention (name or year) of the same text, every mention equally likely (answers look like answers, and still carry no information about which one is right)"),
  yesNoProb: z.number().min(0).max(1).default(0).describe("probability that a content-free answer is \"yes\" or \"no\" (a fair coin, whatever the question), so yes/no is a form the base model knows"),
  answerByKind: z.boolean().default(false).describe("content-free answers take the question's form, their value still random: a fair coin yes/no for a yes/no question, one of the two compared names (uniformly) for a comparison"),
  followUpMentionProb: z.number().min(0).max(1).default(0).describe("probability that a ReSearch query after a search is a uniformly random entity mention of the last result instead of a random span (every mention equally likely, so it says nothing about which one to follow)"),
  renameTitles: z.boolean().default(false).describe("renaming also permutes the words of film titles (adjectives among adjectives, nouns among nouns; words shared with place or company names excepted)"),
}, REMOVED_OPTIONS);
export type PretrainConfig = z.infer<typeof PretrainConfigSchema>;

/** The pre-training split's passages: exactly the passages of pre-training entities. */
export function pretrainPassages(world: World): Passage[] {
  const ids = new Set<string>();
  for (const [key, id] of world.passageOf) if (world.entities.byKey.get(key)!.split === "pretrain") ids.add(id);
  return world.corpus.filter((p) => ids.has(p.id));
}

/** The pools renaming permutes within: first names, surnames, roots (and film-title words). */
export function namePools(world: World, titles: boolean): string[][] {
  const { firstNames, surnames, roots } = world.entities.pools;
  const pools = [firstNames, surnames, roots];
  if (titles) {
    const shared = new Set([...CITY_SUFFIXES, ...COUNTRY_PREFIXES, ...COMPANY_SUFFIXES, ...GOVERNMENTS]);
    pools.push(FILM_ADJECTIVES.filter((w) => !shared.has(w)), FILM_NOUNS.filter((w) => !shared.has(w)));
  }
  return pools;
}

/** Every entity's name and aliases (what `answerSpans: "entity"` recognises as a mention). */
export function entityNames(world: World): Set<string> {
  const names = new Set<string>();
  for (const e of world.entities.byKey.values()) for (const n of [e.name, ...e.aliases]) names.add(n);
  return names;
}

export function baseModelConfig(c: PretrainConfig, tok: WordLevelTokenizer): ModelConfig {
  return {
    architectures: ["LlamaForCausalLM"], model_type: "llama", vocab_size: tok.vocabSize,
    hidden_size: c.model.hidden_size, intermediate_size: c.model.intermediate_size, num_hidden_layers: c.model.num_hidden_layers,
    num_attention_heads: c.model.num_attention_heads, num_key_value_heads: c.model.num_attention_heads,
    max_position_embeddings: c.model.max_position_embeddings, rms_norm_eps: 1e-5, rope_theta: c.model.rope_theta,
    tie_word_embeddings: true, bos_token_id: null, eos_token_id: tok.eosId,
  };
}

export interface PackedBatch {
  inputIds: Int32Array; // (B, T)
  attentionMask: Uint8Array; // (B, T)
  B: number;
  T: number;
  kinds: Record<string, number>;
}

/** Fill B rows of T tokens: documents packed greedily in order, a document longer than T keeps its last T tokens. */
export async function packBatch(rng: Rng, src: EpisodeSource, tok: WordLevelTokenizer, c: PretrainConfig, carry: { ids?: number[]; kind?: string }): Promise<PackedBatch> {
  const { batchSize: B, seqLen: T } = c;
  const o: EpisodeOptions = { researchTopN: c.researchTopN, baselineTopK: c.baselineTopK, maxSearches: c.maxSearches, mentionQueryProb: c.mentionQueryProb, renameProb: c.renameProb, querySpan: c.querySpan, searchWeights: c.searchWeights ?? undefined, answerSpans: c.answerSpans, yesNoProb: c.yesNoProb, followUpMentionProb: c.followUpMentionProb, answerByKind: c.answerByKind };
  const inputIds = new Int32Array(B * T);
  const attentionMask = new Uint8Array(B * T);
  const kinds: Record<string, number> = {};
  for (let b = 0; b < B; b++) {
    let len = 0;
    for (;;) {
      if (!carry.ids) {
        const doc = await nextDoc(rng, src, c.mix, o);
        const ids = doc.parts.flatMap((p) => tok.encode(p.text));
        carry.ids = ids.length > T ? ids.slice(ids.length - T) : ids;
        carry.kind = doc.kind;
      }
      if (len > 0 && len + carry.ids.length > T) break;
      inputIds.set(carry.ids, b * T + len);
      attentionMask.fill(1, b * T + len, b * T + len + carry.ids.length);
      len += carry.ids.length;
      kinds[carry.kind!] = (kinds[carry.kind!] ?? 0) + 1;
      carry.ids = undefined;
      if (len >= T) break;
    }
  }
  return { inputIds, attentionMask, B, T, kinds };
}

/** Pre-training's learning-rate schedule: linear warm-up, then a cosine decay to lr × minLrRatio at `steps`. */
export function pretrainSchedule(c: PretrainConfig): LrSchedule {
  return { lr: c.lr, warmup: c.warmup, decay: { shape: "cosine", from: c.warmup, steps: c.steps - c.warmup, to: c.minLrRatio } };
}

interface CkptState {
  step: number;
  rng: number[];
  carry: { ids?: number[]; kind?: string };
  config: PretrainConfig;
  seconds: number;
  /** Byte length of pretrain-log.jsonl right after this step's line. */
  metricsBytes: number;
}

/** The pre-training run directory: the train/ run layout with pretrain-log.jsonl as its metrics log. */
const LAYOUT: RunLayout = { metrics: "pretrain-log.jsonl" };

export interface PretrainResult {
  outDir: string;
  steps: number;
  seconds: number;
  finalLoss: number;
  params: number;
}

/** Load the world from its directory (rebuilt from the manifest's config; the corpus hash is checked). */
export function loadWorldFromDir(worldDir: string): World {
  const mpath = join(worldDir, "manifest.json");
  if (!existsSync(mpath)) throw new UserError(`world manifest not found: ${mpath} (run: research world build --out ${worldDir})`);
  const m = JSON.parse(readFileSync(mpath, "utf8")) as { config: unknown; files?: Record<string, string> };
  const world = buildWorld(WorldConfigSchema.parse(m.config));
  const corpusPath = join(worldDir, "corpus.jsonl");
  if (m.files?.["corpus.jsonl"] && existsSync(corpusPath)) {
    const h = createHash("sha256").update(readFileSync(corpusPath, "utf8")).digest("hex");
    if (h !== m.files["corpus.jsonl"]) throw new UserError(`${corpusPath} does not match its manifest (edited?); rebuild the world`);
  }
  return world;
}

/** The causal-LM trainer pre-training runs: ggml (ggml/train.ts lmTrainStep, the default engine) or, with
 *  RESEARCH_ENGINE=ts, the tfjs model and AdamW (model/optim-step.ts trainStep); the same step either way. */
async function lmTrainer(config: import("../model/config.js").ModelConfig, weights: import("../model/weights.js").WeightMap, adam: Partial<import("../model/optim.js").AdamWConfig>) {
  type Step = (b: import("../model/optim-step.js").LmBatch, o: { lr: number; maxGradNorm: number }) => { loss: number; gradNorm: number; skipped: boolean; tokens: number };
  const { AdamWConfigSchema } = await import("../model/optim.js");
  const { usesTsEngine, engineRuntime } = await import("../model/engine-select.js");
  if (usesTsEngine()) {
    const { createTrainableModel } = await import("../model/trainable.js");
    const { createAdamW } = await import("../model/optim.js");
    const { trainStep } = await import("../model/optim-step.js");
    const model = createTrainableModel(config, weights);
    const optimizer = createAdamW(model.params, adam);
    const step: Step = (b, o) => trainStep(model, optimizer, b, o);
    return { optimizer, step, exportWeights: () => model.exportWeights(), numParams: () => model.numParams(), dispose: () => { optimizer.dispose(); model.dispose(); } };
  }
  const { GgmlWeights } = await import("../ggml/model.js");
  const { GgmlAdamW, GgmlPolicy, lmTrainStep } = await import("../ggml/train.js");
  const w = new GgmlWeights(engineRuntime(), config, weights);
  const policy = new GgmlPolicy(w);
  const optimizer = new GgmlAdamW(policy, AdamWConfigSchema.parse(adam));
  const step: Step = (b, o) => lmTrainStep(policy, optimizer, b, o);
  return { optimizer, step, exportWeights: () => w.export(), numParams: () => w.numParams(), dispose: () => { optimizer.dispose(); policy.dispose(); w.dispose(); } };
}

/** Pre-train (or resume pre-training) into `outDir`. `signal` (SIGINT) stops after the current step, as `maxMinutes`
 * does: a checkpoint, the model and pretrain.json are written. */
export async function pretrainBaseModel(worldDir: string, outDir: string, cfg: PretrainConfig, opts: { quiet?: boolean; log?: (s: string) => void; signal?: AbortSignal } = {}): Promise<PretrainResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + "\n"));
  const { initTensorBackend } = await import("../tensor/backend.js");
  const { initWeights } = await import("../model/trainable.js");
  const { saveModel } = await import("../model/load.js");
  const { readSafetensorsDir } = await import("../model/safetensors.js");
  const { latestCheckpoint, loadCheckpoint, saveCheckpoint, appendMetrics, truncateMetrics } = await import("../train/run.js");
  const { runStepLoop } = await import("../train/session.js");
  await initTensorBackend({ quiet: opts.quiet });

  const world = loadWorldFromDir(worldDir);
  const vocab = worldVocab(world);
  const tok = createWordLevelTokenizer(vocab);
  const passages = pretrainPassages(world);
  const src: EpisodeSource = { questions: world.questions.pretrain, passages, retriever: memoryBm25Retriever(passages), namePools: namePools(world, cfg.renameTitles), entityNames: entityNames(world) };
  const config = baseModelConfig(cfg, tok);
  const schedule = pretrainSchedule(cfg);
  const oldCkpt = join(outDir, "checkpoint");
  if (existsSync(join(oldCkpt, "state.json")))
    throw new UserError(`${oldCkpt}: a pre-training checkpoint of the old format (one checkpoint/ folder; this version resumes from ${join(outDir, "checkpoints")}/step-N/); finish that run with the version that started it, or delete ${oldCkpt} (and ${join(outDir, "pretrain-log.jsonl")}) to start over`);

  let step = 0;
  let seconds = 0;
  let metricsBytes = 0;
  const rng = createRng(cfg.seed);
  let carry: CkptState["carry"] = {};
  let weights = cfg.init ? readSafetensorsDir(cfg.init) : initWeights(config, cfg.seed);
  let optState: import("../model/weights.js").WeightMap | undefined;
  const ckpt = latestCheckpoint<CkptState>(outDir);
  if (ckpt) {
    const st = ckpt.state;
    // maxMinutes and stopAt only decide where a run stops, so a resumed run may change them
    const same = stableJson({ ...PretrainConfigSchema.parse(st.config), maxMinutes: 0, stopAt: 0 }) === stableJson({ ...cfg, maxMinutes: 0, stopAt: 0 });
    if (!same) throw new UserError(`${join(ckpt.dir, "state.json")}: checkpoint was made with a different config; use a new --out or delete ${join(outDir, "checkpoints")}`);
    const c = loadCheckpoint(ckpt);
    weights = c.weights;
    optState = c.optimizer;
    step = st.step;
    seconds = st.seconds;
    rng.setState(st.rng);
    carry = st.carry;
    metricsBytes = st.metricsBytes;
    truncateMetrics(outDir, metricsBytes, LAYOUT);
    log(`resuming pre-training at step ${step}`);
  } else if (existsSync(join(outDir, "pretrain-log.jsonl"))) truncateMetrics(outDir, 0, LAYOUT); // killed before its first checkpoint
  const model = await lmTrainer(config, weights, { lr: cfg.lr, weightDecay: cfg.weightDecay, decayOn: "matrices" });
  const opt = model.optimizer;
  if (optState) opt.importState(optState);
  log(`base model: ${model.numParams()} parameters, vocab ${tok.vocabSize}, T=${cfg.seqLen}, B=${cfg.batchSize}, ${passages.length} pre-training passages`);

  const writeModel = (dir: string, w: import("../model/weights.js").WeightMap) => {
    saveModel(dir, { config, weights: w });
    saveWordLevelTokenizer(dir, vocab, config.max_position_embeddings);
  };
  const t0 = Date.now();
  const secs = () => seconds + (Date.now() - t0) / 1000;
  const bar = createProgress("pretrain", cfg.steps, { quiet: opts.quiet, fields: "loss={loss}" });
  bar.update(step);
  let lastLoss = NaN;
  await runStepLoop(
    {
      stepsDone: () => step,
      totalSteps: cfg.stopAt > 0 ? Math.min(cfg.stopAt, cfg.steps) : cfg.steps,
      checkpointEvery: cfg.checkpointEvery,
      signal: opts.signal,
      stopHere() {
        const over = cfg.maxMinutes > 0 && secs() - seconds >= cfg.maxMinutes * 60;
        if (over) log(`time budget of ${cfg.maxMinutes} min reached at step ${step}`);
        return over;
      },
      async step() {
        const batch = await packBatch(rng, src, tok, cfg, carry);
        const r = model.step({ inputIds: batch.inputIds, B: batch.B, T: batch.T, attentionMask: batch.attentionMask }, { lr: lrAt(schedule, step), maxGradNorm: cfg.maxGradNorm });
        step++;
        lastLoss = r.loss;
        metricsBytes = appendMetrics(outDir, { step, loss: r.loss, gradNorm: r.gradNorm, skipped: r.skipped, tokens: r.tokens, lr: lrAt(schedule, step - 1), seconds: Number(secs().toFixed(1)), kinds: batch.kinds }, LAYOUT);
        bar.update(step, { loss: r.loss.toFixed(3) });
        return true;
      },
      checkpoint() {
        const state: CkptState = { step, rng: rng.getState(), carry, config: cfg, seconds: secs(), metricsBytes };
        saveCheckpoint(outDir, { modelConfig: config, weights: model.exportWeights(), optimizer: opt.exportState(), state }, 1, writeModel);
      },
    },
    ckpt ? ckpt.state.step : -1,
  );
  bar.stop();
  seconds = secs();
  writeModel(outDir, model.exportWeights());
  writeJsonAtomic(join(outDir, "pretrain.json"), {
    what: `base model of the synthetic world: next-token loss on the PRE-TRAINING split only`,
    data: {
      passages: `${passages.length} passages of pre-training entities (no RL-train or test entity appears)`,
      episodes: `content-free episodes in the ReSearch, naive-gen, naive-RAG, Iter-RetGen and IRCoT prompt formats over pre-training questions; every query, thought and answer is a uniformly random span of the question or of the retrieved passages (queries ${cfg.querySpan[0]}–${cfg.querySpan[1]} words, thoughts 1–5, answers ${cfg.answerSpans === "entity" ? "a uniformly random entity mention (name or year) of the text, else 1–3 words" : "1–3 words"}${cfg.yesNoProb > 0 ? `, or with probability ${cfg.yesNoProb} a coin-flip yes/no` : ""}${cfg.answerByKind ? "; a yes/no question's answer is a coin-flip yes/no and a comparison's a uniformly random one of its two names" : ""})${cfg.mentionQueryProb > 0 ? ` (a ReSearch query is, with probability ${cfg.mentionQueryProb}, a name the question mentions, copied)` : ""}${cfg.renameProb > 0 ? `; with probability ${cfg.renameProb} a document's names are renamed by a random permutation within each name-part pool (names${cfg.renameTitles ? " and film titles" : ""} that exist nowhere, consistent within the document)` : ""}${cfg.followUpMentionProb > 0 ? `; a query after a search is, with probability ${cfg.followUpMentionProb}, a uniformly random entity mention of the last result` : ""}${cfg.searchWeights ? `; a ReSearch episode makes 0, 1, 2, … searches with weights ${cfg.searchWeights.join("/")}` : ""}; retrieval (BM25) indexes only pre-training passages; no trajectory that solves a question`,
      mix: cfg.mix,
    },
    config: cfg,
    steps: step,
    seconds: Number(seconds.toFixed(1)),
    finalLoss: lastLoss,
    params: model.numParams(),
  });
  const params = model.numParams();
  model.dispose();
  return { outDir, steps: step, seconds, finalLoss: lastLoss, params };
}

/** JSON with object keys sorted (configs compare equal whatever order their keys were written in). */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
  return JSON.stringify(v);
}

/** Remove a run's resumable state (after a finished run is committed, the checkpoints folder is not needed). */
export function dropCheckpoint(outDir: string): void {
  rmSync(join(outDir, "checkpoints"), { recursive: true, force: true });
}
