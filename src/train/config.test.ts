import { describe, expect, it, test } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lrAt, readConfigFile, resolveTrainConfig, TrainConfig } from "./config.js";
import { goldRecall, scoreEpisodes } from "./shaping.js";
import { trainExampleOf } from "./sampler.js";
import { createSampler, permutation } from "./sampler.js";
import { RewardConfig } from "./config.js";
import { createHopCurriculum, type HopCurriculumOptions } from "./scaffolds/hop-curriculum.js";
import { createScaffolds } from "./scaffolds/index.js";

const stagesOf = (stages: HopCurriculumOptions["stages"]) => createHopCurriculum({ stages }).stages;

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
    [{ ...need, scaffolds: { "hop-curriculum": { stages: [{ untilStep: 10, maxHops: 1 }, { untilStep: 5, maxHops: 2 }] } } }, "scaffolds.hop-curriculum.stages: stages must have increasing untilStep"],
    [{ ...need, scaffolds: { "min-searches": { prob: 2 } } }, "scaffolds.min-searches.prob"],
    [{ ...need, scaffolds: { "hop-curriculum": { stages: [{ untilStep: 2, maxHops: 0 }] } } }, "scaffolds.hop-curriculum.stages.0.maxHops"],
    [{ ...need, scaffolds: { "min-searches": { porb: 1 } } }, 'scaffolds.min-searches: Unrecognized key: "porb"'],
    [{ ...need, scaffolds: { "gold-queries": {} } }, 'scaffolds: Unrecognized key: "gold-queries"'],
    [{ ...need, curriculum: { forcedSearchProb: 0.5 } }, "curriculum.forcedSearchProb: the forced first search (forcedSearchProb, forcedPrefix) was removed"],
    [{ ...need, curriculum: { forcedFollowUpProb: 1, forcedFollowUpQuery: "gold" } }, 'curriculum.forcedFollowUpQuery: "gold" (gold follow-up queries) was removed'],
    [{ ...need, curriculum: { forcedFolowUpProb: 1 } }, "curriculum.forcedFolowUpProb: unknown field"],
    [{ ...need, curriculum: { hops: [{ untilStep: 3, maxHops: 1 }] }, scaffolds: { "min-searches": {} } }, "scaffolds: given together with the old"],
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
  it("a bonus term on well-formed episodes only (the scaffolds' reward terms), recall of the gold passages", () => {
    const gold = { goldPassages: ["p1", "p2"] };
    const eps = [
      { ...ep(good("Rome", true), 1), ...gold, retrievedIds: [["p1", "x"]] }, // half the chain, wrong answer
      { ...ep(good("Paris", true), 2), ...gold, retrievedIds: [["p1"], ["p2"]] }, // whole chain, right answer
      { ...ep("bad", 2), ...gold, retrievedIds: [["p1"], ["p2"]] }, // bad format: no bonus
      ep(good("Rome")), // no gold passages named: recall null
    ];
    const r = RewardConfig.parse({ formatBonusWhen: "searched" });
    expect(scoreEpisodes(eps, r).map((x) => x.reward)).toEqual([0.1, 1, 0, 0]); // no bonus: ReSearch's reward
    const s = scoreEpisodes(eps, r, (_i, recall) => 0.4 * (recall ?? 0));
    expect(s.map((x) => x.reward)).toEqual([0.1 + 0.2, 1.4, 0, 0]);
    expect(s.map((x) => x.goldRecall)).toEqual([0.5, 1, 1, null]);
    expect(goldRecall(["a"], undefined)).toBe(0);
  });
  it("reads hops, kind and the gold chain (ids and names) from a QA record's metadata", () => {
    const q = { id: "a", question: "q?", golden_answers: ["x"], metadata: { hops: 2, kind: "compositional", chain: ["7", "9"], chainNames: ["Ann", "Bob"] } };
    expect(trainExampleOf(q)).toEqual({ id: "a", question: "q?", goldenAnswers: ["x"], hops: 2, kind: "compositional", goldPassages: ["7", "9"], chainNames: ["Ann", "Bob"] });
    expect(trainExampleOf({ id: "b", question: "q", golden_answers: [], metadata: { chain: [], chainNames: [], other: 1 } })).toEqual({ id: "b", question: "q", goldenAnswers: [], hops: undefined, kind: undefined });
    // a field of the wrong type is an error naming the record and the field, not a field silently ignored
    expect(() => trainExampleOf({ id: "c", question: "q", golden_answers: [], metadata: { chain: [1, 2] } }, "train.jsonl: record 3")).toThrow(/^train\.jsonl: record 3: metadata\.chain\.0: .*string/);
    expect(() => trainExampleOf({ id: "d", question: "q", golden_answers: [], metadata: { hops: "2" } })).toThrow(/question d: metadata\.hops/);
  });
});

describe("old config fields (before scaffolds were plug-ins)", () => {
  it("become the scaffolds they meant; a run directory's config.json with every old default needs none", () => {
    const old = {
      ...need,
      reward: { metric: "em", retrievalBonus: 0.3, retrievalBonusFrom: 80, retrievalBonusAnnealSteps: 280 },
      curriculum: {
        forcedFollowUpProb: 1, forcedFollowUpShare: 0.5, forcedFollowUpTrained: true, forcedFollowUpQuery: "mention",
        forcedFollowUpFrom: 80, forcedFollowUpAnnealSteps: 200, hops: [{ untilStep: 80, maxHops: 1 }, { untilStep: 100000, maxHops: 2 }],
      },
    };
    const c = resolveTrainConfig(old);
    expect(c.scaffolds).toEqual({
      "hop-curriculum": { stages: [{ untilStep: 80, maxHops: 1 }, { untilStep: 100000, maxHops: 2 }] },
      "min-searches": { prob: 1, share: 0.5, trained: true, from: 80, annealSteps: 200, answerTag: "<answer>" },
      "follow-up-picks": { rollouts: "held" },
      "retrieval-bonus": { weight: 0.3, from: 80, annealSteps: 280 },
    });
    expect(c.reward.metric).toBe("em");
    expect(createScaffolds(c.scaffolds, { maxSearches: null }).map((x) => x.name)).toEqual(["hop-curriculum", "min-searches", "follow-up-picks", "retrieval-bonus"]);
    // old defaults (forcedFollowUpTrained false, share 1, anneal 100) carry over when only the probability was set
    expect(resolveTrainConfig({ ...need, curriculum: { forcedFollowUpProb: 0.5, forcedFollowUpAnswer: "mention" } }).scaffolds).toEqual({
      "min-searches": { prob: 0.5, share: 1, trained: false, from: 0, annealSteps: 100, answerTag: "<answer>" },
      "answer-picks": { rollouts: "held" },
    });
    const defaults = {
      forcedSearchProb: 0, forcedSearchAnnealSteps: 50, forcedPrefix: " <think>", forcedFollowUpProb: 0, forcedFollowUpShare: 1,
      forcedFollowUpTrained: false, forcedFollowUpQuery: "policy", forcedFollowUpAnswer: "policy", forcedFollowUpFrom: 0, forcedFollowUpAnnealSteps: 100, hops: [],
    };
    expect(resolveTrainConfig({ ...need, curriculum: defaults, reward: { retrievalBonus: 0, retrievalBonusFrom: 0, retrievalBonusAnnealSteps: 0 } }).scaffolds).toEqual({});
  });
});

describe("sampler", () => {
  const ex = Array.from({ length: 10 }, (_, i) => ({ id: `q${i}`, question: `q${i}`, goldenAnswers: ["a"], hops: (i % 3) + 1 }));
  it("walks a seeded permutation, epoch after epoch, and resumes from a saved cursor", () => {
    const a = createSampler(ex, 1);
    const firstEpoch = [0, 1, 2, 3, 4].flatMap((s) => a.take(s, 2).map((e) => e.id));
    expect(new Set(firstEpoch).size).toBe(10);
    expect(a.cursor()).toEqual({ stage: 0, epoch: 0, index: 10 });
    const cur = a.cursor();
    const next = a.take(5, 3).map((e) => e.id);
    const b = createSampler(ex, 1);
    b.setCursor(cur);
    expect(b.take(5, 3).map((e) => e.id)).toEqual(next);
    expect(permutation(10, 2)).not.toEqual(permutation(10, 3));
  });
  it("draws only questions within the stage's hop limit", () => {
    const s = createSampler(ex, 1, stagesOf([{ untilStep: 2, maxHops: 1 }]));
    expect(s.take(0, 8).every((e) => e.hops === 1)).toBe(true);
    expect(s.take(2, 10).some((e) => e.hops! > 1)).toBe(true);
    expect(() => createSampler(ex.filter((e) => e.hops > 1), 1, stagesOf([{ untilStep: 2, maxHops: 1 }])).take(0, 1)).toThrow(/no question has at most 1 hops/);
  });
  it("a stage with kinds draws only questions of those kinds (questions without a kind pass)", () => {
    const kinded = ex.map((e, i) => ({ ...e, kind: i % 2 ? "comparison" : i === 0 ? undefined : "compositional" }));
    const s = createSampler(kinded, 1, stagesOf([{ untilStep: 3, maxHops: 2, kinds: ["compositional"] }]));
    const first = [0, 1, 2].flatMap((step) => s.take(step, 4));
    expect(first.every((e) => e.kind !== "comparison" && e.hops! <= 2)).toBe(true);
    expect(first.some((e) => e.kind === undefined)).toBe(true);
    expect(s.take(3, 10).some((e) => e.kind === "comparison")).toBe(true);
    expect(() => createSampler(kinded.slice(1), 1, stagesOf([{ untilStep: 2, maxHops: 1, kinds: ["yesno"] }])).take(0, 1)).toThrow(/kind in \[yesno\]/);
  });
});
