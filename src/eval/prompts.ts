/**
 * @module eval/prompts — FlashRAG's default prompts for the baselines of the ReSearch paper's Table 2
 * (naive generation, naive RAG, Iter-RetGen, IRCoT), kept verbatim in one place.
 *
 * Source: RUC-NLPIR/FlashRAG (MIT), `flashrag/prompt/base_prompt.py` (PromptTemplate), `examples/methods/run_exp.py`
 * (`zero_shot`, `naive`, `iterretgen`, `ircot`) and `flashrag/pipeline/active_pipeline.py` (IRCOTPipeline).
 *
 * How FlashRAG turns a template into model input (`PromptTemplate.get_string`):
 * - `{reference}` is the formatted retrieval list, `{question}` the question (Python `str.format`).
 * - Chat models get `[{system}, {user}]` rendered by the model's chat template; base models (and IRCoT, which sets
 *   `enable_chat=False`) get the non-empty parts joined by a blank line: `system + "\n\n" + user`.
 * - `previous_gen` (IRCoT's earlier thoughts) is appended to the rendered string as is.
 * - A passage's title is the first line of its `contents`, verbatim (quotes kept, as FlashRAG does), the text the rest
 *   (`splitContents`, retrieval/corpus.ts).
 * Not copied: FlashRAG's OpenAI path renames the system message to "assistant" and drops IRCoT's earlier thoughts;
 * we send a system message and keep the thoughts, as its local-model path does.
 */
import { splitContents } from "../retrieval/corpus.js";
import type { SearchHit } from "../retrieval/types.js";
import type { ChatMessage } from "../tokenizer/chat.js";

export type { ChatMessage } from "../tokenizer/chat.js";

export interface PromptTemplate {
  /** System part, may hold `{reference}`. */
  system: string;
  /** User part, holds `{question}` and may hold `{reference}`. */
  user: string;
  /** How one passage is written into `{reference}`: `{idx}` (1-based), `{title}`, `{text}`. */
  reference: string;
  /** false: always the plain `system\n\nuser` string, even for chat models (FlashRAG's `enable_chat=False`). */
  chat: boolean;
}

/** Turns messages into the model's input text (a chat template for instruct models). */
export type ChatRenderer = (messages: ChatMessage[]) => string;

/** FlashRAG's default reference line: `Doc {idx+1}(Title: {title}) {text}\n`. */
export const DOC_REFERENCE = "Doc {idx}(Title: {title}) {text}\n";

/**
 * Naive generation ("zero-shot" in run_exp.py, `SequentialPipeline.naive_run`): answer from parametric knowledge.
 */
export const NAIVE_GEN_PROMPT: PromptTemplate = {
  system: "Answer the question based on your own knowledge. Only give me the answer and do not output any other words.",
  user: "Question: {question}",
  reference: DOC_REFERENCE,
  chat: true,
};

/**
 * Naive RAG (`SequentialPipeline.run`) and Iter-RetGen (`IterativePipeline`): FlashRAG's `base_system_prompt`.
 * Note the missing space after "document." — it is FlashRAG's string, kept byte for byte.
 */
export const NAIVE_RAG_PROMPT: PromptTemplate = {
  system:
    "Answer the question based on the given document." +
    "Only give me the answer and do not output any other words." +
    "\nThe following are given documents.\n\n{reference}",
  user: "Question: {question}",
  reference: DOC_REFERENCE,
  chat: true,
};

/** IRCoT's instruction (IRCOTPipeline.IRCOT_INSTRUCTION). */
export const IRCOT_INSTRUCTION =
  "You serve as an intelligent assistant, adept at facilitating users through complex, multi-hop reasoning across multiple documents. This task is illustrated through demonstrations, each consisting of a document set paired with a relevant question and its multi-hop reasoning thoughts. Your task is to generate one thought for current step, DON'T generate the whole thoughts at once! If you reach what you believe to be the final step, start with \"So the answer is:\".";

/** IRCoT's one demonstration (IRCOTPipeline.IRCOT_EXAMPLE), ending in a blank line. */
export const IRCOT_EXAMPLE =
  "Wikipedia Title: Kurram Garhi\nKurram Garhi is a small village located near the city of Bannu, which is the part of Khyber Pakhtunkhwa province of Pakistan. Its population is approximately 35000. Barren hills are near this village. This village is on the border of Kurram Agency. Other nearby villages are Peppal, Surwangi and Amandi Kala.\n\n" +
  "Wikipedia Title: 2001–02 UEFA Champions League second group stage\nEight winners and eight runners- up from the first group stage were drawn into four groups of four teams, each containing two group winners and two runners- up. Teams from the same country or from the same first round group could not be drawn together. The top two teams in each group advanced to the quarter- finals.\n\n" +
  "Wikipedia Title: Satellite tournament\nA satellite tournament is either a minor tournament or event on a competitive sporting tour or one of a group of such tournaments that form a series played in the same country or region.\n\n" +
  "Wikipedia Title: Trojkrsti\nTrojkrsti is a village in Municipality of Prilep, Republic of Macedonia.\n\n" +
  "Wikipedia Title: Telephone numbers in Ascension Island\nCountry Code:+ 247< br> International Call Prefix: 00 Ascension Island does not share the same country code( +290) with the rest of St Helena.\n\n" +
  "Question: Are both Kurram Garhi and Trojkrsti located in the same country?\n" +
  "Thought: Kurram Garhi is located in the country of Pakistan. Trojkrsti is located in the country of Republic of Macedonia. Thus, they are not in the same country. So the answer is: no.\n\n";

/** IRCoT (IRCOTPipeline's default template): plain text even for chat models; thoughts are appended after "Thought:". */
export const IRCOT_PROMPT: PromptTemplate = {
  system: `${IRCOT_INSTRUCTION}\n\n${IRCOT_EXAMPLE}`,
  user: "{reference}Question: {question}\nThought:",
  reference: "Wikipedia Title: {title}\n{text}\n\n",
  chat: false,
};

/** IRCoT's answer marker: the loop stops when a thought contains it; the prediction is what follows it. */
export const IRCOT_ANSWER_MARKER = "So the answer is:";

/** Python-`str.format`-like fill of `{name}` placeholders (only the names given; others are left as written). */
export function fillTemplate(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** FlashRAG's `format_reference`: one reference line per passage, in ranking order, numbered from 1. */
export function formatReference(hits: readonly Pick<SearchHit, "contents">[], lineTemplate = DOC_REFERENCE): string {
  let out = "";
  hits.forEach((hit, i) => {
    const { title, text } = splitContents(hit.contents);
    out += fillTemplate(lineTemplate, { idx: i + 1, title, text });
  });
  return out;
}

/** Plain rendering of a message list: non-empty contents joined by a blank line (FlashRAG's non-chat path). */
export const plainRenderer: ChatRenderer = (messages) =>
  messages
    .map((m) => m.content)
    .filter((c) => c !== "")
    .join("\n\n");

export interface BuiltPrompt {
  /** The model input as text (completion servers and native backends continue it). */
  text: string;
  /** The chat form, for chat-completions servers; present when the template and the model are chat. */
  messages?: ChatMessage[];
}

/**
 * Build the model input for one template, FlashRAG-style: fill `{question}` / `{reference}`; for a chat model (a
 * `chat` renderer given) and a template that allows chat, render the messages with it, else join them as plain text;
 * `previousGen` is appended to the text (and, for chat, as the assistant's partial reply).
 */
export function buildPrompt(
  template: PromptTemplate,
  args: { question: string; hits?: readonly Pick<SearchHit, "contents">[]; previousGen?: string },
  chat?: ChatRenderer,
): BuiltPrompt {
  const reference = args.hits ? formatReference(args.hits, template.reference) : "";
  const vars = { question: args.question, reference };
  const messages: ChatMessage[] = [];
  const system = fillTemplate(template.system, vars);
  const user = fillTemplate(template.user, vars);
  if (system !== "") messages.push({ role: "system", content: system });
  if (user !== "") messages.push({ role: "user", content: user });
  const prev = args.previousGen === " " ? "" : (args.previousGen ?? "");
  if (template.chat && chat) {
    return { text: chat(messages) + prev, messages: prev ? [...messages, { role: "assistant", content: prev }] : messages };
  }
  const text = plainRenderer(messages) + prev;
  // A chat model on a plain template (IRCoT): the whole text is one user turn for chat-completions servers.
  return chat ? { text, messages: [{ role: "user", content: text }] } : { text };
}
