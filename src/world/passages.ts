/**
 * @module world/passages — one wiki-style passage (≤ 100 words, FlashRAG `{"id", "contents": "\"Title\"\ntext"}`)
 * per entity, each fact worded by one of several sentence templates picked by the seeded generator.
 * The facts live only here: questions name entities, never facts.
 */
import type { Passage } from "../retrieval/types.js";
import { createRng, type Rng } from "../util/rng.js";
import { pick } from "./names.js";
import type { City, Company, Country, Entities, Entity, Film, Person } from "./entities.js";

export const MAX_PASSAGE_WORDS = 100;

type Fill = Record<string, string | number>;
const fill = (t: string, v: Fill) => t.replace(/\{(\w+)\}/g, (_, k: string) => String(v[k]));

const PERSON_BIRTH = [
  "{name} was born in {city} in {year}.",
  "{name} (born {year} in {city}) is a {occ}.",
  "Born in {city} in {year}, {name} is a {occ}.",
  "{name} is a {occ} who was born in the city of {city} in {year}.",
];
const PERSON_OCC = ["{last} works as a {occ}.", "By profession {last} is a {occ}.", "{last} trained as a {occ}."];
const PERSON_SPOUSE = ["{Pron} is married to {spouse}.", "{last} married {spouse}.", "The spouse of {last} is {spouse}."];
const PERSON_EMPLOYER = ["{last} works for {company}.", "{Pron} is employed by {company}.", "{last} has worked at {company} for many years."];
const PERSON_FOUNDED = ["{last} founded {x}.", "{Pron} is the founder of {x}."];
const PERSON_DIRECTED = ["{last} directed the film {x}.", "{Pron} is known as the director of {x}."];
const CITY_COUNTRY = ["{name} is a city in {country}.", "{name} is a town located in {country}.", "{name} lies in the country of {country}."];
const CITY_POP = ["{name} has a population of about {pop}.", "About {pop} people live in {name}.", "The population of {name} is roughly {pop}."];
const CITY_CAPITAL = ["{name} is the national capital.", "It is the capital city of the country."];
const COUNTRY_INTRO = ["{name}, officially the {gov} of {name}, is a country.", "{name} is a country, known formally as the {gov} of {name}."];
const COUNTRY_CAPITAL = ["Its capital is {capital}.", "The capital of {name} is {capital}.", "The seat of government of {name} is the city of {capital}."];
const COMPANY_FOUNDED = [
  "{name} is a {industry} company founded in {year} by {founder}.",
  "{name} was founded by {founder} in {year}.",
  "{founder} founded the {industry} firm {name} in {year}.",
];
const COMPANY_HQ = ["{name} is headquartered in {city}.", "{name} is based in {city}.", "The headquarters of {name} are in {city}."];
const FILM_INTRO = [
  "{name} is a {year} film directed by {director}.",
  "{name} was directed by {director} and released in {year}.",
  "Released in {year}, {name} is a film by the director {director}.",
];
const FILM_MORE = ["{name} was well received.", "{name} was shot on location.", "{name} is a drama in three acts."];

function personText(rng: Rng, p: Person, ents: Entities, founded: string[], directed: string[]): string {
  const name = (k: string) => ents.byKey.get(k)!.name;
  const v: Fill = { name: p.name, last: p.last, Pron: p.gender === "m" ? "He" : "She", occ: p.occupation, city: name(p.bornIn), year: p.birthYear, company: name(p.employer) };
  const birth = pick(rng, PERSON_BIRTH);
  const parts = [fill(birth, v)];
  if (!birth.includes("{occ}")) parts.push(fill(pick(rng, PERSON_OCC), v));
  if (p.spouse) parts.push(fill(pick(rng, PERSON_SPOUSE), { ...v, spouse: name(p.spouse) }));
  parts.push(fill(pick(rng, PERSON_EMPLOYER), v));
  if (founded.length) parts.push(fill(pick(rng, PERSON_FOUNDED), { ...v, x: name(founded[0]) }));
  if (directed.length) parts.push(fill(pick(rng, PERSON_DIRECTED), { ...v, x: name(directed[0]) }));
  return parts.join(" ");
}

function entityText(rng: Rng, e: Entity, ents: Entities, inverse: Map<string, { founded: string[]; directed: string[]; capitalOf?: string }>): string {
  const name = (k: string) => ents.byKey.get(k)!.name;
  switch (e.type) {
    case "person": {
      const inv = inverse.get(e.key);
      return personText(rng, e, ents, inv?.founded ?? [], inv?.directed ?? []);
    }
    case "city": {
      const c = e as City;
      const v: Fill = { name: c.name, country: name(c.country), pop: c.population };
      const parts = [fill(pick(rng, CITY_COUNTRY), v), fill(pick(rng, CITY_POP), v)];
      const capitalOf = inverse.get(c.key)?.capitalOf;
      if (capitalOf) parts.push(fill(pick(rng, CITY_CAPITAL), v));
      return parts.join(" ");
    }
    case "country": {
      const c = e as Country;
      const v: Fill = { name: c.name, gov: c.government, capital: name(c.capital) };
      return [fill(pick(rng, COUNTRY_INTRO), v), fill(pick(rng, COUNTRY_CAPITAL), v)].join(" ");
    }
    case "company": {
      const c = e as Company;
      const v: Fill = { name: c.name, industry: c.industry, year: c.foundedYear, founder: name(c.founder), city: name(c.hq) };
      return [fill(pick(rng, COMPANY_FOUNDED), v), fill(pick(rng, COMPANY_HQ), v)].join(" ");
    }
    case "film": {
      const f = e as Film;
      const v: Fill = { name: f.name, year: f.year, director: name(f.director) };
      return [fill(pick(rng, FILM_INTRO), v), fill(pick(rng, FILM_MORE), v)].join(" ");
    }
  }
}

/** Passages for every entity, ids "0", "1", … in a seeded shuffled order; returns the entity key → passage id map too. */
export function renderPassages(ents: Entities, seed: number): { passages: Passage[]; passageOf: Map<string, string> } {
  const rng = createRng(seed ^ 0x5eed);
  const inverse = new Map<string, { founded: string[]; directed: string[]; capitalOf?: string }>();
  const inv = (k: string) => {
    let x = inverse.get(k);
    if (!x) inverse.set(k, (x = { founded: [], directed: [] }));
    return x;
  };
  for (const e of ents.byKey.values()) {
    if (e.type === "company") inv(e.founder).founded.push(e.key);
    if (e.type === "film") inv(e.director).directed.push(e.key);
    if (e.type === "country") inv(e.capital).capitalOf = e.key;
  }
  const keys = [...ents.byKey.keys()];
  // seeded shuffle so ids do not reveal the split or the type
  for (let i = keys.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [keys[i], keys[j]] = [keys[j], keys[i]];
  }
  const passages: Passage[] = [];
  const passageOf = new Map<string, string>();
  keys.forEach((k, i) => {
    const e = ents.byKey.get(k)!;
    const text = entityText(rng, e, ents, inverse);
    const words = text.split(/\s+/).length + e.name.split(/\s+/).length;
    if (words > MAX_PASSAGE_WORDS) throw new Error(`passage for ${k} has ${words} words (max ${MAX_PASSAGE_WORDS})`);
    const id = String(i);
    passages.push({ id, contents: `"${e.name}"\n${text}` });
    passageOf.set(k, id);
  });
  return { passages, passageOf };
}
