/**
 * @module train/testing/session-child — a training run on the tiny task in its own process, for the resume tests
 * (they SIGKILL or SIGINT it mid-run). `tsx session-child.ts RUN_DIR BASE.safetensors fresh|resume`.
 * Prints `STEP n` after each logged step and `DONE status` at the end.
 */
import { initTensorBackend } from "../../tensor/backend.js";
import { readSafetensors } from "../../model/safetensors.js";
import { TrainConfig } from "../config.js";
import { abortOnSigint, runSession } from "../session.js";
import { createTrainingSetup } from "../setup.js";
import { createTinyTask } from "./tiny-task.js";
import { CHILD_CONFIG } from "./child-config.js";


const [runDir, basePath, mode] = process.argv.slice(2);
await initTensorBackend({ quiet: true });
const task = createTinyTask();
const base = readSafetensors(basePath).weights;
const cfg = TrainConfig.parse(CHILD_CONFIG);
// CHILD_CONFIG has klCoef > 0, so the setup builds the frozen reference too.
const deps = createTrainingSetup(cfg, { config: task.modelConfig, weights: base, tokenizer: task.tokenizer }, {
  retriever: task.retriever,
  examples: task.examples,
  template: task.template,
  maxBatch: 32,
});
const { signal } = abortOnSigint();
const result = await runSession({
  runDir,
  config: cfg,
  modelConfig: task.modelConfig,
  resume: mode === "resume",
  signal,
  deps,
  onStep: (m) => process.stdout.write(`STEP ${m.step}\n`),
});
process.stdout.write(`DONE ${result.status} ${result.stepsDone}\n`);
