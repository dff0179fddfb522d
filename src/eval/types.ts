/** @module eval/types — what an evaluation method gets (backend, retriever, settings) and what it returns per question. */
import type { Retriever, SearchHit } from "../retrieval/types.js";
import type { PolicyBackend, Trajectory, GenerationResult } from "../rollout/types.js";
import type { ChatRenderer } from "./prompts.js";

export type MethodName = "naive-gen" | "naive-rag" | "iter-retgen" | "ircot" | "research";
export const METHOD_NAMES: readonly MethodName[] = ["naive-gen", "naive-rag", "iter-retgen", "ircot", "research"];

/** One question to answer: the fields of the foundation's QAExample that evaluation needs. */
export interface EvalItem {
  id: string;
  question: string;
  goldenAnswers: string[];
}

/** Decoding settings for the baselines' generations (FlashRAG defaults: greedy, 32 new tokens). */
export interface GenerationSettings {
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
}

export interface MethodContext {
  backend: PolicyBackend;
  /** Absent only for naive-gen (and research, which searches through `rollout`). */
  retriever?: Retriever;
  /** Passages per retrieval (FlashRAG `retrieval_topk`, default 5). */
  topK: number;
  gen: GenerationSettings;
  /** For chat (instruct) models: renders messages with the model's chat template. Absent: base model, plain prompts. */
  chat?: ChatRenderer;
  /** Round counts (FlashRAG constructor arguments): Iter-RetGen `iter_num` (3), IRCoT `max_iter` (5). */
  rounds?: { iterRetgen?: number; ircot?: number };
  /** Runs one ReSearch rollout (the rollout engine's loop) for the `research` method. */
  rollout?: (item: EvalItem) => Promise<Trajectory>;
}

/** One retriever call a baseline made: the query and the hits it got, in rank order. */
export interface RetrievalStep {
  query: string;
  hits: SearchHit[];
}

/** One model call a baseline made. */
export interface GenerationStep {
  prompt: string;
  output: string;
  finishReason: GenerationResult["finishReason"];
}

export interface MethodOutput {
  /** The string the metrics and the judge score. */
  pred: string;
  /** The raw model output the prediction was parsed from, when it differs (IRCoT thoughts, ReSearch response). */
  raw?: string;
  retrievals?: RetrievalStep[];
  generations?: GenerationStep[];
  trajectory?: Trajectory;
}

export interface Method {
  name: MethodName;
  /** One-line description for `--help`. */
  description: string;
  /** Whether the method needs `ctx.retriever`. */
  needsRetriever: boolean;
  run(item: EvalItem, ctx: MethodContext): Promise<MethodOutput>;
}
