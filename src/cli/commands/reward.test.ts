import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadQAArray } from "../../data/qa.js";
import { computeReward } from "../../reward/reward.js";
import { toReSearch } from "../../reward/testdata/r1searcher.js";
import { SHARED_DATA } from "../../util/shared.js";

const tmp = mkdtempSync(join(tmpdir(), "cli-reward-"));
const research = (...args: string[]) => spawnSync(process.execPath, ["bin/research.js", ...args], { encoding: "utf8" });
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

describe("research reward", () => {
  it("scores real rollouts line by line, same as the library", async () => {
    const rows = await loadQAArray(SHARED_DATA + "/rollouts/r1searcher_bamboogle_qwen.jsonl", { limit: 40 });
    const lines = rows.map((e, i) => ({
      solution: toReSearch(e.question, (e.metadata as { gen_text_store: string }).gen_text_store, i % 10 === 9 ? "" : "<|im_end|>"),
      golden_answers: e.golden_answers,
      eos_token: "<|im_end|>",
    }));
    const input = join(tmp, "rollouts.jsonl");
    writeFileSync(input, jsonl(lines));
    const out = research("reward", "--input", input);
    expect(out.status, out.stderr).toBe(0);
    const got = out.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(got).toHaveLength(40);
    got.forEach((g, i) => {
      const r = computeReward({ solution: lines[i].solution, goldenAnswers: lines[i].golden_answers, eosToken: "<|im_end|>" });
      expect(g).toEqual({ reward: r.reward, reason: r.reason });
    });
    expect(got.filter((g) => g.reason === "over length")).toHaveLength(4);
    expect(got.filter((g) => g.reward === 1).length).toBeGreaterThan(10);
  });

  it("takes --eos-token for lines without one, and names file, line and field on bad input", () => {
    const ok = join(tmp, "base.jsonl");
    writeFileSync(ok, jsonl([{ solution: "Q\nAssistant: <think>x</think><answer>\\boxed{Oslo}</answer></s>", golden_answers: "oslo" }]));
    expect(research("reward", "-i", ok, "--eos-token", "</s>", "--with-prediction").stdout).toBe(
      JSON.stringify({ reward: 1, reason: "correct answer, get f1 score: 1.0", prediction: "Oslo" }) + "\n",
    );
    const noEos = research("reward", "-i", ok);
    expect(noEos.status).toBe(1);
    expect(noEos.stderr).toContain(`error: ${ok}:1: eos_token: missing`);
    const bad = join(tmp, "bad.jsonl");
    writeFileSync(bad, jsonl([{ solution: "a", golden_answers: ["x"], eos_token: "</s>" }, { solution: "a", golden_answers: [1], eos_token: "</s>" }]));
    const r = research("reward", "-i", bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2: golden_answers`));
    expect(r.stdout.trim().split("\n")).toHaveLength(1); // the good first line was written before the error
    expect(readFileSync(bad, "utf8")).toContain("solution");
  });
});
