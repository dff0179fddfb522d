import { afterEach, describe, expect, test } from "vitest";
import { runRollouts, streamRollouts } from "./loop.js";
import { createOpenAIBackend } from "./backends/openai.js";
import { createCharTokenizer, createMapRetriever, startScriptedServer, type ScriptedServer, type StopMode } from "./testing.js";
import { RESEARCH_BASE_PROMPT } from "./prompts.js";
import type { Intervention } from "./intervention.js";
import type { SearchHit } from "../retrieval/types.js";

const hit = (id: string, contents: string): SearchHit => ({ id, contents, score: 1 });
const HITS: Record<string, SearchHit[]> = {
  "capital of France": [hit("p1", '  "Paris"\nParis is the capital of France.\n'), hit("p2", '\n"France"\nFrance is in Europe.  ')],
  "Eiffel Tower height": [hit("p3", '"Eiffel Tower"\n330 m tall.')],
};

/** Each question's turns; turn i is written after i results. */
const SCRIPTS: Record<string, string[]> = {
  "What is the capital of France?": [
    " <think> I should look it up. </think> <search> capital of France </search>",
    " <think> Paris. </think> <answer> The final answer is \\[ \\boxed{Paris} \\] </answer>",
  ],
  "How tall is the Eiffel Tower?": [
    " <think> two steps </think> <search>capital of France</search>",
    " <search>  Eiffel Tower height </search>",
    " <answer> \\boxed{330 m} </answer>",
  ],
  "What is 2+2?": [" <think> no search needed </think> <answer> \\boxed{4} </answer>"],
  "Which index is down?": [" <search>BOOM</search>", " <answer> \\boxed{never} </answer>"],
};
const script = ({ question, response }: { question: string; response: string }) => {
  const turns = SCRIPTS[question] ?? SCRIPTS[question.replace(/^.*Question: /s, "").trim()];
  if (!turns) throw new Error(`no script for ${question}`);
  return turns[response.split("</result>").length - 1];
};
const EXPECTED_FRANCE =
  " <think> I should look it up. </think> <search> capital of France </search>" +
  ' <result>\n"Paris"\nParis is the capital of France.\n\n"France"\nFrance is in Europe.\n</result>' +
  " <think> Paris. </think> <answer> The final answer is \\[ \\boxed{Paris} \\] </answer><|endoftext|>";

let servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function server(opts: Parameters<typeof startScriptedServer>[0]) {
  const s = await startScriptedServer(opts);
  servers.push(s);
  return s;
}
const ex = (id: string, question: string) => ({ id, question });

describe.each(["async", "rounds"] as const)("rollout loop over an OpenAI-compatible server (%s schedule)", (schedule) => {
  const roll = (o: Parameters<typeof runRollouts>[0]) => runRollouts({ ...o, schedule });
  test.each<StopMode>(["drop", "keep", "vllm"])("splices results byte for byte, stop string once (%s)", async (stopMode) => {
    const s = await server({ script, stopMode });
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m" });
    const retriever = createMapRetriever(HITS);
    const [t] = await roll({ backend, retriever, examples: [ex("q1", "What is the capital of France?")], temperature: 0 });
    expect(t.response).toBe(EXPECTED_FRANCE);
    expect(t.prompt).toBe(RESEARCH_BASE_PROMPT.replace("{prompt}", "What is the capital of France?"));
    expect(t.finishReason).toBe("eos");
    expect(t.searches).toBe(1);
    expect(t.queries).toEqual(["capital of France"]);
    expect(t.segments.map((g) => [g.author, g.trained])).toEqual([["policy", true], ["tool", false], ["policy", true]]);
    expect(t.response.split("</search>").length).toBe(2);
    expect(t.segments[0].logprobs?.length).toBeGreaterThan(0);
    // the server got the stop string and the whole context, including the spliced result
    expect(s.requests[0].body.stop).toEqual(["</search>"]);
    expect(s.requests[1].body.prompt).toBe(t.prompt + t.response.slice(0, t.response.indexOf("</result>") + 9));
  });

  test("queries of one round go to the retriever in one batched call (rounds); rollouts finish at different rounds", async () => {
    const s = await server({ script });
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", concurrency: 3 });
    const retriever = createMapRetriever(HITS);
    const examples = [ex("a", "What is the capital of France?"), ex("b", "How tall is the Eiffel Tower?"), ex("c", "What is 2+2?")];
    const ts = await roll({ backend, retriever, examples, n: 2, temperature: 0 });
    expect(ts.map((t) => t.id)).toEqual(["a#0", "a#1", "b#0", "b#1", "c#0", "c#1"]);
    if (schedule === "rounds")
      expect(retriever.calls).toEqual([
        ["capital of France", "capital of France", "capital of France", "capital of France"],
        ["Eiffel Tower height", "Eiffel Tower height"],
      ]);
    else expect(retriever.calls.flat().sort()).toEqual([...Array(4).fill("capital of France"), "Eiffel Tower height", "Eiffel Tower height"].sort());
    expect(ts.map((t) => t.searches)).toEqual([1, 1, 2, 2, 0, 0]);
    expect(ts.every((t) => t.finishReason === "eos")).toBe(true);
    expect(ts[0].response).toBe(EXPECTED_FRANCE);
    expect(ts[2].response).toContain('</search> <result>\n"Eiffel Tower"\n330 m tall.\n</result> <answer>');
  });

  test("a failing retriever call marks only its rollout as error", async () => {
    const s = await server({ script });
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m" });
    const retriever = createMapRetriever(HITS, { failOn: ["BOOM"] });
    const examples = [ex("ok", "What is the capital of France?"), ex("bad", "Which index is down?"), ex("c", "What is 2+2?")];
    const ts = await roll({ backend, retriever, examples, temperature: 0 });
    expect(ts.map((t) => t.finishReason)).toEqual(["eos", "error", "eos"]);
    expect(ts[1].error).toMatch(/retriever failed: index unavailable for "BOOM"/);
    expect(ts[0].response).toBe(EXPECTED_FRANCE);
  });

  test("vLLM token ids: ids and loss mask, tool tokens 0, text is the ids' decoding", async () => {
    const tok = createCharTokenizer();
    for (const stopMode of ["drop", "keep"] as const) {
      const s = await server({ script, stopMode });
      const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", tokenizer: tok, tokenIds: true });
      const [t] = await roll({ backend, retriever: createMapRetriever(HITS), examples: [ex("q", "What is the capital of France?")], temperature: 0, maxPromptTokens: 4096 });
      expect(t.response).toBe(EXPECTED_FRANCE);
      expect(tok.decode(t.responseIds!)).toBe(t.response);
      expect(t.promptIds).toEqual(tok.encode(t.prompt));
      const [p0, tool, p1] = t.segments;
      expect(t.lossMask).toEqual([...p0.tokenIds!.map(() => 1), ...tool.tokenIds!.map(() => 0), ...p1.tokenIds!.map(() => 1)]);
      expect(tool.tokenIds).toEqual(tok.encode(tool.text));
      expect(p1.tokenIds![p1.tokenIds!.length - 1]).toBe(tok.eosId);
      expect(p0.logprobs).toHaveLength(p0.tokenIds!.length);
      // the second request carried the context as ids: prompt + policy ids + tool ids
      expect(s.requests[1].body.prompt).toEqual([...t.promptIds!, ...p0.tokenIds!, ...tool.tokenIds!]);
    }
  });

  test("response budget: a rollout cut by the budget ends as length, without EOS text", async () => {
    const s = await server({ script });
    const tok = createCharTokenizer();
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", tokenizer: tok, tokenIds: true });
    const [t] = await roll({
      backend, retriever: createMapRetriever(HITS), examples: [ex("q", "What is the capital of France?")], temperature: 0, maxResponseTokens: 120, maxPromptTokens: 4096,
    });
    expect(t.finishReason).toBe("length");
    expect(t.responseIds!.length).toBeLessThanOrEqual(120);
    expect(t.response.endsWith("<|endoftext|>")).toBe(false);
  });

  test("prompt limit and search cap", async () => {
    const s = await server({ script });
    const tok = createCharTokenizer();
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", tokenizer: tok, tokenIds: true });
    const examples = [ex("q", "How tall is the Eiffel Tower?")];
    const [long] = await roll({ backend, retriever: createMapRetriever(HITS), examples, maxPromptTokens: 100 });
    expect(long.finishReason).toBe("error");
    expect(long.error).toMatch(/over maxPromptTokens=100/);
    const [capped] = await roll({ backend, retriever: createMapRetriever(HITS), examples, maxSearches: 1, temperature: 0, maxPromptTokens: 4096 });
    expect(capped.finishReason).toBe("max_searches");
    expect(capped.searches).toBe(1);
    expect(capped.response.endsWith("<search>  Eiffel Tower height </search>")).toBe(true);
  });

  test("chat completions continue the assistant turn; EOS text <|im_end|>", async () => {
    const s = await server({ script, stopMode: "drop" });
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", chat: true });
    const [t] = await roll({ backend, retriever: createMapRetriever(HITS), examples: [ex("q", "What is the capital of France?")], template: "research-instruct", temperature: 0 });
    expect(t.response).toBe(EXPECTED_FRANCE.replace("<|endoftext|>", "<|im_end|>"));
    expect(t.prompt).toMatch(/^<\|im_start\|>system\nYou are a helpful assistant that can solve/);
    expect(t.prompt.endsWith("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")).toBe(true);
    expect(s.requests[0].path).toBe("/v1/chat/completions");
    expect(s.requests[1].body).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
    const msgs = s.requests[1].body.messages as { role: string; content: string }[];
    expect(msgs.map((m) => m.role)).toEqual(["system", "user", "assistant"]);
  });

  test("retries with backoff, rotation over base URLs, server errors surface as rollout errors", async () => {
    const flaky = await server({ script, failFirst: 2 });
    const other = await server({ script });
    const backend = createOpenAIBackend({ baseUrls: [flaky.url, other.url], modelName: "m", backoffMs: 5 });
    const ts = await roll({ backend, retriever: createMapRetriever(HITS), examples: [ex("a", "What is 2+2?"), ex("b", "What is 2+2?")] });
    expect(ts.every((t) => t.finishReason === "eos")).toBe(true);
    expect(flaky.requests.length).toBeGreaterThan(0);
    expect(other.requests.length).toBeGreaterThan(0);

    const down = createOpenAIBackend({ baseUrls: ["http://127.0.0.1:9/v1"], modelName: "m", retries: 1, backoffMs: 1 });
    const [t] = await roll({ backend: down, retriever: createMapRetriever(HITS), examples: [ex("x", "What is 2+2?")] });
    expect(t.finishReason).toBe("error");
    expect(t.error).toMatch(/generation failed: POST http:\/\/127\.0\.0\.1:9\/v1\/completions: .*gave up after 2 tries/);

    const slow = await server({ script, delayMs: 300 });
    const impatient = createOpenAIBackend({ baseUrls: [slow.url], modelName: "m", retries: 0, timeoutMs: 50 });
    const [late] = await roll({ backend: impatient, retriever: createMapRetriever(HITS), examples: [ex("x", "What is 2+2?")] });
    expect(late.error).toMatch(/timed out after 50 ms/);
  });

  test("streaming form: start, segments and searches arrive before the trajectory", async () => {
    const s = await server({ script });
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m" });
    const types: string[] = [];
    for await (const ev of streamRollouts({ backend, retriever: createMapRetriever(HITS), examples: [ex("q", "What is the capital of France?")], schedule })) {
      types.push(ev.type === "segment" ? `segment:${ev.segment.author}` : ev.type);
    }
    expect(types).toEqual(["start", "segment:policy", "search", "segment:tool", "segment:policy", "done"]);
  });

  test("Search-R1 preset: <information> splicing", async () => {
    const searchR1: Record<string, string[]> = {
      "Where is Paris?": [" <think>x</think>\n<search> capital of France </search>", " <answer> France </answer>"],
    };
    const s = await server({
      script: ({ question, response }) => searchR1[question][response.split("</information>").length - 1],
    });
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m" });
    const [t] = await roll({ backend, retriever: createMapRetriever(HITS), examples: [ex("q", "Where is Paris?")], template: "searchr1" });
    expect(t.response).toBe(
      " <think>x</think>\n<search> capital of France </search>\n\n<information>Doc 1(Title: \"Paris\") Paris is the capital of France.\n" +
        'Doc 2(Title: "France") France is in Europe.</information>\n\n <answer> France </answer><|endoftext|>',
    );
  });

  test("an intervention's stop string: keep a prefix of the generation, splice environment text, fire again, search, observe", async () => {
    const hits = { Acme: [hit("a", '"Acme"\nAcme was founded by Bob Smith.')], "Bob Smith": [hit("b", '"Bob Smith"\nBob Smith was born in Oslo.')] };
    const script = ({ response }: { question: string; response: string }) => {
      const results = response.split("</result>").length - 1;
      return [" <think> hmm </think> <search> Acme </search>", " <think> guess </think> STOP and more", " <answer> \\boxed{Oslo} </answer>"][results];
    };
    const tok = createCharTokenizer();
    const s = await server({ script, stopMode: "vllm" });
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", tokenizer: tok, tokenIds: true });
    const seen: string[][] = [];
    // after one search: STOP drops itself and writes a search tag (not trained); the tag fires the second stop, whose
    // splice writes the query (trained) and runs it
    const iv: Intervention = {
      stops: (v) => (v.searches === 1 ? ["STOP", v.template.openTag] : []),
      onStop: (v, stop, generated) => {
        v.count("test/fired");
        if (stop === "STOP") return { keep: generated.slice(0, -"STOP".length), splice: [{ text: v.template.openTag, trained: false }] };
        return { splice: [{ text: " Bob Smith </search>", trained: true }], search: "Bob Smith" };
      },
      observe: (_v, h) => void seen.push(h.map((x) => x.id)),
    };
    const [t, free] = await roll({ backend, retriever: createMapRetriever(hits), examples: [ex("i", "Q?")], n: 2, temperature: 0, maxPromptTokens: 4096, intervene: (_e, k) => (k === 0 ? iv : undefined) });
    expect(t.queries).toEqual(["Acme", "Bob Smith"]);
    expect(t.interventions).toEqual({ "test/fired": 2 });
    expect(seen).toEqual([["a"], ["b"]]);
    expect(t.segments.map((g) => [g.author, g.trained, g.text])).toEqual([
      ["policy", true, " <think> hmm </think> <search> Acme </search>"],
      ["tool", false, ' <result>\n"Acme"\nAcme was founded by Bob Smith.\n</result>'],
      ["policy", true, " <think> guess </think> "],
      ["env", false, "<search>"],
      ["env", true, " Bob Smith </search>"],
      ["tool", false, ' <result>\n"Bob Smith"\nBob Smith was born in Oslo.\n</result>'],
      ["policy", true, " <answer> \\boxed{Oslo} </answer><|endoftext|>"],
    ]);
    expect(tok.decode(t.responseIds!)).toBe(t.response);
    const at = t.segments.slice(0, 3).reduce((n, g) => n + g.tokenIds!.length, 0);
    expect(t.lossMask!.slice(at, at + 8)).toEqual(Array(8).fill(0));
    expect(t.lossMask!.slice(at + 8, at + 8 + 20)).toEqual(Array(20).fill(1));
    expect(t.segments[2].logprobs).toHaveLength(t.segments[2].tokenIds!.length);
    expect(t.segments[4].logprobs).toBeUndefined();
    // without an intervention the same script writes STOP as text
    expect(free.interventions).toBeUndefined();
    expect(free.response).toContain("STOP and more");
    expect(s.requests.some((r) => (r.body.stop as string[]).includes("STOP"))).toBe(true);
  });
});
