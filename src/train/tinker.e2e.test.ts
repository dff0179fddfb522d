/**
 * The tinker training backend end to end over HTTP (issue 26): GRPO on the tiny task through `research serve
 * trainer` (train/tinker-server.ts, in process on port 0) logs the same metrics.jsonl, step for step, as the
 * in-process run with the same seed; a server stopped mid-run stops the run with a message naming the call, and the
 * run resumed against a restarted server (same checkpoint directory) from the service's checkpoint finishes the same
 * run; a server that fails once at every call (after doing the work: the reply is lost) costs retries only — no
 * optim_step is applied twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { initTensorBackend } from "../tensor/backend.js";
import { setEngineDefaults } from "../model/engine-select.js";
import { createTinyTask, pretrainBaseModel, type TinyTask } from "./testing/tiny-task.js";
import { TrainConfig } from "./config.js";
import { runSession } from "./session.js";
import { createTrainingSetup } from "./setup.js";
import { latestCheckpoint, runPaths } from "./run.js";
import { startTinkerServer } from "./tinker-server.js";
import type { WeightMap } from "../model/weights.js";
import type { createTinkerBackend } from "./tinker-client.js";

const CONFIG = { promptsPerStep: 4, groupSize: 4, maxSteps: 4, checkpointEvery: 2, keepCheckpoints: 2, lr: 2e-3, klCoef: 0, entropyCoef: 0, maxResponseTokens: 24, microBatchSize: 6, seed: 5 };
const cfg = TrainConfig.parse(CONFIG);
let task: TinyTask;
let base: WeightMap;
let root: string;

const TIMING = new Set(["seconds", "tokens_per_s"]);
const metrics = (dir: string) =>
  readFileSync(runPaths(dir).metrics, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => Object.fromEntries(Object.entries(JSON.parse(l) as Record<string, unknown>).filter(([k]) => !TIMING.has(k))));

/** Equal up to float tolerance on numbers (the rest exactly). */
function expectClose(a: unknown, b: unknown, path = ""): void {
  if (typeof a === "number" && typeof b === "number") {
    expect(Math.abs(a - b), `${path}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b)));
  } else if (a && b && typeof a === "object" && typeof b === "object") {
    expect(Object.keys(a).sort(), path).toEqual(Object.keys(b).sort());
    for (const k of Object.keys(a)) expectClose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
  } else expect(a, path).toEqual(b);
}

type Tinker = ReturnType<typeof createTinkerBackend>;

async function run(runDir: string, opts: { url?: string; resume?: boolean; onStep?: (step: number) => void | Promise<void> } = {}) {
  const setup = createTrainingSetup(cfg, { config: task.modelConfig, weights: base, tokenizer: task.tokenizer }, {
    retriever: task.retriever,
    examples: task.examples,
    template: task.template,
    maxBatch: 32,
    ...(opts.url ? { tinker: { baseUrl: opts.url, baseModel: "tiny", loraRank: 0, retries: 2, backoffMs: 20, timeoutMs: 20_000 } } : {}),
  });
  try {
    const result = await runSession({ runDir, config: cfg, modelConfig: task.modelConfig, resume: opts.resume ?? false, deps: setup, onStep: (m) => (process.env.TINKER_E2E_DEBUG && console.error("step", m.step, JSON.stringify(m.seconds)), opts.onStep?.(m.step)) });
    return { result, training: setup.training as Tinker };
  } finally {
    setup.dispose();
  }
}

const server = (checkpoints: string, setup?: (app: FastifyInstance) => void) =>
  startTinkerServer({ models: root, checkpoints, port: 0, loadBase: async (name) => (name === "tiny" ? { config: task.modelConfig, weights: base, tokenizer: task.tokenizer } : null) }, setup);

describe("GRPO through the Tinker API (research serve trainer)", () => {
  let reference: string;
  beforeAll(async () => {
    setEngineDefaults({ threads: 1 }); // tiny graphs: one thread is fastest, and spinning workers stall on a busy 2-core machine
    await initTensorBackend({ quiet: true });
    task = createTinyTask();
    base = pretrainBaseModel(task, { phases: [{ steps: 60, searchProb: 1, copyOnly: true }, { steps: 40, searchProb: 0.5 }] });
    root = mkdtempSync(join(tmpdir(), "tinker-e2e-"));
    reference = join(root, "in-process");
    await run(reference);
  }, 60_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("--backend tinker against research serve trainer logs the in-process run's metrics step for step", async () => {
    const ref = metrics(reference);
    expect(ref).toHaveLength(CONFIG.maxSteps);
    expect(new Set(ref.map((m) => m.reward_std)).size).toBeGreaterThan(1); // non-trivial run
    expect(ref.some((m) => (m.grad_norm as number) > 0)).toBe(true);
    const s = await server(join(root, "ckpt-a"));
    try {
      const dir = join(root, "remote");
      const { result, training } = await run(dir, { url: s.url });
      expect(result.status).toBe("finished");
      expect(training.kind).toBe("tinker");
      expectClose(metrics(dir), ref);
      // requests per step: one forward_backward per micro-batch (16 rollouts / 6 = 3), one optim_step, one sampler save
      expect(training.requests.forward_backward).toBe(3 * CONFIG.maxSteps);
      expect(training.requests.optim_step).toBe(CONFIG.maxSteps);
      expect(training.requests.save_weights_for_sampler).toBe(CONFIG.maxSteps);
      expect(latestCheckpoint(dir)!.state.refs?.["tinker.weights"]).toMatch(/^tinker:\/\/[^/]+\/weights\/step-4$/);
    } finally {
      await s.close();
    }
  }, 60_000);

  it("a server stopped mid-run stops the run naming the call; resumed against a restarted server it finishes the same run", async () => {
    const ckpts = join(root, "ckpt-b");
    const dir = join(root, "restarted");
    const s1 = await server(ckpts);
    let stopped = false;
    const err = await run(dir, {
      url: s1.url,
      onStep: async (step) => {
        if (step === 3) {
          await s1.close();
          stopped = true;
        }
      },
    }).catch((e: Error) => e);
    expect(stopped).toBe(true);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^tinker (forward_backward|create_model|retrieve_future).*failed after 3 tries/);
    expect(latestCheckpoint(dir)!.state.step).toBe(2);
    const s2 = await server(ckpts); // a new process's server: new port, the same checkpoints
    try {
      const { result } = await run(dir, { url: s2.url, resume: true });
      expect(result.status).toBe("finished");
      expectClose(metrics(dir), metrics(reference));
    } finally {
      await s2.close();
    }
  }, 60_000);

  it("a server failing once at every call (reply lost after the work): the run retries and applies each optim_step once", async () => {
    const failed = new Set<string>(["/api/v1/get_info"]); // the test's own probe below
    const s = await server(join(root, "ckpt-c"), (app) =>
      app.addHook("onSend", async (req, reply, payload) => {
        const route = req.url.split("?")[0].replace(/\/api\/v1\/_files\/.*/, "files");
        if (failed.has(route)) return payload;
        failed.add(route);
        reply.code(503);
        return JSON.stringify({ error: "injected fault" });
      }),
    );
    try {
      const dir = join(root, "faulty");
      const { result, training } = await run(dir, { url: s.url });
      expect(result.status).toBe("finished");
      expect([...failed]).toEqual(expect.arrayContaining(["/api/v1/create_model", "/api/v1/forward_backward", "/api/v1/optim_step", "/api/v1/retrieve_future", "/api/v1/save_weights_for_sampler", "/api/v1/save_weights"]));
      expect(training.requests.optim_step).toBe(CONFIG.maxSteps + 1); // one retry
      const info = await fetch(`${s.url}/api/v1/get_info`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model_id: training.modelId() }) }).then((r) => r.json() as Promise<{ optimizer_steps: number }>);
      expect(info.optimizer_steps).toBe(CONFIG.maxSteps); // never applied twice
      expectClose(metrics(dir), metrics(reference));
    } finally {
      await s.close();
    }
  }, 60_000);
});
