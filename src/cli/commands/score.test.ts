import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { aggregate, scoreItem } from "../../reward/metrics.js";
import { SHARED_DATA } from "../../util/shared.js";

const tmp = mkdtempSync(join(tmpdir(), "cli-score-"));
const research = (...args: string[]) => spawnSync(process.execPath, ["bin/research.js", ...args], { encoding: "utf8" });

const items = [
  { id: "a", golden_answers: ["Paris"], pred: "paris" },
  { id: "b", golden_answers: ["New York City", "NYC"], pred: "New York" },
  { id: "c", golden_answers: "yes", pred: "no" },
  { id: "d", golden_answers: ["1945"], pred: "It ended in 1945." },
];

describe("research score", () => {
  it("scores JSONL and writes per-item scores", () => {
    const input = join(tmp, "preds.jsonl");
    writeFileSync(input, items.map((i) => JSON.stringify(i)).join("\n") + "\n");
    const perItem = join(tmp, "out", "per-item.jsonl");
    const r = research("score", "--input", input, "--per-item", perItem);
    expect(r.status, r.stderr).toBe(0);
    const expected = aggregate(items.map((i) => scoreItem(i.pred, i.golden_answers)));
    expect(JSON.parse(r.stdout)).toEqual(expected);
    expect(expected).toMatchObject({ n: 4, em: 0.25, acc: 0.5 });
    const rows = readFileSync(perItem, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(rows[1]).toEqual({ index: 1, id: "b", ...scoreItem("New York", ["New York City", "NYC"]) });
  });

  it("reads FlashRAG saved results (JSON array with output.pred)", () => {
    const input = join(tmp, "intermediate_data.json");
    writeFileSync(input, JSON.stringify(items.map(({ id, golden_answers, pred }) => ({ id, question: "q", golden_answers, output: { pred, retrieval_result: [] } })), null, 2));
    const r = research("score", "-i", input);
    expect(JSON.parse(r.stdout)).toEqual(aggregate(items.map((i) => scoreItem(i.pred, i.golden_answers))));
  });

  it("scores a real R1-Searcher rollout file with --pred-field / --gold-field", () => {
    const r = research("score", "-i", SHARED_DATA + "/rollouts/r1searcher_bamboogle_qwen.jsonl", "--pred-field", "pred_ans", "--gold-field", "answer");
    expect(JSON.parse(r.stdout)).toEqual({ n: 125, em: 57 / 125, f1: expect.closeTo(0.5731333333333333, 12), acc: 61 / 125 });
  });

  it("names the item and field of a bad record, and leaves no per-item file", () => {
    const input = join(tmp, "bad.json");
    writeFileSync(input, JSON.stringify([items[0], { golden_answers: ["x"] }]));
    const perItem = join(tmp, "bad-per-item.jsonl");
    const r = research("score", "-i", input, "--per-item", perItem);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`error: ${input}: [1].pred: missing prediction\n`);
    expect(existsSync(perItem)).toBe(false);
  });
});
