import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, test, vi } from "vitest";
import { buildProgram, main } from "../cli/main.js";
import { SHARED_DATA } from "../util/shared.js";

const tmp = mkdtempSync(join(tmpdir(), "retrieval-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Run the CLI in this process, capturing output and the exit code. */
async function research(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((s) => ((stderr += String(s)), true));
  try {
    await main(["node", "research", ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout, stderr };
}

describe("research index corpus-from-qa", () => {
  test("reads HotpotQA's release form, a JSON array (it said \"invalid JSON\" before)", async () => {
    const rows = readFileSync(SHARED_DATA + "/hotpotqa_distractor_500.jsonl", "utf8").trim().split("\n").map((l) => JSON.parse(l) as unknown);
    const input = join(tmp, "hotpot_train.json");
    writeFileSync(input, JSON.stringify(rows));
    const r = await research("index", "corpus-from-qa", "--input", input, "--out", join(tmp, "from-array.jsonl"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/500 rows, 4960 paragraphs/);
    expect(r.stdout).toMatch(/wrote 4920 passages/);
  });
});

describe("research index / search", () => {
  test("corpus-from-qa → index build → search (text and --json) → bad input", async () => {
    const corpus = join(tmp, "corpus.jsonl");
    expect((await research("index", "corpus-from-qa", "--input", SHARED_DATA + "/hotpotqa_distractor_500.jsonl", "--out", corpus)).stdout).toMatch(/wrote 4920 passages/);
    const ix = join(tmp, "ix");
    expect((await research("index", "build", "--corpus", corpus, "--out", ix, "--quiet")).stdout).toMatch(/indexed 4920 passages \(0 skipped\)/);
    const text = await research("search", "--index", ix, "--top-k", "2", "fight song of the University of Kansas");
    expect(text.stdout).toMatch(/^1\. \[\d+\] University of Kansas {2}\(score/);
    const json = await research("search", "--index", ix, "--json", "--top-k", "3", 'NEAR("x" AND y) 🙂');
    const lines = json.stdout.trim().split("\n").map((l) => JSON.parse(l) as { rank: number });
    expect(lines.map((l) => l.rank)).toEqual([1, 2, 3]);
    expect(Object.keys(lines[0]).sort()).toEqual(["contents", "id", "rank", "score"]);

    const bad = join(tmp, "bad.jsonl");
    writeFileSync(bad, readFileSync(corpus, "utf8").split("\n").slice(0, 2).join("\n") + "\n{nope\n");
    const e1 = await research("index", "build", "--corpus", bad, "--out", join(tmp, "ix2"), "--quiet");
    expect(e1.code).toBe(1);
    expect(e1.stderr).toMatch(/^error: .*bad\.jsonl:3: invalid JSON/);
    const ok = await research("index", "build", "--corpus", bad, "--out", join(tmp, "ix2"), "--quiet", "--skip-bad");
    expect(ok.stdout).toMatch(/indexed 2 passages \(1 skipped\)/);
    expect(ok.stderr).toMatch(/skipped .*bad\.jsonl:3/);
    expect(await research("search", "--index", join(tmp, "nope"), "x")).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: not an index directory/) });
    expect(await research("search", "x")).toMatchObject({ code: 1, stderr: "error: give --index DIR or --url URL\n" });
    expect((await research("index", "build", "--corpus", corpus, "--out", ix, "--kind", "fancy")).stderr).toMatch(/--kind: expected bm25, dense or hybrid/);

    // The real binary: a search, and an option error (commander exits the process itself).
    const bin = (...args: string[]) => promisify(execFile)(process.execPath, ["bin/research.js", ...args], { encoding: "utf8" });
    expect((await bin("search", "--index", ix, "--top-k", "1", "Kansas")).stdout).toMatch(/^1\. \[\d+\] /);
    await expect(bin("search", "--index", ix, "--top-k", "0", "x")).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/--top-k: expected an integer in 1\.\.1000/) });
  });

  test("every command has --help text", async () => {
    const program = await buildProgram();
    const find = (...path: string[]) => path.reduce((c, n) => c.commands.find((x) => x.name() === n)!, program);
    expect(find("index", "build").helpInformation()).toMatch(/--corpus <file>[\s\S]*--kind <kind>[\s\S]*--skip-bad/);
    expect(find("index", "corpus-from-qa").helpInformation()).toMatch(/--input <files...>/);
    expect(find("search").helpInformation()).toMatch(/--top-k <n>[\s\S]*--json/);
    expect(find("serve", "retriever").helpInformation()).toMatch(/--port <n>[\s\S]*--host <addr>/);
  });
});
