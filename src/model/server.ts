/**
 * @module model/server — an OpenAI-compatible HTTP server over the native engine (fastify): `GET /v1/models`,
 * `POST /v1/completions`, `POST /v1/chat/completions` (chat template rendered with @huggingface/jinja).
 * Stop strings are excluded from the returned text, as OpenAI does; every request joins the engine's shared batch.
 */
import Fastify, { type FastifyReply } from "fastify";
import { z } from "zod";
import { randomUUID } from "node:crypto";
import type { GenerationRequest, GenerationResult } from "./generation.js";
import { createEngine, encodePrompt, type Engine, type LoadedModel } from "./generate.js";
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
  stream: z.literal(false).nullish(),
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

  /** Run n samples for each prompt; validates budget and context. */
  const run = async (reply: FastifyReply, prompts: number[][], body: z.infer<z.ZodObject<typeof common>>, maxTokens: number) => {
    if (maxTokens > maxTokensLimit) return { error: badRequest(reply, `max_tokens: ${maxTokens} exceeds the limit ${maxTokensLimit}`) };
    for (const p of prompts)
      if (p.length >= ctx) return { error: badRequest(reply, `prompt: ${p.length} tokens do not fit the context of ${ctx}`) };
    const n = body.n ?? 1;
    const stop = body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
    const reqs: GenerationRequest[] = [];
    prompts.forEach((ids, pi) => {
      for (let i = 0; i < n; i++)
        reqs.push({
          prompt: "",
          promptIds: ids,
          maxTokens: Math.min(maxTokens, ctx - ids.length),
          stop,
          temperature: body.temperature ?? 1,
          topP: body.top_p ?? 1,
          topK: body.top_k != null && body.top_k > 0 ? body.top_k : undefined,
          seed: body.seed != null ? body.seed + pi * n + i : undefined,
        });
    });
    const results = await engine.generate(reqs);
    const promptTokens = prompts.reduce((a, p) => a + p.length, 0);
    const completionTokens = results.reduce((a, r) => a + r.tokenIds!.length, 0);
    return { results, usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } };
  };
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
    const out = await run(reply, prompts, body, body.max_tokens ?? 16);
    if ("error" in out) return out.error;
    return {
      id: `cmpl-${randomUUID()}`,
      object: "text_completion",
      created: Math.floor(Date.now() / 1000),
      model: modelName,
      choices: out.results.map((r, index) => {
        const text = openAiText(r, engine);
        let offset = 0;
        const tokens = tokenTexts(r.tokenIds!, body.return_tokens_as_token_ids);
        return {
          index,
          text,
          logprobs: body.logprobs != null
            ? { tokens, token_logprobs: r.logprobs, top_logprobs: null, text_offset: tokens.map((t) => ((offset += t.length), offset - t.length)) }
            : null,
          finish_reason: finishReason(r),
          stop_reason: stopReason(r),
          ...(body.return_token_ids ? { token_ids: r.tokenIds } : {}),
        };
      }),
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
    const out = await run(reply, [ids.length ? ids : encodePrompt(engine.tokenizer, "")], body, body.max_completion_tokens ?? body.max_tokens ?? Math.min(maxTokensLimit, ctx - ids.length));
    if ("error" in out) return out.error;
    return {
      id: `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: modelName,
      choices: out.results.map((r, index) => ({
        index,
        message: { role: "assistant", content: openAiText(r, engine) },
        logprobs: body.logprobs
          ? { content: r.tokenIds!.map((id, i) => ({ token: engine.tokenizer.decode([id]), logprob: r.logprobs![i], bytes: [...Buffer.from(engine.tokenizer.decode([id]))], top_logprobs: [] })) }
          : null,
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
