import { mkdtempSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { buildIndex } from "../../retrieval/index.js";
import { startScriptedServer, type ScriptedServer } from "../../rollout/testing.js";
import { register as registerRollout } from "./rollout.js";
import { register as registerAsk } from "./ask.js";
import { SHARED_DATA } from "../../util/shared.js";

// `research rollout` and `research ask` end to end: a real BM25 index over the shared wiki-18 sample, a real HTTP
// server replaying a scripted policy (search the question, then answer), trajectories on disk, resume.
const CORPUS = SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl";
const DATASET = SHARED_DATA + "/eval/flashrag_quickstart_nq_test.jsonl";

let dir: string;
let index: string;
let server: ScriptedServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rollout-cli-"));
  index = join(dir, "index");
  await buildIndex({ corpus: CORPUS, out: index, quiet: true });
  server = await startScriptedServer({
    script: ({ question, response }) =>
      response.includes("</result>") ? " <think> found it </think> <answer> \\boxed{Paris} </answer>" : ` <think> look up </think> <search> ${question} </search>`,
  });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(register: (p: Command) => void, args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  let out = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    await program.parseAsync(args, { from: "user" });
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  return out;
}

describe("research rollout / ask", () => {
  test("writes n trajectories per question with real passages spliced, resumes after a cut line", async () => {
    const out = join(dir, "nq.jsonl");
    const args = ["rollout", "--dataset", DATASET, "--out", out, "-n", "2", "--limit", "3", "--base-url", server.url, "--model-name", "m", "--index", index];
    const summary = await run(registerRollout, args);
    expect(summary).toMatch(/rollouts: 6/);
    expect(summary).toMatch(/searches\/rollout: 1\.00/);
    const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((t) => t.id).sort()).toEqual(["test_0#0", "test_0#1", "test_1#0", "test_1#1", "test_2#0", "test_2#1"]);
    for (const t of lines) {
      expect(t.answer).toBe("Paris");
      expect(t.finishReason).toBe("eos");
      expect(t.queries).toEqual([t.question]);
      expect(t.goldenAnswers.length).toBeGreaterThan(0);
      const tool = t.segments[1];
      expect([tool.author, tool.trained]).toEqual(["tool", false]);
      expect(tool.text.startsWith(' <result>\n"')).toBe(true); // wiki-18 passages: "Title"\ntext
      expect(tool.text.split("\n\n").length).toBe(5); // top-5 passages joined by a blank line
    }
    // rerun: nothing left
    expect(await run(registerRollout, args)).toMatch(/nothing to do/);
    // a crash mid-line: the cut line is dropped and only that rollout runs again
    truncateSync(out, statSync(out).size - 40);
    expect(await run(registerRollout, args)).toMatch(/rollouts: 1 /);
    expect(readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l).id).sort()).toEqual(lines.map((t) => t.id).sort());
    // --retry-errors: a rollout that ended in error is removed and run again
    const rows = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    rows[0] = { ...rows[0], finishReason: "error", error: "retriever failed: down" };
    writeFileSync(out, rows.map((r) => JSON.stringify(r) + "\n").join(""));
    expect(await run(registerRollout, args)).toMatch(/nothing to do/);
    expect(await run(registerRollout, [...args, "--retry-errors"])).toMatch(/rollouts: 1 [\s\S]*finish: eos 1/);
    const after = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(after).toHaveLength(6);
    expect(after.every((t) => t.finishReason === "eos")).toBe(true);
  });

  test("ask --json prints the trajectory with its answer; ask streams coloured text", async () => {
    const json = await run(registerAsk, ["ask", "who got the first nobel prize in physics", "--base-url", server.url, "--model-name", "m", "--index", index, "--json"]);
    const t = JSON.parse(json);
    expect(t.answer).toBe("Paris");
    expect(t.searches).toBe(1);
    const text = await run(registerAsk, ["ask", "who got the first nobel prize in physics", "--base-url", server.url, "--model-name", "m", "--index", index]);
    expect(text).toContain("answer:");
    expect(text).toContain("Paris");
  });

  test("clear errors for missing or conflicting flags", async () => {
    await expect(run(registerAsk, ["ask", "q", "--base-url", server.url, "--model-name", "m"])).rejects.toThrow(/exactly one retriever/);
    await expect(run(registerAsk, ["ask", "q", "--index", index])).rejects.toThrow(/no policy: give --model/);
    await expect(run(registerAsk, ["ask", "q", "--index", index, "--base-url", server.url])).rejects.toThrow(/--base-url needs --model-name/);
    await expect(run(registerAsk, ["ask", "q", "--index", index, "--model", "/nonexistent"])).rejects.toThrow(/model not found/);
  });
});
