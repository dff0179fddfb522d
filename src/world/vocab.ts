/**
 * @module world/vocab — the word-level vocabulary of the world: every word of the corpus and the questions of all
 * splits, plus every prompt format the project uses (ReSearch, Search-R1, FlashRAG baselines), so prompt boilerplate
 * tokenizes without `<unk>` and every name part a model must copy has its own token.
 *
 * Each fixed stretch of prompt boilerplate (the text between a template's placeholders, when it is 6 words or more)
 * is ONE added token: the model still reads the verbatim prompt, but the ReSearch instruction costs 1 position
 * instead of 164, so a small model's context and compute go to the question, the queries and the results.
 */
import { RESEARCH_BASE_PROMPT, SEARCHR1_PROMPT } from "../rollout/prompts.js";
import { IRCOT_ANSWER_MARKER, IRCOT_PROMPT, NAIVE_GEN_PROMPT, NAIVE_RAG_PROMPT } from "../eval/prompts.js";
import { SPLITS } from "./config.js";
import type { World } from "./build.js";
import { buildVocab, type WordLevelData } from "./tokenizer.js";

/** Every template text the rollout and evaluation modules render (placeholders included). */
function templateTexts(): string[] {
  return [RESEARCH_BASE_PROMPT, SEARCHR1_PROMPT, ...[NAIVE_GEN_PROMPT, NAIVE_RAG_PROMPT, IRCOT_PROMPT].flatMap((t) => [t.system, t.user, t.reference])];
}

/** Prompt boilerplate that must tokenize: the templates, plus the fixed strings policies and baselines write. */
export function promptTexts(): string[] {
  return [
    ...templateTexts(),
    IRCOT_ANSWER_MARKER, "The final answer is \\[ \\boxed{} \\]", "Doc 1 2 3 4 5 (Title:", "yes no",
  ];
}

/** The fixed boilerplate stretches of every prompt template: the text between placeholders, trimmed, ≥ 6 words. */
export function promptPhrases(): string[] {
  const out = new Set<string>();
  for (const t of templateTexts())
    for (const chunk of t.split(/\{[a-z_]+\}/))
      for (const piece of chunk.split(/\n{2,}/)) {
        const c = piece.trim();
        if (c.split(/\s+/).length >= 6) out.add(c);
      }
  return [...out].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

export function worldVocab(world: World): WordLevelData {
  const texts: string[] = [...promptTexts()];
  for (const p of world.corpus) texts.push(p.contents);
  // `${question}.`: the ReSearch prompt puts a period after the question ("…born?.")
  for (const s of SPLITS) for (const q of world.questions[s]) texts.push(`${q.question}.`, ...q.golden_answers);
  return buildVocab(texts, { phrases: promptPhrases() });
}
