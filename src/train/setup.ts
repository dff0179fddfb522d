/**
 * @module train/setup — builds what the trainer needs from a loaded model and the config: the trainable policy, a
 * frozen reference only when klCoef > 0, AdamW from the config, the native inference engine on the same weights (the
 * rollout backend) and the weight sync between them. Shared by `research train` and the demo.
 */
import type { LoadedModel } from "../model/generate.js";
import { createEngine } from "../model/generate.js";
import { createTrainableModel, type TrainableModel } from "../model/trainable.js";
import { createAdamW, type AdamW } from "../model/optim.js";
import type { WeightMap } from "../model/weights.js";
import { createNativeBackend } from "../rollout/backends/native.js";
import type { PromptTemplate } from "../rollout/prompts.js";
import type { Retriever } from "../retrieval/types.js";
import type { TrainConfig } from "./config.js";
import type { TrainerDeps } from "./trainer.js";
import type { TrainExample } from "./sampler.js";

export interface TrainingSetup extends TrainerDeps {
  policy: TrainableModel;
  optimizer: AdamW;
  syncWeights(weights: WeightMap): void | Promise<void>;
  engine: ReturnType<typeof createEngine>;
  /** Free the tfjs variables (policy, reference, optimizer moments). */
  dispose(): void;
}

export function createTrainingSetup(
  cfg: TrainConfig,
  model: LoadedModel,
  opts: { retriever: Retriever; examples: TrainExample[]; template?: PromptTemplate | string; maxBatch?: number },
): TrainingSetup {
  const policy = createTrainableModel(model.config, model.weights);
  const reference = cfg.klCoef > 0 ? createTrainableModel(model.config, model.weights, { trainable: false }) : undefined;
  const optimizer = createAdamW(policy.params, { lr: cfg.lr, weightDecay: cfg.weightDecay, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.adamEps });
  const engine = createEngine(model, { maxBatch: opts.maxBatch ?? Math.min(64, cfg.promptsPerStep * cfg.groupSize) });
  return {
    policy,
    reference,
    optimizer,
    engine,
    backend: createNativeBackend({ engine }),
    syncWeights: (w) => engine.setWeights(w),
    retriever: opts.retriever,
    examples: opts.examples,
    eosId: model.tokenizer.eosId,
    template: opts.template ?? (cfg.promptTemplate === "instruct" ? "research-instruct" : "research"),
    dispose: () => {
      policy.dispose();
      reference?.dispose();
      optimizer.dispose();
    },
  };
}
