/** The model commands end to end through the real CLI (bin/research.js). */
import { describe, expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SHARED_DATA } from "../util/shared.js";

const STORIES = SHARED_DATA + "/models/stories260K";
const run = (...args: string[]) => execFileSync("node", ["bin/research.js", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

describe("research generate / export", () => {
  test("generate --temperature 0 reproduces llama2.c: 200 steps exactly, and 256 tokens continue it", () => {
    const ref = readFileSync(`${STORIES}/reference_greedy_200steps.txt`, "utf8");
    expect(run("generate", "--model", STORIES, "--max-tokens", "200", "--temperature", "0")).toBe(ref + "\n");
    const out256 = run("generate", "--model", STORIES, "--max-tokens", "256", "--temperature", "0");
    expect(out256.startsWith(ref)).toBe(true);
    expect(out256.length).toBeGreaterThan(ref.length + 100);
  }, 60_000);

  test("export hf then generate from the HF directory gives the same text; bad flags are clear errors", () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-export-"));
    try {
      run("export", "hf", "--model", STORIES, "--out", join(dir, "hf"));
      const a = run("generate", "-m", join(dir, "hf"), "-n", "30", "-t", "0.8", "-s", "7", "-p", "Tom saw");
      const b = run("generate", "-m", STORIES, "-n", "30", "-t", "0.8", "-s", "7", "-p", "Tom saw");
      expect(a).toBe(b);
      expect(() => run("generate", "-m", STORIES, "-n", "x")).toThrow(/--max-tokens: expected an integer/);
      expect(() => run("generate", "-m", join(dir, "missing"))).toThrow(/model not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
