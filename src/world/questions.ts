/**
 * @module world/questions — questions over one split with golden answers (+ aliases) and the gold chain of passage
 * ids: 1-hop facts, 2/3/4-hop compositional chains (MuSiQue style: "Who founded the company that employs the spouse
 * of X?"), comparisons ("Who was born first, A or B?") and yes/no questions. Phrasing varies by template.
 */
import { createRng, pickWeighted, type Rng } from "../util/rng.js";
import type { QuestionMix, Split } from "./config.js";
import type { City, Company, Entities, Entity, EntityType, Film, Person } from "./entities.js";
import { pick } from "./names.js";

export type QuestionKind = "compositional" | "comparison" | "yesno";

/** FlashRAG QA format; metadata carries the world's ground truth. */
export interface WorldQuestion {
  id: string;
  question: string;
  golden_answers: string[];
  metadata: {
    split: Split;
    kind: QuestionKind;
    /** Passages needed to answer = hops. */
    hops: number;
    /** Gold chain: the passage of each hop's subject, in order. */
    chain: string[];
    relations: string[];
    /** Entity keys: the named entities and the bridge entities, in chain order. */
    entities: string[];
    /** The entity names the question mentions (what a good first query copies). */
    mentions: string[];
    /** Name of each chain passage's subject, aligned with `chain`: the query that finds that passage. */
    chainNames: string[];
  };
}

interface Relation {
  name: string;
  from: EntityType;
  to: EntityType | "year";
  get(e: Entity): string | number | undefined;
  np: string[];
  q: string[];
}

export const RELATIONS: Relation[] = [
  { name: "born_in", from: "person", to: "city", get: (e) => (e as Person).bornIn, np: ["the birthplace of {x}", "the city where {x} was born"], q: ["Where was {x} born?", "In which city was {x} born?", "What is the birthplace of {x}?"] },
  { name: "birth_year", from: "person", to: "year", get: (e) => (e as Person).birthYear, np: [], q: ["In what year was {x} born?", "When was {x} born?"] },
  { name: "spouse", from: "person", to: "person", get: (e) => (e as Person).spouse, np: ["the spouse of {x}", "the person married to {x}"], q: ["Who is the spouse of {x}?", "Who is {x} married to?"] },
  { name: "employer", from: "person", to: "company", get: (e) => (e as Person).employer, np: ["the company that employs {x}", "the employer of {x}"], q: ["Which company employs {x}?", "Who is the employer of {x}?", "For which company does {x} work?"] },
  { name: "founder", from: "company", to: "person", get: (e) => (e as Company).founder, np: ["the founder of {x}", "the person who founded {x}"], q: ["Who founded {x}?", "Who is the founder of {x}?"] },
  { name: "hq", from: "company", to: "city", get: (e) => (e as Company).hq, np: ["the city where {x} is headquartered", "the headquarters city of {x}"], q: ["Where is {x} headquartered?", "In which city is {x} based?"] },
  { name: "founded_year", from: "company", to: "year", get: (e) => (e as Company).foundedYear, np: [], q: ["In what year was {x} founded?", "When was {x} founded?"] },
  { name: "director", from: "film", to: "person", get: (e) => (e as Film).director, np: ["the director of {x}", "the person who directed {x}"], q: ["Who directed {x}?", "Who is the director of {x}?"] },
  { name: "release_year", from: "film", to: "year", get: (e) => (e as Film).year, np: [], q: ["In what year was {x} released?", "When did {x} come out?"] },
  { name: "country", from: "city", to: "country", get: (e) => (e as City).country, np: ["the country where {x} is located", "the country of {x}"], q: ["In which country is {x}?", "Which country is {x} located in?"] },
  { name: "capital", from: "country", to: "city", get: (e) => (e as { capital: string }).capital, np: ["the capital of {x}"], q: ["What is the capital of {x}?", "Which city is the capital of {x}?"] },
];

/** Pairs of consecutive relations that walk back to where they started. */
const BACKTRACK = new Set(["spouse>spouse", "country>capital", "capital>country"]);

const sub = (t: string, x: string) => t.replace("{x}", x);
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

export interface QuestionContext {
  ents: Entities;
  passageOf: Map<string, string>;
  split: Split;
  rng: Rng;
}

function answersOf(ents: Entities, v: string | number): string[] {
  if (typeof v === "number") return [String(v)];
  const e = ents.byKey.get(v)!;
  return [e.name, ...e.aliases];
}

/** A k-hop compositional question by a random walk over relations; null when the walk dead-ends. */
export function makeCompositional(ctx: QuestionContext, k: number): Omit<WorldQuestion, "id"> | null {
  const { ents, rng, split } = ctx;
  const starts: EntityType[] = ["person", "company", "film", "city", "country"];
  const startType = pick(rng, starts);
  const pool = ents.index[split][startType];
  let cur: Entity = ents.byKey.get(pick(rng, pool))!;
  const path: Entity[] = [cur];
  const rels: Relation[] = [];
  let value: string | number | undefined;
  for (let step = 0; step < k; step++) {
    const last = rels.at(-1)?.name;
    const options = RELATIONS.filter(
      (r) => r.from === cur.type && (step === k - 1 || r.to !== "year") && !BACKTRACK.has(`${last}>${r.name}`) && r.get(cur) !== undefined,
    );
    if (!options.length) return null;
    const r = pick(rng, options);
    value = r.get(cur)!;
    rels.push(r);
    if (typeof value === "string") {
      const next = ents.byKey.get(value)!;
      if (path.includes(next)) return null;
      if (step < k - 1) path.push(next);
      cur = next;
    }
  }
  let np = path[0].name;
  for (const r of rels.slice(0, -1)) np = sub(pick(rng, r.np), np);
  const question = cap(sub(pick(rng, rels.at(-1)!.q), np));
  return {
    question,
    golden_answers: answersOf(ents, value!),
    metadata: {
      split, kind: "compositional", hops: k, chain: path.map((e) => ctx.passageOf.get(e.key)!), relations: rels.map((r) => r.name),
      chainNames: path.map((e) => e.name),
      entities: [...path.map((e) => e.key), ...(typeof value === "string" ? [value] : [])], mentions: [path[0].name],
    },
  };
}

const COMPARE: { type: EntityType; year: (e: Entity) => number; first: string[]; later: string[] }[] = [
  { type: "person", year: (e) => (e as Person).birthYear, first: ["Who was born first, {a} or {b}?", "Who is older, {a} or {b}?"], later: ["Who was born later, {a} or {b}?", "Who is younger, {a} or {b}?"] },
  { type: "company", year: (e) => (e as Company).foundedYear, first: ["Which company was founded first, {a} or {b}?"], later: ["Which company was founded more recently, {a} or {b}?"] },
  { type: "film", year: (e) => (e as Film).year, first: ["Which film came out first, {a} or {b}?", "Which film is older, {a} or {b}?"], later: ["Which film was released later, {a} or {b}?"] },
];

export function makeComparison(ctx: QuestionContext): Omit<WorldQuestion, "id"> | null {
  const { ents, rng, split } = ctx;
  const c = pick(rng, COMPARE);
  const pool = ents.index[split][c.type];
  const a = ents.byKey.get(pick(rng, pool))!;
  const b = ents.byKey.get(pick(rng, pool))!;
  if (a === b || c.year(a) === c.year(b)) return null;
  const askFirst = rng.next() < 0.5;
  const earlier = c.year(a) < c.year(b) ? a : b;
  const answer = askFirst ? earlier : earlier === a ? b : a;
  const question = pick(rng, askFirst ? c.first : c.later).replace("{a}", a.name).replace("{b}", b.name);
  return {
    question,
    golden_answers: [answer.name, ...answer.aliases],
    metadata: { split, kind: "comparison", hops: 2, chain: [a, b].map((e) => ctx.passageOf.get(e.key)!), relations: [c.type === "person" ? "birth_year" : c.type === "company" ? "founded_year" : "release_year"], entities: [a.key, b.key], mentions: [a.name, b.name], chainNames: [a.name, b.name] },
  };
}

/** A "no" candidate that shares a surface word with the true value when one exists (a name distractor). */
function lookalike(ctx: QuestionContext, truth: Entity): Entity {
  const pool = ctx.ents.index[ctx.split][truth.type].map((k) => ctx.ents.byKey.get(k)!).filter((e) => e !== truth);
  const words = new Set(truth.name.split(" ").filter((w) => w !== "The"));
  const similar = pool.filter((e) => e.name.split(" ").some((w) => words.has(w)));
  return pick(ctx.rng, similar.length ? similar : pool);
}

export function makeYesNo(ctx: QuestionContext): Omit<WorldQuestion, "id"> | null {
  const { ents, rng, split } = ctx;
  const yes = rng.next() < 0.5;
  const people = ents.index[split].person;
  const kind = rng.int(4);
  const P = (k: string) => ctx.passageOf.get(k)!;
  const meta = (hops: number, chain: string[], relation: string, entities: string[], mentions: string[]) => ({ split, kind: "yesno" as const, hops, chain, relations: [relation], entities, mentions, chainNames: mentions.slice(0, hops) });
  if (kind === 3) {
    const a = ents.byKey.get(pick(rng, people)) as Person;
    const same = people.filter((k) => k !== a.key && (ents.byKey.get(k) as Person).bornIn === a.bornIn);
    const b = ents.byKey.get(yes && same.length ? pick(rng, same) : pick(rng, people)) as Person;
    if (b === a) return null;
    const answer = a.bornIn === b.bornIn ? "yes" : "no";
    return { question: `Were ${a.name} and ${b.name} born in the same city?`, golden_answers: [answer], metadata: meta(2, [P(a.key), P(b.key)], "born_in", [a.key, b.key], [a.name, b.name]) };
  }
  const table: { type: EntityType; rel: string; value: (e: Entity) => string; q: string[] }[] = [
    { type: "person", rel: "born_in", value: (e) => (e as Person).bornIn, q: ["Was {x} born in {y}?"] },
    { type: "person", rel: "employer", value: (e) => (e as Person).employer, q: ["Does {x} work for {y}?", "Is {x} employed by {y}?"] },
    { type: "film", rel: "director", value: (e) => (e as Film).director, q: ["Was {x} directed by {y}?"] },
  ];
  const t = table[kind];
  const x = ents.byKey.get(pick(rng, ents.index[split][t.type]))!;
  const truth = ents.byKey.get(t.value(x))!;
  const y = yes ? truth : lookalike(ctx, truth);
  const question = pick(rng, t.q).replace("{x}", x.name).replace("{y}", y.name);
  return { question, golden_answers: [y === truth ? "yes" : "no"], metadata: meta(1, [P(x.key)], t.rel, [x.key, y.key], [x.name, y.name]) };
}

/** `n` distinct questions of one split, kinds drawn by the mix weights. */
export function generateQuestions(ents: Entities, passageOf: Map<string, string>, split: Split, n: number, mix: QuestionMix, seed: number): WorldQuestion[] {
  const rng = createRng(seed);
  const ctx: QuestionContext = { ents, passageOf, split, rng };
  const kinds: [string, number][] = Object.entries(mix);
  const weights = kinds.map(([, w]) => w);
  if (weights.reduce((s, w) => s + w, 0) <= 0) throw new Error("question mix weights sum to 0");
  const seen = new Set<string>();
  const out: WorldQuestion[] = [];
  let guard = 0;
  while (out.length < n) {
    if (++guard > n * 200) throw new Error(`could only make ${out.length}/${n} distinct ${split} questions; the world is too small`);
    const kind = kinds[pickWeighted(rng, weights, 0)][0];
    const q =
      kind === "comparison" ? makeComparison(ctx)
      : kind === "yesno" ? makeYesNo(ctx)
      : makeCompositional(ctx, Number(kind.slice(3)));
    if (!q || seen.has(q.question)) continue;
    seen.add(q.question);
    out.push({ id: `${split}-${out.length}`, ...q });
  }
  return out;
}
