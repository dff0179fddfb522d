/**
 * `research serve trainer` + `research train --backend tinker` as real processes, on the shipped stories260K
 * checkpoint, a real FlashRAG QA file and a BM25 index: the remote run's metrics.jsonl equals the in-process run's
 * with the same seed (timing aside, float tolerance), and the flags' errors are clear.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildIndex } from "../retrieval/index.js";
import { readMetrics } from "./run.js";
import { SHARED_DATA } from "../util/shared.js";

const run = promisify(execFile);
const DATA = SHARED_DATA;
let root: string;
let server: ChildProcess;
let url: string;

async function research(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ["bin/research.js", ...args], { env: { ...process.env, RESEARCH_QUIET_BACKEND: "1" }, maxBuffer: 1 << 24 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

const TIMING = new Set(["seconds", "tokens_per_s"]);
const strip = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).filter(([k]) => !TIMING.has(k)));

describe("research train --backend tinker (CLI) against research serve trainer", () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "tinker-cli-"));
    await buildIndex({ corpus: join(DATA, "reference/searchr1_example_corpus.jsonl"), out: join(root, "index"), quiet: true });
    writeFileSync(
      join(root, "train.yaml"),
      [`model: ${DATA}/models/stories260K`, `data: ${DATA}/eval/flashrag_quickstart_nq_test.jsonl`, `index: ${root}/index`, "topN: 1", "promptsPerStep: 2", "groupSize: 2", "maxResponseTokens: 12", "microBatchSize: 2", "checkpointEvery: 1", "lr: 0.001", "klCoef: 0", "entropyCoef: 0", ""].join("\n"),
    );
    server = spawn(process.execPath, ["bin/research.js", "serve", "trainer", "--models", join(DATA, "models"), "--checkpoints", join(root, "service"), "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
    url = await new Promise<string>((resolve, reject) => {
      let err = "";
      server.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        const m = /at (http:\/\/[^\s]+)\/api\/v1/.exec(err);
        if (m) resolve(m[1]);
      });
      server.on("exit", (code) => reject(new Error(`serve trainer exited (${code}): ${err}`)));
    });
  });
  afterAll(() => {
    server?.kill("SIGTERM");
    rmSync(root, { recursive: true, force: true });
  });

  it("logs the in-process run's metrics step for step", async () => {
    const local = join(root, "local");
    const remote = join(root, "remote");
    const a = await research(["train", "--config", join(root, "train.yaml"), "--out", local, "--max-steps", "2", "--seed", "3", "--quiet"]);
    expect(a.code, a.stderr).toBe(0);
    const b = await research(["train", "--config", join(root, "train.yaml"), "--out", remote, "--max-steps", "2", "--seed", "3", "--quiet", "--backend", "tinker", "--base-url", url, "--base-model", "stories260K"]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toContain(`through ${url} (stories260K)`);
    const ma = readMetrics(local).map(strip);
    const mb = readMetrics(remote).map(strip);
    expect(mb.map((m) => m.step)).toEqual([1, 2]);
    for (let i = 0; i < ma.length; i++)
      for (const [k, v] of Object.entries(ma[i]))
        if (typeof v === "number") expect(Math.abs((mb[i][k] as number) - v), `step ${i + 1} ${k}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v)));
        else expect(mb[i][k], k).toEqual(v);
    expect(JSON.parse(readFileSync(join(remote, "config.json"), "utf8")).tinker).toEqual({ baseUrl: url, baseModel: "stories260K", loraRank: 0 });
    // --resume continues from the service's checkpoint (state.json refs), logging the in-process run's step 3
    const a3 = await research(["train", "--resume", local, "--max-steps", "3", "--quiet"]);
    expect(a3.code, a3.stderr).toBe(0);
    const b3 = await research(["train", "--resume", remote, "--max-steps", "3", "--quiet", "--base-url", url]);
    expect(b3.code, b3.stderr).toBe(0);
    const [x, y] = [strip(readMetrics(local)[2]), strip(readMetrics(remote)[2])];
    expect(y.step).toBe(3);
    for (const [k, v] of Object.entries(x)) if (typeof v === "number") expect(Math.abs((y[k] as number) - v), `step 3 ${k}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v)));
    const state = JSON.parse(readFileSync(join(remote, "checkpoints", "step-000003", "state.json"), "utf8"));
    expect(state.refs["tinker.weights"]).toMatch(/^tinker:\/\/[^/]+\/weights\/step-3$/);
    const bad = await research(["train", "--resume", local, "--base-url", url]);
    expect(bad.stderr).toContain("--base-url: this run does not train through a Tinker service");
  });

  it("flag errors: tinker without its flags, LoRA rank the server lacks, KL with the tinker backend", async () => {
    const r1 = await research(["train", "--config", join(root, "train.yaml"), "--backend", "tinker"]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain("--backend tinker needs --base-url URL and --base-model NAME");
    const r2 = await research(["train", "--config", join(root, "train.yaml"), "--out", join(root, "lora"), "--max-steps", "1", "--quiet", "--backend", "tinker", "--base-url", url, "--base-model", "stories260K", "--lora-rank", "8"]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("lora_config.rank: 8 is not supported");
    const kl = join(root, "kl.yaml");
    writeFileSync(kl, readFileSync(join(root, "train.yaml"), "utf8").replace("klCoef: 0", "klCoef: 0.001"));
    const r3 = await research(["train", "--config", kl, "--backend", "tinker", "--base-url", url, "--base-model", "stories260K"]);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toContain("the tinker backend needs klCoef: 0");
  });
});
