import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startModelServer, type ModelServer } from "./server.js";
import { tinyQwen2 } from "./testing.js";
import { SHARED_DATA } from "../util/shared.js";

/** `research serve model` driven by the official openai npm client (no hand-written HTTP). */
const STORIES = SHARED_DATA + "/models/stories260K";
let stories: ModelServer;
let qwen: ModelServer;
let sc: OpenAI;
let qc: OpenAI;
beforeAll(async () => {
  stories = await startModelServer({ model: STORIES, port: 0 });
  qwen = await startModelServer({ model: tinyQwen2({ seed: 3 }), port: 0, modelName: "tiny-qwen2" });
  sc = new OpenAI({ baseURL: `${stories.url}/v1`, apiKey: "none", maxRetries: 0 });
  qc = new OpenAI({ baseURL: `${qwen.url}/v1`, apiKey: "none", maxRetries: 0 });
});
afterAll(async () => {
  await stories?.close();
  await qwen?.close();
});

describe("the official openai client against research serve model", () => {
  test("models.list and completions.create: text, usage, finish_reason, ids, logprobs", async () => {
    const models = await sc.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["stories260K"]);
    const r = await sc.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 40, temperature: 0, logprobs: 1 });
    expect(r.object).toBe("text_completion");
    expect(r.id).toMatch(/^cmpl-/);
    expect(r.model).toBe("stories260K");
    const [native] = await stories.engine.generate([{ prompt: "Once upon a time", maxTokens: 40, stop: [], temperature: 0 }]);
    expect(r.choices[0].text).toBe(native.text);
    expect(r.choices[0].finish_reason).toBe("length");
    expect(r.usage).toEqual({ prompt_tokens: stories.engine.tokenizer.encode("Once upon a time").length + 1, completion_tokens: 40, total_tokens: expect.any(Number) });
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + 40);
    expect(r.choices[0].logprobs!.token_logprobs).toHaveLength(40);
    expect(r.choices[0].logprobs!.tokens!.join("")).toBe(r.choices[0].text);
  });

  test.each([
    ["no stop", undefined, 60],
    ["a stop string that spans tokens", ["Lily"], 60],
    ["EOS", undefined, 400],
  ])("completions streaming (%s): the chunks concatenate to the non-streamed text", async (_name, stop, maxTokens) => {
    const body = { model: "stories260K", prompt: "Once upon a time", max_tokens: maxTokens, temperature: 0, ...(stop ? { stop } : {}) };
    const whole = await sc.completions.create(body);
    const stream = await sc.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let chunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    const ids = new Set<string>();
    for await (const c of stream) {
      ids.add(c.id);
      if (c.usage) usage = c.usage;
      for (const ch of c.choices) {
        text += ch.text;
        chunks++;
        if (ch.finish_reason) finish = ch.finish_reason;
      }
    }
    expect(text).toBe(whole.choices[0].text);
    expect(finish).toBe(whole.choices[0].finish_reason);
    expect(chunks).toBeGreaterThan(3); // really streamed, not one chunk
    expect(ids.size).toBe(1);
    expect(usage).toEqual(whole.usage);
    if (stop || maxTokens === 400) expect(whole.choices[0].finish_reason).toBe("stop"); // the stop string, or EOS
    if (maxTokens === 400) expect(whole.usage!.completion_tokens).toBeLessThan(400);
  });

  test("chat.completions.create applies the chat template; streaming concatenates to the same message", async () => {
    const messages = [{ role: "user" as const, content: "the cat" }];
    const r = await qc.chat.completions.create({ model: "tiny-qwen2", messages, max_tokens: 24, temperature: 0, logprobs: true });
    expect(r.object).toBe("chat.completion");
    expect(r.id).toMatch(/^chatcmpl-/);
    const prompt = "<|im_start|>user\nthe cat<|im_end|>\n<|im_start|>assistant\n";
    const [native] = await qwen.engine.generate([{ prompt, maxTokens: 24, stop: [], temperature: 0 }]);
    expect(r.usage!.prompt_tokens).toBe(qwen.engine.tokenizer.encode(prompt).length);
    expect(r.usage!.completion_tokens).toBe(native.tokenIds!.length);
    expect(r.choices[0].message.role).toBe("assistant");
    expect(r.choices[0].logprobs!.content).toHaveLength(native.tokenIds!.length);
    const text = r.choices[0].message.content!;

    const stream = await qc.chat.completions.create({ model: "tiny-qwen2", messages, max_tokens: 24, temperature: 0, stream: true, logprobs: true, stream_options: { include_usage: true } });
    let streamed = "";
    let role: string | undefined;
    let finish: string | null = null;
    let lps = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      expect(c.object).toBe("chat.completion.chunk");
      if (c.usage) usage = c.usage;
      for (const ch of c.choices) {
        role ??= ch.delta.role;
        streamed += ch.delta.content ?? "";
        lps += ch.logprobs?.content?.length ?? 0;
        if (ch.finish_reason) finish = ch.finish_reason;
      }
    }
    expect(role).toBe("assistant");
    expect(streamed).toBe(text);
    expect(finish).toBe(r.choices[0].finish_reason);
    expect(lps).toBe(native.tokenIds!.length);
    expect(usage).toEqual(r.usage);
    // The SDK's own stream helper assembles the same message.
    const runner = qc.chat.completions.stream({ model: "tiny-qwen2", messages, max_tokens: 24, temperature: 0 });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0].message.content).toBe(text);
  });

  test("chat streaming with a stop string and n = 2: each choice's deltas equal its non-streamed text", async () => {
    const messages = [{ role: "user" as const, content: "the" }];
    const body = { model: "tiny-qwen2", messages, max_tokens: 30, temperature: 1, seed: 5, n: 2, stop: ["he"] };
    const whole = await qc.chat.completions.create(body);
    const stream = await qc.chat.completions.create({ ...body, stream: true });
    const texts = ["", ""];
    const finishes: (string | null)[] = [null, null];
    for await (const c of stream)
      for (const ch of c.choices) {
        texts[ch.index] += ch.delta.content ?? "";
        if (ch.finish_reason) finishes[ch.index] = ch.finish_reason;
      }
    expect(texts).toEqual(whole.choices.map((c) => c.message.content));
    expect(finishes).toEqual(whole.choices.map((c) => c.finish_reason));
  });

  test("a client that aborts a stream mid-way leaves the server serving", async () => {
    const stream = await sc.completions.create({ model: "s", prompt: "Once", max_tokens: 200, temperature: 0, stream: true });
    let n = 0;
    for await (const _ of stream) if (++n === 3) stream.controller.abort();
    expect(n).toBe(3);
    await new Promise((r) => setTimeout(r, 300)); // the generation runs on; its writes go nowhere
    const r = await sc.completions.create({ model: "s", prompt: "Once", max_tokens: 4, temperature: 0, stream: true });
    let text = "";
    for await (const c of r) text += c.choices[0]?.text ?? "";
    expect(text.length).toBeGreaterThan(0);
  });

  test("bad requests are APIErrors with status 400 naming the field, also when streaming", async () => {
    for (const bad of [
      () => sc.completions.create({ model: "x", prompt: "x", max_tokens: -1 }),
      () => sc.completions.create({ model: "x", prompt: "x", max_tokens: -1, stream: true }),
    ]) {
      const e = await bad().then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(APIError);
      expect((e as APIError).status).toBe(400);
      expect((e as APIError).message).toContain("max_tokens");
    }
    const e = await sc.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] }).catch((err: unknown) => err);
    expect((e as APIError).status).toBe(400);
    expect((e as APIError).message).toContain("chat template");
  });
});

describe("serve model under load", () => {
  test("64 concurrent openai clients × 10 requests: 0 failures", async () => {
    const clients = Array.from({ length: 64 }, () => new OpenAI({ baseURL: `${stories.url}/v1`, apiKey: "none", maxRetries: 0 }));
    let ok = 0;
    await Promise.all(clients.map(async (c, i) => {
      for (let j = 0; j < 10; j++) {
        const r = await c.completions.create({ model: "stories260K", prompt: "Tom", max_tokens: 3, temperature: 1, seed: i * 100 + j });
        if (r.choices[0].text.length >= 0 && r.usage!.completion_tokens <= 3) ok++;
      }
    }));
    expect(ok).toBe(640);
  }, 60_000);

  test("past --max-queue: 503 with Retry-After, then requests succeed again", async () => {
    const small = await startModelServer({ model: stories.engine, port: 0, maxBatch: 1, maxQueue: 1, retryAfterSeconds: 2 });
    try {
      const c = new OpenAI({ baseURL: `${small.url}/v1`, apiKey: "none", maxRetries: 0 });
      // Two long requests fill the batch (1) and the queue (1); wait until the first has produced tokens.
      const first = await c.completions.create({ model: "s", prompt: "Once", max_tokens: 250, temperature: 0, stream: true });
      const it = first[Symbol.asyncIterator]();
      await it.next();
      const second = c.completions.create({ model: "s", prompt: "Once", max_tokens: 250, temperature: 0 });
      await new Promise((r) => setTimeout(r, 50));
      const e = await c.completions.create({ model: "s", prompt: "x", max_tokens: 1 }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(APIError);
      expect((e as APIError).status).toBe(503);
      expect((e as APIError).headers?.get("retry-after")).toBe("2");
      expect((e as APIError).message).toContain("max-queue 1");
      for (let r = await it.next(); !r.done; r = await it.next());
      await second;
      const again = await c.completions.create({ model: "s", prompt: "x", max_tokens: 1 });
      expect(again.choices).toHaveLength(1);
      expect(again.usage!.completion_tokens).toBe(1);
    } finally {
      await small.close();
    }
  }, 60_000);
});
