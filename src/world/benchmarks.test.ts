import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { memoryBm25Retriever } from "../retrieval/memory.js";
import { loadQAArray } from "../data/qa.js";
import { BENCHMARK_DEFAULT_SIZES, BENCHMARK_NAMES, benchmarkFile, freshTestQuestions, generateBenchmarks, leakOf } from "./benchmarks.js";
import { buildWorld, readWorldBenchmark, worldIsCurrent, writeWorld, WORLD_FILES } from "./build.js";
import { smallWorldConfig, WorldConfigSchema } from "./config.js";
import { runOracle } from "./oracle.js";
import { createWordLevelTokenizer } from "./tokenizer.js";
import { worldVocab } from "./vocab.js";
import type { WorldQuestion } from "./questions.js";

const full = buildWorld(WorldConfigSchema.parse({ seed: 1 }));
const benches = generateBenchmarks(full);
const nameOf = (k: string) => full.entities.byKey.get(k)?.name;

describe("world benchmarks", () => {
  test("four benchmarks of the default sizes, each its own style, all over test entities", () => {
    for (const b of BENCHMARK_NAMES) {
      expect(benches[b]).toHaveLength(BENCHMARK_DEFAULT_SIZES[b]);
      for (const q of benches[b]) {
        expect(q.metadata.benchmark).toBe(b);
        expect(q.id.startsWith(`${b}-`)).toBe(true);
        for (const k of q.metadata.entities) expect(full.entities.byKey.get(k)!.split, `${b} ${q.question}`).toBe("test");
      }
      expect(new Set(benches[b].map((q) => q.question)).size).toBe(benches[b].length);
    }
    const styles = (b: (typeof BENCHMARK_NAMES)[number]) => [...new Set(benches[b].map((q) => q.metadata.style))].sort();
    expect(styles("musique")).toEqual(["chain2", "chain3", "chain4"]);
    expect(styles("hotpotqa")).toEqual(["bridge", "comparison"]);
    // the wordings differ: no question text of one benchmark's 2-hop style reads like another's
    const stem = (q: string) => q.replace(/[A-Z][a-z]+( [A-Z][a-z]+)*/g, "X").slice(0, 25);
    const stems = (b: (typeof BENCHMARK_NAMES)[number]) => new Set(benches[b].filter((q) => q.metadata.hops === 2 && q.metadata.kind === "compositional").map((q) => stem(q.question)));
    for (const a of ["hotpotqa", "2wiki", "bamboogle"] as const) for (const b of ["hotpotqa", "2wiki", "bamboogle"] as const) if (a !== b) expect([...stems(a)].filter((s) => stems(b).has(s)), `${a} vs ${b}`).toEqual([]);
  });

  test("no question text leaks its answer or a bridge entity", () => {
    for (const b of BENCHMARK_NAMES) for (const q of benches[b]) expect(leakOf(q, nameOf), `${b}: ${q.question}`).toBeNull();
    // the check itself catches a leak
    const q = benches["2wiki"][0];
    expect(leakOf({ ...q, question: `${q.question} (${q.golden_answers[0]})` }, nameOf)).toMatch(/answer/);
    const bridge = nameOf(q.metadata.entities[1])!;
    expect(leakOf({ ...q, question: `${q.question} ${bridge}` }, nameOf)).toMatch(/bridge/);
  });

  test("every word is in the world's vocabulary (the base model reads them without <unk>)", () => {
    const tok = createWordLevelTokenizer(worldVocab(full));
    expect(tok.encode("Who is the spouse of whomsoever?").includes(tok.unkId)).toBe(true); // the check can fail
    for (const b of BENCHMARK_NAMES) for (const q of benches[b]) expect(tok.encode(`${q.question}.`).includes(tok.unkId), `${b}: ${q.question}`).toBe(false);
    for (const q of freshTestQuestions(full, 2)) expect(tok.encode(`${q.question}.`).includes(tok.unkId), q.question).toBe(false);
  });

  test("deterministic given the world seed; another seed or benchmark seed gives other questions", () => {
    expect(JSON.stringify(generateBenchmarks(buildWorld(WorldConfigSchema.parse({ seed: 1 }))))).toBe(JSON.stringify(benches));
    const other = generateBenchmarks(full, {}, 5);
    for (const b of BENCHMARK_NAMES) expect(other[b].map((q) => q.question)).not.toEqual(benches[b].map((q) => q.question));
  });

  test("answerable: the gold chain's passages hold each hop (the oracle at top-1 solves most)", async () => {
    const retriever = memoryBm25Retriever(full.corpus);
    for (const b of BENCHMARK_NAMES) {
      const rep = await runOracle(benches[b].slice(0, 60) as WorldQuestion[], retriever, { topN: 5 });
      expect(rep.em, b).toBeGreaterThan(0.8);
    }
  });

  test("a fresh test sample: other questions over the same test entities; test.jsonl's questions unchanged", () => {
    const fresh = freshTestQuestions(full, 7, 100);
    expect(fresh).toHaveLength(100);
    expect(fresh[0].id).toBe("test-s7-0");
    const orig = new Set(full.questions.test.map((q) => q.question));
    expect(fresh.filter((q) => orig.has(q.question)).length).toBeLessThan(30);
    for (const q of fresh) for (const k of q.metadata.entities) expect(full.entities.byKey.get(k)!.split).toBe("test");
    expect(freshTestQuestions(full, 7, 100)).toEqual(fresh);
  });

  test("the world build writes them beside test.jsonl as FlashRAG JSONL; the other files are unchanged", async () => {
    const cfg = smallWorldConfig(3);
    const w = buildWorld(cfg);
    const dir = mkdtempSync(join(tmpdir(), "world-bench-"));
    const m = writeWorld(w, dir);
    expect(worldIsCurrent(dir, cfg)).toBe(true);
    for (const b of BENCHMARK_NAMES) {
      const qs = await loadQAArray(join(dir, benchmarkFile(b)));
      expect(qs).toHaveLength(cfg.benchmarks![b]!);
      expect(qs[0].golden_answers.length).toBeGreaterThan(0);
      expect(readWorldBenchmark(dir, b)[0].metadata.benchmark).toBe(b);
      expect(m.benchmarks[b].n).toBe(cfg.benchmarks![b]);
    }
    // test.jsonl is the split's questions, as before the benchmarks existed
    expect(readFileSync(join(dir, "test.jsonl"), "utf8")).toBe(w.questions.test.map((q) => JSON.stringify(q)).join("\n") + "\n");
    expect(WORLD_FILES).toEqual(["corpus.jsonl", "pretrain.jsonl", "train.jsonl", "test.jsonl", "manifest.json"]);
  });
});
