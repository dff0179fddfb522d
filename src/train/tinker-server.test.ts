/**
 * `research serve trainer` (train/tinker-server.ts) over HTTP (fastify inject) on the tiny task's model: futures,
 * the Tinker field names, gradients equal to the engine's own, idempotent optim_step, checkpoints, sampling, and
 * the 400/404/409 errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { createTinkerApp } from "./tinker-server.js";
import { createTinyTask } from "./testing/tiny-task.js";
import { initWeights } from "../model/trainable.js";
import { engineRuntime } from "../model/engine-select.js";
import { GgmlWeights } from "../ggml/model.js";
import { GgmlPolicy } from "../ggml/train.js";

const task = createTinyTask();
const base = { config: task.modelConfig, weights: initWeights(task.modelConfig, 3), tokenizer: task.tokenizer };
let root: string;
let app: FastifyInstance;
let dispose: () => void;

async function post(route: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await app.inject({ method: "POST", url: `/api/v1/${route}`, payload: body as object, headers });
  return { status: r.statusCode, body: r.json() as Record<string, unknown> };
}
/** POST then collect the future. */
async function call(route: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await post(route, body, headers);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  for (;;) {
    const f = await post("retrieve_future", { request_id: r.body.request_id });
    expect(f.status).toBe(200);
    if (f.body.type !== "try_again") return { ...f.body, request_id: r.body.request_id as string } as Record<string, unknown> & { request_id: string };
  }
}
const datum = (tokens: number[], weights: number[]) => ({
  model_input: { chunks: [{ type: "encoded_text", tokens: tokens.slice(0, -1) }] },
  loss_fn_inputs: { target_tokens: { data: tokens.slice(1), dtype: "int64", shape: [tokens.length - 1] }, weights: { data: weights, dtype: "float32", shape: [weights.length] } },
});

describe("research serve trainer (Tinker API)", () => {
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "tinker-server-"));
    ({ app, dispose } = createTinkerApp({ models: root, loadBase: async (name) => (name === "tiny" ? base : null) }));
  });
  afterAll(async () => {
    await app.close();
    dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it("create_model: a future with the model id; LoRA rank > 0 and unknown base models are refused", async () => {
    const m = await call("create_model", { base_model: "tiny", lora_config: { rank: 0 } });
    expect(m).toMatchObject({ type: "create_model", model_id: expect.any(String) });
    const lora = await post("create_model", { base_model: "tiny", lora_config: { rank: 8 } });
    expect(lora.status).toBe(400);
    expect(lora.body.error).toContain("lora_config.rank");
    expect((await post("create_model", { base_model: "nope" })).status).toBe(404);
    const bad = await post("create_model", { base_modle: "tiny" });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain("base_model");
    expect((await post("retrieve_future", { request_id: "nope" })).status).toBe(404);
  });

  it("forward_backward + optim_step: logprobs and gradients are the engine's; an optim_step resent with its seq_id is applied once", async () => {
    const { model_id } = await call("create_model", { base_model: "tiny" });
    const rows = [
      [1, 20, 30, 21, 22],
      [1, 25, 26],
    ];
    const weights = [
      [0, 0, 0.5, -0.25],
      [0, 1],
    ];
    const fb = await call("forward_backward", { model_id, seq_id: 1, forward_backward_input: { data: rows.map((r, i) => datum(r, weights[i])), loss_fn: "cross_entropy" } });
    const outs = fb.loss_fn_outputs as Array<{ logprobs: { data: number[] } }>;
    expect(outs.map((o) => o.logprobs.data.length)).toEqual([4, 2]);
    // the same batch on a fresh policy of the same weights
    const w = new GgmlWeights(engineRuntime(), base.config, base.weights);
    const policy = new GgmlPolicy(w);
    const L = 5;
    const ids = Int32Array.from(rows.flatMap((r) => [...r, ...new Array(L - r.length).fill(0)]));
    const mask = Float32Array.from(rows.flatMap((r) => Array.from({ length: L }, (_, j) => (j < r.length ? 1 : 0))));
    const c = new Float32Array(2 * (L - 1));
    weights.forEach((ws, b) => ws.forEach((x, t) => (c[b * (L - 1) + t] = -x)));
    const got = policy.accumulate({ inputIds: ids, B: 2, T: L, attentionMask: mask }, c, new Float32Array(c.length));
    expect(outs[0].logprobs.data).toEqual(Array.from(got.logprobs.subarray(0, 4)));
    expect(outs[1].logprobs.data).toEqual(Array.from(got.logprobs.subarray(4, 6)));
    const norm = policy.gradNorm();
    expect((fb.metrics as Record<string, number>).grad_norm).toBeCloseTo(norm, 5);
    expect((fb.metrics as Record<string, number>)["loss:sum"]).toBeCloseTo(-(0.5 * got.logprobs[2] - 0.25 * got.logprobs[3] + got.logprobs[5]), 5);
    policy.dispose();
    w.dispose();

    const body = { model_id, seq_id: 2, adam_params: { learning_rate: 0.01, grad_clip_norm: 1 } };
    const first = await post("optim_step", body);
    const again = await post("optim_step", body); // a retry after a lost response
    expect(again.body.request_id).toBe(first.body.request_id);
    const o = await call("optim_step", body);
    expect(o.metrics).toMatchObject({ step: 1 });
    expect((await post("get_info", { model_id })).body.optimizer_steps).toBe(1);
    // seq_id reused by another kind, or going backwards: 409
    expect((await post("forward_backward", { model_id, seq_id: 2, forward_backward_input: { data: [datum(rows[1], weights[1])], loss_fn: "cross_entropy" } })).status).toBe(409);
    expect((await post("forward", { model_id, seq_id: 1, forward_backward_input: { data: [datum(rows[1], weights[1])], loss_fn: "cross_entropy" } })).status).toBe(409);
    // the idempotency header dedupes too
    const k1 = await post("optim_step", { model_id, adam_params: { learning_rate: 0.01 } }, { "X-Idempotency-Key": "k1" });
    const k2 = await post("optim_step", { model_id, adam_params: { learning_rate: 0.01 } }, { "X-Idempotency-Key": "k1" });
    expect(k2.body.request_id).toBe(k1.body.request_id);
    await call("optim_step", { model_id, adam_params: { learning_rate: 0.01 } }, { "X-Idempotency-Key": "k1" });
    expect((await post("get_info", { model_id })).body.optimizer_steps).toBe(2);
  });

  it("bad bodies are 400 naming the field; unknown models 404", async () => {
    const { model_id } = await call("create_model", { base_model: "tiny" });
    const shifted = datum([1, 20, 30], [0, 1]);
    shifted.loss_fn_inputs.target_tokens.data = [21, 30];
    let r = await post("forward_backward", { model_id, forward_backward_input: { data: [shifted], loss_fn: "cross_entropy" } });
    expect(r.status).toBe(400);
    expect(r.body.error).toContain("data.0.loss_fn_inputs.target_tokens");
    r = await post("forward_backward", { model_id, forward_backward_input: { data: [datum([1, 20, 30], [0, 1])], loss_fn: "importance_sampling" } });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/advantages: required by importance_sampling/);
    r = await post("forward_backward", { model_id, forward_backward_input: { data: [datum([1, 20, 30], [0])], loss_fn: "cross_entropy" } });
    expect(r.body.error).toContain("weights: 1 values for 2 input tokens");
    r = await post("optim_step", { model_id, adam_params: { learning_rate: -1 } });
    expect(r.status).toBe(400);
    expect(r.body.error).toContain("adam_params.learning_rate");
    expect((await post("optim_step", { model_id: "nope", adam_params: {} })).status).toBe(404);
    expect((await post("load_weights", { model_id, path: "tinker://x/weights/none", optimizer: true })).status).toBe(404);
  });

  it("importance_sampling with logprobs = the policy's own: gradient = Σ advantages ∇logp (ratio 1)", async () => {
    const { model_id } = await call("create_model", { base_model: "tiny" });
    const toks = [1, 20, 30, 21];
    const fwd = await call("forward", { model_id, forward_backward_input: { data: [datum(toks, [1, 1, 1])], loss_fn: "cross_entropy" } });
    const lp = (fwd.loss_fn_outputs as Array<{ logprobs: { data: number[] } }>)[0].logprobs.data;
    const d = datum(toks, [0, 1, 1]) as ReturnType<typeof datum> & { loss_fn_inputs: Record<string, unknown> };
    d.loss_fn_inputs.advantages = { data: [0, 0.5, 0.5], dtype: "float32" };
    d.loss_fn_inputs.logprobs = { data: lp, dtype: "float32" };
    const is = await call("forward_backward", { model_id, forward_backward_input: { data: [d], loss_fn: "importance_sampling" } });
    const ce = await call("create_model", { base_model: "tiny" });
    const ceOut = await call("forward_backward", { model_id: ce.model_id, forward_backward_input: { data: [datum(toks, [0, 0.5, 0.5])], loss_fn: "cross_entropy" } });
    expect((is.metrics as Record<string, number>).grad_norm).toBeCloseTo((ceOut.metrics as Record<string, number>).grad_norm, 6);
    expect((is.metrics as Record<string, number>)["loss:sum"]).toBeCloseTo(-1, 6);
  });

  it("save_weights / load_weights / save_weights_for_sampler / asample", async () => {
    const { model_id } = await call("create_model", { base_model: "tiny" });
    await call("forward_backward", { model_id, forward_backward_input: { data: [datum([1, 20, 30, 21], [0, 1, 1])], loss_fn: "cross_entropy" } });
    await call("optim_step", { model_id, adam_params: { learning_rate: 0.05 } });
    const saved = await call("save_weights", { model_id, path: "s1" });
    expect(saved.path).toBe(`tinker://${model_id}/weights/s1`);
    const probe = { forward_backward_input: { data: [datum([1, 20, 30, 21], [1, 1, 1])], loss_fn: "cross_entropy" } };
    const lpOf = async (id: string) => ((await call("forward", { model_id: id, ...probe })).loss_fn_outputs as Array<{ logprobs: { data: number[] } }>)[0].logprobs.data;
    const trained = await lpOf(model_id as string);
    const other = await call("create_model", { base_model: "tiny" });
    expect(await lpOf(other.model_id as string)).not.toEqual(trained);
    const loaded = await call("load_weights", { model_id: other.model_id, path: saved.path as string, optimizer: true });
    expect(loaded).toMatchObject({ type: "load_weights", path: saved.path });
    expect(await lpOf(other.model_id as string)).toEqual(trained);
    expect((await post("get_info", { model_id: other.model_id })).body.optimizer_steps).toBe(1);

    const sampler = await call("save_weights_for_sampler", { model_id, path: "v1" });
    expect(sampler.path).toBe(`tinker://${model_id}/sampler_weights/v1`);
    const sample = await call("asample", { num_samples: 2, prompt: { chunks: [{ type: "encoded_text", tokens: [1, 17, 20, 28] }] }, sampling_params: { max_tokens: 6, seed: 3, stop: ["</search>"], temperature: 1 }, model_path: sampler.path });
    const seqs = sample.sequences as Array<{ tokens: number[]; logprobs: number[]; stop_reason: string }>;
    expect(seqs).toHaveLength(2);
    for (const s of seqs) {
      expect(s.tokens.length).toBeGreaterThan(0);
      expect(s.logprobs).toHaveLength(s.tokens.length);
      expect(["stop", "length"]).toContain(s.stop_reason);
    }
    const url = (await app.inject({ method: "GET", url: `/api/v1/training_runs/${model_id}/checkpoints/sampler_weights/v1/archive` })).json().url as string;
    const file = await app.inject({ method: "GET", url });
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.length).toBeGreaterThan(1000);
  });
});
