import { describe, expect, test } from "vitest";
import { summarize, type EvalRecord } from "./summary.js";
import { analyzeTrajectory, missesOf, queryOverlap, revises, stepsOfRecord, stepsOfTrajectory, summarizeReflection, type ReflectionInput } from "./reflection.js";

// "Where was the spouse of Ann Lee born?": Ann Lee → (spouse) Bo Li → (born_in) Old Town
const chain = { kind: "compositional", chainNames: ["Ann Lee", "Bo Li"] };
const gold = ["Old Town"];
const R = {
  annLee: "<result> \"Ann Lee\" Ann Lee is married to Bo Li. </result>",
  annLeeson: "<result> \"Ann Leeson\" Ann Leeson was born in Far Port. </result>",
  boLi: "<result> \"Bo Li\" Bo Li was born in Old Town in 1901. </result>",
  boLin: "<result> \"Bo Lin\" Bo Lin was born in Hill Vale. </result>",
};
const traj = (steps: [string, string][], correct: boolean, g: ReflectionInput["gold"] | null = chain): ReflectionInput => ({ steps: steps.map(([query, result]) => ({ query, result })), goldenAnswers: gold, correct, ...(g ? { gold: g } : {}) });

describe("reflection metrics", () => {
  test("misses against the gold chain: a result without the next hop's entity, in chain order", () => {
    expect(missesOf(traj([["Ann Lee", R.annLee], ["Bo Li", R.boLi]], true))).toEqual([]);
    // first result is a name collision (Ann Leeson): it lacks Bo Li
    expect(missesOf(traj([["Ann Lee", R.annLeeson], ["Ann Lee spouse", R.annLee], ["Bo Li", R.boLi]], true))).toEqual([0]);
    // the second hop's result lacks the answer
    expect(missesOf(traj([["Ann Lee", R.annLee], ["Bo Li", R.boLin]], false))).toEqual([1]);
    // a result that holds the answer before the bridge was found is still a miss (order matters) …
    expect(missesOf(traj([["Old Town", "<result> \"Old Town\" Old Town is a city in Nod. </result>"]], true))).toEqual([0]);
    // … while one that names the bridge (here with the answer too) finds both
    expect(missesOf(traj([["Bo Li", R.boLi]], true))).toEqual([]);
    // searches after every target was found are extra, not misses
    expect(missesOf(traj([["Ann Lee", R.annLee], ["Bo Li", R.boLi], ["Bo Lin", R.boLin]], true))).toEqual([]);
    // whole words only: "Bo Lin" does not contain "Bo Li"
    expect(missesOf(traj([["Ann Lee", "<result> Ann Lee is married to Bo Lin. </result>"]], false))).toEqual([0]);
  });

  test("comparisons: the named entities, in any order", () => {
    const cmp = { kind: "comparison", chainNames: ["Bo Li", "Ann Lee"] };
    expect(missesOf(traj([["Ann Lee", R.annLee], ["Bo Li", R.boLi]], true, cmp))).toEqual([]);
    expect(missesOf(traj([["Ann Lee", R.annLeeson], ["Bo Li", R.boLi]], false, cmp))).toEqual([0]);
  });

  test("without a gold chain the proxy: no golden answer and at most half the query's tokens in the result", () => {
    expect(missesOf(traj([["Ann Lee", R.annLeeson], ["Bo Li birthplace", R.boLi]], true, null))).toEqual([0]);
    expect(missesOf(traj([["Ann Lee", R.annLee], ["Bo Li birthplace", R.boLin]], false, null))).toEqual([1]);
    expect(missesOf(traj([["Ann Lee", R.annLee], ["Bo Lin birthplace", R.boLin]], false, null))).toEqual([]);
    expect(analyzeTrajectory(traj([["Ann Lee", R.annLee]], false, null)).usedGold).toBe(false);
  });

  test("query revision: Jaccard ≥ 0.5 and different; a repeat is not a revision", () => {
    expect(queryOverlap("Ann Lee", "Ann Lee spouse")).toBeCloseTo(2 / 3);
    expect(revises("Ann Lee", "Ann Lee spouse")).toBe(true);
    expect(revises("Ann Lee", "the Ann Lee")).toBe(false); // the same after normalisation
    expect(revises("Ann Lee", "Bo Li")).toBe(false);
    expect(revises("Ann Lee born city", "Ann Lee spouse")).toBe(false); // 2/5 < 0.5
    const a = analyzeTrajectory(traj([["Ann Lee", R.annLeeson], ["Ann Lee spouse", R.annLee], ["Bo Li", R.boLi]], true));
    expect(a).toEqual({ searches: 3, misses: [0], searchAfterMiss: true, revised: true, repeated: false, recovered: true, usedGold: true });
    const b = analyzeTrajectory(traj([["Ann Lee", R.annLeeson], ["Ann Lee", R.annLeeson]], false));
    expect(b).toMatchObject({ misses: [0, 1], searchAfterMiss: true, revised: false, repeated: true, recovered: false });
  });

  test("summary shares and their denominators", () => {
    const items = [
      analyzeTrajectory(traj([["Ann Lee", R.annLee], ["Bo Li", R.boLi]], true)), // clean 2 searches
      analyzeTrajectory(traj([["Ann Lee", R.annLeeson], ["Ann Lee spouse", R.annLee], ["Bo Li", R.boLi]], true)), // miss, revise, recover
      analyzeTrajectory(traj([["Ann Lee", R.annLeeson]], false)), // miss, gives up
      analyzeTrajectory(traj([], false)), // no search
    ];
    expect(summarizeReflection(items)).toEqual({
      n: 4, searched: 3, with_miss: 2, multi_search: 2, gold: 4,
      miss_rate: 2 / 3, search_after_miss: 1 / 2, query_revision: 1 / 2, query_repeat: 0, recovery: 1 / 2,
    });
    expect(summarizeReflection([])).toMatchObject({ n: 0, miss_rate: null, search_after_miss: null, query_revision: null, recovery: null });
  });

  test("steps of a trajectory (query ↔ its tool segment) and of a baseline record", () => {
    const t = { queries: ["Ann Lee", "Bo Li"], segments: [{ author: "policy", text: "<search> Ann Lee </search>" }, { author: "tool", text: R.annLee }, { author: "policy", text: "<search> Bo Li </search>" }, { kind: "tool", text: R.boLi }] };
    expect(stepsOfTrajectory(t)).toEqual([{ query: "Ann Lee", result: R.annLee }, { query: "Bo Li", result: R.boLi }]);
    expect(stepsOfRecord({ retrievals: [{ query: "q", hits: [{ contents: "a" }, { contents: "b" }] }] })).toEqual([{ query: "q", result: "a\nb" }]);
    expect(stepsOfRecord({})).toEqual([]);
  });

  test("eval summaries carry them per method: gold chains by id where known, absent without searches", () => {
    const rec = (id: string, em: number, qs: [string, string][]): EvalRecord =>
      ({ id, question: "", goldenAnswers: gold, pred: "", scores: { em, f1: em, acc: em }, ms: 0, trajectory: { queries: qs.map(([q]) => q), segments: qs.flatMap(([q, r]) => [{ author: "policy", trained: true, text: `<search> ${q} </search>` }, { author: "tool", trained: false, text: r }]), searches: qs.length, finishReason: "eos" } }) as unknown as EvalRecord;
    const records = [rec("a", 1, [["Ann Lee", R.annLeeson], ["Ann Lee spouse", R.annLee], ["Bo Li", R.boLi]]), rec("b", 0, [["Ann Lee", R.annLee], ["Bo Li", R.boLin]])];
    const args = { method: "research" as const, dataset: "d", records, total: 2, judge: false, session: { ran: 2, seconds: 1, questionsPerSecond: 2 } };
    const s = summarize({ ...args, gold: new Map([["a", chain], ["b", chain]]) });
    expect(s.reflection).toMatchObject({ n: 2, gold: 2, with_miss: 2, search_after_miss: 1 / 2, recovery: 1 / 2, query_revision: 1 / 2 });
    // without gold, the proxy: a: Ann Leeson's passage holds half of "Ann Lee" (a miss), b: Bo Lin's half of "Bo Li" (a miss)
    expect(summarize(args).reflection).toMatchObject({ gold: 0, with_miss: 2, recovery: 1 / 2 });
    const none = { ...args, method: "naive-gen" as const, records: [{ ...records[0], trajectory: undefined }] };
    expect(summarize(none).reflection).toBeUndefined();
  });
});
