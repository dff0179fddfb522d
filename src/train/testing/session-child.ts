/**
 * @module train/testing/session-child — a training run on the tiny task in its own process, for the resume tests
 * (they SIGKILL or SIGINT it mid-run). `tsx session-child.ts RUN_DIR BASE.safetensors fresh|resume`.
 * Prints `STEP n` after each logged step and `DONE status` at the end.
 */
import { initTensorBackend } from "../../tensor/backend.js";
import { readSafetensors } from "../../model/safetensors.js";
import { createTrainableModel } from "../../model/trainable.js";
import { createAdamW } from "../../model/optim.js";
import { createEngine } from "../../model/generate.js";
import { createNativeBackend } from "../../rollout/backends/native.js";
import { TrainConfig } from "../config.js";
import { abortOnSigint, runSession } from "../session.js";
import { createTinyTask } from "./tiny-task.js";
import { CHILD_CONFIG } from "./child-config.js";


const [runDir, basePath, mode] = process.argv.slice(2);
await initTensorBackend({ quiet: true });
const task = createTinyTask();
const base = readSafetensors(basePath).weights;
const cfg = TrainConfig.parse(CHILD_CONFIG);
const policy = createTrainableModel(task.modelConfig, base);
const reference = createTrainableModel(task.modelConfig, base, { trainable: false });
const optimizer = createAdamW(policy.params, { lr: cfg.lr, weightDecay: cfg.weightDecay, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.adamEps });
const engine = createEngine({ config: task.modelConfig, weights: base, tokenizer: task.tokenizer }, { maxBatch: 32 });
const { signal } = abortOnSigint();
const result = await runSession({
  runDir,
  config: cfg,
  modelConfig: task.modelConfig,
  resume: mode === "resume",
  signal,
  deps: {
    policy,
    reference,
    optimizer,
    backend: createNativeBackend({ engine }),
    syncWeights: (w) => engine.setWeights(w),
    retriever: task.retriever,
    examples: task.examples,
    eosId: task.tokenizer.eosId,
    template: task.template,
  },
  onStep: (m) => process.stdout.write(`STEP ${m.step}\n`),
});
process.stdout.write(`DONE ${result.status} ${result.stepsDone}\n`);
