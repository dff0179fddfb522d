import { describe, expect, test } from "vitest";
import { runRollouts } from "../../rollout/loop.js";
import { composeInterventions } from "../../rollout/intervention.js";
import { createMapRetriever } from "../../rollout/testing.js";
import { createFollowUpPicks, followUpPicksIntervention } from "./follow-up-picks.js";
import { minSearchesIntervention } from "./min-searches.js";
import { ex, hit, offsetOf, scriptedServers } from "./testing.js";

const server = scriptedServers();
const acme = '"Acme"\nAcme was founded by Bob Smith in Oslo. He sold it to Zed Corp.';
const hits = { Acme: [hit("a", acme)], "Bob Smith": [hit("b", '"Bob Smith"\nBob Smith was born in Oslo.')], Oslo: [hit("o", '"Oslo"\nOslo.')], "Zed Corp": [hit("z", '"Zed Corp"\nZed.')], "Ivy Ltd": [hit("i", '"Ivy Ltd"\nIvy.')] };
const q = "Where was the founder of Acme born?";
const FORCED = "min-searches/forced_searches";
const PICKED = "follow-up-picks/searches";

describe.each(["async", "rounds"] as const)("follow-up-picks scaffold in the rollout loop (%s schedule)", (schedule) => {
  test("a held rollout's follow-up query is a random name of the question or the last result, trained; seeded", async () => {
    const asked: string[] = [];
    const script = ({ response }: { question: string; response: string }) => {
      if (response.endsWith("<search>")) return asked.push(response), " Acme </search>"; // only when the policy writes the query
      const results = response.split("</result>").length - 1;
      return [" <think> hmm </think> <search> Acme </search>", " <think> guess </think> <answer> \\boxed{Acme} </answer>", " <answer> \\boxed{Oslo} </answer>"][results];
    };
    const { backend, tok } = await server(script);
    // held samples: min-searches (the search tag, trained) + follow-up picks; the rest run free
    const held = (k: number, n: number) =>
      k < n ? composeInterventions([minSearchesIntervention(2, { trained: true, answerTag: "<answer>" }), followUpPicksIntervention()]) : undefined;
    const common = { backend, retriever: createMapRetriever(hits), temperature: 0, maxPromptTokens: 4096, n: 8, seed: 3, schedule };
    const out = await runRollouts({ ...common, examples: [ex("m", q)], intervene: (_e, k) => held(k, 6) });
    expect(asked).toEqual([]);
    for (const t of out.slice(0, 6)) {
      expect(t.queries[0]).toBe("Acme");
      expect(["Bob Smith", "Oslo", "Zed Corp"]).toContain(t.queries[1]); // never "Acme" (searched) nor "He" (a sentence's first word)
      expect([t.searches, t.interventions]).toEqual([2, { [FORCED]: 1, [PICKED]: 1 }]);
      const k = t.segments.findIndex((g) => g.text === ` ${t.queries[1]} </search>`);
      expect(t.segments[k]).toMatchObject({ author: "env", trained: true });
      expect(t.segments[k - 1]).toMatchObject({ author: "env", trained: true, text: "<search>" }); // min-searches' tag, then the pick
      expect(t.segments[k].logprobs).toBeUndefined();
      const at = offsetOf(t.segments, k);
      expect(t.lossMask!.slice(at, at + t.segments[k].tokenIds!.length)).toEqual(Array(t.segments[k].tokenIds!.length).fill(1));
      expect(tok.decode(t.responseIds!)).toBe(t.response);
    }
    expect(new Set(out.slice(0, 6).map((t) => t.queries[1])).size).toBeGreaterThan(1); // random over the names
    for (const t of out.slice(6)) expect([t.searches, t.interventions]).toEqual([1, undefined]); // free samples
    // the same seed picks the same names
    const again = await runRollouts({ ...common, examples: [ex("m", q)], intervene: (_e, k) => held(k, 6) });
    expect(again.map((t) => t.queries)).toEqual(out.map((t) => t.queries));
    // the question's names not yet searched join the pool (a comparison's second name)
    const cmp = await runRollouts({ ...common, examples: [ex("c", "Who is older, Acme or Ivy Ltd?")], intervene: (_e, k) => held(k, 8) });
    expect(new Set(cmp.map((t) => t.queries[1]))).toEqual(new Set(["Ivy Ltd", "Bob Smith", "Oslo", "Zed Corp"]));
  });

  test("at a search tag the policy wrote itself the environment writes the query; none at the first search or past maxSearches", async () => {
    const script = ({ question, response }: { question: string; response: string }) => {
      if (response.endsWith("<search>")) return " Zed Corp </search>";
      const results = response.split("</result>").length - 1;
      const second = question.endsWith("again") ? " <think> again </think> <search> Zed Corp </search>" : " <answer> \\boxed{Acme} </answer>";
      return [" <think> hmm </think> <search> Acme </search>", second, " <answer> \\boxed{Oslo} </answer>"][results];
    };
    const { backend } = await server(script);
    const common = { backend, retriever: createMapRetriever(hits), temperature: 0, maxPromptTokens: 4096, seed: 1, schedule, intervene: () => followUpPicksIntervention() };
    const [own] = await runRollouts({ ...common, examples: [ex("o", q + " again")] });
    expect(own.queries[0]).toBe("Acme"); // the first query is always the policy's
    expect(["Bob Smith", "Oslo", "Zed Corp"]).toContain(own.queries[1]);
    const k = own.segments.findIndex((g) => g.author === "env");
    expect(own.segments[k - 1]).toMatchObject({ author: "policy", trained: true, text: " <think> again </think> <search>" });
    expect(own.segments[k - 1].logprobs).toHaveLength(own.segments[k - 1].tokenIds!.length);
    expect(own.interventions).toEqual({ [PICKED]: 1 });
    const [capped] = await runRollouts({ ...common, maxSearches: 1, examples: [ex("c", q + " again")] });
    expect([capped.queries, capped.interventions, capped.finishReason]).toEqual([["Acme"], undefined, "max_searches"]);
  });
});

describe("follow-up-picks scaffold", () => {
  test("acts on the rollouts min-searches holds (or on all), and reports picked searches per rollout", () => {
    const held = createFollowUpPicks({ rollouts: "held" });
    const p = { id: "x", question: "x", goldenAnswers: [] };
    expect(held.intervene!(0, 0, p, { held: false, minSearches: 0 })).toBeUndefined();
    expect(held.intervene!(0, 0, p, { held: true, minSearches: 2 })).toBeDefined();
    expect(createFollowUpPicks({ rollouts: "all" }).intervene!(0, 0, p, { held: false, minSearches: 0 })).toBeDefined();
    expect(held.metrics!([{ interventions: { [PICKED]: 2 } }, { interventions: { [PICKED]: 1 } }, {}, {}] as never)).toEqual({ searches_mean: 0.75 });
  });
});
