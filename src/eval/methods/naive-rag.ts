/** @module eval/methods/naive-rag — retrieve top-k for the question, list them as `Doc {i}(Title: …) …`, answer (FlashRAG standard RAG). */
import { buildPrompt, NAIVE_RAG_PROMPT } from "../prompts.js";
import type { Method } from "../types.js";
import { generateText, retrieve } from "./common.js";

export const naiveRag: Method = {
  name: "naive-rag",
  description: "retrieve top-k for the question once, answer from the documents (FlashRAG standard RAG)",
  needsRetriever: true,
  async run(item, ctx) {
    const retrieval = await retrieve(ctx, item.question);
    const step = await generateText(ctx, buildPrompt(NAIVE_RAG_PROMPT, { question: item.question, hits: retrieval.hits }, ctx.chat));
    return { pred: step.output.trim(), retrievals: [retrieval], generations: [step] };
  },
};
