import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { buildProgram } from "./main.js";

describe("research CLI", () => {
  it("lists every registered subcommand with a description", async () => {
    const program = await buildProgram();
    for (const c of program.commands) expect(c.description().length).toBeGreaterThan(0);
  });
  it("--help runs through the bin script", () => {
    const out = execFileSync(process.execPath, ["bin/research.js", "--help"], { encoding: "utf8" });
    expect(out).toContain("Usage: research");
  });
  it("demo --help documents --seeds, --benchmarks and --test-seed", () => {
    const out = execFileSync(process.execPath, ["bin/research.js", "demo", "--help"], { encoding: "utf8" }).replace(/\s+/g, " ");
    expect(out).toContain("--seeds <list> run the demo once per GRPO seed");
    expect(out).toContain("--benchmarks also evaluate every method on the world's four test benchmarks");
    expect(out).toContain("--test-seed <n> evaluate on a fresh test-question sample");
    expect(out).toContain("research demo --seeds 1,2,3");
  });
});

describe("library API", () => {
  it("exports the parts the CLI is built from", async () => {
    const lib = await import("../index.js");
    for (const name of ["loadModel", "createEngine", "openRetriever", "runRollouts", "computeReward", "runSession", "runEval", "buildWorld"]) {
      expect(typeof (lib as Record<string, unknown>)[name]).toBe("function");
    }
  });
});

describe("numeric options", () => {
  // Every command's numeric flags go through cli/options.ts: a bad value is a one-line error naming the flag and the
  // value, exit code 1, before any work starts.
  const cases: [string[], string][] = [
    [["demo", "--steps", "-1"], '--steps: expected an integer ≥ 0, got "-1"'],
    [["demo", "--seeds", "1,x"], '--seeds: expected a comma-separated list of integers such as 1,2,3, got "1,x"'],
    [["demo", "--seeds", "2,2"], '--seeds: a seed is listed twice in "2,2"'],
    [["demo", "--test-seed", "1.5"], '--test-seed: expected an integer, got "1.5"'],
    [["world", "pretrain", "--world", "w", "--out", "o", "--gates-temperature", "-0.5"], '--gates-temperature: expected a number ≥ 0, got "-0.5"'],
    [["world", "build", "--seed", "1.5"], '--seed: expected an integer, got "1.5"'],
    [["data", "inspect", "f.jsonl", "-n", "x"], '--examples: expected an integer ≥ 0, got "x"'],
    [["report", "d", "--trajectories", "2.5"], '--trajectories: expected an integer ≥ 0, got "2.5"'],
    [["rollout", "-n", "0"], '-n: expected an integer ≥ 1, got "0"'],
    [["serve", "model", "-m", "m", "--port", "70000"], '--port: expected an integer in 0..65535, got "70000"'],
    [["serve", "retriever", "--index", "i", "--max-queue", "10"], '--max-queue: expected an integer in 256..1000000, got "10"'],
    [["index", "build", "--corpus", "c", "--out", "o", "--b", "2"], '--b: expected a number in 0..1, got "2"'],
    [["generate", "-m", "m", "--top-p", "nan"], '--top-p: expected a number in 0..1, got "nan"'],
    [["search", "--index", "i", "--top-k", "0", "q"], '--top-k: expected an integer in 1..1000, got "0"'],
    [["train", "--config", "c.yaml", "--max-steps", "0"], '--max-steps: expected an integer ≥ 1, got "0"'],
    [["train", "--resume", "r", "--seed", "x"], '--seed: expected an integer ≥ -2147483648, got "x"'],
  ];
  it.each(cases)("research %j fails with a clear message", async (args, message) => {
    const { main } = await import("./main.js");
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (written.push(String(s)), true)) as typeof process.stderr.write;
    const before = process.exitCode;
    try {
      await main(["node", "research", ...args]);
      expect(written.join("")).toBe(`error: ${message}\n`);
      expect(process.exitCode).toBe(1);
    } finally {
      process.stderr.write = write;
      process.exitCode = before;
    }
  });
});
