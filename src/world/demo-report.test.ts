import { describe, expect, test } from "vitest";
import type { EvalRecord } from "../eval/summary.js";
import { answerFromEvidence, demoChecks, methodReport, questionType, type DemoReport, type MethodReport } from "./demo-report.js";
import type { WorldQuestion } from "./questions.js";

const q = (id: string, hops: number, kind = "compositional", relations = ["born_in"]) => ({ id, metadata: { hops, kind, relations } }) as unknown as WorldQuestion;
const rec = (id: string, em: number, searches: number, research = true): EvalRecord =>
  ({ id, question: "", goldenAnswers: ["a"], pred: "", scores: { em, f1: em, acc: em }, ms: 0, ...(research ? { trajectory: { searches } } : { retrievals: Array(searches).fill({ query: "", hits: [] }) }) }) as unknown as EvalRecord;

describe("demo report", () => {
  test("methodReport: means, searches (rollout searches or retriever calls) and the per-hop breakdown", () => {
    const qs = new Map([q("a", 1), q("b", 1), q("c", 2), q("d", 3)].map((x) => [x.id, x]));
    const m = methodReport([rec("a", 1, 1), rec("b", 0, 0), rec("c", 1, 2), rec("d", 0, 4)], qs);
    expect(m).toMatchObject({ n: 4, em: 0.5, searches_mean: 1.75 });
    expect(m.by_hops).toEqual({ "1": { n: 2, em: 0.5, searches_mean: 0.5 }, "2": { n: 1, em: 1, searches_mean: 2 }, "3": { n: 1, em: 0, searches_mean: 4 } });
    expect(methodReport([rec("a", 0, 3, false)], qs).searches_mean).toBe(3);
  });

  test("by_type: EM per question type — comparison, yes/no, or the relation a compositional answer comes from", () => {
    const qs = new Map(
      [q("a", 1, "compositional", ["birth_year"]), q("b", 2, "compositional", ["director", "birth_year"]), q("c", 2, "compositional", ["director", "born_in"]), q("d", 2, "comparison", ["birth_year"]), q("e", 1, "yesno", ["employer"])].map((x) => [x.id, x]),
    );
    expect(questionType(qs.get("b"))).toBe("birth_year");
    expect(questionType(qs.get("d"))).toBe("comparison");
    expect(questionType(undefined)).toBe("?");
    const m = methodReport([rec("a", 0, 1), rec("b", 1, 2), rec("c", 1, 2), rec("d", 1, 2), rec("e", 0, 1)], qs);
    expect(m.by_type).toEqual({ birth_year: { n: 2, em: 0.5 }, born_in: { n: 1, em: 1 }, comparison: { n: 1, em: 1 }, yesno: { n: 1, em: 0 } });
    expect(Object.keys(m.by_type!)).toEqual(["birth_year", "born_in", "comparison", "yesno"]); // by count, then name
  });

  test.each([
    ["a run that meets every target", 0.6, 0.8, 2.5, true],
    ["a run that learned nothing", 0.05, 0.0, 0.2, false],
  ])("demoChecks: %s", (_n, em1, em2, searches, pass) => {
    const m = (em: number, s: number, h: Record<string, number>): MethodReport => ({ n: 10, em, f1: em, acc: em, searches_mean: s, by_hops: Object.fromEntries(Object.entries(h).map(([k, v]) => [k, { n: 5, em: v, searches_mean: Number(k) === 1 ? 1 : s }])) });
    const steps = Array.from({ length: 20 }, (_, i) => ({ step: i + 1, reward_mean: 0, answer_f1_mean: pass ? (i < 10 ? 0.05 : 0.5) : 0.05, format_rate: 1, searches_mean: 1, response_tokens_mean: 50, seconds: 1 }));
    const rep: DemoReport = {
      train: { steps }, world: {}, base_model: {}, config: {},
      eval: { research: m((em1 + em2) / 2, searches, { "1": em1, "2": em2 }), "base-research": m(0.02, 0.5, { "1": 0.02, "2": 0.02 }), "naive-rag": m(0.05, 1, { "1": 0.1, "2": 0.0 }), "naive-gen": m(0, 0, {}), "iter-retgen": m(0.05, 3, {}), ircot: m(0.05, 5, {}) },
    };
    const c = demoChecks(rep);
    for (const [k, v] of Object.entries(c)) expect(v.pass, k).toBe(pass);
  });
  test("answerFromEvidence: a right answer a retrieved passage states, not one of the question's names or a coin", () => {
    const rec = (question: string, gold: string, em: number, result: string) =>
      ({ id: "x", question, goldenAnswers: [gold], pred: gold, scores: { em, f1: em, acc: em }, ms: 0, trajectory: { segments: [{ author: "policy", trained: true, text: "<search> q </search>" }, { author: "tool", trained: false, text: result }] } }) as unknown as EvalRecord;
    expect(answerFromEvidence(rec("Where was Ann Lee born?", "Old Town", 1, '<result> "Ann Lee" Ann Lee was born in Old Town. </result>'))).toBe(true);
    expect(answerFromEvidence(rec("Where was Ann Lee born?", "Old Town", 0, '<result> Ann Lee was born in Old Town. </result>'))).toBe(false); // wrong
    expect(answerFromEvidence(rec("Who was born first, Ann Lee or Bo Li?", "Ann Lee", 1, "<result> Ann Lee was born in 1900. </result>"))).toBe(false); // a name of the question
    expect(answerFromEvidence(rec("Was Ann Lee born in Old Town?", "yes", 1, "<result> Ann Lee was born in Old Town; the eyes. </result>"))).toBe(false); // the passage never says "yes"
    expect(answerFromEvidence(rec("Where was Ann Lee born?", "Old Town", 1, "<result> Ann Lee was born in Old Townsend. </result>"))).toBe(false); // whole words only
  });
});
