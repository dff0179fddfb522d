import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startModelServer, type ModelServer } from "./server.js";
import { loadModel } from "./load.js";
import { createEngine } from "./generate.js";
import { tinyQwen2 } from "./testing.js";
import { SHARED_DATA } from "../util/shared.js";

const STORIES = SHARED_DATA + "/models/stories260K";
let stories: ModelServer;
let qwen: ModelServer;
beforeAll(async () => {
  stories = await startModelServer({ model: STORIES, port: 0 });
  qwen = await startModelServer({ model: tinyQwen2({ seed: 3 }), port: 0, modelName: "tiny-qwen2" });
});
afterAll(async () => {
  await stories?.close();
  await qwen?.close();
});

const post = async (s: ModelServer, path: string, body: unknown) => {
  const res = await fetch(`${s.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
};

describe("OpenAI-compatible model server", () => {
  test("GET /v1/models lists the model", async () => {
    const r = (await (await fetch(`${stories.url}/v1/models`)).json()) as any;
    expect(r.object).toBe("list");
    expect(r.data[0]).toMatchObject({ id: "stories260K", object: "model" });
  });

  test("completions: empty prompt starts from BOS and matches the llama2.c greedy reference", async () => {
    const { status, json } = await post(stories, "/v1/completions", { prompt: "", max_tokens: 200, temperature: 0, logprobs: 1 });
    expect(status).toBe(200);
    const ref = (await import("node:fs")).readFileSync(`${STORIES}/reference_greedy_200steps.txt`, "utf8");
    expect(json.choices[0].text).toBe(ref);
    expect(json.choices[0].finish_reason).toBe("length");
    expect(json.usage).toEqual({ prompt_tokens: 1, completion_tokens: 200, total_tokens: 201 });
    expect(json.choices[0].logprobs.token_logprobs).toHaveLength(200);
    expect(json.choices[0].logprobs.tokens.join("")).toBe(" " + ref); // first token " Once" in the raw view
    expect(json.object).toBe("text_completion");
  });

  test("stop strings are excluded from the text and give finish_reason stop; n and seed", async () => {
    const { json } = await post(stories, "/v1/completions", { prompt: "Once upon a time", max_tokens: 64, temperature: 0, stop: ["Lily", "zzz"] });
    const native = await createEngine(await loadModel(STORIES)).generate([{ prompt: "Once upon a time", maxTokens: 64, stop: ["Lily", "zzz"], temperature: 0 }]);
    expect(native[0].finishReason).toBe("stop");
    expect(json.choices[0].text).toBe(native[0].text.slice(0, -"Lily".length));
    expect(json.choices[0].finish_reason).toBe("stop");
    const a = await post(stories, "/v1/completions", { prompt: "Tom", max_tokens: 20, n: 3, seed: 42, temperature: 1, top_p: 0.9 });
    const b = await post(stories, "/v1/completions", { prompt: "Tom", max_tokens: 20, n: 3, seed: 42, temperature: 1, top_p: 0.9 });
    expect(a.json.choices).toHaveLength(3);
    expect(a.json.choices.map((c: any) => c.text)).toEqual(b.json.choices.map((c: any) => c.text));
    expect(new Set(a.json.choices.map((c: any) => c.text)).size).toBeGreaterThan(1);
    expect(a.json.usage.completion_tokens).toBeLessThanOrEqual(60);
  });

  test.each([
    [{ prompt: "x", max_tokens: -1 }, "max_tokens"],
    [{ prompt: "x", temperature: "hot" }, "temperature"],
    [{ prompt: 5 }, "prompt"],
    [{ prompt: "x", max_tokens: 100000 }, "max_tokens"],
    [{ prompt: "x", stream: "yes" }, "stream"],
  ])("a bad body %j gets a 400 naming %s", async (body, field) => {
    const { status, json } = await post(stories, "/v1/completions", body);
    expect(status).toBe(400);
    expect(json.error.type).toBe("invalid_request_error");
    expect(json.error.message).toContain(field);
  });

  test("chat completions render the chat template; a model without one gets a 400", async () => {
    const { status, json } = await post(qwen, "/v1/chat/completions", {
      messages: [{ role: "user", content: "the cat" }], max_tokens: 12, temperature: 0, logprobs: true, return_token_ids: true,
    });
    expect(status).toBe(200);
    expect(json.object).toBe("chat.completion");
    expect(json.choices[0].message.role).toBe("assistant");
    const prompt = "<|im_start|>user\nthe cat<|im_end|>\n<|im_start|>assistant\n";
    const [native] = await qwen.engine.generate([{ prompt, maxTokens: 12, stop: [], temperature: 0 }]);
    expect(json.choices[0].token_ids).toEqual(native.tokenIds);
    expect(json.usage.prompt_tokens).toBe(qwen.engine.tokenizer.encode(prompt).length);
    expect(json.choices[0].logprobs.content).toHaveLength(native.tokenIds!.length);
    const bad = await post(stories, "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain("chat template");
    const noMsgs = await post(qwen, "/v1/chat/completions", { messages: [] });
    expect(noMsgs.status).toBe(400);
    expect(noMsgs.json.error.param).toBe("messages");
  });
});

describe("streaming wire format", () => {
  test("SSE: data: lines of JSON chunks, ending with data: [DONE]", async () => {
    const res = await fetch(`${stories.url}/v1/completions`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "Tom", max_tokens: 8, temperature: 0, stream: true }),
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = (await res.text()).split("\n\n").filter(Boolean);
    expect(events[events.length - 1]).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")) as { choices: { text: string; finish_reason: string | null }[] });
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe("length");
    expect(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null)).toBe(true);
  });
});

describe("vLLM extensions used by the rollout's OpenAI backend", () => {
  test("return_tokens_as_token_ids, stop_reason, and continue_final_message", async () => {
    const { json } = await post(stories, "/v1/completions", {
      prompt: [1, 403, 407], max_tokens: 30, temperature: 0, logprobs: 1, return_tokens_as_token_ids: true, stop: ["Lily"], skip_special_tokens: false,
    });
    const [native] = await stories.engine.generate([{ prompt: "", promptIds: [1, 403, 407], maxTokens: 30, stop: ["Lily"], temperature: 0 }]);
    expect(json.choices[0].logprobs.tokens).toEqual(native.tokenIds!.map((id) => `token_id:${id}`));
    expect(json.choices[0].stop_reason).toBe(native.finishReason === "stop" ? "Lily" : null);
    const partial = "the cat";
    const c = await post(qwen, "/v1/chat/completions", {
      messages: [{ role: "user", content: "hi" }, { role: "assistant", content: partial }],
      continue_final_message: true, add_generation_prompt: false, max_tokens: 8, temperature: 0, return_token_ids: true,
    });
    const prompt = `<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n${partial}`;
    const [cont] = await qwen.engine.generate([{ prompt, maxTokens: 8, stop: [], temperature: 0 }]);
    expect(c.json.choices[0].token_ids).toEqual(cont.tokenIds);
  });
});
