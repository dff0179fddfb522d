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
});

describe("library API", () => {
  it("exports the parts the CLI is built from", async () => {
    const lib = await import("../index.js");
    for (const name of ["loadModel", "createEngine", "openRetriever", "runRollouts", "computeReward", "runSession", "runEval", "buildWorld"]) {
      expect(typeof (lib as Record<string, unknown>)[name]).toBe("function");
    }
  });
});
