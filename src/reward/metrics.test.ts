import { describe, expect, it, test } from "vitest";
import { aggregate, exactMatch, scoreItem, subExactMatch, tokenF1, tokenScores } from "./metrics.js";
import { normalizeAnswer, pySplit } from "./normalize.js";

describe("normalizeAnswer (table)", () => {
  test.each([
    ["The Eiffel Tower", "eiffel tower"],
    ["a an the", ""],
    ["Theatre and an apple", "theatre and apple"],
    ["the_end", "theend"], // `_` is punctuation: deleted first, so "the" is glued to "end"
    ["A-team", "ateam"], // "-" is deleted before articles are removed
    ["a.b", "ab"],
    ["U.S.A.", "usa"],
    ["1,000$!", "1000"],
    ["Wilhelm Conrad Röntgen", "wilhelm conrad röntgen"],
    ["théâtre the", "théâtre"], // accented letters are word characters (Python re is Unicode-aware)
    ["éthe", "éthe"], // so "the" after "é" is not a separate word
    ["the1", "the1"],
    ["1the", "1the"],
    ["the٣", "the٣"], // Arabic-Indic digit is a word character
    ["«the» “Beatles”", "« » “beatles”"], // non-ASCII quotes are not in string.punctuation
    ["the\u0301", "\u0301"], // combining mark is not a word character: "the" stands alone
    ["ΣΊΣΥΦΟΣ", "σίσυφος"], // Unicode lowercasing with final sigma
    ["  many\t\nspaces\u00a0here ", "many spaces here"],
    ["x\u0085y\x1cz", "x y z"], // Python str.split() whitespace
    ["x\ufeffy", "x\ufeffy"], // U+FEFF is whitespace for JS \s but not for Python
    ["", ""],
  ])("%j → %j", (input, expected) => {
    expect(normalizeAnswer(input)).toBe(expected);
  });

  it("pySplit drops empty pieces", () => {
    expect(pySplit("  a  b ")).toEqual(["a", "b"]);
    expect(pySplit("")).toEqual([]);
  });
});

describe("em / f1 / acc edge cases (table)", () => {
  test.each<[string, string, string[], number, number, number]>([
    // name, pred, golds, em, f1, acc
    ["identical after normalization", "The Beatles!", ["beatles"], 1, 1, 1],
    ["articles and punctuation", "an apple, the pie", ["Apple pie"], 1, 1, 1],
    ["partial overlap", "Paris France", ["Paris"], 0, 2 / 3, 1],
    ["max over golds", "new york", ["york", "New York City", "new york"], 1, 1, 1],
    ["yes vs no", "yes", ["no"], 0, 0, 0],
    ["yes vs yes", "Yes.", ["yes"], 1, 1, 1],
    ["pred yes vs long gold containing yes", "yes", ["yes indeed"], 0, 0, 0],
    ["gold no vs pred containing no", "no way", ["no"], 0, 0, 1],
    ["noanswer special", "noanswer", ["no answer"], 0, 0, 0],
    ["empty prediction", "", ["Paris"], 0, 0, 0],
    ["empty gold is a substring of anything (FlashRAG acc)", "Paris", ["the"], 0, 0, 1],
    ["repeated tokens count by multiset", "a b b b", ["b b c"], 0, 2 / 3, 0],
    ["substring match across words", "in 1945 it ended", ["1945"], 0, 0.4, 1],
    ["unicode gold", "Röntgen", ["Wilhelm Conrad Röntgen"], 0, 0.5, 0],
    ["no golds", "x", [], 0, 0, 0],
  ])("%s", (_name, pred, golds, em, f1, acc) => {
    expect(exactMatch(pred, golds)).toBe(em);
    expect(tokenF1(pred, golds)).toBeCloseTo(f1, 12);
    expect(subExactMatch(pred, golds)).toBe(acc);
    expect(scoreItem(pred, golds)).toEqual({ em, f1: tokenF1(pred, golds), acc });
  });

  it("multiset F1 by hand: pred [a,b,b,b] (a is an article → [b,b,b]) vs gold [b,b,c]", () => {
    // normalized pred "b b b" (3 tokens), gold "b b c": common = 2, P = 2/3, R = 2/3, F1 = 2/3
    expect(tokenScores("a b b b", ["b b c"])).toEqual({ f1: 2 / 3, precision: 2 / 3, recall: 2 / 3 });
  });

  it("precision and recall are maxed independently over golds", () => {
    const s = tokenScores("x y", ["x", "x y z w"]);
    expect(s.precision).toBe(1); // from the second gold (2 of 2 predicted tokens)
    expect(s.recall).toBe(1); // from the first gold; no single gold has both
    expect(s.f1).toBeCloseTo(2 / 3, 12);
  });

  it("accepts one gold as a string", () => {
    expect(scoreItem("Paris", "paris")).toEqual({ em: 1, f1: 1, acc: 1 });
  });
});

describe("aggregate", () => {
  it("averages each metric over items", () => {
    const items = [scoreItem("Paris", ["Paris"]), scoreItem("London", ["Paris"]), scoreItem("Paris France", ["Paris"])];
    const a = aggregate(items);
    expect(a.n).toBe(3);
    expect(a.em).toBeCloseTo(1 / 3, 12);
    expect(a.acc).toBeCloseTo(2 / 3, 12);
    expect(a.f1).toBeCloseTo((1 + 0 + 2 / 3) / 3, 12);
  });
  it("is all zeros for no items", () => {
    expect(aggregate([])).toEqual({ n: 0, em: 0, f1: 0, acc: 0 });
  });
});
