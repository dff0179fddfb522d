/**
 * `research train` end to end on real parts: the shipped llama2.c stories260K checkpoint, a real FlashRAG QA file,
 * a BM25 index built from a real corpus. Checks the run directory, a loadable checkpoint, --resume extending a run,
 * and that config errors name the file and field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildIndex } from "../retrieval/index.js";
import { loadModel } from "../model/load.js";
import { latestCheckpoint, readMetrics } from "./run.js";
import { SHARED_DATA } from "../util/shared.js";

const run = promisify(execFile);
const DATA = SHARED_DATA;
let root: string;

async function research(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ["bin/research.js", ...args], { env: { ...process.env, RESEARCH_QUIET_BACKEND: "1" }, maxBuffer: 1 << 24 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe("research train (CLI)", () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "train-cli-"));
    await buildIndex({ corpus: join(DATA, "reference/searchr1_example_corpus.jsonl"), out: join(root, "index"), quiet: true });
    writeFileSync(
      join(root, "train.yaml"),
      [
        `model: ${DATA}/models/stories260K`,
        `data: ${DATA}/eval/flashrag_quickstart_nq_test.jsonl`,
        `index: ${root}/index`,
        "topN: 1",
        "promptsPerStep: 2",
        "groupSize: 2",
        "maxResponseTokens: 12",
        "microBatchSize: 2",
        "checkpointEvery: 1",
        "keepCheckpoints: 2",
        "lr: 0.0001",
        "",
      ].join("\n"),
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("writes a run directory with metrics, trajectories and a loadable checkpoint, and --resume extends it", async () => {
    const out = join(root, "run");
    const r = await research(["train", "--config", join(root, "train.yaml"), "--out", out, "--max-steps", "2", "--seed", "4"]);
    expect(r.stderr).toContain("finished at step 2/2");
    expect(r.code).toBe(0);
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    expect(cfg).toMatchObject({ maxSteps: 2, seed: 4, groupSize: 2, klCoef: 0.001, clipRatio: 0.2 });
    const m = readMetrics(out);
    expect(m.map((x) => x.step)).toEqual([1, 2]);
    for (const k of ["reward_mean", "reward_std", "format_rate", "answer_f1_mean", "searches_mean", "response_tokens_mean", "kl", "entropy", "clip_frac", "grad_norm", "lr", "seconds", "tokens_per_s"])
      expect(m[0], k).toHaveProperty(k);
    expect(Object.keys(m[0].seconds as object)).toEqual(expect.arrayContaining(["rollout", "reward", "logprobs", "backward", "optimizer", "total"]));
    const traj = readFileSync(join(out, "trajectories", "step-000002.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(traj).toHaveLength(4);
    expect(traj[0]).toHaveProperty("reward");
    expect(traj[0].responseIds.length).toBe(traj[0].lossMask.length);
    const ckpt = latestCheckpoint(out)!;
    expect(ckpt.state.step).toBe(2);
    const model = await loadModel(ckpt.dir); // a checkpoint is a model directory
    expect(model.config.vocab_size).toBe(512);
    expect(model.tokenizer.decode(model.tokenizer.encode("Once upon a time"))).toContain("Once upon a time");

    const first = readFileSync(join(out, "metrics.jsonl"), "utf8");
    const r2 = await research(["train", "--resume", out, "--max-steps", "3", "--quiet"]);
    expect(r2.code).toBe(0);
    const after = readFileSync(join(out, "metrics.jsonl"), "utf8");
    expect(after.startsWith(first)).toBe(true);
    expect(readMetrics(out).map((x) => x.step)).toEqual([1, 2, 3]);
    expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).maxSteps).toBe(3);
    expect(existsSync(join(out, "checkpoints", "step-000001"))).toBe(false); // keep the last 2
  });

  it("rejects unknown config keys and bad values with the file and field", async () => {
    const bad = join(root, "bad.yaml");
    writeFileSync(bad, `model: x\ndata: y\nindex: z\ngroupSzie: 4\nclipRatio: -1\n`);
    const r = await research(["train", "--config", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}: (root): Unrecognized key: "groupSzie"`);
    expect(r.stderr).toMatch(/clipRatio: .*(>0|positive)/i);
    const r2 = await research(["train", "--resume", join(root, "nowhere")]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("is not a run directory");
  });
});
