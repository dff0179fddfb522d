import { afterEach, describe, expect, test } from "vitest";
import { runRollouts, streamRollouts } from "./loop.js";
import { createOpenAIBackend } from "./backends/openai.js";
import { createCharTokenizer, createMapRetriever, startScriptedServer, type ScriptedServer, type StopMode } from "./testing.js";
import { RESEARCH_BASE_PROMPT } from "./prompts.js";
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
    expect(t.segments.map((g) => g.kind)).toEqual(["policy", "tool", "policy"]);
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
      types.push(ev.type === "segment" ? `segment:${ev.segment.kind}` : ev.type);
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

  test("minSearches (training scaffold): an early answer tag becomes a search tag, spliced as tool text", async () => {
    const hits = { Acme: [hit("a", '"Acme"\nAcme was founded by Bob Smith.')], "Bob Smith": [hit("b", '"Bob Smith"\nBob Smith was born in Oslo.')] };
    const founder = ({ response }: { question: string; response: string }) => {
      if (response.endsWith("<search>")) return " Bob Smith </search>";
      const results = response.split("</result>").length - 1;
      return [" <think> hmm </think> <search> Acme </search>", " <think> guess </think> <answer> \\boxed{Acme} </answer>", " <answer> \\boxed{Oslo} </answer>"][results];
    };
    const tok = createCharTokenizer();
    for (const stopMode of ["vllm", "keep"] as const) {
      const s = await server({ script: founder, stopMode });
      const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", ...(stopMode === "vllm" ? { tokenizer: tok, tokenIds: true } : {}) });
      const q = "Where was the founder of Acme born?";
      const [plain, forced] = await roll({
        backend, retriever: createMapRetriever(hits), examples: [ex("p", q), { ...ex("f", q), minSearches: 2 }], temperature: 0, maxPromptTokens: 4096,
      });
      expect(plain.searches).toBe(1);
      expect(plain.forcedSearches).toBeUndefined();
      expect(plain.response.endsWith("\\boxed{Acme} </answer><|endoftext|>")).toBe(true);
      expect(s.requests.find((r) => (r.body.stop as string[]).includes("<answer>"))).toBeDefined();

      expect(forced.searches).toBe(2);
      expect(forced.forcedSearches).toBe(1);
      expect(forced.queries).toEqual(["Acme", "Bob Smith"]);
      expect(forced.retrievedIds).toEqual([["a"], ["b"]]);
      expect(plain.retrievedIds).toEqual([["a"]]);
      expect(forced.finishReason).toBe("eos");
      expect(forced.segments.map((g) => g.kind)).toEqual(["policy", "tool", "policy", "tool", "policy", "tool", "policy"]);
      expect(forced.segments[2].text).toBe(" <think> guess </think> ");
      expect(forced.segments[3].text).toBe("<search>");
      expect(forced.response).toBe(
        " <think> hmm </think> <search> Acme </search> <result>\n\"Acme\"\nAcme was founded by Bob Smith.\n</result>" +
          " <think> guess </think> <search> Bob Smith </search> <result>\n\"Bob Smith\"\nBob Smith was born in Oslo.\n</result>" +
          " <answer> \\boxed{Oslo} </answer><|endoftext|>",
      );
      expect(forced.response).not.toContain("<answer> \\boxed{Acme}");
      if (stopMode === "vllm") {
        // the dropped answer tag is in neither ids nor log-probs; the forced search tag is masked out
        expect(tok.decode(forced.responseIds!)).toBe(forced.response);
        expect(forced.segments[2].logprobs).toHaveLength(forced.segments[2].tokenIds!.length);
        const start = forced.segments.slice(0, 3).reduce((n, g) => n + g.tokenIds!.length, 0);
        expect(forced.lossMask!.slice(start, start + "<search>".length)).toEqual(Array(8).fill(0));
        expect(forced.lossMask![start + 8]).toBe(1);
      }
      // only the first sample held to the minimum; the forced tag trained as a policy token
      const [held, free] = await roll({
        backend, retriever: createMapRetriever(hits), examples: [{ ...ex("g", q), minSearches: 2, minSearchesSamples: 1 }], n: 2,
        temperature: 0, maxPromptTokens: 4096, forcedSearchTrained: true,
      });
      expect([held.forcedSearches, free.forcedSearches]).toEqual([1, undefined]);
      expect(held.response).toBe(forced.response);
      expect(held.segments[3]).toMatchObject({ kind: "policy", text: "<search>" });
      expect(held.segments[3].logprobs).toBeUndefined();
      if (stopMode === "vllm") {
        const start = held.segments.slice(0, 3).reduce((n, g) => n + g.tokenIds!.length, 0);
        expect(held.lossMask!.slice(start, start + 8)).toEqual(Array(8).fill(1));
      }
    }
  });

  test("forcedQueries (training hint): the environment writes a held rollout's query as tool text and runs it", async () => {
    const hits = { Acme: [hit("a", '"Acme"\nAcme was founded by Bob Smith.')], "Bob Smith": [hit("b", '"Bob Smith"\nBob Smith was born in Oslo.')], Zed: [hit("z", '"Zed"\nZed.')] };
    const asked: string[] = [];
    // the policy answers early after one search (forced path) or, for "again" questions, writes a second search itself
    const script = ({ question, response }: { question: string; response: string }) => {
      if (response.endsWith("<search>")) return asked.push(response), " Zed </search>"; // only when the policy writes the query
      const results = response.split("</result>").length - 1;
      const second = question.startsWith("again") ? " <think> again </think> <search> Zed </search>" : " <think> guess </think> <answer> \\boxed{Acme} </answer>";
      return [" <think> hmm </think> <search> Acme </search>", second, " <answer> \\boxed{Oslo} </answer>"][results];
    };
    const tok = createCharTokenizer();
    const s = await server({ script, stopMode: "vllm" });
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", tokenizer: tok, tokenIds: true });
    const q = "Where was the founder of Acme born?";
    const common = { backend, retriever: createMapRetriever(hits), temperature: 0, maxPromptTokens: 4096 };
    const [held, free] = await roll({
      ...common, n: 2, forcedSearchTrained: true,
      examples: [{ ...ex("h", q), minSearches: 2, minSearchesSamples: 1, forcedQueries: [null, "Bob Smith"] }],
    });
    expect(asked).toEqual([]);
    expect(held.queries).toEqual(["Acme", "Bob Smith"]); // the first search was the policy's own; the second the hint
    expect([held.searches, held.forcedSearches, held.hintedSearches]).toEqual([2, 1, 1]);
    expect(held.retrievedIds).toEqual([["a"], ["b"]]);
    const oslo = " <think> hmm </think> <search> Acme </search> <result>\n\"Acme\"\nAcme was founded by Bob Smith.\n</result>";
    const bob = " <search> Bob Smith </search> <result>\n\"Bob Smith\"\nBob Smith was born in Oslo.\n</result> <answer> \\boxed{Oslo} </answer><|endoftext|>";
    expect(held.response).toBe(oslo + " <think> guess </think>" + bob);
    expect(held.segments.map((g) => [g.kind, g.text]).slice(3, 5)).toEqual([["policy", "<search>"], ["tool", " Bob Smith </search>"]]);
    expect(tok.decode(held.responseIds!)).toBe(held.response);
    const start = held.segments.slice(0, 3).reduce((n, g) => n + g.tokenIds!.length, 0);
    expect(held.lossMask!.slice(start, start + 8)).toEqual(Array(8).fill(1)); // the forced tag: forcedSearchTrained
    expect(held.lossMask!.slice(start + 8, start + 8 + " Bob Smith </search>".length)).toEqual(Array(20).fill(0)); // the hint: never trained
    // the free sample gets no hint and answers after one search
    expect([free.searches, free.forcedSearches, free.hintedSearches]).toEqual([1, undefined, undefined]);

    // the policy writes the second search tag itself: the environment writes the query; the tag is the policy's (logprobs, mask 1)
    const [own] = await roll({ ...common, examples: [{ ...ex("h2", "again: " + q), forcedQueries: [null, "Bob Smith"] }] });
    expect(asked).toEqual([]);
    expect([own.searches, own.forcedSearches, own.hintedSearches]).toEqual([2, undefined, 1]);
    expect(own.response).toBe(oslo + " <think> again </think>" + bob);
    const k = own.segments.findIndex((g) => g.kind === "tool" && g.text === " Bob Smith </search>");
    expect(own.segments[k - 1]).toMatchObject({ kind: "policy", text: " <think> again </think> <search>" });
    expect(own.segments[k - 1].logprobs).toHaveLength(own.segments[k - 1].tokenIds!.length);
    const at = own.segments.slice(0, k).reduce((n, g) => n + g.tokenIds!.length, 0);
    expect(own.lossMask!.slice(at - 8, at)).toEqual(Array(8).fill(1));
    expect(own.lossMask!.slice(at, at + 20)).toEqual(Array(20).fill(0));

    // no hint for a search index (null, past the end, or past maxSearches): the policy writes the query
    const [short] = await roll({ ...common, examples: [{ ...ex("s", q), minSearches: 2, forcedQueries: [null] }] });
    expect(short.queries).toEqual(["Acme", "Zed"]);
    expect(short.hintedSearches).toBeUndefined();
    expect(asked).toHaveLength(1);
    const [capped] = await roll({ ...common, maxSearches: 1, examples: [{ ...ex("c", "again: " + q), forcedQueries: [null, "Bob Smith"] }] });
    expect([capped.queries, capped.hintedSearches, capped.finishReason]).toEqual([["Acme"], undefined, "max_searches"]);
  });

  test("followUpMentions (exploration scaffold): a held rollout's follow-up query is a random name of the last result, trained", async () => {
    const acme = '"Acme"\nAcme was founded by Bob Smith in Oslo. He sold it to Zed Corp.';
    const hits = { Acme: [hit("a", acme)], "Bob Smith": [hit("b", '"Bob Smith"\nBob Smith was born in Oslo.')], Oslo: [hit("o", '"Oslo"\nOslo.')], "Zed Corp": [hit("z", '"Zed Corp"\nZed.')], "Ivy Ltd": [hit("i", '"Ivy Ltd"\nIvy.')] };
    const asked: string[] = [];
    const script = ({ response }: { question: string; response: string }) => {
      if (response.endsWith("<search>")) return asked.push(response), " Acme </search>"; // only when the policy writes the query
      const results = response.split("</result>").length - 1;
      return [" <think> hmm </think> <search> Acme </search>", " <think> guess </think> <answer> \\boxed{Acme} </answer>", " <answer> \\boxed{Oslo} </answer>"][results];
    };
    const tok = createCharTokenizer();
    const s = await server({ script, stopMode: "vllm" });
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", tokenizer: tok, tokenIds: true });
    const q = "Where was the founder of Acme born?";
    const common = { backend, retriever: createMapRetriever(hits), temperature: 0, maxPromptTokens: 4096, forcedSearchTrained: true, n: 8, seed: 3 };
    const out = await roll({ ...common, examples: [{ ...ex("m", q), minSearches: 2, minSearchesSamples: 6, followUpMentions: true }] });
    expect(asked).toEqual([]);
    const held = out.slice(0, 6);
    for (const t of held) {
      expect(t.queries[0]).toBe("Acme");
      expect(["Bob Smith", "Oslo", "Zed Corp"]).toContain(t.queries[1]); // never "Acme" (searched) nor "He" (a sentence's first word)
      expect([t.searches, t.forcedSearches, t.mentionSearches, t.hintedSearches]).toEqual([2, 1, 1, undefined]);
      const k = t.segments.findIndex((g) => g.text === ` ${t.queries[1]} </search>`);
      expect(t.segments[k]).toMatchObject({ kind: "policy" });
      expect(t.segments[k].logprobs).toBeUndefined();
      const at = t.segments.slice(0, k).reduce((n, g) => n + g.tokenIds!.length, 0);
      expect(t.lossMask!.slice(at, at + t.segments[k].tokenIds!.length)).toEqual(Array(t.segments[k].tokenIds!.length).fill(1));
      expect(tok.decode(t.responseIds!)).toBe(t.response);
    }
    expect(new Set(held.map((t) => t.queries[1])).size).toBeGreaterThan(1); // random over the names
    for (const t of out.slice(6)) expect([t.searches, t.mentionSearches]).toEqual([1, undefined]); // free samples
    // the same seed picks the same names; with gold queries for the first held samples, those get the gold one
    const again = await roll({ ...common, examples: [{ ...ex("m", q), minSearches: 2, minSearchesSamples: 6, followUpMentions: true }] });
    expect(again.map((t) => t.queries)).toEqual(out.map((t) => t.queries));
    const mixed = await roll({ ...common, examples: [{ ...ex("m", q), minSearches: 2, minSearchesSamples: 6, followUpMentions: true, forcedQueries: [null, "Bob Smith"], forcedQueriesSamples: 3 }] });
    expect(mixed.slice(0, 3).map((t) => [t.queries[1], t.hintedSearches, t.mentionSearches])).toEqual(Array(3).fill(["Bob Smith", 1, undefined]));
    expect(mixed.slice(3, 6).map((t) => t.mentionSearches)).toEqual([1, 1, 1]);
    // the question's names not yet searched join the pool (a comparison's second name)
    const cmp = await roll({ ...common, examples: [{ ...ex("c", "Who is older, Acme or Ivy Ltd?"), minSearches: 2, minSearchesSamples: 8, followUpMentions: true }] });
    expect(new Set(cmp.map((t) => t.queries[1]))).toEqual(new Set(["Ivy Ltd", "Bob Smith", "Oslo", "Zed Corp"]));
  });

  test("answerMentions (exploration scaffold): a held rollout's answer is a random name or number of the last result, trained", async () => {
    const hits = { Acme: [hit("a", '"Acme"\nAcme was founded by Bob Smith in 1901 in Oslo.')] };
    const script = ({ response }: { question: string; response: string }) => {
      if (response.includes("\\boxed{")) return " \\] </answer>"; // after a pick the policy writes the rest
      const results = response.split("</result>").length - 1;
      return [" <think> hmm </think> <search> Acme </search>", " <think> so </think> <answer> The final answer is \\[ \\boxed{ Acme } \\] </answer>"][results];
    };
    const tok = createCharTokenizer();
    const s = await server({ script, stopMode: "vllm" });
    const backend = createOpenAIBackend({ baseUrls: [s.url], modelName: "m", tokenizer: tok, tokenIds: true });
    const common = { backend, retriever: createMapRetriever(hits), temperature: 0, maxPromptTokens: 4096, n: 8, seed: 5 };
    const out = await roll({ ...common, examples: [{ ...ex("a", "Who founded Acme?"), minSearches: 1, minSearchesSamples: 6, answerMentions: true }] });
    const held = out.slice(0, 6);
    const picks = held.map((t) => /\\boxed\{ (.*) \}/.exec(t.response)![1]);
    for (const [i, t] of held.entries()) {
      expect(["Acme", "Bob Smith", "Oslo", "1901"]).toContain(picks[i]);
      expect(t.answerMentions).toBe(1);
      const k = t.segments.findIndex((g) => g.text === ` ${picks[i]} }`);
      expect(t.segments[k - 1].text.endsWith("\\boxed{")).toBe(true);
      expect(t.segments[k]).toMatchObject({ kind: "policy" });
      const at = t.segments.slice(0, k).reduce((n, g) => n + g.tokenIds!.length, 0);
      expect(t.lossMask!.slice(at, at + t.segments[k].tokenIds!.length).every((m) => m === 1)).toBe(true);
      expect(t.response.endsWith(` ${picks[i]} } \\] </answer><|endoftext|>`)).toBe(true);
      expect(tok.decode(t.responseIds!)).toBe(t.response);
    }
    expect(new Set(picks).size).toBeGreaterThan(1);
    for (const t of out.slice(6)) {
      expect(t.answerMentions).toBeUndefined();
      expect(t.response).toContain("\\boxed{ Acme } \\] </answer>");
    }
  });
});
