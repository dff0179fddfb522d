import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createOpenAIBackend } from "../../rollout/backends/openai.js";
import { IRCOT_PROMPT, NAIVE_RAG_PROMPT, buildPrompt } from "../prompts.js";
import { createMemoryRetriever } from "../testing/memory-retriever.js";
import { startScriptedServer, type ScriptedRequest, type ScriptedServer } from "../testing/scripted-openai.js";
import type { MethodContext } from "../types.js";
import { METHODS } from "./index.js";
import { parseIrcotAnswer } from "./ircot.js";
import { createRolloutRunner } from "./research.js";

const PASSAGES = [
  { id: "p1", contents: '"Eiffel Tower"\nThe Eiffel Tower is a tower in Paris, designed by Gustave Eiffel.' },
  { id: "p2", contents: '"Gustave Eiffel"\nGustave Eiffel was born in Dijon.' },
  { id: "p3", contents: '"Dijon"\nDijon is a city in Burgundy, France.' },
  { id: "p4", contents: '"Lyon"\nLyon is a city on the Rhone.' },
];
const item = { id: "q1", question: "Where was the designer of the Eiffel Tower born?", goldenAnswers: ["Dijon"] };

/** Scripted model: answers by looking at the prompt, like a tiny deterministic policy. */
function script(req: ScriptedRequest): string {
  const p = req.text;
  if (p.includes("Thought:")) {
    // IRCoT: one thought per call; answer once Dijon's birth passage is in the context and a thought mentions Eiffel.
    if (p.includes("ircot-never")) return " I am still thinking.\nWikipedia Title: made up";
    if (p.includes("Thought: The tower was designed by Gustave Eiffel.")) return " Gustave Eiffel was born in Dijon. So the answer is: Dijon.\n\nQuestion: next";
    return " The tower was designed by Gustave Eiffel.\nQuestion: spill";
  }
  if (p.includes("A conversation between User and Assistant")) {
    if (!p.includes("</search> <result>\n")) return "<think> I need the designer. </think> <search> Gustave Eiffel born</search>";
    return " <think> It says Dijon. </think> <answer> The final answer is \\[ \\boxed{Dijon} \\] </answer>";
  }
  if (p.includes("given document")) {
    const round = (p.match(/Doc \d/g) ?? []).length;
    return p.includes("Gustave Eiffel was born in Dijon") ? ` Dijon (${round} docs)` : " Paris\n";
  }
  return " Paris \n";
}

let server: ScriptedServer;
let ctx: MethodContext;
let retriever: ReturnType<typeof createMemoryRetriever>;
beforeAll(async () => {
  server = await startScriptedServer(script);
  const backend = createOpenAIBackend({ baseUrls: [server.baseUrl], modelName: "m", retries: 0 });
  retriever = createMemoryRetriever(PASSAGES);
  ctx = {
    backend,
    retriever,
    topK: 2,
    gen: { maxTokens: 32, temperature: 0 },
    rollout: createRolloutRunner({ backend, retriever, temperature: 0, topN: 2, template: "research" }),
  };
});
afterAll(() => server.close());

function since(n: number) {
  return { requests: server.requests.slice(n), queries: retriever.queries.slice(0) };
}

describe("each method end to end over an OpenAI-compatible server", () => {
  test("naive-gen: one request with FlashRAG's zero-shot prompt, greedy, 32 tokens, no retrieval", async () => {
    const n = server.requests.length;
    retriever.queries.length = 0;
    const out = await METHODS["naive-gen"].run(item, ctx);
    const { requests } = since(n);
    expect(requests).toHaveLength(1);
    expect(requests[0].body).toMatchObject({ prompt: expect.stringContaining("based on your own knowledge"), max_tokens: 32, temperature: 0 });
    expect(out.pred).toBe("Paris");
    expect(retriever.queries).toEqual([]);
  });

  test("naive-rag: retrieves top-k for the question and lists them as Doc i(Title: …)", async () => {
    const n = server.requests.length;
    retriever.queries.length = 0;
    const out = await METHODS["naive-rag"].run(item, ctx);
    const { requests } = since(n);
    expect(retriever.queries).toEqual([item.question]);
    expect(out.retrievals![0].hits.map((h) => h.id)).toEqual(["p1", "p2"]);
    expect(requests[0].body.prompt).toBe(buildPrompt(NAIVE_RAG_PROMPT, { question: item.question, hits: out.retrievals![0].hits }).text);
    expect(requests[0].text).toContain('Doc 2(Title: "Gustave Eiffel") Gustave Eiffel was born in Dijon.\n');
    expect(out.pred).toBe("Dijon (2 docs)");
  });

  test("iter-retgen: 3 rounds; rounds 2 and 3 query with question + previous generation", async () => {
    const n = server.requests.length;
    retriever.queries.length = 0;
    const out = await METHODS["iter-retgen"].run(item, ctx);
    expect(server.requests.length - n).toBe(3);
    const g1 = out.generations![0].output;
    const g2 = out.generations![1].output;
    expect(retriever.queries).toEqual([item.question, `${item.question} ${g1}`, `${item.question} ${g2}`]);
    expect(out.pred).toBe(out.generations![2].output.trim());
  });

  test("ircot: retrieves with each thought, stops at 'So the answer is:', parses the answer", async () => {
    const n = server.requests.length;
    retriever.queries.length = 0;
    const out = await METHODS.ircot.run(item, ctx);
    const requests = server.requests.slice(n);
    expect(requests).toHaveLength(2);
    expect(retriever.queries).toEqual([item.question, "The tower was designed by Gustave Eiffel."]);
    // second prompt: merged passages (sorted by score ascending) and the first thought after "Thought:"
    const second = buildPrompt(IRCOT_PROMPT, { question: item.question, hits: out.retrievals![0].hits }).text;
    expect(requests[0].body.prompt).toBe(second);
    expect(String(requests[1].body.prompt).endsWith("Question: " + item.question + "\nThought: The tower was designed by Gustave Eiffel.")).toBe(true);
    expect(out.raw).toBe("The tower was designed by Gustave Eiffel. Gustave Eiffel was born in Dijon. So the answer is: Dijon.");
    expect(out.pred).toBe("Dijon.");
  });

  test("ircot: at most 5 rounds when the model never answers; prediction is all thoughts", async () => {
    const n = server.requests.length;
    retriever.queries.length = 0;
    const out = await METHODS.ircot.run({ ...item, question: "ircot-never Eiffel?" }, ctx);
    expect(server.requests.length - n).toBe(5);
    expect(retriever.queries).toHaveLength(5); // the question + 4 thoughts (the 5th thought has no reader)
    expect(out.pred).toBe(Array(5).fill("I am still thinking.").join(" "));
  });

  test("research: the rollout loop searches, splices the result, and the boxed answer is the prediction", async () => {
    retriever.queries.length = 0;
    const out = await METHODS.research.run(item, ctx);
    expect(out.trajectory!.searches).toBe(1);
    expect(retriever.queries).toEqual(["Gustave Eiffel born"]);
    expect(out.trajectory!.response).toContain("<result>\n\"Gustave Eiffel\"\nGustave Eiffel was born in Dijon.");
    expect(out.trajectory!.finishReason).toBe("eos");
    expect(out.pred).toBe("Dijon");
  });

  test("parseIrcotAnswer follows Python's split(marker)[1].strip()", () => {
    expect(parseIrcotAnswer("a. So the answer is: X. So the answer is: Y")).toBe("X.");
    expect(parseIrcotAnswer("no marker")).toBe("no marker");
  });
});
