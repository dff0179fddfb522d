/**
 * @module world/entities — the typed entities and relations of the synthetic world, generated from a seed.
 * Relations: born in (person → city), birth year, spouse (person ↔ person), employer (person → company),
 * founder (company → person), headquarters (company → city), founding year, director (film → person), release year,
 * located in (city → country), capital (country → city). Every split has its own entities; relations never cross splits.
 */
import { createRng, type Rng } from "../util/rng.js";
import type { Split, WorldConfig } from "./config.js";
import { SPLITS } from "./config.js";
import {
  CITY_SUFFIXES, COMPANY_SUFFIXES, COUNTRY_PREFIXES, FILM_ADJECTIVES, FILM_NOUNS, GOVERNMENTS, INDUSTRIES, OCCUPATIONS,
  makeWords, pick, shuffle,
} from "./names.js";

export type EntityType = "person" | "city" | "country" | "company" | "film";

interface Base {
  /** Stable key, e.g. `test:person:12`. */
  key: string;
  type: EntityType;
  split: Split;
  name: string;
  /** Other names the entity goes by (answers accept them). */
  aliases: string[];
}
export interface Person extends Base {
  type: "person";
  first: string;
  last: string;
  gender: "m" | "f";
  occupation: string;
  birthYear: number;
  bornIn: string; // city key
  employer: string; // company key
  spouse?: string; // person key
}
export interface City extends Base {
  type: "city";
  root: string;
  country: string; // country key
  population: number;
}
export interface Country extends Base {
  type: "country";
  root: string;
  government: string;
  capital: string; // city key
}
export interface Company extends Base {
  type: "company";
  root: string;
  industry: string;
  founder: string; // person key
  hq: string; // city key
  foundedYear: number;
}
export interface Film extends Base {
  type: "film";
  director: string; // person key
  year: number;
}
export type Entity = Person | City | Country | Company | Film;

export interface Entities {
  byKey: Map<string, Entity>;
  /** Keys per split and type, in generation order. */
  index: Record<Split, Record<EntityType, string[]>>;
  /** The name-part pools (for the manifest and the tokenizer). */
  pools: { firstNames: string[]; surnames: string[]; roots: string[] };
}

/** Draw `n` distinct combinations `make(a, b)` of two pools, skipping those in `used`. */
function combos<A, B>(rng: Rng, n: number, as: readonly A[], bs: readonly B[], used: Set<string>, make: (a: A, b: B) => string): { a: A; b: B; name: string }[] {
  if (n > as.length * bs.length - used.size) throw new Error(`world too large: ${n} names from ${as.length}×${bs.length}`);
  const out: { a: A; b: B; name: string }[] = [];
  while (out.length < n) {
    const a = pick(rng, as);
    const b = pick(rng, bs);
    const name = make(a, b);
    if (used.has(name)) continue;
    used.add(name);
    out.push({ a, b, name });
  }
  return out;
}

export function generateEntities(config: WorldConfig): Entities {
  const rng = createRng(config.seed);
  const s = config.sizes;
  const [y0, y1] = config.yearRange;
  const year = () => y0 + rng.int(y1 - y0 + 1);
  const taken = new Set<string>();
  const nSplits = SPLITS.length;
  // Pools sized so each split's entities use most parts: shared parts across splits are the distractors.
  const firstM = makeWords(rng, Math.max(20, Math.ceil(Math.sqrt(s.people * nSplits) * 1.2)), taken);
  const firstF = makeWords(rng, firstM.length, taken);
  const surnames = makeWords(rng, Math.max(24, Math.ceil(Math.sqrt(s.people * nSplits) * 2)), taken);
  const roots = makeWords(rng, Math.max(24, Math.ceil(Math.max(s.cities, s.countries, s.companies) * nSplits / 5)), taken);
  const byKey = new Map<string, Entity>();
  const index = {} as Entities["index"];
  const usedPeople = new Set<string>();
  const usedCities = new Set<string>();
  const usedCountries = new Set<string>();
  const usedCompanies = new Set<string>();
  const usedFilms = new Set<string>();
  for (const split of SPLITS) {
    const key = (t: EntityType, i: number) => `${split}:${t}:${i}`;
    const idx: Record<EntityType, string[]> = { person: [], city: [], country: [], company: [], film: [] };
    index[split] = idx;
    const add = (e: Entity) => {
      byKey.set(e.key, e);
      idx[e.type].push(e.key);
    };
    // countries first: each gets a capital among the first cities
    const countryNames = combos(rng, s.countries, COUNTRY_PREFIXES, roots, usedCountries, (p, r) => `${p} ${r}`);
    const cityNames = combos(rng, s.cities, roots, CITY_SUFFIXES, usedCities, (r, x) => `${r} ${x}`);
    const companyNames = combos(rng, s.companies, roots, COMPANY_SUFFIXES, usedCompanies, (r, x) => `${r} ${x}`);
    const filmNames = combos(rng, s.films, FILM_ADJECTIVES, FILM_NOUNS, usedFilms, (a, n) => `The ${a} ${n}`);
    const people = combos(rng, s.people, [...firstM, ...firstF], surnames, usedPeople, (f, l) => `${f} ${l}`);
    const cityCountry = cityNames.map((_, i) => (i < countryNames.length ? i : rng.int(countryNames.length)));
    countryNames.forEach((c, i) => {
      const government = pick(rng, GOVERNMENTS);
      add({ key: key("country", i), type: "country", split, name: c.name, aliases: [`${government} of ${c.name}`], root: c.b, government, capital: key("city", i % cityNames.length) });
    });
    cityNames.forEach((c, i) => {
      add({ key: key("city", i), type: "city", split, name: c.name, aliases: [], root: c.a, country: key("country", cityCountry[i]), population: 10000 * (1 + rng.int(90)) });
    });
    people.forEach((p, i) => {
      add({
        key: key("person", i), type: "person", split, name: p.name, aliases: [], first: p.a, last: p.b,
        gender: firstM.includes(p.a) ? "m" : "f", occupation: pick(rng, OCCUPATIONS), birthYear: year(),
        bornIn: key("city", rng.int(cityNames.length)), employer: key("company", rng.int(companyNames.length)),
      });
    });
    // half the people form couples
    const order = shuffle(rng, people.map((_, i) => i));
    for (let i = 0; i + 1 < order.length / 2; i += 2) {
      const a = byKey.get(key("person", order[i])) as Person;
      const b = byKey.get(key("person", order[i + 1])) as Person;
      a.spouse = b.key;
      b.spouse = a.key;
    }
    companyNames.forEach((c, i) => {
      add({
        key: key("company", i), type: "company", split, name: c.name, aliases: [], root: c.a, industry: pick(rng, INDUSTRIES),
        founder: key("person", rng.int(people.length)), hq: key("city", rng.int(cityNames.length)), foundedYear: year(),
      });
    });
    filmNames.forEach((f, i) => {
      add({ key: key("film", i), type: "film", split, name: f.name, aliases: [f.name.replace(/^The /, "")], director: key("person", rng.int(people.length)), year: year() });
    });
  }
  return { byKey, index, pools: { firstNames: [...firstM, ...firstF], surnames, roots } };
}

export function getEntity<T extends Entity>(ents: Entities, key: string): T {
  const e = ents.byKey.get(key);
  if (!e) throw new Error(`no entity ${key}`);
  return e as T;
}
