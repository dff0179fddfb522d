/**
 * @module train/setup — builds what the trainer needs from a loaded model and the config: the trainable policy, a
 * frozen reference only when klCoef > 0, AdamW from the config, the native inference engine (the rollout backend)
 * and the training backend. On ggml (the default) the policy and the engine share one set of weight tensors; with
 * RESEARCH_ENGINE=ts the tfjs policy's weights are copied into the TypeScript engine after each update. Shared by
 * `research train` and the demo.
 */
import type { LoadedModel } from "../model/generate.js";
import { createEngine } from "../model/generate.js";
import { createTrainableModel, type TrainableModel } from "../model/trainable.js";
import { AdamWConfigSchema, createAdamW, type AdamW } from "../model/optim.js";
import { usesTsEngine, engineRuntime } from "../model/engine-select.js";
import { GgmlWeights } from "../ggml/model.js";
import { GgmlAdamW, GgmlPolicy } from "../ggml/train.js";
import { createInProcessBackend, type TrainingBackend } from "./backend.js";
import { createGgmlBackend } from "./ggml-backend.js";
import { checkTinkerConfig, createTinkerBackend, type TinkerBackendOptions } from "./tinker-client.js";
import type { WeightMap } from "../model/weights.js";
import { createNativeBackend } from "../rollout/backends/native.js";
import type { PromptTemplate } from "../rollout/prompts.js";
import type { Retriever } from "../retrieval/types.js";
import type { TrainConfig } from "./config.js";
import type { TrainerDeps } from "./trainer.js";
import type { TrainExample } from "./sampler.js";

export interface TrainingSetup extends Omit<TrainerDeps, "policy" | "reference" | "optimizer" | "syncWeights"> {
  /** Steps 4–6: on ggml (default), or on tfjs with RESEARCH_ENGINE=ts. */
  training: TrainingBackend;
  engine: ReturnType<typeof createEngine>;
  /** Whether a frozen reference policy was built (klCoef > 0). */
  hasReference: boolean;
  /** The policy's current weights as Hugging Face tensors (a copy). */
  exportWeights(): WeightMap;
  numParams(): number;
  /** The ggml policy, reference and optimizer (default engine). */
  ggml?: { policy: GgmlPolicy; reference?: GgmlPolicy; optimizer: GgmlAdamW };
  /** The tfjs policy, reference and optimizer (RESEARCH_ENGINE=ts). */
  tfjs?: { policy: TrainableModel; reference?: TrainableModel; optimizer: AdamW };
  /** Free what the policy, reference and optimizer hold. */
  dispose(): void;
}

export function createTrainingSetup(
  cfg: TrainConfig,
  model: LoadedModel,
  opts: {
    retriever: Retriever;
    examples: TrainExample[];
    template?: PromptTemplate | string;
    maxBatch?: number;
    /** Train through a Tinker-compatible service (train/tinker-client.ts) instead of in this process. */
    tinker?: Omit<TinkerBackendOptions, "eosId" | "syncWeights">;
  },
): TrainingSetup {
  const maxBatch = opts.maxBatch ?? Math.min(64, cfg.promptsPerStep * cfg.groupSize);
  const adam = { lr: cfg.lr, weightDecay: cfg.weightDecay, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.adamEps };
  const common = {
    retriever: opts.retriever,
    examples: opts.examples,
    eosId: model.tokenizer.eosId,
    template: opts.template ?? (cfg.promptTemplate === "instruct" ? "research-instruct" : "research"),
    hasReference: cfg.klCoef > 0,
  };
  if (opts.tinker) {
    // rollouts run here on the native engine; the service's weights are loaded into it after each update
    checkTinkerConfig(cfg);
    const weights = new GgmlWeights(engineRuntime(), model.config, model.weights);
    const engine = createEngine(model, { maxBatch, weights });
    let current: WeightMap = model.weights;
    return {
      ...common,
      hasReference: false,
      engine,
      backend: createNativeBackend({ engine }),
      training: createTinkerBackend({
        ...opts.tinker,
        eosId: model.tokenizer.eosId,
        syncWeights: (w) => {
          weights.load(w);
          current = w;
        },
      }),
      exportWeights: () => new Map(current),
      numParams: () => weights.numParams(),
      dispose: () => weights.dispose(),
    };
  }
  if (usesTsEngine()) {
    const policy = createTrainableModel(model.config, model.weights);
    const reference = cfg.klCoef > 0 ? createTrainableModel(model.config, model.weights, { trainable: false }) : undefined;
    const optimizer = createAdamW(policy.params, adam);
    const engine = createEngine(model, { maxBatch });
    return {
      ...common,
      engine,
      backend: createNativeBackend({ engine }),
      training: createInProcessBackend({ policy, reference, optimizer, syncWeights: (w) => engine.setWeights(w), eosId: model.tokenizer.eosId }),
      exportWeights: () => policy.exportWeights(),
      numParams: () => policy.numParams(),
      tfjs: { policy, reference, optimizer },
      dispose: () => {
        policy.dispose();
        reference?.dispose();
        optimizer.dispose();
      },
    };
  }
  // ggml: one set of weights for the policy and the rollout engine
  const rt = engineRuntime();
  const weights = new GgmlWeights(rt, model.config, model.weights);
  const policy = new GgmlPolicy(weights);
  const refWeights = cfg.klCoef > 0 ? new GgmlWeights(rt, model.config, model.weights) : undefined;
  const reference = refWeights && new GgmlPolicy(refWeights, false);
  const optimizer = new GgmlAdamW(policy, AdamWConfigSchema.parse(adam));
  const engine = createEngine(model, { maxBatch, weights });
  return {
    ...common,
    engine,
    backend: createNativeBackend({ engine }),
    training: createGgmlBackend({ policy, reference, optimizer, eosId: model.tokenizer.eosId }),
    exportWeights: () => weights.export(),
    numParams: () => weights.numParams(),
    ggml: { policy, reference, optimizer },
    dispose: () => {
      optimizer.dispose();
      policy.dispose();
      reference?.dispose();
      refWeights?.dispose();
      weights.dispose();
    },
  };
}
