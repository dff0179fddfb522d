/**
 * @module eval/methods/iter-retgen — Iter-RetGen (Shao et al., EMNLP Findings 2023) as FlashRAG's IterativePipeline:
 * 3 rounds; round 0 retrieves with the question, round i with `question + " " + generation of round i-1`;
 * every round answers with the naive-RAG prompt over its own retrieval; the last generation is the prediction.
 */
import { buildPrompt, NAIVE_RAG_PROMPT } from "../prompts.js";
import type { GenerationStep, Method, RetrievalStep } from "../types.js";
import { generateText, retrieve } from "./common.js";

/** FlashRAG run_exp.py `iterretgen`: iter_num = 3. */
export const ITER_RETGEN_ITERATIONS = 3;

export const iterRetGen: Method = {
  name: "iter-retgen",
  description: `${ITER_RETGEN_ITERATIONS} rounds of generation-augmented retrieval then retrieval-augmented generation`,
  needsRetriever: true,
  async run(item, ctx) {
    const retrievals: RetrievalStep[] = [];
    const generations: GenerationStep[] = [];
    let previous = "";
    const rounds = ctx.rounds?.iterRetgen ?? ITER_RETGEN_ITERATIONS;
    for (let iter = 0; iter < rounds; iter++) {
      const query = iter === 0 ? item.question : `${item.question} ${previous}`;
      const retrieval = await retrieve(ctx, query);
      const step = await generateText(ctx, buildPrompt(NAIVE_RAG_PROMPT, { question: item.question, hits: retrieval.hits }, ctx.chat));
      retrievals.push(retrieval);
      generations.push(step);
      previous = step.output;
    }
    return { pred: previous.trim(), retrievals, generations };
  },
};
