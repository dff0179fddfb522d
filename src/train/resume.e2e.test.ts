/**
 * Resumable runs (issue 7): a run SIGKILLed mid-way and resumed from its last checkpoint logs the same metrics (timing
 * fields aside) and ends with the same weights as an uninterrupted run; lines logged before the checkpoint stay byte
 * for byte. SIGINT saves a checkpoint and exits cleanly. Each run is a real child process on the tiny task.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initTensorBackend } from "../tensor/backend.js";
import { writeSafetensors, readSafetensors } from "../model/safetensors.js";
import { createTinyTask, pretrainBaseModel } from "./testing/tiny-task.js";
import { latestCheckpoint, listCheckpoints, runPaths } from "./run.js";
import { CHILD_CONFIG } from "./testing/child-config.js";

const CHILD = join(import.meta.dirname, "testing", "session-child.ts");
let root: string;
let basePath: string;

/** Run the child; `killAt` = [signal, step]: send the signal once `STEP step` is printed. */
function runChild(runDir: string, mode: "fresh" | "resume", killAt?: [NodeJS.Signals, number]): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", CHILD, runDir, basePath, mode], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let sent = false;
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (killAt && !sent && out.includes(`STEP ${killAt[1]}\n`)) {
        sent = true;
        p.kill(killAt[0]);
      }
    });
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("close", (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`child failed (${code}):\n${err.slice(-3000)}`));
      else resolve({ code, signal, out });
    });
  });
}

const TIMING = new Set(["seconds", "tokens_per_s"]);
const withoutTiming = (line: string) => Object.fromEntries(Object.entries(JSON.parse(line) as Record<string, unknown>).filter(([k]) => !TIMING.has(k)));
const lines = (dir: string) => readFileSync(runPaths(dir).metrics, "utf8").split("\n").filter(Boolean);
const finalWeights = (dir: string) => readSafetensors(join(latestCheckpoint(dir)!.dir, "model.safetensors")).weights;

describe("resumable GRPO runs", () => {
  let reference: string;
  beforeAll(async () => {
    await initTensorBackend({ quiet: true });
    root = mkdtempSync(join(tmpdir(), "train-resume-"));
    basePath = join(root, "base.safetensors");
    // a briefly pre-trained base: mixed good and bad episodes, so rewards and updates are non-trivial
    writeSafetensors(basePath, pretrainBaseModel(createTinyTask(), { phases: [{ steps: 60, searchProb: 1, copyOnly: true }, { steps: 40, searchProb: 0.5 }] }));
    reference = join(root, "uninterrupted");
    const r = await runChild(reference, "fresh");
    expect(r.out).toContain(`DONE finished ${CHILD_CONFIG.maxSteps}`);
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("SIGKILL mid-run + --resume gives the same metrics and weights as an uninterrupted run", async () => {
    const ref = lines(reference);
    expect(ref).toHaveLength(CHILD_CONFIG.maxSteps);
    expect(new Set(ref.map((l) => JSON.parse(l).reward_std)).size).toBeGreaterThan(1); // non-trivial run
    const dir = join(root, "killed");
    const killed = await runChild(dir, "fresh", ["SIGKILL", 5]);
    expect(killed.signal).toBe("SIGKILL");
    const ckpt = latestCheckpoint(dir)!;
    expect(ckpt.state.step).toBe(4); // checkpoints every 2 steps; step 5 was logged, not checkpointed
    const before = lines(dir);
    expect(before.length).toBeGreaterThanOrEqual(5);
    const resumed = await runChild(dir, "resume");
    expect(resumed.out).toContain(`DONE finished ${CHILD_CONFIG.maxSteps}`);
    const after = lines(dir);
    expect(after.slice(0, 4)).toEqual(before.slice(0, 4)); // byte for byte up to the checkpoint
    expect(after.map(withoutTiming)).toEqual(ref.map(withoutTiming));
    const a = finalWeights(reference);
    const b = finalWeights(dir);
    for (const [name, t] of a) expect(Buffer.from(b.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    expect(listCheckpoints(dir).map((c) => c.state.step)).toEqual([4, 6]); // keep the last 2
  });

  it("SIGINT saves a checkpoint and exits cleanly; resuming finishes the same run", async () => {
    const dir = join(root, "interrupted");
    const r = await runChild(dir, "fresh", ["SIGINT", 3]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/DONE interrupted [34]\n/);
    const ckpt = latestCheckpoint(dir)!;
    expect(existsSync(join(ckpt.dir, "optimizer.safetensors"))).toBe(true);
    expect(ckpt.state.step).toBe(lines(dir).length);
    const resumed = await runChild(dir, "resume");
    expect(resumed.out).toContain(`DONE finished ${CHILD_CONFIG.maxSteps}`);
    expect(lines(dir).map(withoutTiming)).toEqual(lines(reference).map(withoutTiming));
  });
});
