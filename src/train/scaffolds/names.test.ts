import { describe, expect, test } from "vitest";
import { resultMentions, resultNames, textNames } from "./names.js";
import type { SearchHit } from "../../retrieval/types.js";

const hit = (id: string, contents: string): SearchHit => ({ id, contents, score: 1 });

describe("names for the exploration scaffolds", () => {
  test("titles and runs of capitalised words, not a lone sentence-initial word, numbers or duplicates", () => {
    const p = hit("x", '"Tremhou Konmil"\nTremhou Konmil was born in Riagu Vale in 1931. By profession Konmil is a banker. She married Demgro Zeinou, of Jamso Industries.');
    expect(resultNames([p, hit("y", '"Riagu Vale"\nRiagu Vale is in Upper Gandmol.')])).toEqual(["Tremhou Konmil", "Riagu Vale", "Konmil", "Demgro Zeinou", "Jamso Industries", "Upper Gandmol"]);
    expect(resultNames([hit("z", "no title here, just text.")])).toEqual([]);
    expect(textNames("Who was born first, Ann Lee or Bob Smith?")).toEqual(["Ann Lee", "Bob Smith"]);
    expect(textNames("Which company employs the person who directed The Bitter Crown?")).toEqual(["The Bitter Crown"]);
    expect(resultMentions([hit("n", '"Acme 2"\nAcme 2 was founded in 1901 by Bob Smith; it has 3.5 floors.')])).toEqual(["Acme 2", "Bob Smith", "2", "1901", "3.5"]);
  });
});
