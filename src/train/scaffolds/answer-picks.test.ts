import { describe, expect, test } from "vitest";
import { runRollouts } from "../../rollout/loop.js";
import { createMapRetriever } from "../../rollout/testing.js";
import { answerPicksIntervention, createAnswerPicks } from "./answer-picks.js";
import { ex, hit, offsetOf, scriptedServers } from "./testing.js";

const server = scriptedServers();
const PICKED = "answer-picks/answers";

describe.each(["async", "rounds"] as const)("answer-picks scaffold in the rollout loop (%s schedule)", (schedule) => {
  test("a held rollout's answer is a random name or number of the last result, trained; the policy writes the rest", async () => {
    const hits = { Acme: [hit("a", '"Acme"\nAcme was founded by Bob Smith in 1901 in Oslo.')] };
    const script = ({ response }: { question: string; response: string }) => {
      if (response.includes("\\boxed{")) return " \\] </answer>"; // after a pick the policy writes the rest
      const results = response.split("</result>").length - 1;
      return [" <think> hmm </think> <search> Acme </search>", " <think> so </think> <answer> The final answer is \\[ \\boxed{ Acme } \\] </answer>"][results];
    };
    const { backend, tok } = await server(script);
    const out = await runRollouts({
      backend, retriever: createMapRetriever(hits), temperature: 0, maxPromptTokens: 4096, n: 8, seed: 5, schedule,
      examples: [ex("a", "Who founded Acme?")], intervene: (_e, k) => (k < 6 ? answerPicksIntervention(1) : undefined),
    });
    const held = out.slice(0, 6);
    const picks = held.map((t) => /\\boxed\{ (.*) \}/.exec(t.response)![1]);
    for (const [i, t] of held.entries()) {
      expect(["Acme", "Bob Smith", "Oslo", "1901"]).toContain(picks[i]);
      expect(t.interventions).toEqual({ [PICKED]: 1 });
      const k = t.segments.findIndex((g) => g.text === ` ${picks[i]} }`);
      expect(t.segments[k - 1].text.endsWith("\\boxed{")).toBe(true);
      expect(t.segments[k]).toMatchObject({ author: "env", trained: true });
      const at = offsetOf(t.segments, k);
      expect(t.lossMask!.slice(at, at + t.segments[k].tokenIds!.length).every((m) => m === 1)).toBe(true);
      expect(t.response.endsWith(` ${picks[i]} } \\] </answer><|endoftext|>`)).toBe(true);
      expect(tok.decode(t.responseIds!)).toBe(t.response);
    }
    expect(new Set(picks).size).toBeGreaterThan(1);
    for (const t of out.slice(6)) {
      expect(t.interventions).toBeUndefined();
      expect(t.response).toContain("\\boxed{ Acme } \\] </answer>");
    }
  });
});

describe("answer-picks scaffold", () => {
  test("acts on held rollouts once their minimum of searches is done, and reports the share picked", () => {
    const sc = createAnswerPicks({ rollouts: "held" });
    const p = { id: "x", question: "x", goldenAnswers: [] };
    expect(sc.intervene!(0, 0, p, { held: false, minSearches: 0 })).toBeUndefined();
    const iv = sc.intervene!(0, 0, p, { held: true, minSearches: 2 })!;
    const view = { searches: 1, segments: [], seed: 0, id: "x#0" } as never;
    iv.observe!(view, [hit("a", '"A"\nA met Bob.')]);
    expect(iv.stops!(view)).toEqual([]); // one search of two: no pick yet
    expect(iv.stops!({ ...(view as object), searches: 2 } as never)).toEqual(["\\boxed{"]);
    expect(sc.metrics!([{ interventions: { [PICKED]: 1 } }, {}] as never)).toEqual({ rate: 0.5 });
  });
});
