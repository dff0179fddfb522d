/**
 * @module world/build — build the whole synthetic world from a config (entities → passages → questions → manifest)
 * and write it as FlashRAG files: corpus.jsonl, pretrain.jsonl, train.jsonl, test.jsonl, manifest.json.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Passage } from "../retrieval/types.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fs.js";
import { UserError } from "../util/errors.js";
import { SPLITS, WorldConfigSchema, type Split, type WorldConfig } from "./config.js";
import { generateEntities, type Entities } from "./entities.js";
import { renderPassages } from "./passages.js";
import { generateQuestions, type WorldQuestion } from "./questions.js";
import { BENCHMARK_NAMES, benchmarkFile, generateBenchmarks, type BenchmarkName, type BenchmarkQuestion } from "./benchmarks.js";

export interface World {
  config: WorldConfig;
  entities: Entities;
  corpus: Passage[];
  passageOf: Map<string, string>;
  questions: Record<Split, WorldQuestion[]>;
}

export function buildWorld(config: WorldConfig): World {
  const entities = generateEntities(config);
  const { passages, passageOf } = renderPassages(entities, config.seed);
  const questions = {} as Record<Split, WorldQuestion[]>;
  SPLITS.forEach((split, i) => {
    questions[split] = generateQuestions(entities, passageOf, split, config.questions[split], config.mix, config.seed * 7919 + i + 1);
  });
  return { config, entities, corpus: passages, passageOf, questions };
}

export interface HopStats {
  n: number;
  byHops: Record<string, number>;
  byKind: Record<string, number>;
  /** Fraction of questions that need ≥ 2 passages. */
  multiHopRate: number;
}

export function hopStats(qs: WorldQuestion[]): HopStats {
  const byHops: Record<string, number> = {};
  const byKind: Record<string, number> = {};
  for (const q of qs) {
    byHops[q.metadata.hops] = (byHops[q.metadata.hops] ?? 0) + 1;
    byKind[q.metadata.kind] = (byKind[q.metadata.kind] ?? 0) + 1;
  }
  return { n: qs.length, byHops, byKind, multiHopRate: qs.length ? qs.filter((q) => q.metadata.hops >= 2).length / qs.length : 0 };
}

/** Fraction of entities whose name shares a word (other than "The") with another entity's name: the name distractors. */
export function sharedNameRate(ents: Entities): number {
  const count = new Map<string, number>();
  const words = (n: string) => [...new Set(n.split(" ").filter((w) => w !== "The"))];
  for (const e of ents.byKey.values()) for (const w of words(e.name)) count.set(w, (count.get(w) ?? 0) + 1);
  let shared = 0;
  for (const e of ents.byKey.values()) if (words(e.name).some((w) => count.get(w)! > 1)) shared++;
  return shared / ents.byKey.size;
}

export function worldManifest(world: World, files: Record<string, string> = {}) {
  const counts = Object.fromEntries(SPLITS.map((s) => [s, Object.fromEntries(Object.entries(world.entities.index[s]).map(([t, ks]) => [t, ks.length]))]));
  const years = new Set<string>();
  for (const e of world.entities.byKey.values()) {
    if (e.type === "person") years.add(String(e.birthYear));
    if (e.type === "company") years.add(String(e.foundedYear));
    if (e.type === "film") years.add(String(e.year));
  }
  return {
    format: "research-ts/world@1",
    seed: world.config.seed,
    config: world.config,
    entities: counts,
    passages: world.corpus.length,
    distinctYears: years.size,
    sharedNameRate: Number(sharedNameRate(world.entities).toFixed(4)),
    questions: Object.fromEntries(SPLITS.map((s) => [s, hopStats(world.questions[s])])),
    namePools: { firstNames: world.entities.pools.firstNames.length, surnames: world.entities.pools.surnames.length, roots: world.entities.pools.roots.length },
    disjoint: "every split has its own people, cities, countries, companies and films; relations never cross splits; only name parts are shared",
    files,
  };
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

export const WORLD_FILES = ["corpus.jsonl", "pretrain.jsonl", "train.jsonl", "test.jsonl", "manifest.json"] as const;
/** The four test benchmarks (world/benchmarks.ts), written beside test.jsonl. */
export const BENCHMARK_FILES = BENCHMARK_NAMES.map(benchmarkFile);

/** The world's four test benchmarks at the config's sizes. */
export function worldBenchmarks(world: World): Record<BenchmarkName, BenchmarkQuestion[]> {
  const { seed, ...sizes } = world.config.benchmarks ?? {};
  return generateBenchmarks(world, sizes, seed ?? 0);
}

/** Write the world's files into `dir` (each atomically); returns the manifest. */
export function writeWorld(world: World, dir: string) {
  const texts: Record<string, string> = {
    "corpus.jsonl": jsonl(world.corpus),
    "pretrain.jsonl": jsonl(world.questions.pretrain),
    "train.jsonl": jsonl(world.questions.train),
    "test.jsonl": jsonl(world.questions.test),
  };
  const benchmarks = worldBenchmarks(world);
  for (const b of BENCHMARK_NAMES) texts[benchmarkFile(b)] = jsonl(benchmarks[b]);
  const files: Record<string, string> = {};
  for (const [name, text] of Object.entries(texts)) {
    writeFileAtomic(join(dir, name), text);
    files[name] = sha256(text);
  }
  const manifest = { ...worldManifest(world, files), benchmarks: Object.fromEntries(BENCHMARK_NAMES.map((b) => [b, { file: benchmarkFile(b), ...hopStats(benchmarks[b]) }])) };
  writeJsonAtomic(join(dir, "manifest.json"), manifest);
  return manifest;
}

/** True when `dir` holds a world built from exactly this config (so it can be reused). */
export function worldIsCurrent(dir: string, config: WorldConfig): boolean {
  const path = join(dir, "manifest.json");
  if (!existsSync(path) || [...WORLD_FILES, ...BENCHMARK_FILES].some((f) => !existsSync(join(dir, f)))) return false;
  try {
    const m = JSON.parse(readFileSync(path, "utf8")) as { config?: unknown };
    return JSON.stringify(m.config) === JSON.stringify(WorldConfigSchema.parse(config));
  } catch {
    return false;
  }
}

/** Read a built world's questions of one split (FlashRAG jsonl). */
export function readWorldQuestions(dir: string, split: Split): WorldQuestion[] {
  const path = join(dir, `${split}.jsonl`);
  if (!existsSync(path)) throw new UserError(`world file not found: ${path} (run: research world build --out ${dir})`);
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as WorldQuestion);
}

/** Read one of a built world's test benchmarks (bench-<name>.jsonl). */
export function readWorldBenchmark(dir: string, name: BenchmarkName): BenchmarkQuestion[] {
  const path = join(dir, benchmarkFile(name));
  if (!existsSync(path)) throw new UserError(`benchmark file not found: ${path} (rebuild the world: research world build --out ${dir})`);
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as BenchmarkQuestion);
}
