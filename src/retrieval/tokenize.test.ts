import Database from "better-sqlite3";
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { porterStem } from "./porter.js";
import { createAnalyzer, MAX_TOKEN_CHARS } from "./tokenize.js";
import { SHARED_DATA } from "../util/shared.js";

// Porter's published examples (Porter 1980 and the reference vocabulary).
const PAIRS = (
  "caresses caress ponies poni ties ti caress caress cats cat feed feed agreed agre plastered plaster bled bled " +
  "motoring motor sing sing conflated conflat troubled troubl sized size hopping hop tanned tan falling fall " +
  "hissing hiss fizzed fizz failing fail filing file happy happi sky sky relational relat conditional condit " +
  "rational ration valenci valenc digitizer digit conformabli conform radicalli radic differentli differ " +
  "vileli vile analogousli analog vietnamization vietnam predication predic operator oper feudalism feudal " +
  "decisiveness decis hopefulness hope callousness callous formaliti formal sensitiviti sensit sensibiliti sensibl " +
  "triplicate triplic formative form formalize formal electriciti electr electrical electr hopeful hope " +
  "goodness good revival reviv allowance allow inference infer airliner airlin gyroscopic gyroscop adjustable adjust " +
  "defensible defens irritant irrit replacement replac adjustment adjust dependent depend adoption adopt " +
  "communism commun activate activ angulariti angular homologous homolog effective effect bowdlerize bowdler " +
  "probate probat rate rate cease ceas controll control roll roll generalizations gener oscillators oscil"
).split(" ");

describe("analyzer", () => {
  test.each(Array.from({ length: PAIRS.length / 2 }, (_, i) => [PAIRS[2 * i], PAIRS[2 * i + 1]]))("porter(%s) = %s", (w, s) => {
    expect(porterStem(w)).toBe(s);
  });

  test.each([
    ["Hello, World! Running runners", ["hello", "world", "run", "runner"]],
    ["Café résumé naïve", ["cafe", "resum", "naiv"]],
    ["e\u0301cole", ["ecol"]],
    ["emoji 🙂 test 😀x", ["emoji", "test", "x"]],
    ["𝐀𝐁 math", ["ab", "math"]],
    ["日本語のテキスト", ["日本語のテキスト"]],
    ["don't stop-believing 2009", ["don", "t", "stop", "believ", "2009"]],
    ['NEAR("a" AND b*)', ["near", "a", "and", "b"]],
    ["", []],
  ])("terms(%j)", (text, want) => {
    expect(createAnalyzer().terms(text)).toEqual(want);
  });

  test("very long tokens are cut", () => {
    expect(createAnalyzer().terms("z".repeat(500))[0]).toHaveLength(MAX_TOKEN_CHARS);
  });

  test("agrees with SQLite FTS5 `porter unicode61 remove_diacritics 2` on every ASCII term of wiki-18", () => {
    const docs = readFileSync(SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl", "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { contents: string }).contents);
    const db = new Database(":memory:");
    db.exec("CREATE VIRTUAL TABLE t USING fts5(c, tokenize = 'porter unicode61 remove_diacritics 2'); CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row');");
    const ins = db.prepare("INSERT INTO t(c) VALUES (?)");
    for (const d of docs) ins.run(d);
    const ascii = (t: string) => /^[a-z0-9]+$/.test(t);
    const all = (db.prepare("SELECT term FROM v").all() as { term: string }[]).map((r) => r.term);
    const fts = new Set(all.filter(ascii));
    const a = createAnalyzer();
    const ours = new Set(docs.flatMap((d) => a.terms(d)).filter(ascii));
    expect(fts.size).toBeGreaterThan(10_000);
    // Ours folds compatibility characters (km² → km2) where FTS5 keeps them: the only allowed difference.
    const folded = new Set(all.filter((t) => !ascii(t)).map((t) => t.normalize("NFKD").replace(/\p{M}/gu, "")));
    expect([...ours].filter((t) => !fts.has(t) && !folded.has(t))).toEqual([]);
    expect([...fts].filter((t) => !ours.has(t))).toEqual([]);
    db.close();
  });
});
