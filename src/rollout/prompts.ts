/**
 * @module rollout/prompts — the ReSearch prompts (arXiv 2503.19470), verbatim, and the prompt templates picked by name:
 * how a question becomes a prompt (plain completion or the model's chat template) and how retrieved passages are
 * spliced back (`<result>` for ReSearch, `<information>` for the Search-R1 preset).
 */
import { splitContents } from "../retrieval/corpus.js";
import type { Passage } from "../retrieval/types.js";
import { renderChat, type ChatMessage, type ChatRenderOptions } from "../tokenizer/chat.js";
import { UserError } from "../util/errors.js";

export { CHATML_TEMPLATE, type ChatMessage } from "../tokenizer/chat.js";

/** ReSearch base-model prompt; `{prompt}` is replaced by the question. Verbatim from the ReSearch release. */
export const RESEARCH_BASE_PROMPT =
  "A conversation between User and Assistant. The user asks a question, and the assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. During thinking, the assistant can invoke the wikipedia search tool to search for fact information about specific topics if needed. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags respectively, and the search query and result are enclosed within <search> </search> and <result> </result> tags respectively. For example, <think> This is the reasoning process. </think> <search> search query here </search> <result> search result here </result> <think> This is the reasoning process. </think> <answer> The final answer is \\[ \\boxed{answer here} \\] </answer>. In the last part of the answer, the final exact answer is enclosed within \\boxed{} with latex format. User: {prompt}. Assistant:";

/** ReSearch instruct-model system message (the question is the user message). Verbatim from the ReSearch release. */
export const RESEARCH_SYSTEM_PROMPT =
  "You are a helpful assistant that can solve the given question step by step with the help of the wikipedia search tool. Given a question, you need to first think about the reasoning process in the mind and then provide the answer. During thinking, you can invoke the wikipedia search tool to search for fact information about specific topics if needed. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags respectively, and the search query and result are enclosed within <search> </search> and <result> </result> tags respectively. For example, <think> This is the reasoning process. </think> <search> search query here </search> <result> search result here </result> <think> This is the reasoning process. </think> <answer> The final answer is \\[ \\boxed{answer here} \\] </answer>. In the last part of the answer, the final exact answer is enclosed within \\boxed{} with latex format.";

/** Search-R1 (Jin et al. 2025) question prefix, used as the whole prompt (base) or the user message (instruct). */
export const SEARCHR1_PROMPT =
  "Answer the given question. You must conduct reasoning inside <think> and </think> first every time you get new information. After reasoning, if you find you lack some knowledge, you can call a search engine by <search> query </search> and it will return the top searched results between <information> and </information>. You can search as many times as your want. If you find no further external knowledge needed, you can directly provide the answer inside <answer> and </answer>, without detailed illustrations. For example, <answer> Beijing </answer>. Question: {question}\n";

export type TemplateName = "research" | "research-instruct" | "searchr1" | "searchr1-instruct";

export interface PromptTemplate {
  name: TemplateName;
  /** true: the prompt is the model's chat template over `messages`; false: a plain completion prompt. */
  chat: boolean;
  /** The chat messages for a question (instruct templates), system first when there is one. */
  messages(question: string): ChatMessage[];
  /** The plain completion prompt for a question (base templates). */
  completion(question: string): string;
  /** Generation pauses at these strings; the text between the last open tag and the stop string is the query. */
  stop: string[];
  openTag: string;
  /** The tool text spliced after `</search>`: loss mask 0. */
  formatResult(passages: Passage[]): string;
}

/** ReSearch splicing: ` <result>\n` + each passage's contents trimmed, joined by a blank line, + `\n</result>`. */
export function formatResearchResult(passages: Passage[]): string {
  return ` <result>\n${passages.map((p) => p.contents.trim()).join("\n\n")}\n</result>`;
}

/** Search-R1 splicing: `\n\n<information>Doc i(Title: t) text\n…</information>\n\n` (its `_passages2string`). */
export function formatSearchR1Result(passages: Passage[]): string {
  const docs = passages
    .map((p, i) => {
      const { title, text } = splitContents(p.contents.trim());
      return `Doc ${i + 1}(Title: ${title}) ${text}\n`;
    })
    .join("");
  return `\n\n<information>${docs.trim()}</information>\n\n`;
}

const SEARCH = { stop: ["</search>"], openTag: "<search>" };

export const TEMPLATES: Record<TemplateName, PromptTemplate> = {
  research: {
    name: "research",
    chat: false,
    ...SEARCH,
    messages: (q) => [{ role: "user", content: q }],
    completion: (q) => RESEARCH_BASE_PROMPT.replace("{prompt}", q),
    formatResult: formatResearchResult,
  },
  "research-instruct": {
    name: "research-instruct",
    chat: true,
    ...SEARCH,
    messages: (q) => [
      { role: "system", content: RESEARCH_SYSTEM_PROMPT },
      { role: "user", content: q },
    ],
    completion: (q) => RESEARCH_BASE_PROMPT.replace("{prompt}", q),
    formatResult: formatResearchResult,
  },
  searchr1: {
    name: "searchr1",
    chat: false,
    ...SEARCH,
    messages: (q) => [{ role: "user", content: SEARCHR1_PROMPT.replace("{question}", q) }],
    completion: (q) => SEARCHR1_PROMPT.replace("{question}", q),
    formatResult: formatSearchR1Result,
  },
  "searchr1-instruct": {
    name: "searchr1-instruct",
    chat: true,
    ...SEARCH,
    messages: (q) => [{ role: "user", content: SEARCHR1_PROMPT.replace("{question}", q) }],
    completion: (q) => SEARCHR1_PROMPT.replace("{question}", q),
    formatResult: formatSearchR1Result,
  },
};

export const TEMPLATE_NAMES = Object.keys(TEMPLATES) as TemplateName[];

export function getTemplate(name: string): PromptTemplate {
  const t = TEMPLATES[name as TemplateName];
  if (!t) throw new UserError(`unknown prompt template "${name}"; available: ${TEMPLATE_NAMES.join(", ")}`);
  return t;
}

export interface BuiltPrompt {
  /** The full prompt text the policy continues. */
  text: string;
  /** The chat form (instruct templates), for chat-completions servers. */
  messages?: ChatMessage[];
}

/** The prompt for one question under a template: completion text, or the chat template (the model's, else ChatML)
 * rendered over the messages, ending with the assistant header. */
export function buildPrompt(template: PromptTemplate, question: string, opts: Omit<ChatRenderOptions, "addGenerationPrompt"> = {}): BuiltPrompt {
  if (!template.chat) return { text: template.completion(question) };
  const messages = template.messages(question);
  return { text: renderChat(messages, opts), messages };
}

/** The query of a segment that ended at the stop string: text between the last open tag and the stop, trimmed. */
export function extractQuery(text: string, template: Pick<PromptTemplate, "stop" | "openTag">): string {
  let end = -1;
  for (const s of template.stop) end = Math.max(end, text.lastIndexOf(s));
  if (end < 0) end = text.length;
  const start = text.lastIndexOf(template.openTag, end);
  return (start < 0 ? text.slice(0, end) : text.slice(start + template.openTag.length, end)).trim();
}
