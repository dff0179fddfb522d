import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { appendTrajectory, prepareResume, readTrajectories } from "./trajectory.js";
import type { Trajectory } from "./types.js";

const dir = mkdtempSync(join(tmpdir(), "traj-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const traj = (id: string, response: string, finishReason: Trajectory["finishReason"] = "eos"): Trajectory => ({
  id, question: "q", prompt: "p", segments: [{ author: "policy", trained: true, text: response }], response, finishReason,
  searches: 0, queries: [], timings: { generateMs: 1, searchMs: 0, totalMs: 1 },
});

describe("trajectory JSONL", () => {
  test("append adds the extracted answer; read returns what was written", async () => {
    const path = join(dir, "a.jsonl");
    const written = appendTrajectory(path, traj("x#0", "<think>t</think> <answer> The final answer is \\[ \\boxed{Paris} \\] </answer><|endoftext|>"));
    appendTrajectory(path, traj("x#1", "no answer here", "length"));
    expect(written.answer).toBe("Paris");
    const back = [];
    for await (const t of readTrajectories(path)) back.push(t);
    expect(back.map((t) => [t.id, t.answer])).toEqual([["x#0", "Paris"], ["x#1", null]]);
  });

  test("a malformed line is an error naming file, line and field", async () => {
    const path = join(dir, "bad.jsonl");
    writeFileSync(path, JSON.stringify(traj("a#0", "r")) + "\n" + JSON.stringify({ ...traj("a#1", "r"), finishReason: "done" }) + "\n");
    const read = async () => {
      for await (const _ of readTrajectories(path)) void _;
    };
    await expect(read()).rejects.toThrow(`${path}:2: finishReason:`);
  });

  test("resume: a cut last line is dropped; --retry-errors drops errored rollouts", async () => {
    const path = join(dir, "r.jsonl");
    const lines = [traj("a#0", "r"), traj("a#1", "r", "error")].map((t) => JSON.stringify(t) + "\n").join("");
    writeFileSync(path, lines + '{"id":"a#2","quest');
    expect([...(await prepareResume(path))].sort()).toEqual(["a#0", "a#1"]);
    expect(readFileSync(path, "utf8")).toBe(lines);
    expect([...(await prepareResume(path, { retryErrors: true }))]).toEqual(["a#0"]);
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(1);
    expect((await prepareResume(join(dir, "missing.jsonl"))).size).toBe(0);
  });
});
