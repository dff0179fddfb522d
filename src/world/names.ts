/**
 * @module world/names — fictional name pools built from syllables. Entities of all three splits draw their names
 * from the SAME pools (first names, surnames, roots), so every word a test entity's name uses is seen in
 * pre-training while the entities themselves (the combinations) stay disjoint; shared parts make natural distractors
 * ("Kalder Falls" the city, "North Kalder" the country, "Kalder Works" the company).
 */
import type { Rng } from "../util/rng.js";

const ONSETS = ["b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gr", "kr", "th", "st", "tr", "vr", "sh", "j"];
const VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ae", "ia", "ei", "ou"];
const CODAS = ["", "", "", "", "", "n", "r", "l", "s", "th", "nd", "m"];

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

export function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

function syllable(rng: Rng): string {
  return pick(rng, ONSETS) + pick(rng, VOWELS) + pick(rng, CODAS);
}

/** `n` distinct capitalised pseudo-words of 2–3 syllables, none in `taken` (which is updated). */
export function makeWords(rng: Rng, n: number, taken: Set<string>): string[] {
  const out: string[] = [];
  let guard = 0;
  while (out.length < n) {
    if (++guard > n * 1000) throw new Error(`could not make ${n} distinct names`);
    const k = rng.next() < 0.85 ? 2 : 3;
    let w = "";
    for (let i = 0; i < k; i++) w += syllable(rng);
    if (w.length < 4 || w.length > 9) continue;
    w = w[0].toUpperCase() + w.slice(1);
    if (taken.has(w.toLowerCase())) continue;
    taken.add(w.toLowerCase());
    out.push(w);
  }
  return out;
}

export const CITY_SUFFIXES = ["Falls", "Bay", "Harbor", "Ridge", "Crossing", "Hollow", "Springs", "Vale", "Ford", "Haven"];
export const COUNTRY_PREFIXES = ["North", "South", "East", "West", "Upper", "Lower", "Greater", "New", "Old", "Little"];
export const COMPANY_SUFFIXES = ["Industries", "Works", "Group", "Holdings", "Systems", "Labs", "Trading", "Foundry", "Partners", "Mills"];
export const FILM_ADJECTIVES = [
  "Silver", "Crimson", "Silent", "Broken", "Hidden", "Golden", "Distant", "Frozen", "Burning", "Endless", "Quiet",
  "Fallen", "Wandering", "Hollow", "Bright", "Shattered", "Forgotten", "Restless", "Pale", "Velvet", "Iron", "Secret",
  "Painted", "Bitter", "Narrow", "Sleeping", "Wild", "Lonely", "Scarlet", "Final",
];
export const FILM_NOUNS = [
  "Harbor", "Garden", "River", "Mirror", "Lantern", "Orchard", "Tower", "Shore", "Letter", "Crown", "Voyage", "Winter",
  "Meadow", "Bridge", "Island", "Signal", "Compass", "Forest", "Promise", "Engine", "Window", "Feather", "Valley",
  "Station", "Horizon", "Anchor", "Canyon", "Echo", "Thread", "Ember",
];
export const OCCUPATIONS = ["engineer", "painter", "physician", "architect", "novelist", "chemist", "lawyer", "sculptor", "economist", "botanist", "journalist", "composer", "surveyor", "banker", "pilot", "teacher"];
export const INDUSTRIES = ["shipping", "textile", "mining", "software", "publishing", "brewing", "railway", "steel", "insurance", "glassware", "aviation", "pharmaceutical"];
export const GOVERNMENTS = ["Republic", "Kingdom", "Federation", "Commonwealth", "Principality"];
