import { describe, expect, test } from "vitest";
import { runRollouts } from "../../rollout/loop.js";
import { createMapRetriever } from "../../rollout/testing.js";
import { createRng } from "../../util/rng.js";
import { createMinSearches, minSearchesIntervention, minSearchesProbAt, MinSearchesOptions } from "./min-searches.js";
import { ex, hit, offsetOf, scriptedServers } from "./testing.js";
import type { RolloutPlan } from "./types.js";

const server = scriptedServers();
const hits = { Acme: [hit("a", '"Acme"\nAcme was founded by Bob Smith.')], "Bob Smith": [hit("b", '"Bob Smith"\nBob Smith was born in Oslo.')] };
const founder = ({ response }: { question: string; response: string }) => {
  if (response.endsWith("<search>")) return " Bob Smith </search>";
  const results = response.split("</result>").length - 1;
  return [" <think> hmm </think> <search> Acme </search>", " <think> guess </think> <answer> \\boxed{Acme} </answer>", " <answer> \\boxed{Oslo} </answer>"][results];
};
const q = "Where was the founder of Acme born?";
const FORCED = "min-searches/forced_searches";

describe.each(["async", "rounds"] as const)("min-searches scaffold in the rollout loop (%s schedule)", (schedule) => {
  test("an early answer tag becomes a search tag written by the environment (trained or not)", async () => {
    for (const stopMode of ["vllm", "keep"] as const) {
      const { server: s, backend, tok } = await server(founder, stopMode);
      const untrained = minSearchesIntervention(2, { trained: false, answerTag: "<answer>" });
      const [plain, forced] = await runRollouts({
        backend, retriever: createMapRetriever(hits), examples: [ex("p", q), ex("f", q)], temperature: 0, maxPromptTokens: 4096,
        intervene: (e) => (e.id === "f" ? untrained : undefined), schedule,
      });
      expect(plain.searches).toBe(1);
      expect(plain.interventions).toBeUndefined();
      expect(plain.response.endsWith("\\boxed{Acme} </answer><|endoftext|>")).toBe(true);
      expect(s.requests.find((r) => (r.body.stop as string[]).includes("<answer>"))).toBeDefined();

      expect(forced.searches).toBe(2);
      expect(forced.interventions).toEqual({ [FORCED]: 1 });
      expect(forced.queries).toEqual(["Acme", "Bob Smith"]);
      expect(forced.retrievedIds).toEqual([["a"], ["b"]]);
      expect(plain.retrievedIds).toEqual([["a"]]);
      expect(forced.finishReason).toBe("eos");
      expect(forced.segments.map((g) => g.author)).toEqual(["policy", "tool", "policy", "env", "policy", "tool", "policy"]);
      expect(forced.segments.map((g) => g.trained)).toEqual([true, false, true, false, true, false, true]);
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
        const start = offsetOf(forced.segments, 3);
        expect(forced.lossMask!.slice(start, start + "<search>".length)).toEqual(Array(8).fill(0));
        expect(forced.lossMask![start + 8]).toBe(1);
      }
      // only the first sample held to the minimum; the forced tag trained (environment-written, no log-probs)
      const trained = minSearchesIntervention(2, { trained: true, answerTag: "<answer>" });
      const [held, free] = await runRollouts({
        backend, retriever: createMapRetriever(hits), examples: [ex("g", q)], n: 2, temperature: 0, maxPromptTokens: 4096,
        intervene: (_e, k) => (k < 1 ? trained : undefined), schedule,
      });
      expect([held.interventions?.[FORCED], free.interventions]).toEqual([1, undefined]);
      expect(held.response).toBe(forced.response);
      expect(held.segments[3]).toMatchObject({ author: "env", trained: true, text: "<search>" });
      expect(held.segments[3].logprobs).toBeUndefined();
      if (stopMode === "vllm") {
        const start = offsetOf(held.segments, 3);
        expect(held.lossMask!.slice(start, start + 8)).toEqual(Array(8).fill(1));
      }
    }
  });
});

describe("min-searches scaffold", () => {
  test("holds the first round(share × G) rollouts of a drawn prompt, once per hop (capped by maxSearches); prob anneals from `from`", () => {
    const o = MinSearchesOptions.parse({ prob: 1, share: 0.5, from: 10, annealSteps: 100 });
    expect([minSearchesProbAt(o, 9), minSearchesProbAt(o, 10), minSearchesProbAt(o, 60), minSearchesProbAt(o, 110), minSearchesProbAt(o, 200)]).toEqual([0, 1, 0.5, 0, 0]);
    const sc = createMinSearches(o, { maxSearches: 3 });
    const rng = createRng(7);
    const prompts = [{ id: "a", question: "a", goldenAnswers: [], hops: 2 }, { id: "b", question: "b", goldenAnswers: [], hops: 4 }];
    sc.beginStep!({ step: 10, G: 8, rng }, prompts);
    const plans = [0, 1].map((i) => Array.from({ length: 8 }, (_, k) => {
      const plan: RolloutPlan = { held: false, minSearches: 0 };
      const iv = sc.intervene!(i, k, prompts[i], plan);
      return [iv !== undefined, plan.held, plan.minSearches];
    }));
    expect(plans[0]).toEqual([...Array(4).fill([true, true, 2]), ...Array(4).fill([false, false, 0])]);
    expect(plans[1].slice(0, 4)).toEqual(Array(4).fill([true, true, 3])); // 4 hops, at most 3 searches
    // before `from` nothing is drawn and nothing held
    const before = createRng(7);
    sc.beginStep!({ step: 9, G: 8, rng: before }, prompts);
    expect(sc.intervene!(0, 0, prompts[0], { held: false, minSearches: 0 })).toBeUndefined();
    expect(before.getState()).toEqual(createRng(7).getState());
    expect(sc.metrics!([{ interventions: { [FORCED]: 2 } }, {}] as never)).toEqual({ prob: 0, forced_searches_mean: 1 });
  });
});
