/** @module eval/methods/naive-gen — answer directly from parametric knowledge, no retrieval (FlashRAG "zero-shot"). */
import { buildPrompt, NAIVE_GEN_PROMPT } from "../prompts.js";
import type { Method } from "../types.js";
import { generateText } from "./common.js";

export const naiveGen: Method = {
  name: "naive-gen",
  description: "answer directly, no retrieval (FlashRAG zero-shot prompt)",
  needsRetriever: false,
  async run(item, ctx) {
    const step = await generateText(ctx, buildPrompt(NAIVE_GEN_PROMPT, { question: item.question }, ctx.chat));
    return { pred: step.output.trim(), generations: [step] };
  },
};
