import { describe, expect, it, test } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lrAt, readConfigFile, resolveTrainConfig, TrainConfig } from "./config.js";
import { forcedFollowUpProbAt, forcedSearchProbAt, goldRecall, hopStageAt, maxHopsAt, retrievalBonusAt, scoreEpisodes } from "./shaping.js";
import { trainExampleOf } from "./sampler.js";
import { createSampler, permutation } from "./sampler.js";
import { RewardConfig, CurriculumConfig } from "./config.js";

const need = { model: "m", data: "d", index: "i" };

describe("train config", () => {
  it("has the paper's GRPO values and our small-model batch by default; preset paper switches the rest", () => {
    const c = resolveTrainConfig(need);
    expect(c).toMatchObject({ groupSize: 5, clipRatio: 0.2, klCoef: 0.001, entropyCoef: 0.001, gradClip: 1, temperature: 1, lossAgg: "token-mean", promptsPerStep: 8 });
    const p = resolveTrainConfig({ ...need, preset: "paper" });
    expect(p).toMatchObject({ promptsPerStep: 256, lr: 1e-6, maxResponseTokens: 8192, epochs: 2 });
    expect(resolveTrainConfig({ ...need, preset: "paper", lr: 1e-5 }).lr).toBe(1e-5); // user keys win over the preset
    for (const [k, s] of Object.entries(TrainConfig.shape)) expect((s as { description?: string }).description, k).toBeTruthy();
  });
  test.each([
    [{ ...need, grupSize: 5 }, 'Unrecognized key: "grupSize"'],
    [{ ...need, reward: { metric: "bleu" } }, "reward.metric"],
    [{ ...need, reward: { formatBonusx: 1 } }, "reward"],
    [{ ...need, curriculum: { hops: [{ untilStep: 10, maxHops: 1 }, { untilStep: 5, maxHops: 2 }] } }, "increasing untilStep"],
    [{ ...need, promptsPerStep: 3, groupSize: 5, updatesPerStep: 2 }, "must divide"],
    [{ data: "d", index: "i" }, "model: required"],
    [{ model: "m", data: "d" }, "index or retrieverUrl"],
  ])("rejects %o", (raw, msg) => {
    expect(() => resolveTrainConfig(raw, "cfg.yaml")).toThrow(msg);
  });
  it("reads YAML and JSON files and names the file on a parse error", () => {
    const dir = mkdtempSync(join(tmpdir(), "train-cfg-"));
    writeFileSync(join(dir, "a.yaml"), "model: m\ngroupSize: 4\n");
    writeFileSync(join(dir, "b.json"), '{"model": "m", "groupSize": 3}');
    writeFileSync(join(dir, "c.json"), '{"model": ');
    expect(readConfigFile(join(dir, "a.yaml"))).toEqual({ model: "m", groupSize: 4 });
    expect(readConfigFile(join(dir, "b.json")).groupSize).toBe(3);
    expect(() => readConfigFile(join(dir, "c.json"))).toThrow(/c\.json: not valid JSON/);
    expect(() => readConfigFile(join(dir, "nope.yaml"))).toThrow(/not found/);
  });
  it("warms the learning rate up linearly, then holds it", () => {
    const constant = { lrDecayFrom: null, lrDecaySteps: 100, lrDecayTo: 0.1 };
    expect(lrAt({ lr: 1, warmupSteps: 0, ...constant }, 5)).toBe(1);
    expect([0, 1, 3, 9].map((s) => lrAt({ lr: 1, warmupSteps: 4, ...constant }, s))).toEqual([0.25, 0.5, 1, 1]);
    const decay = { lr: 2, warmupSteps: 0, lrDecayFrom: 10, lrDecaySteps: 4, lrDecayTo: 0.25 };
    expect([0, 9, 10, 11, 12, 14, 100].map((s) => lrAt(decay, s))).toEqual([2, 2, 2, 1.625, 1.25, 0.5, 0.5]);
  });
});

describe("reward shaping", () => {
  const EOS = "<eos>";
  const good = (ans: string, search = false) =>
    `<think> x </think>${search ? " <search> q </search> <result> r </result> <think> y </think>" : ""} <answer> \\boxed{${ans}} </answer>${EOS}`;
  const ep = (response: string, searches = 0) => ({ response, goldenAnswers: ["Paris"], eosText: EOS, searches });

  it("defaults to the exact ReSearch reward: F1, 0.1 for right format + wrong answer, 0 for a bad format", () => {
    const s = scoreEpisodes([ep(good("Paris")), ep(good("the city Paris")), ep(good("Rome")), ep("no tags" + EOS)], RewardConfig.parse({}));
    expect(s.map((x) => x.reward)).toEqual([1, s[1].f1, 0.1, 0]);
    expect(s[1].f1).toBeCloseTo(2 / 3, 12); // "city paris" vs "paris"
    expect(s.map((x) => x.researchReward)).toEqual(s.map((x) => x.reward));
    expect(s.map((x) => x.valid)).toEqual([true, true, true, false]);
  });
  it("EM instead of F1, and an answer-length limit", () => {
    const em = scoreEpisodes([ep(good("the city Paris")), ep(good("Paris"))], RewardConfig.parse({ metric: "em" }));
    expect(em.map((x) => x.reward)).toEqual([0.1, 1]);
    const short = scoreEpisodes([ep(good("Paris France Europe Earth")), ep(good("Paris"))], RewardConfig.parse({ maxAnswerWords: 2 }));
    expect(short.map((x) => x.reward)).toEqual([0.1, 1]);
  });
  it("format bonus only for episodes that searched, or only while the valid rate is below a threshold", () => {
    const searched = scoreEpisodes([ep(good("Rome", true), 1), ep(good("Rome"), 0)], RewardConfig.parse({ formatBonusWhen: "searched" }));
    expect(searched.map((x) => x.reward)).toEqual([0.1, 0]);
    const cfg = RewardConfig.parse({ formatBonusWhen: "below-valid-rate", formatBonusValidRate: 0.6 });
    expect(scoreEpisodes([ep(good("Rome")), ep("bad")], cfg).map((x) => x.reward)).toEqual([0.1, 0]); // rate 0.5 < 0.6
    expect(scoreEpisodes([ep(good("Rome")), ep(good("Paris"))], cfg).map((x) => x.reward)).toEqual([0, 1]); // rate 1
  });
  it("retrieval bonus: weight × share of the gold passages retrieved, on well-formed episodes only; annealed from a step", () => {
    const gold = { goldPassages: ["p1", "p2"] };
    const eps = [
      { ...ep(good("Rome", true), 1), ...gold, retrievedIds: [["p1", "x"]] }, // half the chain, wrong answer
      { ...ep(good("Paris", true), 2), ...gold, retrievedIds: [["p1"], ["p2"]] }, // whole chain, right answer
      { ...ep("bad", 2), ...gold, retrievedIds: [["p1"], ["p2"]] }, // bad format: no bonus
      ep(good("Rome")), // no gold passages named: no bonus, recall null
    ];
    const r = RewardConfig.parse({ formatBonusWhen: "searched" });
    expect(scoreEpisodes(eps, r).map((x) => x.reward)).toEqual([0.1, 1, 0, 0]); // weight 0 (default): ReSearch's reward
    const s = scoreEpisodes(eps, r, 0.4);
    expect(s.map((x) => x.reward)).toEqual([0.1 + 0.2, 1.4, 0, 0]);
    expect(s.map((x) => x.goldRecall)).toEqual([0.5, 1, 1, null]);
    expect(goldRecall(["a"], undefined)).toBe(0);
    const c = RewardConfig.parse({ retrievalBonus: 0.4, retrievalBonusFrom: 10, retrievalBonusAnnealSteps: 4 });
    expect([0, 10, 12, 14, 30].map((st) => retrievalBonusAt(c, st))).toEqual([0, 0.4, 0.2, 0, 0]);
    expect([0, 50].map((st) => retrievalBonusAt(RewardConfig.parse({ retrievalBonus: 0.3 }), st))).toEqual([0.3, 0.3]);
  });
  it("reads hops, kind and the gold chain (ids and names) from a QA record's metadata", () => {
    const q = { id: "a", question: "q?", golden_answers: ["x"], metadata: { hops: 2, kind: "compositional", chain: ["7", "9"], chainNames: ["Ann", "Bob"] } };
    expect(trainExampleOf(q)).toEqual({ id: "a", question: "q?", goldenAnswers: ["x"], hops: 2, kind: "compositional", goldPassages: ["7", "9"], chainNames: ["Ann", "Bob"] });
    expect(trainExampleOf({ id: "b", question: "q", golden_answers: [], metadata: { chain: [1, 2], chainNames: [] } })).toEqual({ id: "b", question: "q", goldenAnswers: [], hops: undefined, kind: undefined });
  });
  it("anneals the forced-search probability and stages the hop curriculum", () => {
    const c = CurriculumConfig.parse({ forcedSearchProb: 0.8, forcedSearchAnnealSteps: 4, hops: [{ untilStep: 3, maxHops: 1 }, { untilStep: 6, maxHops: 2 }] });
    expect([0, 1, 2, 4, 9].map((s) => forcedSearchProbAt(c, s))).toEqual([0.8, 0.6000000000000001, 0.4, 0, 0]);
    expect([0, 2, 3, 5, 6].map((s) => maxHopsAt(c, s))).toEqual([1, 1, 2, 2, null]);
    expect([0, 3, 7].map((s) => hopStageAt(c, s))).toEqual([0, 1, 2]);
  });
  it("starts forced follow-up searches at forcedFollowUpFrom and anneals them to 0", () => {
    const c = CurriculumConfig.parse({ forcedFollowUpProb: 0.5, forcedFollowUpFrom: 10, forcedFollowUpAnnealSteps: 4 });
    expect([0, 9, 10, 11, 12, 14, 20].map((s) => forcedFollowUpProbAt(c, s))).toEqual([0, 0, 0.5, 0.375, 0.25, 0, 0]);
    expect(forcedFollowUpProbAt(CurriculumConfig.parse({}), 0)).toBe(0);
  });
});

describe("sampler", () => {
  const ex = Array.from({ length: 10 }, (_, i) => ({ id: `q${i}`, question: `q${i}`, goldenAnswers: ["a"], hops: (i % 3) + 1 }));
  it("walks a seeded permutation, epoch after epoch, and resumes from a saved cursor", () => {
    const a = createSampler(ex, 1, CurriculumConfig.parse({}));
    const firstEpoch = [0, 1, 2, 3, 4].flatMap((s) => a.take(s, 2).map((e) => e.id));
    expect(new Set(firstEpoch).size).toBe(10);
    expect(a.cursor()).toEqual({ stage: 0, epoch: 0, index: 10 });
    const cur = a.cursor();
    const next = a.take(5, 3).map((e) => e.id);
    const b = createSampler(ex, 1, CurriculumConfig.parse({}));
    b.setCursor(cur);
    expect(b.take(5, 3).map((e) => e.id)).toEqual(next);
    expect(permutation(10, 2)).not.toEqual(permutation(10, 3));
  });
  it("draws only questions within the stage's hop limit", () => {
    const s = createSampler(ex, 1, CurriculumConfig.parse({ hops: [{ untilStep: 2, maxHops: 1 }] }));
    expect(s.take(0, 8).every((e) => e.hops === 1)).toBe(true);
    expect(s.take(2, 10).some((e) => e.hops! > 1)).toBe(true);
    expect(() => createSampler(ex, 1, CurriculumConfig.parse({ hops: [{ untilStep: 2, maxHops: 0 }] }))).toThrow();
  });
  it("a stage with kinds draws only questions of those kinds (questions without a kind pass)", () => {
    const kinded = ex.map((e, i) => ({ ...e, kind: i % 2 ? "comparison" : i === 0 ? undefined : "compositional" }));
    const s = createSampler(kinded, 1, CurriculumConfig.parse({ hops: [{ untilStep: 3, maxHops: 2, kinds: ["compositional"] }] }));
    const first = [0, 1, 2].flatMap((step) => s.take(step, 4));
    expect(first.every((e) => e.kind !== "comparison" && e.hops! <= 2)).toBe(true);
    expect(first.some((e) => e.kind === undefined)).toBe(true);
    expect(s.take(3, 10).some((e) => e.kind === "comparison")).toBe(true);
    expect(() => createSampler(kinded.slice(1), 1, CurriculumConfig.parse({ hops: [{ untilStep: 2, maxHops: 1, kinds: ["yesno"] }] })).take(0, 1)).toThrow(/kind in \[yesno\]/);
  });
});
