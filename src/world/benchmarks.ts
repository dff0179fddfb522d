/**
 * @module world/benchmarks — four test "benchmarks" over the world's test split, each its own FlashRAG JSONL with its
 * own question style, like the four the ReSearch paper evaluates on (Table 2):
 *
 * - `musique`: compositional chains of 2–4 hops, the style of the training questions ("Who founded the company that
 *   employs the spouse of X?");
 * - `hotpotqa`: bridge questions (2 hops, the bridge phrase first: "The director of X was born in which city?") and
 *   comparisons of two entities ("Who was born first, A or B?");
 * - `2wiki`: templated 2-hop relations with typed mentions and their own wording ("Where was the director of film X
 *   born?", "Which country was X born in?");
 * - `bamboogle`: a small hand-style set of paraphrased 2-hop questions ("In which city was the person who directed X
 *   born?").
 *
 * They are generated beside test.jsonl and never change it, the other splits or the vocabulary (`worldVocab` reads
 * only `world.questions`): every word of their templates is already a word of the corpus or of the world's own
 * question templates, so a word-level tokenizer of the world reads them without `<unk>` (tested). Deterministic given
 * the world seed (and `benchmarkSeed`). No question text leaks its answer: a question is dropped when a golden answer
 * or a bridge entity's name appears in it as a whole-word span (comparisons name both candidates by design: the answer
 * is one of the two names the question gives; no year appears in one).
 */
import { normalizeAnswer } from "../reward/normalize.js";
import { createRng, pickWeighted, type Rng } from "../util/rng.js";
import type { World } from "./build.js";
import type { Entity, EntityType } from "./entities.js";
import { pick } from "./names.js";
import { generateQuestions, makeComparison, makeCompositional, RELATIONS, type QuestionContext, type WorldQuestion } from "./questions.js";

export const BENCHMARK_NAMES = ["musique", "hotpotqa", "2wiki", "bamboogle"] as const;
export type BenchmarkName = (typeof BENCHMARK_NAMES)[number];

/** Questions per benchmark when the world config gives none (Bamboogle is small, as the real one: 125). */
export const BENCHMARK_DEFAULT_SIZES: Record<BenchmarkName, number> = { musique: 200, hotpotqa: 200, "2wiki": 200, bamboogle: 50 };

/** The file a benchmark is written to, in the world directory, beside test.jsonl. */
export const benchmarkFile = (name: BenchmarkName) => `bench-${name}.jsonl`;

/** A benchmark question: a world question whose metadata also names its benchmark and style. */
export type BenchmarkQuestion = WorldQuestion & { metadata: WorldQuestion["metadata"] & { benchmark: BenchmarkName; style: string } };

const REL = new Map(RELATIONS.map((r) => [r.name, r]));

/** A 2-hop template: relation r1 from the mention to the bridge entity, r2 from the bridge to the answer. */
interface TwoHop {
  r1: string;
  r2: string;
  /** `{x}` = the mention's name. */
  q: string[];
}

/** HotpotQA-like bridges: the bridge phrase first, then the asked relation ("… was born in which city?"). */
const BRIDGE_NP: Record<string, string[]> = {
  spouse: ["The spouse of {x}", "The person married to {x}"],
  employer: ["The company that employs {x}", "The employer of {x}"],
  founder: ["The founder of {x}", "The person who founded {x}"],
  hq: ["The city where {x} is headquartered"],
  director: ["The director of {x}", "The person who directed {x}"],
  born_in: ["The city where {x} was born", "The birthplace of {x}"],
  capital: ["The capital of {x}"],
};
const BRIDGE_TAIL: Record<string, string[]> = {
  born_in: ["was born in which city?", "was born where?"],
  birth_year: ["was born in what year?"],
  spouse: ["is married to which person?"],
  employer: ["works for which company?"],
  founder: ["was founded by which person?"],
  hq: ["is headquartered in which city?", "is based in which city?"],
  founded_year: ["was founded in what year?"],
  country: ["is located in which country?", "lies in which country?"],
};

/** 2Wiki-like templates: fixed relation pairs, the mention typed ("film X", "company X"). */
const WIKI2: TwoHop[] = [
  { r1: "director", r2: "born_in", q: ["Where was the director of film {x} born?"] },
  { r1: "director", r2: "birth_year", q: ["When was the director of film {x} born?"] },
  { r1: "director", r2: "spouse", q: ["Who is the spouse of the director of film {x}?"] },
  { r1: "director", r2: "employer", q: ["Which company employs the director of film {x}?"] },
  { r1: "founder", r2: "born_in", q: ["Where was the founder of company {x} born?"] },
  { r1: "founder", r2: "birth_year", q: ["When was the founder of company {x} born?"] },
  { r1: "founder", r2: "spouse", q: ["Who is the spouse of the founder of company {x}?"] },
  { r1: "spouse", r2: "born_in", q: ["Where was the spouse of {x} born?"] },
  { r1: "spouse", r2: "employer", q: ["Which company employs the spouse of {x}?"] },
  { r1: "employer", r2: "hq", q: ["Where are the headquarters of the company {x} works for?"] },
  { r1: "employer", r2: "founder", q: ["Who is the founder of the company {x} works for?"] },
  { r1: "born_in", r2: "country", q: ["Which country was {x} born in?"] },
  { r1: "hq", r2: "country", q: ["Which country is company {x} headquartered in?"] },
];

/** Bamboogle-like paraphrases: relative clauses and two-sentence questions. */
const BAMBOOGLE: TwoHop[] = [
  { r1: "director", r2: "born_in", q: ["In which city was the person who directed {x} born?"] },
  { r1: "director", r2: "spouse", q: ["Who is married to the person who directed {x}?"] },
  { r1: "founder", r2: "birth_year", q: ["What year was the person who founded {x} born?"] },
  { r1: "founder", r2: "employer", q: ["Which company does the person who founded {x} work for?"] },
  { r1: "spouse", r2: "employer", q: ["Which company is the person married to {x} employed by?"] },
  { r1: "employer", r2: "hq", q: ["{x} works for a company. In which city is that company based?"] },
  { r1: "born_in", r2: "country", q: ["{x} was born in a city. In which country is that city?"] },
  { r1: "hq", r2: "country", q: ["{x} is based in a city. Which country is that city located in?"] },
  { r1: "capital", r2: "country", q: ["The capital of {x} is a city. Which country is it the capital of?"] },
];

const TYPE_OF: Record<string, EntityType> = { person: "person", company: "company", film: "film", city: "city", country: "country" };

/** Whole-word containment after answer normalisation (lower case, no punctuation or articles). */
function hasSpan(text: string, span: string): boolean {
  const n = normalizeAnswer(span);
  return n.length > 0 && ` ${normalizeAnswer(text)} `.includes(` ${n} `);
}

/**
 * Why a question leaks, or null: a golden answer or a bridge entity's name is a span of the question text
 * (comparisons: the answer must be one of the two named candidates and no year may appear).
 */
export function leakOf(q: WorldQuestion, nameOf: (key: string) => string | undefined): string | null {
  const md = q.metadata;
  if (md.kind === "comparison") {
    if (/\b\d{3,4}\b/.test(q.question)) return "a year in a comparison question";
    return md.mentions.includes(q.golden_answers[0]) ? null : "comparison answer is not one of its candidates";
  }
  for (const a of q.golden_answers) if (hasSpan(q.question, a)) return `answer "${a}" in the question`;
  for (const key of md.entities) {
    const name = nameOf(key);
    if (name && !md.mentions.includes(name) && hasSpan(q.question, name)) return `bridge entity "${name}" in the question`;
  }
  return null;
}

/** A 2-hop question from one of `templates`; null when the walk dead-ends or loops back. */
function makeTwoHop(ctx: QuestionContext, templates: TwoHop[], rewrite?: (r1: string, r2: string, x: string, rng: Rng) => string | null): Omit<WorldQuestion, "id"> | null {
  const { ents, rng, split } = ctx;
  const t = pick(rng, templates);
  const r1 = REL.get(t.r1)!;
  const r2 = REL.get(t.r2)!;
  const pool = ents.index[split][TYPE_OF[r1.from]];
  if (!pool?.length) return null;
  const x: Entity = ents.byKey.get(pick(rng, pool))!;
  const v1 = r1.get(x);
  if (typeof v1 !== "string") return null;
  const bridge = ents.byKey.get(v1)!;
  if (bridge.type !== r2.from) return null;
  const v2 = r2.get(bridge);
  if (v2 === undefined || v2 === x.key) return null;
  const text = rewrite ? rewrite(t.r1, t.r2, x.name, rng) : pick(rng, t.q).replace("{x}", x.name);
  if (text === null) return null;
  const answers = typeof v2 === "number" ? [String(v2)] : [ents.byKey.get(v2)!.name, ...ents.byKey.get(v2)!.aliases];
  return {
    question: text,
    golden_answers: answers,
    metadata: {
      split, kind: "compositional", hops: 2, chain: [x, bridge].map((e) => ctx.passageOf.get(e.key)!), relations: [t.r1, t.r2],
      entities: [x.key, bridge.key, ...(typeof v2 === "string" ? [v2] : [])], mentions: [x.name], chainNames: [x.name, bridge.name],
    },
  };
}

/** HotpotQA-like bridge: any r1 with a bridge phrase, any r2 with a tail that applies to the bridge's type. */
function makeBridge(ctx: QuestionContext): Omit<WorldQuestion, "id"> | null {
  const pairs: TwoHop[] = [];
  for (const r1 of RELATIONS) {
    if (!BRIDGE_NP[r1.name] || r1.to === "year") continue;
    for (const r2 of RELATIONS) {
      if (!BRIDGE_TAIL[r2.name] || r2.from !== r1.to) continue;
      if (`${r1.name}>${r2.name}` === "spouse>spouse" || `${r1.name}>${r2.name}` === "capital>country") continue;
      pairs.push({ r1: r1.name, r2: r2.name, q: [] });
    }
  }
  return makeTwoHop(ctx, pairs, (a, b, x, rng) => `${pick(rng, BRIDGE_NP[a]).replace("{x}", x)} ${pick(rng, BRIDGE_TAIL[b])}`);
}

/** Generators and weights of each benchmark's question styles. */
const STYLES: Record<BenchmarkName, [string, number, (ctx: QuestionContext) => Omit<WorldQuestion, "id"> | null][]> = {
  musique: [
    ["chain2", 0.55, (c) => makeCompositional(c, 2)],
    ["chain3", 0.3, (c) => makeCompositional(c, 3)],
    ["chain4", 0.15, (c) => makeCompositional(c, 4)],
  ],
  hotpotqa: [
    ["bridge", 0.6, makeBridge],
    ["comparison", 0.4, makeComparison],
  ],
  "2wiki": [["template", 1, (c) => makeTwoHop(c, WIKI2)]],
  bamboogle: [["paraphrase", 1, (c) => makeTwoHop(c, BAMBOOGLE)]],
};

/** The seed of one benchmark: from the world seed, the benchmark's place and an optional extra seed. */
export function benchmarkSeed(worldSeed: number, name: BenchmarkName, extra = 0): number {
  return (Math.imul(worldSeed, 104729) + (BENCHMARK_NAMES.indexOf(name) + 1) * 15485863 + Math.imul(extra, 2654435761)) | 0;
}

/**
 * `n` distinct test-split questions of one benchmark (ids `<name>-<i>`), none of whose text leaks its answer.
 * Throws when the world is too small to make them.
 */
export function generateBenchmark(world: World, name: BenchmarkName, n: number, extraSeed = 0): BenchmarkQuestion[] {
  const rng = createRng(benchmarkSeed(world.config.seed, name, extraSeed));
  const ctx: QuestionContext = { ents: world.entities, passageOf: world.passageOf, split: "test", rng };
  const styles = STYLES[name];
  const weights = styles.map(([, w]) => w);
  const nameOf = (k: string) => world.entities.byKey.get(k)?.name;
  const seen = new Set<string>();
  const out: BenchmarkQuestion[] = [];
  let guard = 0;
  while (out.length < n) {
    if (++guard > n * 400) throw new Error(`benchmark ${name}: could only make ${out.length}/${n} distinct test questions; the world is too small`);
    const [style, , make] = styles[pickWeighted(rng, weights, 0)];
    const q = make(ctx);
    if (!q || seen.has(q.question) || leakOf(q as WorldQuestion, nameOf) !== null) continue;
    seen.add(q.question);
    out.push({ id: `${name}-${out.length}`, ...q, metadata: { ...q.metadata, benchmark: name, style } } as BenchmarkQuestion);
  }
  return out;
}

/** Every benchmark of the world, at the given sizes (default BENCHMARK_DEFAULT_SIZES). */
export function generateBenchmarks(world: World, sizes: Partial<Record<BenchmarkName, number>> = {}, extraSeed = 0): Record<BenchmarkName, BenchmarkQuestion[]> {
  return Object.fromEntries(BENCHMARK_NAMES.map((b) => [b, generateBenchmark(world, b, sizes[b] ?? BENCHMARK_DEFAULT_SIZES[b], extraSeed)])) as Record<BenchmarkName, BenchmarkQuestion[]>;
}

/**
 * A fresh sample of test questions (the world's own question mix and templates) over the same test entities, from
 * another seed: questions no config was tuned on. Ids are `test-s<seed>-<i>`; test.jsonl is untouched.
 */
export function freshTestQuestions(world: World, seed: number, n: number = world.config.questions.test): WorldQuestion[] {
  return generateQuestions(world.entities, world.passageOf, "test", n, world.config.mix, Math.imul(seed, 2246822519) ^ 0x7e57).map((q, i) => ({ ...q, id: `test-s${seed}-${i}` }));
}
