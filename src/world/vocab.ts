/**
 * @module world/vocab — the word-level vocabulary of the world: every word of the corpus and the questions of all
 * splits, plus every prompt format the project uses (ReSearch, Search-R1, FlashRAG baselines), so prompt boilerplate
 * tokenizes without `<unk>` and every name part a model must copy has its own token.
 */
import { RESEARCH_BASE_PROMPT, SEARCHR1_PROMPT } from "../rollout/prompts.js";
import { IRCOT_ANSWER_MARKER, IRCOT_PROMPT, NAIVE_GEN_PROMPT, NAIVE_RAG_PROMPT } from "../eval/prompts.js";
import { SPLITS } from "./config.js";
import type { World } from "./build.js";
import { buildVocab, type WordLevelData } from "./tokenizer.js";

/** Prompt boilerplate that must tokenize: all template texts the rollout and evaluation modules render. */
export function promptTexts(): string[] {
  return [
    RESEARCH_BASE_PROMPT, SEARCHR1_PROMPT,
    ...[NAIVE_GEN_PROMPT, NAIVE_RAG_PROMPT, IRCOT_PROMPT].flatMap((t) => [t.system, t.user, t.reference]),
    IRCOT_ANSWER_MARKER, "The final answer is \\[ \\boxed{} \\]", "Doc 1 2 3 4 5 (Title:", "yes no",
  ];
}

export function worldVocab(world: World): WordLevelData {
  const texts: string[] = [...promptTexts()];
  for (const p of world.corpus) texts.push(p.contents);
  // `${question}.`: the ReSearch prompt puts a period after the question ("…born?.")
  for (const s of SPLITS) for (const q of world.questions[s]) texts.push(`${q.question}.`, ...q.golden_answers);
  return buildVocab(texts);
}
