/** @module eval/methods/common — one model call and one retriever call as the baselines make them. */
import type { SearchHit } from "../../retrieval/types.js";
import { stripEos } from "../../tokenizer/chat.js";
import type { BuiltPrompt } from "../prompts.js";
import type { GenerationStep, MethodContext, RetrievalStep } from "../types.js";

/**
 * Generate one completion for `prompt` with the baseline settings. The returned text has the backend's EOS text
 * (kept by backends on an EOS finish) and a matched stop string removed, so it is what the model "said".
 */
export async function generateText(ctx: MethodContext, prompt: BuiltPrompt, stop: string[] = []): Promise<GenerationStep> {
  const [res] = await ctx.backend.generate([
    { prompt: prompt.text, messages: prompt.messages, maxTokens: ctx.gen.maxTokens, temperature: ctx.gen.temperature, topP: ctx.gen.topP, seed: ctx.gen.seed, stop },
  ]);
  if (!res) throw new Error(`backend ${ctx.backend.name} returned no result`);
  let text = res.finishReason === "eos" ? stripEos(res.text, ctx.backend.eosText) : res.text;
  if (res.finishReason === "stop" && res.stopString && text.endsWith(res.stopString)) text = text.slice(0, -res.stopString.length);
  return { prompt: prompt.text, output: text, finishReason: res.finishReason };
}

/** Retrieve the top-k passages for one query. */
export async function retrieve(ctx: MethodContext, query: string): Promise<RetrievalStep> {
  if (!ctx.retriever) throw new Error("this method needs a retriever (--index DIR or --retriever-url URL)");
  const [hits] = await ctx.retriever.search([query], ctx.topK);
  return { query, hits: (hits ?? []).map((h: SearchHit) => ({ id: h.id, contents: h.contents, score: h.score })) };
}
