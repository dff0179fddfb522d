/**
 * @module model/server — an OpenAI-compatible HTTP server over the native engine (fastify): `GET /v1/models`,
 * `POST /v1/completions`, `POST /v1/chat/completions` (chat template rendered with @huggingface/jinja).
 * Stop strings are excluded from the returned text, as OpenAI does; every request joins the engine's shared batch.
 * `stream: true` answers with server-sent events as OpenAI does (`text_completion` / `chat.completion.chunk`
 * chunks, a final chunk with `finish_reason`, a usage chunk with `stream_options.include_usage`, then
 * `data: [DONE]`); the concatenated deltas equal the non-streamed text (text that could still turn out to be part
 * of a stop string, or an incomplete character, is held back until it is certain). Requests beyond `maxBatch +
 * maxQueue` in flight get 503 with a Retry-After header.
 */
import Fastify, { type FastifyReply } from "fastify";
import { z } from "zod";
import { randomUUID } from "node:crypto";
import type { GenerationRequest, GenerationResult } from "./generation.js";
import { createEngine, decodeAfter, encodePrompt, type Engine, type LoadedModel } from "./generate.js";
import { renderChat, stripEos, tokenizerChatOptions } from "../tokenizer/chat.js";

export interface ModelServerOptions {
  /** Model path (loaded with loadModel), a loaded model, or a ready engine. */
  model: string | LoadedModel | Engine;
  port?: number;
  host?: string;
  /** Name reported by /v1/models and in responses (default: the path's last part, or "research-ts"). */
  modelName?: string;
  /** Largest max_tokens accepted (default: the model's context). */
  maxTokensLimit?: number;
  /** Engine batch size when the server builds the engine. */
  maxBatch?: number;
  /** Requests that may wait beyond the engine's batch before new ones get 503 + Retry-After (default 1024). */
  maxQueue?: number;
  /** Retry-After seconds sent with 503 (default 1). */
  retryAfterSeconds?: number;
}

export interface ModelServer {
  url: string;
  engine: Engine;
  close(): Promise<void>;
}

const stopField = z.union([z.string(), z.array(z.string()).max(16)]).nullish();
const common = {
  model: z.string().optional(),
  max_tokens: z.number().int().min(0).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(-1).nullish(),
  n: z.number().int().min(1).max(64).nullish(),
  stop: stopField,
  seed: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  user: z.string().optional(),
  /** Non-standard: return the generated token ids per choice. */
  return_token_ids: z.boolean().optional(),
  /** vLLM: logprobs.tokens as "token_id:N", so clients get exact ids. */
  return_tokens_as_token_ids: z.boolean().optional(),
  /** vLLM: accepted; special tokens other than the final EOS are always kept in the text. */
  skip_special_tokens: z.boolean().optional(),
};
const CompletionBody = z.object({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).min(1), z.array(z.number().int().min(0)), z.array(z.array(z.number().int().min(0))).min(1)]).default(""),
  logprobs: z.number().int().min(0).max(5).nullish(),
  echo: z.literal(false).nullish(),
});
const ChatBody = z.object({
  ...common,
  messages: z.array(z.object({ role: z.string(), content: z.string() })).min(1),
  max_completion_tokens: z.number().int().min(0).nullish(),
  /** vLLM / SGLang: continue the final (assistant) message instead of opening a new turn. */
  continue_final_message: z.boolean().optional(),
  add_generation_prompt: z.boolean().optional(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(0).nullish(),
});

/** 400 body naming the first bad field, as OpenAI's `invalid_request_error`. */
function badRequest(reply: FastifyReply, err: z.ZodError | string) {
  let param: string | null = null;
  let message: string;
  if (typeof err === "string") message = err;
  else {
    const issue = err.issues[0];
    param = issue.path.join(".") || null;
    message = `${param ?? "body"}: ${issue.message}`;
  }
  return reply.code(400).send({ error: { message, type: "invalid_request_error", param, code: null } });
}

/** OpenAI text: stop string and EOS text removed. */
function openAiText(r: GenerationResult, engine: Engine): string {
  if (r.finishReason === "stop" && r.stopString !== undefined) return r.text.slice(0, r.text.length - r.stopString.length);
  if (r.finishReason === "eos") {
    return stripEos(r.text, engine.tokenizer.decode([r.tokenIds![r.tokenIds!.length - 1]]));
  }
  return r.text;
}

/** One streamed choice: receives tokens, emits the text that is certain (see the module doc). */
class ChoiceStream {
  private ids: number[] = [];
  private lps: number[] = [];
  private sentTokens = 0;
  emitted = "";
  constructor(
    private engine: Engine,
    private prev: number | undefined,
    private holdBack: number,
  ) {}
  add(id: number, logprob: number): void {
    this.ids.push(id);
    this.lps.push(logprob);
  }
  /** Text safe to send now (excludes the newest token, which may be EOS or complete a stop string). */
  delta(): string {
    if (this.ids.length < 2) return "";
    let text = decodeAfter(this.engine.tokenizer, this.prev, this.ids.slice(0, -1));
    while (text.endsWith("\uFFFD")) text = text.slice(0, -1); // a character still being spelled in bytes
    const safe = text.slice(0, Math.max(0, text.length - this.holdBack));
    if (safe.length <= this.emitted.length || !safe.startsWith(this.emitted)) return "";
    const d = safe.slice(this.emitted.length);
    this.emitted = safe;
    return d;
  }
  /** The rest of the final text. */
  rest(final: string): string {
    if (!final.startsWith(this.emitted)) throw new Error(`stream: sent text is not a prefix of the result (${JSON.stringify(this.emitted)})`);
    const d = final.slice(this.emitted.length);
    this.emitted = final;
    return d;
  }
  /** Ids and logprobs of the tokens not yet reported. */
  newTokens(): { ids: number[]; logprobs: number[] } {
    const out = { ids: this.ids.slice(this.sentTokens), logprobs: this.lps.slice(this.sentTokens) };
    this.sentTokens = this.ids.length;
    return out;
  }
}

export async function startModelServer(opts: ModelServerOptions): Promise<ModelServer> {
  let engine: Engine;
  let name = opts.modelName;
  if (typeof opts.model === "string") {
    const { loadModel } = await import("./load.js");
    engine = createEngine(await loadModel(opts.model), { maxBatch: opts.maxBatch });
    name ??= opts.model.replace(/\/+$/, "").split("/").pop();
  } else if ("generate" in opts.model) engine = opts.model;
  else engine = createEngine(opts.model, { maxBatch: opts.maxBatch });
  const modelName = name ?? "research-ts";
  const ctx = engine.config.max_position_embeddings;
  const maxTokensLimit = opts.maxTokensLimit ?? ctx;
  const created = Math.floor(Date.now() / 1000);
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });

  app.get("/v1/models", async () => ({
    object: "list",
    data: [{ id: modelName, object: "model", created, owned_by: "research-ts", max_model_len: ctx }],
  }));

  const maxQueue = opts.maxQueue ?? 1024;
  const maxBatch = opts.maxBatch ?? 16;
  let inFlight = 0;
  /** Streams of one request's choices, when it streams. */
  type OnChoice = (choice: number, stream: ChoiceStream) => void;

  /** Run n samples for each prompt; validates budget and context. `onChoice` makes it stream. */
  const run = async (reply: FastifyReply, prompts: number[][], body: z.infer<z.ZodObject<typeof common>>, maxTokens: number, streams?: { holdBack: number; started: (s: ChoiceStream[]) => void; onToken: OnChoice }) => {
    if (maxTokens > maxTokensLimit) return { error: badRequest(reply, `max_tokens: ${maxTokens} exceeds the limit ${maxTokensLimit}`) };
    for (const p of prompts)
      if (p.length >= ctx) return { error: badRequest(reply, `prompt: ${p.length} tokens do not fit the context of ${ctx}`) };
    const n = body.n ?? 1;
    const stop = body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
    const reqs: GenerationRequest[] = [];
    const choiceStreams: ChoiceStream[] = [];
    prompts.forEach((ids, pi) => {
      for (let i = 0; i < n; i++) {
        const index = pi * n + i;
        const cs = streams ? new ChoiceStream(engine, ids[ids.length - 1], streams.holdBack) : undefined;
        if (cs) choiceStreams.push(cs);
        reqs.push({
          prompt: "",
          promptIds: ids,
          maxTokens: Math.min(maxTokens, ctx - ids.length),
          stop,
          temperature: body.temperature ?? 1,
          topP: body.top_p ?? 1,
          topK: body.top_k != null && body.top_k > 0 ? body.top_k : undefined,
          seed: body.seed != null ? body.seed + pi * n + i : undefined,
          ...(cs ? { onToken: (id: number, lp: number) => { cs.add(id, lp); streams!.onToken(index, cs); } } : {}),
        });
      }
    });
    streams?.started(choiceStreams);
    const results = await engine.generate(reqs);
    const promptTokens = prompts.reduce((a, p) => a + p.length, 0);
    const completionTokens = results.reduce((a, r) => a + r.tokenIds!.length, 0);
    return { results, streams: choiceStreams, usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } };
  };
  const holdBackFor = (stop: string | string[] | null | undefined) =>
    Math.max(0, ...(stop == null ? [] : typeof stop === "string" ? [stop] : stop).map((x) => x.length - 1));

  /** Server-sent events on the reply, opened at the first event (so a request refused before it gets a plain 400). */
  const sse = (reply: FastifyReply) => {
    const res = reply.raw;
    const open = () => {
      if (reply.sent) return;
      reply.hijack();
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
    };
    return {
      send: (data: unknown) => { open(); if (!res.writableEnded && !res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`); },
      end: () => { open(); if (!res.writableEnded && !res.destroyed) res.end("data: [DONE]\n\n"); },
      /** An error after the stream opened (OpenAI's form: an error event), or a 500 before. */
      error: (message: string) => {
        if (!reply.sent) return void reply.code(500).send({ error: { message, type: "server_error", param: null, code: null } });
        if (!res.writableEnded && !res.destroyed) res.end(`data: ${JSON.stringify({ error: { message, type: "server_error", param: null, code: null } })}\n\ndata: [DONE]\n\n`);
      },
    };
  };

  // Admission: requests beyond the engine's batch and the queue bound get 503 + Retry-After.
  app.addHook("onRequest", async (request, reply) => {
    if (request.method !== "POST") return;
    if (inFlight >= maxBatch + maxQueue) {
      return reply
        .code(503)
        .header("retry-after", String(opts.retryAfterSeconds ?? 1))
        .send({ error: { message: `overloaded: ${inFlight} requests in flight (max-batch ${maxBatch} + max-queue ${maxQueue}); retry later`, type: "server_error", param: null, code: "overloaded" } });
    }
    inFlight++;
    let released = false;
    const release = () => { if (!released) { released = true; inFlight--; } };
    reply.raw.once("finish", release);
    reply.raw.once("close", release);
  });
  const finishReason = (r: GenerationResult) => (r.finishReason === "length" ? "length" : "stop");
  /** vLLM's stop_reason: the matched stop string, null otherwise. */
  const stopReason = (r: GenerationResult) => (r.finishReason === "stop" ? (r.stopString ?? null) : null);
  const tokenTexts = (ids: number[], asIds?: boolean) => ids.map((id) => (asIds ? `token_id:${id}` : engine.tokenizer.decode([id])));

  app.post("/v1/completions", async (request, reply) => {
    const parsed = CompletionBody.safeParse(request.body ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error);
    const body = parsed.data;
    const p = body.prompt;
    const prompts: number[][] =
      typeof p === "string" ? [encodePrompt(engine.tokenizer, p)]
      : p.length && typeof p[0] === "string" ? (p as string[]).map((s) => encodePrompt(engine.tokenizer, s))
      : p.length && typeof p[0] === "number" ? [p as number[]]
      : (p as number[][]).map((ids) => (ids.length ? ids : encodePrompt(engine.tokenizer, "")));
    for (const ids of prompts)
      for (const id of ids) if (id >= engine.config.vocab_size) return badRequest(reply, `prompt: token id ${id} >= vocab size ${engine.config.vocab_size}`);
    const logprobsFor = (ids: number[], lps: number[], start: number) => {
      let offset = start;
      const tokens = tokenTexts(ids, body.return_tokens_as_token_ids);
      return { tokens, token_logprobs: lps, top_logprobs: null, text_offset: tokens.map((t) => ((offset += t.length), offset - t.length)) };
    };
    const id = `cmpl-${randomUUID()}`;
    const createdAt = Math.floor(Date.now() / 1000);
    if (body.stream) {
      const ev = sse(reply);
      const offsets: number[] = [];
      const chunk = (index: number, text: string, cs: ChoiceStream, finish: string | null, extra: Record<string, unknown> = {}) => {
        const t = cs.newTokens();
        const lp = body.logprobs != null ? logprobsFor(t.ids, t.logprobs, offsets[index] ?? 0) : null;
        if (lp) offsets[index] = (offsets[index] ?? 0) + lp.tokens.join("").length;
        ev.send({
          id, object: "text_completion", created: createdAt, model: modelName,
          choices: [{ index, text, logprobs: lp, finish_reason: finish, ...extra }],
          ...(body.stream_options?.include_usage ? { usage: null } : {}),
        });
      };
      try {
        const out = await run(reply, prompts, body, body.max_tokens ?? 16, {
          holdBack: holdBackFor(body.stop),
          started: () => {},
          onToken: (index, cs) => {
            const d = cs.delta();
            if (d) chunk(index, d, cs, null);
          },
        });
        if ("error" in out) return out.error;
        out.results.forEach((r, index) => {
          const cs = out.streams[index];
          chunk(index, cs.rest(openAiText(r, engine)), cs, finishReason(r), { stop_reason: stopReason(r), ...(body.return_token_ids ? { token_ids: r.tokenIds } : {}) });
        });
        if (body.stream_options?.include_usage) ev.send({ id, object: "text_completion", created: createdAt, model: modelName, choices: [], usage: out.usage });
        ev.end();
      } catch (e) {
        ev.error((e as Error).message);
      }
      return reply;
    }
    const out = await run(reply, prompts, body, body.max_tokens ?? 16);
    if ("error" in out) return out.error;
    return {
      id,
      object: "text_completion",
      created: createdAt,
      model: modelName,
      system_fingerprint: null,
      choices: out.results.map((r, index) => ({
        index,
        text: openAiText(r, engine),
        logprobs: body.logprobs != null ? logprobsFor(r.tokenIds!, r.logprobs!, 0) : null,
        finish_reason: finishReason(r),
        stop_reason: stopReason(r),
        ...(body.return_token_ids ? { token_ids: r.tokenIds } : {}),
      })),
      usage: out.usage,
    };
  });

  app.post("/v1/chat/completions", async (request, reply) => {
    const parsed = ChatBody.safeParse(request.body ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error);
    const body = parsed.data;
    if (!engine.tokenizer.chatTemplate) return badRequest(reply, "messages: this model has no chat template; use /v1/completions");
    let prompt: string;
    const last = body.messages[body.messages.length - 1];
    const cont = body.continue_final_message === true;
    if (cont && last.role !== "assistant") return badRequest(reply, "continue_final_message: the last message must be the assistant's");
    if (cont && body.add_generation_prompt) return badRequest(reply, "add_generation_prompt: cannot be combined with continue_final_message");
    try {
      prompt = renderChat(body.messages, { ...tokenizerChatOptions(engine.tokenizer), addGenerationPrompt: cont ? false : (body.add_generation_prompt ?? true) });
    } catch (e) {
      return badRequest(reply, `messages: ${(e as Error).message}`);
    }
    if (cont) {
      // As vLLM: cut the rendered chat right after the final message's content (drop its end-of-turn marker).
      const at = prompt.lastIndexOf(last.content);
      if (at === -1) return badRequest(reply, "continue_final_message: the template does not render the final message verbatim");
      prompt = prompt.slice(0, at + last.content.length);
    }
    const ids = engine.tokenizer.encode(prompt);
    const promptIds = [ids.length ? ids : encodePrompt(engine.tokenizer, "")];
    const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? Math.min(maxTokensLimit, ctx - ids.length);
    const contentLogprobs = (tokIds: number[], lps: number[]) =>
      tokIds.map((t, i) => {
        const token = engine.tokenizer.decode([t]);
        return { token, logprob: lps[i], bytes: [...Buffer.from(token)], top_logprobs: [] };
      });
    const id = `chatcmpl-${randomUUID()}`;
    const createdAt = Math.floor(Date.now() / 1000);
    if (body.stream) {
      const ev = sse(reply);
      const chunk = (index: number, delta: Record<string, unknown>, cs: ChoiceStream | undefined, finish: string | null, extra: Record<string, unknown> = {}) => {
        const t = cs?.newTokens();
        ev.send({
          id, object: "chat.completion.chunk", created: createdAt, model: modelName, system_fingerprint: null,
          choices: [{ index, delta, logprobs: body.logprobs && t ? { content: contentLogprobs(t.ids, t.logprobs) } : null, finish_reason: finish, ...extra }],
          ...(body.stream_options?.include_usage ? { usage: null } : {}),
        });
      };
      try {
        const out = await run(reply, promptIds, body, maxTokens, {
          holdBack: holdBackFor(body.stop),
          started: (streams) => streams.forEach((_, index) => chunk(index, { role: "assistant", content: "" }, undefined, null)),
          onToken: (index, cs) => {
            const d = cs.delta();
            if (d) chunk(index, { content: d }, cs, null);
          },
        });
        if ("error" in out) return out.error;
        out.results.forEach((r, index) => {
          const cs = out.streams[index];
          const rest = cs.rest(openAiText(r, engine));
          chunk(index, rest ? { content: rest } : {}, cs, finishReason(r), { stop_reason: stopReason(r), ...(body.return_token_ids ? { token_ids: r.tokenIds } : {}) });
        });
        if (body.stream_options?.include_usage) ev.send({ id, object: "chat.completion.chunk", created: createdAt, model: modelName, system_fingerprint: null, choices: [], usage: out.usage });
        ev.end();
      } catch (e) {
        ev.error((e as Error).message);
      }
      return reply;
    }
    const out = await run(reply, promptIds, body, maxTokens);
    if ("error" in out) return out.error;
    return {
      id,
      object: "chat.completion",
      created: createdAt,
      model: modelName,
      system_fingerprint: null,
      choices: out.results.map((r, index) => ({
        index,
        message: { role: "assistant", content: openAiText(r, engine), refusal: null },
        logprobs: body.logprobs ? { content: contentLogprobs(r.tokenIds!, r.logprobs!), refusal: null } : null,
        finish_reason: finishReason(r),
        stop_reason: stopReason(r),
        ...(body.return_token_ids ? { token_ids: r.tokenIds } : {}),
      })),
      usage: out.usage,
    };
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const code = err.statusCode && err.statusCode < 500 ? err.statusCode : err.name === "UserError" ? 400 : 500;
    void reply.code(code).send({ error: { message: err.message, type: code === 400 ? "invalid_request_error" : "server_error", param: null, code: null } });
  });

  const address = await app.listen({ port: opts.port ?? 8000, host: opts.host ?? "127.0.0.1" });
  return { url: address, engine, close: () => app.close() };
}
