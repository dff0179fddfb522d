/**
 * @module rollout/backends/openai — a policy served by OpenAI-compatible servers (vLLM, SGLang, llama.cpp server, TGI):
 * `/v1/completions` (default) or `/v1/chat/completions`, stop at `</search>`, log-probs when offered, a concurrency
 * limit, several base URLs in rotation, retries with exponential backoff, per-request timeouts.
 */
import type { GenerationRequest, GenerationResult } from "../../model/generation.js";
import type { Tokenizer } from "../../tokenizer/types.js";
import type { PolicyBackend } from "../types.js";

export interface OpenAIBackendOptions {
  /** Base URLs ending in `/v1`; requests rotate over them (one GPU server each). */
  baseUrls: string[];
  modelName: string;
  /** Use `/v1/chat/completions` with messages instead of `/v1/completions` with a prompt. */
  chat?: boolean;
  /** EOS text appended when the model ends on EOS (default `<|endoftext|>`, chat `<|im_end|>`). */
  eosText?: string;
  /** Requests in flight at once, over all base URLs. */
  concurrency?: number;
  /** Retries after the first try, for network errors, timeouts, 429, 5xx and 2xx answers that are not JSON. */
  retries?: number;
  /** First backoff in ms; doubles each retry. */
  backoffMs?: number;
  timeoutMs?: number;
  /** Ask for the sampled tokens' log-probs. */
  logprobs?: boolean;
  apiKey?: string;
  /** Optional local tokenizer, the server model's: prompt-length checks, and the id path below. */
  tokenizer?: Tokenizer;
  /**
   * Exact token ids (vLLM): send the context as ids and read the sampled ids back (`return_tokens_as_token_ids`),
   * so trajectories carry ids and a loss mask as with the native backend. Needs `tokenizer`; completions only.
   */
  tokenIds?: boolean;
}

interface CompletionChoice {
  text?: string;
  message?: { content?: string | null };
  finish_reason?: string | null;
  /** vLLM: the stop string (or stop token id) that ended generation; null on EOS. */
  stop_reason?: string | number | null;
  logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[]; content?: { logprob: number }[] | null } | null;
}
interface CompletionResponse {
  choices?: CompletionChoice[];
  usage?: { completion_tokens?: number };
}

class HttpError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export function defaultEosText(chat: boolean): string {
  return chat ? "<|im_end|>" : "<|endoftext|>";
}

export function createOpenAIBackend(opts: OpenAIBackendOptions): PolicyBackend {
  if (!opts.baseUrls.length) throw new Error("openai backend: no base URL");
  const chat = opts.chat ?? false;
  const eosText = opts.eosText ?? defaultEosText(chat);
  const bases = opts.baseUrls.map((u) => u.replace(/\/+$/, ""));
  const limit = semaphore(opts.concurrency ?? 32);
  const retries = opts.retries ?? 4;
  const backoffMs = opts.backoffMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 600_000;
  let rr = 0;
  const useIds = opts.tokenIds ?? false;
  if (useIds && (!opts.tokenizer || chat)) throw new Error("openai backend: token ids need a tokenizer and /v1/completions");

  async function post(path: string, body: unknown): Promise<CompletionResponse> {
    let lastError: Error | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(backoffMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
      const url = `${bases[rr++ % bases.length]}${path}`;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}) },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        if (!res.ok) throw new HttpError(`POST ${url}: HTTP ${res.status}: ${text.slice(0, 500)}`, res.status === 429 || res.status >= 500);
        try {
          return JSON.parse(text) as CompletionResponse;
        } catch {
          // a 2xx that is not JSON: a proxy's page or an answer cut off mid-way; worth another try
          throw new HttpError(`POST ${url}: response is not JSON: ${JSON.stringify(text.slice(0, 200))}`, true);
        }
      } catch (e) {
        const err = e as Error;
        const retryable = err instanceof HttpError ? err.retryable : true; // network error or timeout
        lastError = err instanceof HttpError ? err : new Error(`POST ${url}: ${err.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : err.message}`);
        if (!retryable) throw lastError;
      }
    }
    throw new Error(`${lastError?.message} (gave up after ${retries + 1} tries)`);
  }

  async function generateOne(req: GenerationRequest): Promise<GenerationResult> {
    const common = {
      model: opts.modelName,
      max_tokens: req.maxTokens,
      temperature: req.temperature,
      ...(req.topP !== undefined ? { top_p: req.topP } : {}),
      ...(req.seed !== undefined ? { seed: req.seed } : {}),
      stop: req.stop,
      n: 1,
    };
    let body: Record<string, unknown>;
    if (chat) {
      if (!req.messages) throw new Error("chat backend: request has no messages (use an instruct template)");
      const continuing = req.messages[req.messages.length - 1].role === "assistant";
      body = {
        ...common,
        messages: req.messages,
        ...(opts.logprobs !== false ? { logprobs: true } : {}),
        // vLLM / SGLang: continue the partial assistant turn instead of opening a new one.
        ...(continuing ? { continue_final_message: true, add_generation_prompt: false } : {}),
      };
    } else {
      const prompt = useIds ? (req.promptIds ?? opts.tokenizer!.encode(req.prompt)) : req.prompt;
      const lp = opts.logprobs !== false || useIds ? { logprobs: 1 } : {};
      body = { ...common, prompt, ...lp, ...(useIds ? { return_tokens_as_token_ids: true, skip_special_tokens: false } : {}) };
    }
    const res = await post(chat ? "/chat/completions" : "/completions", body);
    const choice = res.choices?.[0];
    if (!choice) throw new Error("server response has no choices");
    const raw = (chat ? choice.message?.content : choice.text) ?? "";
    const lps = chat ? choice.logprobs?.content?.map((c) => c.logprob) : choice.logprobs?.token_logprobs?.map((x) => x ?? 0);
    if (useIds) return idResult(choice, opts.tokenizer!, req.stop, lps);
    const result = interpretChoice(raw, choice, req.stop, eosText);
    if (lps && lps.length) result.logprobs = lps;
    const ct = res.usage?.completion_tokens ?? lps?.length;
    if (ct !== undefined) result.completionTokens = ct;
    return result;
  }

  return {
    name: `openai:${opts.modelName}@${bases.join(",")}${chat ? " (chat)" : ""}`,
    eosText,
    tokenizer: opts.tokenizer,
    generate: (requests) => Promise.all(requests.map((r) => limit(() => generateOne(r)))),
  };
}

/**
 * Normalise a server's choice to our contract: a stop-ended text contains the stop string exactly once at its end
 * (whether the server kept or dropped it), an EOS-ended text ends with the EOS text. `finish_reason: "stop"` means
 * either stop string or EOS; vLLM's `stop_reason` tells them apart, otherwise an unclosed `<search>` does.
 */
export function interpretChoice(raw: string, choice: CompletionChoice, stop: string[], eosText: string): GenerationResult {
  if (choice.finish_reason === "length") return { text: raw, finishReason: "length" };
  const kept = stop.find((s) => raw.endsWith(s));
  if (kept) return { text: raw, finishReason: "stop", stopString: kept };
  let stopString: string | undefined;
  if (typeof choice.stop_reason === "string" && stop.includes(choice.stop_reason)) stopString = choice.stop_reason;
  else if (choice.stop_reason === undefined || choice.stop_reason === null) stopString = droppedStop(raw, stop);
  if (stopString) return { text: raw + stopString, finishReason: "stop", stopString };
  return { text: eosText && !raw.endsWith(eosText) ? raw + eosText : raw, finishReason: "eos" };
}

/** The id path: the sampled ids are the truth, the text is their decoding (so a dropped stop string comes back). */
function idResult(choice: CompletionChoice, tok: Tokenizer, stop: string[], lps: number[] | undefined): GenerationResult {
  const tokens = choice.logprobs?.tokens;
  if (!tokens) throw new Error("server returned no logprobs.tokens; token ids need vLLM's return_tokens_as_token_ids");
  const ids = tokens.map((t) => {
    const m = /^token_id:(\d+)$/.exec(t);
    if (!m) throw new Error(`server token "${t}" is not "token_id:N"; token ids need vLLM's return_tokens_as_token_ids`);
    return Number(m[1]);
  });
  const text = tok.decode(ids);
  const base = { tokenIds: ids, ...(lps && lps.length === ids.length ? { logprobs: lps } : {}), completionTokens: ids.length };
  if (choice.finish_reason === "length") return { text, finishReason: "length", ...base };
  // A stop string ended generation when the last token completed it (vLLM's stop_reason says so directly).
  const before = tok.decode(ids.slice(0, -1)).length;
  const s = typeof choice.stop_reason === "string" && stop.includes(choice.stop_reason)
    ? choice.stop_reason
    : stop.find((x) => text.lastIndexOf(x) > before - x.length);
  if (s && ids[ids.length - 1] !== tok.eosId) return { text, finishReason: "stop", stopString: s, ...base };
  if (tok.eosId !== null && ids[ids.length - 1] !== tok.eosId) {
    // EOS ended generation but the server left its token out: add it, so ids and text agree.
    // Its log-prob is unknown, so the log-probs are left out rather than made up.
    return { text: text + tok.eosText, finishReason: "eos", tokenIds: [...ids, tok.eosId], completionTokens: ids.length + 1 };
  }
  return { text, finishReason: "eos", ...base };
}

/** The stop string a server dropped, judged by an open tag (`<search>` for `</search>`) left unclosed in the text. */
function droppedStop(text: string, stop: string[]): string | undefined {
  for (const s of stop) {
    const open = s.replace("</", "<");
    if (open !== s && text.lastIndexOf(open) > text.lastIndexOf(s)) return s;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** At most `n` tasks at once. */
export function semaphore(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= n) await new Promise<void>((r) => waiting.push(r)); // the slot is handed over by its releaser
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
