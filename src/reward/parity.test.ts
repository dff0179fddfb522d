/**
 * Parity with Python: thousands of generated responses and answers (valid templates with random mutations,
 * Unicode, Python-vs-JS whitespace, articles, braces) scored by our port and by an independent Python reference.
 */
import { describe, expect, it } from "vitest";
import { createRng, type Rng } from "../util/rng.js";
import { scoreItem } from "./metrics.js";
import { normalizeAnswer } from "./normalize.js";
import { computeReward } from "./reward.js";
import { hasPython, runPythonReference } from "./testdata/python-ref.js";

const WORDS = ["Paris", "the", "a", "an", "The", "yes", "no", "noanswer", "Ünïcode", "théâtre", "Σίσυφος", "x_y", "A-team",
  "U.S.", "٣", "1945", "\u0301the", "an1", "NEW", "york", "«the»", "İstanbul", "ß", "ǅ", "ΣΊΣΥΦΟΣ", "Ⅻ", "the²", "ﬁ"];
const SEPS = [" ", " ", " ", "\t", "\n", "\u00a0", "\u0085", "\x1c", "\ufeff", "\u3000", ", ", "-", "_", ".", ""];
const TAGS = ["<think>", "</think>", "<search>", "</search>", "<result>", "</result>", "<answer>", "</answer>", "\\boxed{",
  "\\boxed ", "\\fbox{", "{", "}", "$", "<|im_end|>", "<|endoftext|>", "<|im_start|>assistant\n", "Assistant:"];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)];

function phrase(rng: Rng, maxWords = 4): string {
  const n = 1 + rng.int(maxWords);
  let s = "";
  for (let i = 0; i < n; i++) s += (i ? pick(rng, SEPS) : "") + pick(rng, WORDS);
  return s;
}

function response(rng: Rng, eos: string, golds: string[]): string {
  let r = `<think>${phrase(rng)}</think>`;
  const searches = rng.int(3);
  for (let i = 0; i < searches; i++) r += `<search>${phrase(rng)}</search><result>${phrase(rng)}</result><think>${phrase(rng)}</think>`;
  const r0 = rng.next();
  const inner = r0 < 0.2 ? `\\text{${phrase(rng, 2)}}` : r0 < 0.5 ? pick(rng, golds) : phrase(rng);
  r += `<answer>${rng.next() < 0.3 ? phrase(rng, 2) + " " : ""}\\boxed{${inner}}</answer>${eos}`;
  const mutations = rng.int(4); // 0: valid, else insert/delete/duplicate pieces
  for (let m = 0; m < mutations; m++) {
    const at = rng.int(r.length + 1);
    const op = rng.int(3);
    if (op === 0) r = r.slice(0, at) + pick(rng, TAGS) + r.slice(at);
    else if (op === 1) r = r.slice(0, at) + r.slice(at + 1 + rng.int(8));
    else r = r.slice(0, at) + pick(rng, WORDS) + r.slice(at);
  }
  return r;
}

describe.skipIf(!hasPython)("parity with the Python reference", () => {
  it("normalize, em/f1/acc and reward agree on 4000 generated cases", () => {
    const rng = createRng(20250319);
    const normalize: string[] = [];
    const metrics: [string, string[]][] = [];
    const reward: [string, string[], string][] = [];
    for (let i = 0; i < 4000; i++) {
      const golds = Array.from({ length: 1 + rng.int(3) }, () => phrase(rng, 3));
      const pred = phrase(rng, 5);
      normalize.push(pred);
      metrics.push([pred, golds]);
      const eos = pick(rng, ["<|im_end|>", "<|endoftext|>", "</s>", "<|im_end|>", "<|endoftext|>", "</s>", ""]); // "": Python s[:-0]
      const base = rng.next() < 0.3;
      const prompt = base ? `User: ${phrase(rng)}\nAssistant:` : `<|im_start|>user\n${phrase(rng)}<|im_end|>\n<|im_start|>assistant\n`;
      reward.push([prompt + response(rng, rng.next() < 0.9 ? eos : "", golds), golds, eos]);
    }
    const py = runPythonReference({ normalize, metrics, reward });

    const ts = reward.map(([solution, goldenAnswers, eosToken]) => computeReward({ solution, goldenAnswers, eosToken }));
    for (let i = 0; i < normalize.length; i++) expect(normalizeAnswer(normalize[i]), `normalize #${i}`).toBe(py.normalize[i]);
    for (let i = 0; i < metrics.length; i++) expect(scoreItem(...metrics[i]), `metrics #${i} ${JSON.stringify(metrics[i])}`).toEqual(py.metrics[i]);
    for (let i = 0; i < reward.length; i++) {
      expect({ reward: ts[i].reward, prediction: ts[i].prediction }, `reward #${i} ${JSON.stringify(reward[i])}`).toEqual(py.reward[i]);
    }
    // The generator must exercise every outcome, or the comparison proves little.
    const kinds = new Set(ts.map((r) => r.reason.split(":")[0].replace(/ get f1 score/, "")));
    expect([...kinds].sort()).toEqual(
      ["bad format", "correct answer,", "find box error", "over length", "wrong answer but good format", "cannot extract answer"].sort(),
    );
    const counts = { full: ts.filter((r) => r.reward === 1).length, partial: ts.filter((r) => r.reward > 0.1 && r.reward < 1).length };
    expect(counts.full).toBeGreaterThan(50);
    expect(counts.partial).toBeGreaterThan(50);
  });
});
