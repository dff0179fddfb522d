import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { createRng } from "../util/rng.js";
import type { Trajectory } from "../rollout/types.js";
import { buildWorld, writeWorld } from "./build.js";
import { smallWorldConfig } from "./config.js";
import { containsSpan, measureGates, runGates } from "./gates.js";
import { memoryBm25Retriever } from "../retrieval/memory.js";
import { baselineEpisode, entityMentions, nextDoc, PretrainMixSchema, randomSpan, researchEpisode } from "./pretrain-data.js";
import { entityNames, namePools, packBatch, PretrainConfigSchema, pretrainBaseModel, pretrainPassages } from "./pretrain.js";
import { createWordLevelTokenizer } from "./tokenizer.js";
import { worldVocab } from "./vocab.js";
import { normalizeAnswer } from "../reward/normalize.js";
import type { WorldQuestion } from "./questions.js";

const world = buildWorld(smallWorldConfig(5));
const passages = pretrainPassages(world);
const src = { questions: world.questions.pretrain, passages, retriever: memoryBm25Retriever(passages) };
const opts = { researchTopN: 1, baselineTopK: 3, maxSearches: 3 };

/** The same document drawn twice from one seed, plain and renamed, split into words (same length, word for word). */
async function plainAndRenamed(seed: number, rsrc: typeof src & { namePools: string[][] }, mix: Parameters<typeof nextDoc>[2]) {
  const plain = await nextDoc(createRng(seed), rsrc, mix, opts);
  const doc = await nextDoc(createRng(seed), rsrc, mix, { ...opts, renameProb: 1 });
  const a = plain.parts.map((p) => p.text).join("").split(/\b/);
  const b = doc.parts.map((p) => p.text).join("").split(/\b/);
  expect(b.length).toBe(a.length);
  return { doc, a, b };
}

describe("pre-training data", () => {
  test("only pre-training passages and entities: no RL-train or test name appears in any document", async () => {
    const otherNames = [...world.entities.byKey.values()].filter((e) => e.split !== "pretrain").map((e) => e.name);
    const pretrainNames = new Set([...world.entities.byKey.values()].filter((e) => e.split === "pretrain").map((e) => e.name));
    const rng = createRng(1);
    for (let i = 0; i < 150; i++) {
      const doc = await nextDoc(rng, src, PretrainMixSchema.parse({}), opts);
      const text = doc.parts.filter((p) => p.role !== "policy").map((p) => p.text).join(" ");
      for (const n of otherNames) if (!pretrainNames.has(n)) expect(new RegExp(`\\b${n}\\b`).test(text), n).toBe(false);
    }
    const ids = new Set(passages.map((p) => p.id));
    for (const [key, id] of world.passageOf) expect(ids.has(id)).toBe(world.entities.byKey.get(key)!.split === "pretrain");
  });

  test("content-free: every query is a span of the question or an earlier result; the answer a span of them", async () => {
    const rng = createRng(2);
    let n = 0;
    for (let i = 0; i < 200; i++) {
      const doc = await nextDoc(rng, src, { passage: 0, research: 1, "naive-gen": 0, "naive-rag": 0, "iter-retgen": 0, ircot: 0 }, opts);
      const visible = doc.parts.filter((p) => p.role !== "policy").map((p) => p.text).join(" ");
      for (const q of doc.queries) expect(containsSpan(visible, q), q).toBe(true);
      if (doc.answer && normalizeAnswer(doc.answer)) expect(containsSpan(visible, doc.answer), doc.answer).toBe(true);
      n += doc.queries.length;
    }
    expect(n).toBeGreaterThan(100);
  });

  test("renamed documents: names permuted within their pools, consistently; still content-free", async () => {
    const pools = namePools(world, false);
    const rsrc = { ...src, namePools: pools };
    const inPool = new Map(pools.flatMap((p, i) => p.map((w) => [w, i] as const)));
    const mix = { passage: 0, research: 1, "naive-gen": 0, "naive-rag": 0, "iter-retgen": 0, ircot: 0 };
    let changed = 0;
    for (let i = 0; i < 60; i++) {
      const { doc, a, b } = await plainAndRenamed(100 + i, rsrc, mix);
      const map = new Map<string, string>();
      a.forEach((w, k) => {
        if (w === b[k]) return;
        expect(inPool.get(w), w).toBe(inPool.get(b[k])); // same pool
        expect(map.get(w) ?? b[k]).toBe(b[k]); // consistent
        map.set(w, b[k]);
        changed++;
      });
      const visible = doc.parts.filter((p) => p.role !== "policy").map((p) => p.text).join(" ");
      for (const q of doc.queries) expect(containsSpan(visible, q), q).toBe(true);
    }
    expect(changed).toBeGreaterThan(100);
  });

  test("searchWeights and querySpan set how many searches an episode makes and how long its queries are", async () => {
    const mix = { passage: 0, research: 1, "naive-gen": 0, "naive-rag": 0, "iter-retgen": 0, ircot: 0 };
    const rng = createRng(12);
    for (let i = 0; i < 20; i++) {
      expect((await nextDoc(rng, src, mix, { ...opts, searchWeights: [1, 0, 0, 0] })).queries).toHaveLength(0);
      const d = await nextDoc(rng, src, mix, { ...opts, searchWeights: [0, 0, 0, 1], querySpan: [3, 6] });
      expect(d.queries).toHaveLength(3);
      for (const q of d.queries) expect(q.split(/\s+/).length).toBeLessThanOrEqual(6);
    }
  });

  test("every evaluation prompt format occurs; rows are packed to T with a padding mask", async () => {
    const tok = createWordLevelTokenizer(worldVocab(world));
    const cfg = PretrainConfigSchema.parse({ seqLen: 256, batchSize: 12 });
    const b = await packBatch(createRng(3), src, tok, cfg, {});
    expect(b.inputIds.length).toBe(12 * 256);
    expect(Object.keys(b.kinds).sort()).toEqual(expect.arrayContaining(["passage", "research"]));
    const real = b.attentionMask.reduce((a, x) => a + x, 0);
    expect(real / b.attentionMask.length).toBeGreaterThan(0.6);
    const rng = createRng(4);
    const kinds = new Set<string>();
    for (let i = 0; i < 120; i++) kinds.add((await nextDoc(rng, src, PretrainMixSchema.parse({}), opts)).kind);
    expect([...kinds].sort()).toEqual(["ircot", "iter-retgen", "naive-gen", "naive-rag", "passage", "research"]);
  });

  test("the config is strict: a typo is an error; a removed option says it was removed; every shipped stage parses", async () => {
    const typo = PretrainConfigSchema.safeParse({ renameProbb: 0.5 });
    expect(typo.success).toBe(false);
    expect(typo.error!.issues[0].message).toBe('unknown option "renameProbb"');
    for (const k of ["copyWeight", "lossMask", "renameYears", "answerFromResultProb"]) expect(PretrainConfigSchema.safeParse({ [k]: 1 }).error!.issues[0].message).toMatch(new RegExp(`option "${k}" was removed: .*delete it`));
    expect(PretrainConfigSchema.safeParse({ model: { hidden: 64 } }).success).toBe(false);
    expect(PretrainConfigSchema.safeParse({ mix: { pasage: 1 } }).success).toBe(false);
    const { readdirSync } = await import("node:fs");
    const { readConfigFile } = await import("../util/config-file.js");
    const files = readdirSync("examples").filter((f) => f.startsWith("pretrain-base"));
    expect(files.length).toBe(8);
    for (const f of files) expect(PretrainConfigSchema.safeParse(readConfigFile(join("examples", f))).error?.issues, f).toBeUndefined();
  });

  test("mentionQueryProb: queries copy the names the question mentions; answers stay random spans", async () => {
    const rng = createRng(7);
    let hit = 0;
    let n = 0;
    for (let i = 0; i < 100; i++) {
      const q = src.questions[rng.int(src.questions.length)];
      const doc = await researchEpisode(rng, src, q, { ...opts, mentionQueryProb: 1 });
      n += doc.queries.length;
      hit += doc.queries.filter((x) => q.metadata.mentions.includes(x)).length;
    }
    expect(n).toBeGreaterThan(50);
    expect(hit).toBe(n);
  });

  test('answerSpans "entity": answers are uniformly random entity mentions of the results (any of them, not the right one)', async () => {
    const names = entityNames(world);
    expect(entityMentions('"Ann Lee"\nAnn Lee was born in 1901 in Old Town. <result> Ann Lee </result>', new Set(["Ann Lee", "Old Town", "Lee"]))).toEqual(["Ann Lee", "1901", "Old Town"]);
    const esrc = { ...src, entityNames: names };
    const mix = { passage: 0, research: 1, "naive-gen": 0, "naive-rag": 1, "iter-retgen": 0, ircot: 1 };
    const rng = createRng(7);
    let answers = 0, gold = 0, yesNo = 0;
    const picked = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const doc = await nextDoc(rng, esrc, mix, { ...opts, answerSpans: "entity", yesNoProb: 0.1 });
      if (!doc.answer) continue;
      answers++;
      if (doc.answer === "yes" || doc.answer === "no") { yesNo++; continue; }
      const visible = doc.parts.filter((p) => p.role !== "policy").map((p) => p.text).join(" ");
      const mentions = entityMentions(visible, names);
      if (mentions.length) expect(mentions, doc.answer).toContain(doc.answer);
      picked.add(doc.answer);
      const q = world.questions.pretrain.find((x) => visible.includes(x.question));
      if (q?.golden_answers.includes(doc.answer)) gold++;
    }
    expect(answers).toBeGreaterThan(150);
    expect(yesNo / answers).toBeGreaterThan(0.04);
    expect(yesNo / answers).toBeLessThan(0.2);
    expect(picked.size).toBeGreaterThan(50);
    // content-free: the right answer is one mention among several, so it is drawn well under half the time
    expect(gold / answers).toBeLessThan(0.3);
  });

  test("answerByKind: yes/no questions get a coin-flip yes/no, comparisons one of the two names, at random", async () => {
    const esrc = { ...src, entityNames: entityNames(world) };
    const rng = createRng(9);
    const byKind = (k: string) => world.questions.pretrain.filter((q) => q.metadata.kind === k).slice(0, 60);
    const count = new Map<string, number>();
    let right = 0;
    for (const q of [...byKind("yesno"), ...byKind("comparison")]) {
      for (const kind of ["research", "naive-rag", "naive-gen"] as const) {
        const doc = kind === "research" ? await researchEpisode(rng, esrc, q, { ...opts, answerByKind: true }) : await baselineEpisode(rng, esrc, q, kind, { ...opts, answerByKind: true });
        const allowed = q.metadata.kind === "yesno" ? ["yes", "no"] : q.metadata.mentions;
        expect(allowed, q.question).toContain(doc.answer);
        count.set(doc.answer!, (count.get(doc.answer!) ?? 0) + 1);
        right += q.golden_answers.includes(doc.answer!) ? 1 : 0;
      }
    }
    const n = [...count.values()].reduce((a, b) => a + b, 0);
    expect(n).toBeGreaterThan(100);
    expect(count.get("yes")! / n).toBeGreaterThan(0.1); // both forms of yes/no appear
    expect(count.get("no")! / n).toBeGreaterThan(0.1);
    expect(right / n).toBeGreaterThan(0.35); // a coin: about half right, whatever the question
    expect(right / n).toBeLessThan(0.65);
    // other questions are unchanged: a compositional question's answer is never yes/no
    const comp = world.questions.pretrain.find((q) => q.metadata.kind === "compositional")!;
    for (let i = 0; i < 20; i++) expect(["yes", "no"]).not.toContain((await researchEpisode(rng, esrc, comp, { ...opts, answerByKind: true, answerSpans: "entity" })).answer);
  });

  test("followUpMentionProb: a query after a search is an entity mention of the last result", async () => {
    const names = entityNames(world);
    const esrc = { ...src, entityNames: names };
    const rng = createRng(8);
    let followUps = 0;
    for (let i = 0; i < 80; i++) {
      const q = world.questions.pretrain[i];
      const doc = await researchEpisode(rng, esrc, q, { ...opts, followUpMentionProb: 1, searchWeights: [0, 0, 1] });
      expect(doc.queries).toHaveLength(2);
      const results = doc.parts.filter((p) => p.role === "tool").map((p) => p.text);
      const mentions = entityMentions(results[0], names);
      if (mentions.length) {
        expect(mentions, doc.queries[1]).toContain(doc.queries[1]);
        followUps++;
      }
    }
    expect(followUps).toBeGreaterThan(60);
  });

  test("randomSpan respects lengths and skips tags", () => {
    const rng = createRng(5);
    for (let i = 0; i < 50; i++) {
      const s = randomSpan(rng, "<think> Where was Aldric Venmore born ? </think>", 4, 2).split(" ");
      expect(s.length).toBeGreaterThanOrEqual(2);
      expect(s.length).toBeLessThanOrEqual(4);
      expect(s.join(" ")).not.toMatch(/think|\?/);
    }
  });
});

describe("gates", () => {
  const q = (id: string, mentions: string[]): WorldQuestion => ({ id, question: `Where was ${mentions[0]} born?`, golden_answers: ["x"], metadata: { split: "train", kind: "compositional", hops: 1, chain: ["1"], relations: ["born_in"], entities: [], mentions, chainNames: mentions } });
  const traj = (id: string, queries: string[], response: string): Trajectory => ({ id, question: "", prompt: "", segments: [], response, finishReason: "eos", searches: queries.length, queries, timings: { generateMs: 0, searchMs: 0, totalMs: 0 } });
  test.each([
    ["entity in query, answer from result", ["Aldric Venmore"], "<search> Aldric Venmore </search> <result> Aldric Venmore was born in Kalder Falls . </result> <answer> \\boxed{ Kalder Falls } </answer>", 1, 1],
    ["surname only, answer not in results", ["Venmore born"], "<search> Venmore born </search> <result> Venmore works for X . </result> <answer> \\boxed{ Miren Bay } </answer>", 0, 0],
    ["no search", [], "<answer> \\boxed{ Aldric } </answer>", 0, 0],
    ["case and spacing ignored", ["where was aldric  venmore"], "<search> q </search> <result> in Kalder Falls. </result> <answer> \\boxed{kalder falls} </answer>", 1, 1],
  ])("%s", (_name, queries, response, qe, ar) => {
    const qs = new Map([["a", q("a", ["Aldric Venmore"])]]);
    const g = measureGates([traj("a#0", queries, response)], qs);
    expect(g.query_has_entity).toBe(qe);
    expect(g.answer_in_result).toBe(ar);
  });

  test("pre-train a tiny model for a few steps (resumable), then measure its gates with the real rollout loop", async () => {
    const dir = mkdtempSync(join(tmpdir(), "world-pt-"));
    writeWorld(world, join(dir, "world"));
    const cfg = PretrainConfigSchema.parse({ steps: 3, batchSize: 2, seqLen: 96, checkpointEvery: 2, model: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 512 } });
    const quiet = { quiet: true, log: () => {} };
    // stopped after step 2, then resumed: the same weights as 3 uninterrupted steps
    expect((await pretrainBaseModel(join(dir, "world"), join(dir, "m"), { ...cfg, stopAt: 2 }, quiet)).steps).toBe(2);
    await expect(pretrainBaseModel(join(dir, "world"), join(dir, "m"), { ...cfg, lr: 1e-4 }, quiet)).rejects.toThrow(/different config/);
    expect((await pretrainBaseModel(join(dir, "world"), join(dir, "m"), cfg, quiet)).steps).toBe(3);
    const r = await pretrainBaseModel(join(dir, "world"), join(dir, "m2"), cfg, quiet);
    expect(r.steps).toBe(3);
    expect(readFileSync(join(dir, "m", "model.safetensors")).equals(readFileSync(join(dir, "m2", "model.safetensors")))).toBe(true);
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "pretrain.json"]) expect(existsSync(join(dir, "m2", f)), f).toBe(true);
    // a second stage starts from the first stage's weights (lr ~0: the weights stay where stage 1 left them)
    await pretrainBaseModel(join(dir, "world"), join(dir, "m3"), { ...cfg, steps: 1, lr: 1e-12, warmup: 0, init: join(dir, "m2") }, quiet);
    const { readSafetensorsDir } = await import("../model/safetensors.js");
    const [a, b] = [readSafetensorsDir(join(dir, "m2")), readSafetensorsDir(join(dir, "m3"))];
    const name = "model.embed_tokens.weight";
    expect(Math.max(...a.get(name)!.data.map((x, i) => Math.abs(x - b.get(name)!.data[i])))).toBeLessThan(1e-6);
    const log = readFileSync(join(dir, "m2", "pretrain-log.jsonl"), "utf8").trim().split("\n");
    expect(log).toHaveLength(3);
    // the train/ run layout: checkpoints/step-N/ (the last kept, a loadable model dir), the log cut back on resume
    const noSeconds = (d: string) => readFileSync(join(dir, d, "pretrain-log.jsonl"), "utf8").trim().split("\n").map((l) => ({ ...JSON.parse(l), seconds: 0 }));
    expect(noSeconds("m")).toEqual(noSeconds("m2"));
    expect(readdirSync(join(dir, "m2", "checkpoints"))).toEqual(["step-000003"]);
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "optimizer.safetensors", "state.json"]) expect(existsSync(join(dir, "m2", "checkpoints", "step-000003", f)), f).toBe(true);
    // an abort (SIGINT) stops at a step boundary with a checkpoint and the model; the old single-folder format is refused
    const ac = new AbortController();
    ac.abort();
    expect((await pretrainBaseModel(join(dir, "world"), join(dir, "m4"), cfg, { ...quiet, signal: ac.signal })).steps).toBe(0);
    for (const f of ["pretrain.json", "model.safetensors", "checkpoints/step-000000/state.json"]) expect(existsSync(join(dir, "m4", f)), f).toBe(true);
    mkdirSync(join(dir, "m4", "checkpoint"));
    writeFileSync(join(dir, "m4", "checkpoint", "state.json"), "{}");
    await expect(pretrainBaseModel(join(dir, "world"), join(dir, "m4"), cfg, quiet)).rejects.toThrow(/old format.*delete/);
    const g = await runGates({ modelDir: join(dir, "m2"), worldDir: join(dir, "world"), n: 4, topN: 1, maxSearches: 2, seed: 1, maxResponseTokens: 24 });
    expect(g.episodes).toBe(4);
    expect(g.query_has_entity).toBeGreaterThanOrEqual(0);
    expect(g.pass.query_has_entity).toBe(g.query_has_entity >= 0.25);
  });
});
