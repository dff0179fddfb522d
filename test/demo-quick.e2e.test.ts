/**
 * The main job's CI run (issue 8): `research demo --quick` from the SHIPPED base model (models/world-base), through
 * the real CLI, and the direction of every number the full demo targets. The demo is seeded, so on this machine the
 * numbers are the same on every run; the assertions are directions, not the full run's margins.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { DemoReport } from "../src/world/demo-report.js";

const root = join(import.meta.dirname, "..");

describe("research demo --quick (shipped base model, end to end)", () => {
  const dir = mkdtempSync(join(tmpdir(), "demo-quick-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("GRPO raises answer F1; the trained policy beats the base model and every baseline", async () => {
    const out = join(dir, "demo");
    // asynchronous: a synchronous child would block this worker's event loop for minutes (vitest's RPC times out)
    const child = spawn(process.execPath, [join(root, "bin", "research.js"), "demo", "--quick", "--out", out], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const code = await new Promise<number | null>((res) => child.on("close", res));
    expect(code, stderr).toBe(0);
    const rep = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as DemoReport;
    const steps = rep.train.steps;
    const f1 = (xs: typeof steps) => xs.reduce((a, s) => a + s.answer_f1_mean, 0) / xs.length;
    expect(steps.length).toBeGreaterThanOrEqual(20);
    // the rise is in the answers, not the format: F1 over the last 10 steps above the first 10
    expect(f1(steps.slice(-10))).toBeGreaterThan(f1(steps.slice(0, 10)) + 0.05);
    const e = rep.eval;
    const research = e.research!;
    expect(research.em).toBeGreaterThan(e["base-research"]!.em);
    for (const m of ["naive-gen", "naive-rag", "iter-retgen", "ircot"] as const) expect(research.em, m).toBeGreaterThan(e[m]!.em);
    expect(research.by_hops["1"]!.em).toBeGreaterThan(e["base-research"]!.by_hops["1"]!.em);
    expect(e.oracle!.em).toBe(1);
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("| research |");
    // the engine it ran on is recorded: ggml, pinned to 2 threads (and the haswell kernels where they run)
    const engine = (rep.config as unknown as { engine: { backend: string; threads: number; library: { variant?: string } } }).engine;
    expect(engine.backend).toMatch(/^ggml-/);
    if (engine.backend === "ggml-cpu") expect(engine.threads).toBe(2);
  }, 15 * 60_000);
});
