/**
 * @module data/formats — the QA record formats we read, each mapped to one `QAExample`: FlashRAG
 * (`{id, question, golden_answers}`; also our synthetic world's files), R1-Searcher eval/train sets and rollouts,
 * MuSiQue with `answer_aliases`, HotpotQA (distractor context), 2WikiMultiHopQA with evidences, verl/Search-R1 RL
 * rows, and plain `{question, answer}` lists (Agentic-RAG, TrustMargin's 2Wiki aliases).
 */
import { RESEARCH_BASE_PROMPT, SEARCHR1_PROMPT } from "../rollout/prompts.js";
import { InputError } from "../util/errors.js";

/** One question with its accepted answers. `golden_answers` follows FlashRAG's field name. */
export interface QAExample {
  id: string;
  question: string;
  golden_answers: string[];
  /** Everything else the source record carried (decompositions, context, supporting facts, …). */
  metadata?: Record<string, unknown>;
}

export type QAFormat = "flashrag" | "verl" | "musique" | "hotpotqa" | "2wiki" | "r1searcher" | "qa";
export type Rec = Record<string, unknown>;

/** Where a record came from, for errors: JSONL has a line; a JSON array has an item index. */
export interface RecordPlace {
  file: string;
  index: number;
  line?: number;
}

export function recordError(at: RecordPlace, field: string | undefined, detail: string): InputError {
  if (at.line !== undefined) return new InputError(at.file, at.line, field, detail);
  return new InputError(at.file, undefined, `[${at.index}]${field ? `.${field}` : ""}`, detail);
}

const describe = (v: unknown): string => (v === undefined ? "nothing (field missing)" : v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

function str(rec: Rec, field: string, at: RecordPlace): string {
  const v = rec[field];
  if (typeof v !== "string") throw recordError(at, field, `expected a string, got ${describe(v)}`);
  return v;
}

/** A gold answer field: one string or a non-empty list of strings. */
function answers(v: unknown, field: string, at: RecordPlace): string[] {
  if (typeof v === "string") return [v];
  if (!Array.isArray(v)) throw recordError(at, field, `expected a string or a list of strings, got ${describe(v)}`);
  if (v.length === 0) throw recordError(at, field, "empty list of answers");
  v.forEach((a, i) => {
    if (typeof a !== "string") throw recordError(at, `${field}[${i}]`, `expected a string, got ${describe(a)}`);
  });
  return v as string[];
}

function idOf(v: unknown, fallback: number): string {
  return typeof v === "string" || typeof v === "number" ? String(v) : String(fallback);
}

function rest(rec: Rec, used: readonly string[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (!used.includes(k)) out[k] = v;
  return Object.keys(out).length ? out : undefined;
}

const uniq = (xs: string[]): string[] => [...new Set(xs)];

/** Prompt templates a verl row's user message may wrap the question in: [before, after] the placeholder (computed on
 * first use: rollout/prompts.ts imports this module through retrieval/corpus.ts, so it is not loaded yet here). */
let promptWrappers: [string, string][] | undefined;
const wrappers = (): [string, string][] =>
  (promptWrappers ??= [
    [RESEARCH_BASE_PROMPT, "{prompt}"],
    [SEARCHR1_PROMPT, "{question}"],
  ].map(([t, ph]) => [t.slice(0, t.indexOf(ph)), t.slice(t.indexOf(ph) + ph.length)]));

/** The question inside a templated prompt (ReSearch's or Search-R1's, as our converter and nq_search.py write them), else the text itself. */
export function questionFromPrompt(content: string): string {
  for (const [pre, post] of wrappers()) {
    if (content.startsWith(pre) && content.endsWith(post) && content.length >= pre.length + post.length) return content.slice(pre.length, content.length - post.length);
  }
  return content;
}
const isObj = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);

export interface FormatSpec {
  description: string;
  /** True when a record has this format's tell-tale keys (tested in `FORMAT_ORDER`). */
  detect(rec: Rec): boolean;
  toExample(rec: Rec, at: RecordPlace): QAExample;
}

export const FORMATS: Record<QAFormat, FormatSpec> = {
  verl: {
    description: "verl/Search-R1 RL rows {data_source, prompt[{role, content}], reward_model{ground_truth}, extra_info}",
    detect: (r) => "reward_model" in r && "prompt" in r,
    toExample(r, at) {
      const rm = r.reward_model;
      if (!isObj(rm)) throw recordError(at, "reward_model", `expected an object, got ${describe(rm)}`);
      const gt = rm.ground_truth;
      // Search-R1 stores {target: [...]}; Agentic-RAG a plain string.
      const golds = isObj(gt) ? answers(gt.target, "reward_model.ground_truth.target", at) : answers(gt, "reward_model.ground_truth", at);
      const extra = isObj(r.extra_info) ? r.extra_info : {};
      // The plain question: extra_info.question (our converter), a `question` column (ReSearch's data.prompt_key=question,
      // Search-R1 keeps FlashRAG's columns), else the last user message with a known prompt template stripped off.
      let question = typeof extra.question === "string" ? extra.question : typeof r.question === "string" ? r.question : undefined;
      if (question === undefined) {
        const prompt = r.prompt;
        const user = Array.isArray(prompt) ? [...prompt].reverse().find((m) => isObj(m) && m.role === "user") : undefined;
        if (!isObj(user) || typeof user.content !== "string") {
          throw recordError(at, "prompt", "no extra_info.question, no question column and no user message with string content");
        }
        question = questionFromPrompt(user.content);
      }
      const id = extra.index ?? r.id;
      return { id: idOf(id, at.index), question, golden_answers: golds, metadata: rest(r, ["reward_model", ...(typeof r.question === "string" ? ["question"] : [])]) };
    },
  },
  flashrag: {
    description: "FlashRAG dataset / saved results {id, question, golden_answers, metadata?} (also world data)",
    detect: (r) => "golden_answers" in r,
    toExample(r, at) {
      const golds = answers(r.golden_answers, "golden_answers", at);
      const meta = isObj(r.metadata) ? r.metadata : undefined;
      const others = rest(r, ["id", "question", "golden_answers", "metadata"]);
      const metadata = meta || others ? { ...meta, ...others } : undefined;
      return { id: idOf(r.id, at.index), question: str(r, "question", at), golden_answers: golds, metadata };
    },
  },
  musique: {
    description: "MuSiQue {id, question, answer, answer_aliases, answerable, question_decomposition}",
    detect: (r) => "answer_aliases" in r,
    toExample(r, at) {
      const answer = str(r, "answer", at);
      const aliases = Array.isArray(r.answer_aliases) && r.answer_aliases.length === 0 ? [] : answers(r.answer_aliases, "answer_aliases", at);
      const golds = uniq([answer, ...aliases]);
      return { id: idOf(r.id, at.index), question: str(r, "question", at), golden_answers: golds, metadata: rest(r, ["id", "question", "answer", "answer_aliases"]) };
    },
  },
  hotpotqa: {
    description: "HotpotQA {_id, question, answer, context[[title, sentences]], supporting_facts, type, level}",
    detect: (r) => "context" in r && "supporting_facts" in r,
    toExample(r, at) {
      return { id: idOf(r._id, at.index), question: str(r, "question", at), golden_answers: [str(r, "answer", at)], metadata: rest(r, ["_id", "question", "answer"]) };
    },
  },
  "2wiki": {
    description: "2WikiMultiHopQA {_id, type, question, evidences, supporting_facts, answer, answer_id}",
    detect: (r) => "evidences" in r,
    toExample(r, at) {
      return { id: idOf(r._id, at.index), question: str(r, "question", at), golden_answers: answers(r.answer, "answer", at), metadata: rest(r, ["_id", "question", "answer"]) };
    },
  },
  r1searcher: {
    description: "R1-Searcher eval/train sets {idx, question, answer, gen_text_store} and rollouts (pred_ans, gpt4o_output)",
    detect: (r) => "idx" in r || "gen_text_store" in r || "pred_ans" in r,
    toExample(r, at) {
      return { id: idOf(r.idx, at.index), question: str(r, "question", at), golden_answers: [str(r, "answer", at)], metadata: rest(r, ["idx", "question", "answer"]) };
    },
  },
  qa: {
    description: "plain {question, answer (string or list of aliases)} with optional id/test_id (Agentic-RAG, TrustMargin)",
    detect: (r) => "question" in r && "answer" in r,
    toExample(r, at) {
      const id = r.id ?? r.test_id;
      return { id: idOf(id, at.index), question: str(r, "question", at), golden_answers: answers(r.answer, "answer", at), metadata: rest(r, ["id", "test_id", "question", "answer"]) };
    },
  },
};

/** Detection order: most specific keys first; `qa` is the fallback for any `{question, answer}`. */
export const FORMAT_ORDER: readonly QAFormat[] = ["verl", "flashrag", "musique", "hotpotqa", "2wiki", "r1searcher", "qa"];

/** The format of one record, or null when it is not a QA record we know. */
export function detectFormat(record: unknown): QAFormat | null {
  if (!isObj(record)) return null;
  return FORMAT_ORDER.find((f) => FORMATS[f].detect(record)) ?? null;
}

/** Map one record of a known format to a QAExample, with file/line/field errors. */
export function toExample(format: QAFormat, record: unknown, at: RecordPlace): QAExample {
  if (!isObj(record)) throw recordError(at, undefined, `expected a JSON object, got ${describe(record)}`);
  return FORMATS[format].toExample(record, at);
}
