/**
 * @module eval/judge — LLM-as-judge (the "LJ" column of the ReSearch paper's Table 2) over any OpenAI-compatible
 * `/chat/completions` endpoint. The judge sees the question, the gold answers and the prediction and must reply with
 * a JSON verdict `{"rationale": …, "verdict": "correct" | "incorrect"}`. A malformed reply (or a failed request) is
 * retried with a reminder; after `maxAttempts` the item is an error, which never counts as correct.
 */
import { z } from "zod";
import { UserError } from "../util/errors.js";
import type { ChatMessage } from "../tokenizer/chat.js";

/** The judge server refused us (401/403/404): a configuration error that stops the run instead of failing every item. */
export class JudgeConfigError extends UserError {}

export const JudgeConfigSchema = z.object({
  baseUrl: z.string().url().describe("OpenAI-compatible base URL ending in /v1 (e.g. https://api.openai.com/v1)"),
  model: z.string().min(1).describe("judge model name as the server knows it (the paper used GPT-4o-mini)"),
  apiKey: z.string().optional().describe("bearer token; the CLI takes it from OPENAI_API_KEY when set"),
  maxAttempts: z.number().int().min(1).default(3).describe("requests per item before it counts as a judge error"),
  timeoutMs: z.number().int().positive().default(60_000).describe("per-request timeout"),
  temperature: z.number().min(0).default(0).describe("judge sampling temperature (0: deterministic verdicts)"),
  maxTokens: z.number().int().positive().default(512).describe("reply budget: a short rationale plus the verdict"),
});
export type JudgeConfig = z.input<typeof JudgeConfigSchema>;

export interface JudgeInput {
  question: string;
  goldenAnswers: string[];
  pred: string;
}

export interface JudgeVerdict {
  verdict: "correct" | "incorrect" | "error";
  rationale: string;
  /** Requests made for this item (0 when the prediction was empty). */
  attempts: number;
  /** Why the item is an error: the last malformed reply or request failure. */
  error?: string;
}

export interface Judge {
  readonly model: string;
  judge(input: JudgeInput): Promise<JudgeVerdict>;
  /** Requests sent so far. */
  readonly requests: number;
}

export const JUDGE_SYSTEM_PROMPT =
  "You are a strict, impartial grader of answers to factual questions. You are given a question, the list of " +
  "accepted gold answers and a model's predicted answer. The prediction is correct if it states the same fact as " +
  "at least one gold answer: differences in wording, capitalisation, articles, punctuation, aliases, units or level " +
  "of detail are fine as long as the meaning is the same and nothing it adds contradicts the gold answer. It is " +
  "incorrect if it is empty, refuses, hedges between several answers, or names a different entity, number or date. " +
  'Reply with one JSON object and nothing else: {"rationale": "<one or two sentences>", "verdict": "correct"} or ' +
  '{"rationale": "<one or two sentences>", "verdict": "incorrect"}.';

/** The user message: question, gold answers (a JSON list) and prediction. */
export function judgeUserPrompt(input: JudgeInput): string {
  return `Question: ${input.question}\nGold answers: ${JSON.stringify(input.goldenAnswers)}\nPrediction: ${input.pred}`;
}

const REMINDER =
  'Your reply was not a valid verdict. Reply with only a JSON object of the form {"rationale": "...", "verdict": "correct"} ' +
  'or {"rationale": "...", "verdict": "incorrect"}.';

const VerdictSchema = z.object({
  rationale: z.string(),
  verdict: z.string().transform((v) => v.trim().toLowerCase()).pipe(z.enum(["correct", "incorrect"])),
});

/** Parse a judge reply: a JSON object (possibly in a ```json fence or with text around it) with rationale and verdict. */
export function parseVerdict(reply: string): { verdict: "correct" | "incorrect"; rationale: string } | { error: string } {
  const start = reply.indexOf("{");
  const end = reply.lastIndexOf("}");
  if (start < 0 || end < start) return { error: "no JSON object in the reply" };
  let value: unknown;
  try {
    value = JSON.parse(reply.slice(start, end + 1));
  } catch (e) {
    return { error: `invalid JSON (${(e as Error).message})` };
  }
  const parsed = VerdictSchema.safeParse(value);
  if (!parsed.success) return { error: `bad verdict object: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}` };
  return parsed.data;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createJudge(config: JudgeConfig, fetchImpl: typeof fetch = fetch): Judge {
  const cfg = JudgeConfigSchema.parse(config);
  const url = cfg.baseUrl.replace(/\/+$/, "") + "/chat/completions";
  let requests = 0;

  /** One chat request; returns the reply text, or throws with a message. Configuration errors become UserErrors. */
  async function chat(messages: ChatMessage[]): Promise<string> {
    requests++;
    const res = await fetchImpl(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {}) },
      body: JSON.stringify({ model: cfg.model, messages, temperature: cfg.temperature, max_tokens: cfg.maxTokens }),
      signal: AbortSignal.timeout(cfg.timeoutMs),
    });
    const body = await res.text();
    if ([401, 403, 404].includes(res.status)) {
      throw new JudgeConfigError(`judge ${url} answered ${res.status} (check --judge-base-url, --judge-model, OPENAI_API_KEY): ${body.slice(0, 300)}`);
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${body.slice(0, 200)}`);
    let json: { choices?: { message?: { content?: unknown } }[] };
    try {
      json = JSON.parse(body) as typeof json;
    } catch {
      throw new Error(`response is not JSON: ${body.slice(0, 200)}`);
    }
    const content = json.choices?.[0]?.message?.content;
    if (typeof content !== "string") throw new Error("response has no choices[0].message.content");
    return content;
  }

  async function judge(input: JudgeInput): Promise<JudgeVerdict> {
    if (input.pred.trim() === "") return { verdict: "incorrect", rationale: "empty prediction (not sent to the judge)", attempts: 0 };
    const messages: ChatMessage[] = [
      { role: "system", content: JUDGE_SYSTEM_PROMPT },
      { role: "user", content: judgeUserPrompt(input) },
    ];
    let lastError = "";
    for (let attempt = 1; attempt <= cfg.maxAttempts; attempt++) {
      let reply: string;
      try {
        reply = await chat(messages);
      } catch (e) {
        if (e instanceof JudgeConfigError) throw e;
        lastError = `request failed: ${(e as Error).message}`;
        if (attempt < cfg.maxAttempts) await sleep(250 * 2 ** (attempt - 1));
        continue;
      }
      const parsed = parseVerdict(reply);
      if (!("error" in parsed)) return { ...parsed, attempts: attempt };
      lastError = `malformed reply (${parsed.error}): ${reply.slice(0, 200)}`;
      // Ask again with the bad reply and a reminder of the format.
      messages.splice(2, messages.length - 2, { role: "assistant", content: reply }, { role: "user", content: REMINDER });
    }
    return { verdict: "error", rationale: "", attempts: cfg.maxAttempts, error: lastError };
  }

  return {
    model: cfg.model,
    judge,
    get requests() {
      return requests;
    },
  };
}
