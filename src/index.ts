/**
 * @module index — the library API of ReSearch.ts: the same parts the `research` CLI is built from.
 * Data flows one way: model → tokenizer → retrieval → rollout → reward → train → eval → world → viewer.
 */
export type { ModelConfig } from "./model/config.js";
export type { WeightMap, Tensor32 } from "./model/weights.js";
export type { GenerationRequest, GenerationResult } from "./model/generation.js";
export type { Tokenizer } from "./tokenizer/types.js";
export type { Passage, SearchHit, Retriever } from "./retrieval/types.js";
export type { PolicyBackend, Segment, Trajectory, FinishReason } from "./rollout/types.js";

// model engine
export { loadModel, saveModel } from "./model/load.js";
export { createEngine, encodePrompt } from "./model/generate.js";
export { startModelServer } from "./model/server.js";
export { exportGguf } from "./model/gguf.js";
export { createTrainableModel, initWeights } from "./model/trainable.js";
export { createAdamW, computeGrads, clipByGlobalNorm } from "./model/optim.js";
export { initTensorBackend } from "./tensor/backend.js";
export { loadTokenizer } from "./tokenizer/load.js";

// retrieval
export { buildIndex, openRetriever } from "./retrieval/index.js";
export { startRetrieverServer } from "./retrieval/server.js";
export { createRetrieverClient } from "./retrieval/client.js";
export { readCorpus, parseContents, makePassage } from "./retrieval/corpus.js";

// rollout
export { runRollouts, streamRollouts } from "./rollout/loop.js";
export { createBackend } from "./rollout/backends/index.js";

// reward, metrics, data
export { computeReward, computeResponseReward, checkFormat, extractAnswer } from "./reward/reward.js";
export { normalizeAnswer } from "./reward/normalize.js";
export { exactMatch, tokenF1, subExactMatch, scoreItem, aggregate } from "./reward/metrics.js";
export { loadQA, loadQAArray, type QAExample } from "./data/qa.js";

// training
export { TrainConfig, resolveTrainConfig } from "./train/config.js";
export { groupAdvantages, grpoLoss, lowVarKl, policyLoss } from "./train/grpo.js";
export { runSession } from "./train/session.js";

// evaluation, world, viewer
export { runEval } from "./eval/run.js";
export { METHODS, getMethod } from "./eval/methods/index.js";
export { buildWorld, writeWorld } from "./world/build.js";
export { startViewer } from "./viewer/server.js";
export { writeReport } from "./viewer/report.js";
