/**
 * @module world/pretrain-data — the base model's pre-training text, generated on the fly from the PRE-TRAINING
 * split only (its passages and questions; the retriever indexes only that split's passages, so no RL-train or test
 * fact is ever seen). Two kinds of documents:
 *  1. passages: `"Title"\ntext<|endoftext|>` — the world's language;
 *  2. content-free episodes in every prompt format the evaluation uses (ReSearch, naive generation, naive RAG,
 *     Iter-RetGen, IRCoT): the real prompt, real retrieved passages, but every query, thought and answer is drawn
 *     uniformly at random from the question or the retrieved text: a span of words (queries 2–4 words by default,
 *     thoughts 1–5, answers 1–3; lengths fixed by the generator, not the question), or, where the options say so, an
 *     entity mention of the text (answers, follow-up queries). They teach the tags and copying, and carry no
 *     information about which query or answer is right: no trajectory that solves a question is ever shown.
 */
import type { Passage, Retriever, SearchHit } from "../retrieval/types.js";
import { formatResearchResult, RESEARCH_BASE_PROMPT } from "../rollout/prompts.js";
import { buildPrompt as buildEvalPrompt, IRCOT_ANSWER_MARKER, IRCOT_PROMPT, NAIVE_GEN_PROMPT, NAIVE_RAG_PROMPT } from "../eval/prompts.js";
import { pickWeighted, type Rng } from "../util/rng.js";
import { z } from "zod";
import { strictConfig } from "../util/schema.js";
import { shuffle } from "./names.js";
import type { WorldQuestion } from "./questions.js";
import { EOS, preTokenize, TAG_TOKENS } from "./tokenizer.js";

export const DOC_KINDS = ["passage", "research", "naive-gen", "naive-rag", "iter-retgen", "ircot"] as const;
export type DocKind = (typeof DOC_KINDS)[number];

export const PretrainMixSchema = strictConfig({
  passage: z.number().min(0).default(0.15).describe("plain passages of the pre-training world (language)"),
  research: z.number().min(0).default(0.55).describe("content-free ReSearch episodes (tags, copying into queries and answers)"),
  "naive-gen": z.number().min(0).default(0.05).describe("content-free naive-generation prompts (FlashRAG zero-shot format)"),
  "naive-rag": z.number().min(0).default(0.1).describe("content-free naive-RAG prompts (FlashRAG standard RAG format)"),
  "iter-retgen": z.number().min(0).default(0.05).describe("content-free Iter-RetGen rounds (naive-RAG format, query = question + previous output)"),
  ircot: z.number().min(0).default(0.1).describe("content-free IRCoT thoughts (FlashRAG IRCoT format)"),
});
export type PretrainMix = z.infer<typeof PretrainMixSchema>;

export interface EpisodeOptions {
  /** Passages per ReSearch search (the demo's topN). */
  researchTopN: number;
  /** Passages per baseline retrieval (the demo's topK). */
  baselineTopK: number;
  /** Most searches in a content-free ReSearch episode. */
  maxSearches: number;
  /** Probability that a ReSearch query is one of the names the question mentions (copied verbatim) instead of a
   * random span (default 0). Still content-free: the answer stays a random span, so no episode solves a question. */
  mentionQueryProb?: number;
  /** Weights of 0, 1, 2, … searches in a content-free ReSearch episode (default: 0 with p 0.1, else 1..maxSearches
   * uniformly); entries beyond maxSearches are ignored. */
  searchWeights?: number[];
  /** Words in a random query span, [min, max] (default [2, 4]). */
  querySpan?: [number, number];
  /** Probability that a document's entity names are renamed (see `createRenamer`); default 0. */
  renameProb?: number;
  /** What a content-free answer is: `"span"` (default) a random 1–3-word span; `"entity"` a uniformly random entity
   * mention (a name or a year, see `entityMentions`) of the same text, falling back to a span when it has none. Still
   * content-free: every mention of the text is equally likely, the right one no more than the others. */
  answerSpans?: "span" | "entity";
  /** Probability that a content-free answer is "yes" or "no" (a fair coin, whatever the question); default 0. */
  yesNoProb?: number;
  /** Probability that a follow-up query (one after a search) is a uniformly random entity mention of the last result
   * instead of a random span (default 0). Content-free like `answerSpans: "entity"`: every mention is equally likely. */
  followUpMentionProb?: number;
  /** Content-free answers take the question's form (see `randomAnswer`): a coin-flip yes/no for yes/no questions, a
   * uniformly random one of the compared names for comparisons; default false. */
  answerByKind?: boolean;
}

/** Probability that a content-free answer after retrieval is drawn from the retrieved text rather than from the
 * question. Content-free: the draw within the text stays uniform. */
const ANSWER_FROM_RESULT_PROB = 0.9;

/** One pre-training document as text parts; `policy` parts are what a policy would generate. */
export interface PretrainDoc {
  kind: DocKind;
  /** Tokenized one by one (a copied query or answer span is its own part), so where the parts split is data. */
  parts: { text: string; role: "prompt" | "policy" | "tool" }[];
  /** For gates and audits: the queries and the answer the episode wrote. */
  queries: string[];
  answer?: string;
}

const SPECIAL_RE = new RegExp([...TAG_TOKENS, EOS].map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
const isWord = (w: string) => /\w/.test(w);

/** The words of a text as the tokenizer splits them, tags and EOS dropped (punctuation-only tokens are not words). */
const textWords = (text: string) => preTokenize(text.replace(SPECIAL_RE, " ")).filter(isWord);

/** A uniformly random span of 1..maxLen consecutive words of `text`. */
export function randomSpan(rng: Rng, text: string, maxLen = 4, minLen = 1): string {
  const words = textWords(text);
  if (!words.length) return "";
  const lo = Math.min(minLen, words.length);
  const len = lo + rng.int(Math.min(maxLen, words.length) - lo + 1);
  const start = rng.int(words.length - len + 1);
  return words.slice(start, start + len).join(" ");
}

const hitsText = (hits: Passage[]) => hits.map((h) => h.contents).join(" ");

export interface EpisodeSource {
  questions: WorldQuestion[];
  passages: Passage[];
  /** Retriever over the PRE-TRAINING split's passages only. */
  retriever: Retriever;
  /** Name-part pools (first names, surnames, roots; optionally film-title words and years): what `renameProb` permutes. */
  namePools?: string[][];
  /** Surface forms of the world's entities (names and aliases): what `answerSpans: "entity"` draws from. */
  entityNames?: Set<string>;
}

const MAX_NAME_WORDS = 5;

/**
 * The distinct entity mentions of a text, in order of first appearance: the longest run of words (up to 5) that is an
 * entity name or alias in `names`, and four-digit years. Tags and EOS are ignored.
 */
export function entityMentions(text: string, names: Set<string>): string[] {
  const words = textWords(text);
  const found = new Set<string>();
  for (let i = 0; i < words.length; ) {
    let len = 0;
    for (let n = Math.min(MAX_NAME_WORDS, words.length - i); n >= 1; n--) {
      if (names.has(words.slice(i, i + n).join(" "))) { len = n; break; }
    }
    if (len) found.add(words.slice(i, i + len).join(" "));
    else if (/^\d{4}$/.test(words[i])) found.add(words[i]);
    i += len || 1;
  }
  return [...found];
}

/**
 * A content-free answer drawn from `text` as `o.answerSpans` says (or "yes"/"no" with probability `o.yesNoProb`).
 * With `o.answerByKind` and the question `q`, the answer takes the question's form, its value still drawn at random:
 * a fair coin "yes"/"no" for a yes/no question, one of the two compared names (uniformly) for a comparison.
 */
export function randomAnswer(rng: Rng, src: EpisodeSource, text: string, o: EpisodeOptions, q?: WorldQuestion): string {
  const coin = () => (rng.next() < 0.5 ? "yes" : "no");
  if (o.answerByKind && q?.metadata.kind === "yesno") return coin();
  if (o.answerByKind && q?.metadata.kind === "comparison" && q.metadata.mentions.length) return q.metadata.mentions[rng.int(q.metadata.mentions.length)];
  if (o.yesNoProb && rng.next() < o.yesNoProb) return coin();
  if (o.answerSpans === "entity" && src.entityNames) {
    const m = entityMentions(text, src.entityNames);
    if (m.length) return m[rng.int(m.length)];
  }
  return randomSpan(rng, text, 3);
}

/**
 * Name augmentation: one random permutation within each name-part pool, applied to every word of a document
 * (prompt, queries, results, answer alike, so the document stays consistent). A renamed document is about entities
 * that exist nowhere, so a model cannot predict a name from memorised name pairs and must copy it from its context;
 * it also keeps the pre-training world's facts from being memorised. Pools hold capitalised words or four-digit years
 * (a year pool makes years as unpredictable as names: each year token then appears in every kind of context, not only
 * in the few passages that state it).
 */
export function createRenamer(rng: Rng, pools: string[][]): (text: string) => string {
  const map = new Map<string, string>();
  for (const pool of pools) {
    const perm = shuffle(rng, [...pool]);
    pool.forEach((w, i) => map.set(w, perm[i]));
  }
  return (text) => text.replace(/\b(?:[A-Z][a-z]+|\d{4})\b/g, (w) => map.get(w) ?? w);
}

function renamed(doc: PretrainDoc, f: (t: string) => string): PretrainDoc {
  return { ...doc, parts: doc.parts.map((p) => ({ ...p, text: f(p.text) })), queries: doc.queries.map(f), answer: doc.answer === undefined ? undefined : f(doc.answer) };
}

async function searchOne(src: EpisodeSource, query: string, n: number): Promise<SearchHit[]> {
  const [hits] = await src.retriever.search([query], n);
  return hits ?? [];
}

/** How many searches a content-free episode makes: by `searchWeights`, or 0 with p 0.1, else 1..maxSearches uniformly. */
function drawSearches(rng: Rng, o: EpisodeOptions): number {
  if (o.maxSearches === 0) return 0;
  if (!o.searchWeights) return rng.next() < 0.1 ? 0 : 1 + rng.int(o.maxSearches);
  return pickWeighted(rng, o.searchWeights.slice(0, o.maxSearches + 1));
}

/** A content-free ReSearch episode: real prompt and results; random thoughts, queries and answer. */
export async function researchEpisode(rng: Rng, src: EpisodeSource, q: WorldQuestion, o: EpisodeOptions): Promise<PretrainDoc> {
  const parts: PretrainDoc["parts"] = [{ text: RESEARCH_BASE_PROMPT.replace("{prompt}", q.question), role: "prompt" }];
  const nSearch = drawSearches(rng, o);
  const queries: string[] = [];
  let seen = "";
  for (let s = 0; s < nSearch; s++) {
    const think = randomSpan(rng, rng.next() < 0.5 || !seen ? q.question : seen, 5);
    const mentions = q.metadata.mentions;
    const followUp = s > 0 && o.followUpMentionProb && src.entityNames && rng.next() < o.followUpMentionProb ? entityMentions(seen, src.entityNames) : [];
    const query = (followUp.length ? followUp[rng.int(followUp.length)]
      : o.mentionQueryProb && mentions.length && rng.next() < o.mentionQueryProb ? mentions[rng.int(mentions.length)]
      : randomSpan(rng, s === 0 || rng.next() < 0.5 ? q.question : seen, o.querySpan?.[1] ?? 4, o.querySpan?.[0] ?? 2)) || q.question;
    queries.push(query);
    parts.push({ text: ` <think> ${think} </think> <search>`, role: "policy" }, { text: ` ${query}`, role: "policy" }, { text: " </search>", role: "policy" });
    const hits = await searchOne(src, query, o.researchTopN);
    parts.push({ text: formatResearchResult(hits), role: "tool" });
    seen = hitsText(hits);
  }
  const answer = randomAnswer(rng, src, seen && rng.next() < ANSWER_FROM_RESULT_PROB ? seen : q.question, o, q);
  const think = randomSpan(rng, seen && rng.next() < 0.5 ? seen : q.question, 5);
  if (!answer) parts.push({ text: ` <think> ${think} </think> <answer> The final answer is \\[ \\boxed{} \\] </answer>${EOS}`, role: "policy" });
  else parts.push({ text: ` <think> ${think} </think> <answer> The final answer is \\[ \\boxed{`, role: "policy" }, { text: answer, role: "policy" }, { text: `} \\] </answer>${EOS}`, role: "policy" });
  return { kind: "research", parts, queries, answer };
}

/** Content-free baseline documents in FlashRAG's formats, rendered as a base model sees them (no chat template). */
export async function baselineEpisode(rng: Rng, src: EpisodeSource, q: WorldQuestion, kind: Exclude<DocKind, "passage" | "research">, o: EpisodeOptions): Promise<PretrainDoc> {
  if (kind === "naive-gen") {
    const answer = randomAnswer(rng, src, q.question, o, q);
    return { kind, parts: [{ text: buildEvalPrompt(NAIVE_GEN_PROMPT, { question: q.question }).text, role: "prompt" }, { text: ` ${answer}${EOS}`, role: "policy" }], queries: [], answer };
  }
  if (kind === "naive-rag" || kind === "iter-retgen") {
    const query = kind === "naive-rag" ? q.question : `${q.question} ${randomSpan(rng, q.question, 3)}`;
    const hits = await searchOne(src, query, o.baselineTopK);
    const answer = randomAnswer(rng, src, rng.next() < ANSWER_FROM_RESULT_PROB ? hitsText(hits) : q.question, o, q);
    return { kind, parts: [{ text: buildEvalPrompt(NAIVE_RAG_PROMPT, { question: q.question, hits }).text, role: "prompt" }, { text: ` ${answer}`, role: "policy" }, { text: EOS, role: "policy" }], queries: [query], answer };
  }
  // IRCoT: some earlier thoughts, then one new thought that may end the chain with "So the answer is: …".
  const hits = await searchOne(src, q.question, o.baselineTopK);
  const text = hitsText(hits);
  const thoughts: string[] = [];
  for (let i = rng.int(3); i > 0; i--) thoughts.push(`${randomSpan(rng, text, 6)}.`);
  const prompt = buildEvalPrompt(IRCOT_PROMPT, { question: q.question, hits, previousGen: thoughts.length ? " " + thoughts.join(" ") : "" }).text;
  const ends = rng.next() < 0.5;
  const answer = ends ? randomAnswer(rng, src, text, o, q) : undefined;
  const thought = `${randomSpan(rng, text, 6)}.${ends ? ` ${IRCOT_ANSWER_MARKER} ${answer}.` : ""}`;
  return { kind, parts: [{ text: prompt, role: "prompt" }, { text: ` ${thought}${EOS}`, role: "policy" }], queries: [q.question], answer };
}

/** Draw the next pre-training document by the mix weights (renamed with probability `o.renameProb`). */
export async function nextDoc(rng: Rng, src: EpisodeSource, mix: PretrainMix, o: EpisodeOptions): Promise<PretrainDoc> {
  const doc = await drawDoc(rng, src, mix, o);
  if (!o.renameProb || !src.namePools || rng.next() >= o.renameProb) return doc;
  return renamed(doc, createRenamer(rng, src.namePools));
}

async function drawDoc(rng: Rng, src: EpisodeSource, mix: PretrainMix, o: EpisodeOptions): Promise<PretrainDoc> {
  const kind = DOC_KINDS[pickWeighted(rng, DOC_KINDS.map((k) => mix[k]), 0)];
  if (kind === "passage") {
    const p = src.passages[rng.int(src.passages.length)];
    return { kind, parts: [{ text: p.contents + EOS, role: "tool" }], queries: [] };
  }
  const q = src.questions[rng.int(src.questions.length)];
  return kind === "research" ? researchEpisode(rng, src, q, o) : baselineEpisode(rng, src, q, kind, o);
}
