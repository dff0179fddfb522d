/**
 * @module eval/methods/ircot — IRCoT (Trivedi et al., ACL 2023) as FlashRAG's IRCOTPipeline with max_iter = 5:
 * retrieve with the question; then up to 5 times: write one chain-of-thought step over all passages gathered so far,
 * stop if it says "So the answer is:", else retrieve with that step and merge the new passages (each keeps its best
 * score; the list is sorted by score ascending, as FlashRAG does, so the best passages sit next to the question).
 * Prediction: the text after the first "So the answer is:" in the joined thoughts, else all thoughts (ircot_pred_parse).
 *
 * One deviation, documented: a thought is the first line of the generation (the demonstration writes one thought
 * per line). FlashRAG keeps the whole 32-token generation, which for a base model spills into an invented
 * "Wikipedia Title: …" block that would then be used as the next query.
 */
import { buildPrompt, IRCOT_ANSWER_MARKER, IRCOT_PROMPT } from "../prompts.js";
import type { SearchHit } from "../../retrieval/types.js";
import type { GenerationStep, Method, RetrievalStep } from "../types.js";
import { generateText, retrieve } from "./common.js";

/** FlashRAG run_exp.py `ircot`: IRCOTPipeline(config, max_iter=5). */
export const IRCOT_MAX_ITERATIONS = 5;

/** FlashRAG's ircot_pred_parse. */
export function parseIrcotAnswer(thoughts: string): string {
  const at = thoughts.indexOf(IRCOT_ANSWER_MARKER);
  if (at < 0) return thoughts;
  const rest = thoughts.slice(at + IRCOT_ANSWER_MARKER.length);
  const next = rest.indexOf(IRCOT_ANSWER_MARKER); // Python split(...)[1] stops at a second marker
  return (next < 0 ? rest : rest.slice(0, next)).trim();
}

/** Earlier thoughts as appended after "Thought:" — each trimmed, so a space leads and separates them. */
export function previousThoughts(thoughts: string[]): string {
  return thoughts.length ? " " + thoughts.join(" ") : "";
}

/** The first non-empty line of a generation, trimmed. */
export function firstThought(output: string): string {
  return output.trim().split("\n")[0].trim();
}

/** Merge new hits into the pool (best score per id) and return the pool sorted by score ascending (FlashRAG). */
export function mergeHits(pool: Map<string, SearchHit>, hits: SearchHit[]): SearchHit[] {
  for (const h of hits) {
    const old = pool.get(h.id);
    if (!old || h.score > old.score) pool.set(h.id, h);
  }
  return [...pool.values()].sort((a, b) => a.score - b.score);
}

export const ircot: Method = {
  name: "ircot",
  description: `interleave retrieval with chain-of-thought steps (≤ ${IRCOT_MAX_ITERATIONS} rounds, stops at "${IRCOT_ANSWER_MARKER}")`,
  needsRetriever: true,
  async run(item, ctx) {
    const first = await retrieve(ctx, item.question);
    const retrievals: RetrievalStep[] = [first];
    const generations: GenerationStep[] = [];
    const pool = new Map<string, SearchHit>();
    mergeHits(pool, first.hits);
    let passages = first.hits; // FlashRAG keeps the retriever's order until the first merge
    const thoughts: string[] = [];
    const maxRounds = ctx.rounds?.ircot ?? IRCOT_MAX_ITERATIONS;
    for (let iter = 0; iter < maxRounds; iter++) {
      const prompt = buildPrompt(IRCOT_PROMPT, { question: item.question, hits: passages, previousGen: previousThoughts(thoughts) }, ctx.chat);
      const step = await generateText(ctx, prompt);
      generations.push(step);
      const thought = firstThought(step.output);
      thoughts.push(thought);
      if (thought.includes(IRCOT_ANSWER_MARKER)) break;
      if (iter === maxRounds - 1) break; // FlashRAG retrieves once more here, but nothing reads it
      const next = await retrieve(ctx, thought);
      retrievals.push(next);
      passages = mergeHits(pool, next.hits);
    }
    const raw = thoughts.join(" ");
    return { pred: parseIrcotAnswer(raw), raw, retrievals, generations };
  },
};
