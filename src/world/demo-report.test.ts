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

describe("demo report: reflection and benchmarks", () => {
  const chainQ = (id: string) => ({ id, question: "Where was the spouse of Ann Lee born?", golden_answers: ["Old Town"], metadata: { hops: 2, kind: "compositional", relations: ["spouse", "born_in"], chainNames: ["Ann Lee", "Bo Li"] } }) as unknown as WorldQuestion;
  const traj = (em: number, steps: [string, string][]): EvalRecord =>
    ({ id: "x", question: "", goldenAnswers: ["Old Town"], pred: "", scores: { em, f1: em, acc: em }, ms: 0, trajectory: { searches: steps.length, queries: steps.map(([q]) => q), segments: steps.flatMap(([q, r]) => [{ author: "policy", trained: true, text: `<search> ${q} </search>` }, { author: "tool", trained: false, text: r }]) } }) as unknown as EvalRecord;

  test("methodReport: reflection judged against each question's gold chain", () => {
    const qs = new Map([chainQ("a"), chainQ("b")].map((x) => [x.id, x]));
    const recs = [
      { ...traj(1, [["Ann Lee", "Ann Leeson was born in Far Port."], ["Ann Lee spouse", "Ann Lee is married to Bo Li."], ["Bo Li", "Bo Li was born in Old Town."]]), id: "a" },
      { ...traj(0, [["Ann Lee", "Ann Lee is married to Bo Li."]]), id: "b" },
    ];
    const m = methodReport(recs, qs);
    // b stopped after its first hop but never missed: only a counts
    expect(m.reflection).toMatchObject({ n: 2, gold: 2, with_miss: 1, search_after_miss: 1, recovery: 1, query_revision: 1, multi_search: 1 });
  });

  test("report.md: the reflection table and curve, Table 2 and the per-benchmark breakdowns; report.json keeps them", async () => {
    const { mkdtempSync, readFileSync, existsSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { writeDemoReport } = await import("./demo-report.js");
    const dir = mkdtempSync(join(tmpdir(), "demo-report-"));
    const r = (em: number): MethodReport => ({ n: 4, em, f1: em, acc: em, searches_mean: 2, by_hops: { "2": { n: 4, em, searches_mean: 2 } }, by_type: { born_in: { n: 4, em } }, reflection: { n: 4, searched: 4, with_miss: 2, multi_search: 3, gold: 4, miss_rate: 0.5, search_after_miss: 0.5, query_revision: 1 / 3, query_repeat: 0, recovery: null } });
    const steps = [1, 2, 3].map((step) => ({ step, reward_mean: 0, answer_f1_mean: 0, format_rate: 1, searches_mean: 1, response_tokens_mean: 10, seconds: 1, reflection_miss_rate: 0.5, reflection_search_after_miss: step / 4, reflection_query_revision: null, reflection_recovery: 0.1 }));
    const rep: DemoReport = {
      train: { steps }, world: {}, base_model: {}, config: {}, eval: { research: r(0.5), "naive-rag": r(0.1) },
      benchmarks: {
        trained_on: "train.jsonl", table: { header: [], rows: [] }, table_md: "| Model | Method | MuSiQue EM |\n|---|---|---:|\n| world-trained | ReSearch | 50.0 |\n",
        by_benchmark: { musique: { n: 4, questions: { n: 4, byHops: {}, byKind: {}, multiHopRate: 1 }, methods: { research: r(0.5), oracle: r(1) } } },
      },
    };
    await writeDemoReport(dir, rep, []);
    const md = readFileSync(join(dir, "report.md"), "utf8");
    expect(md).toContain("| research | 4 | 2 | 50.0 | 50.0 | 33.3 | — |");
    expect(md).toContain("![GRPO: reflection");
    expect(existsSync(join(dir, "curve-reflection.svg"))).toBe(true);
    expect(md).toContain("| world-trained | ReSearch | 50.0 |");
    expect(md).toContain("### musique (4 questions)");
    expect(md).toContain("| oracle | 100.0 | 100.0 | 100.0 |");
    const json = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as DemoReport;
    expect(json.benchmarks?.by_benchmark.musique?.methods.research?.em).toBe(0.5);
    expect(json.train.steps[0].reflection_query_revision).toBeNull();
  });

  test("a report without the new fields renders no reflection or benchmark section", async () => {
    const { mkdtempSync, readFileSync, existsSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { writeDemoReport } = await import("./demo-report.js");
    const dir = mkdtempSync(join(tmpdir(), "demo-report-"));
    await writeDemoReport(dir, { train: { steps: [] }, world: {}, base_model: {}, config: {}, eval: { research: { n: 1, em: 1, f1: 1, acc: 1, searches_mean: 0, by_hops: {} } } }, []);
    const md = readFileSync(join(dir, "report.md"), "utf8");
    expect(md).not.toContain("Reflection");
    expect(md).not.toContain("benchmarks");
    expect(existsSync(join(dir, "curve-reflection.svg"))).toBe(false);
  });
});
