/**
 * @module train/tinker-client — the `tinker` training backend: steps 4–6 of the GRPO loop sent over HTTP to a
 * Tinker-compatible service (hosted Tinker, SkyRL-tx, or `research serve trainer`, train/tinker-server.ts). The
 * protocol (routes, JSON field names, futures, seq_id, X-API-Key / X-Idempotency-Key headers) is the one described
 * in train/tinker-server.ts, checked against the Tinker SDK (thinking-machines-lab/tinker @ d595dc2:
 * src/tinker/types/*.py, resources/*.py, lib/public_interfaces/service_client.py for TINKER_API_KEY → X-API-Key,
 * _client.py for X-Idempotency-Key, training_client.py for seq_id = request id + 1).
 *
 * One GRPO step = one forward_backward per micro-batch (the in-process layout, train/update.ts layoutUpdate) + one
 * optim_step + save_weights_for_sampler and a download of those weights into the local rollout engine (publish).
 *
 * The loss: with one mini-batch per step (updatesPerStep 1) π_old = π_θ, so the ratio is 1 and the gradient of
 * GRPO's clipped surrogate is Σ_t c_t ∇log π(target_t) with c_t = −∂L/∂logp_t = the advantage over the loss
 * normalizer on trained tokens and 0 on the prompt and inside `<result>` blocks (the same coefficients the ggml
 * backend backprops, train/ggml-backend.ts lossCoefficients). That is exactly Tinker's `cross_entropy` loss
 * (−Σ weights·logp) with weights = c, so the remote update equals the in-process one. The metrics (loss, pg_loss,
 * clip_frac, approx_kl, entropy) are the same spec (train/update.ts microLossOf) computed here from the log-probs
 * the service returns; entropy needs the `entropy` output and grad_norm the `grad_norm` metric, extensions of
 * `research serve trainer` (NaN against services without them). Hence the backend needs klCoef 0, entropyCoef 0
 * and updatesPerStep 1 (the tinker-cookbook search recipe's setting).
 *
 * Faults: a call answered 5xx, timed out or cut off is retried (`retries` times, backoff) with the same body,
 * seq_id and idempotency key, so the service answers the first call's future instead of applying it again (an
 * optim_step is never applied twice); a 4xx, a failed future or the last failed retry stops the run with a
 * UserError naming the call. Checkpoints: `save` stores the service's `tinker://…/weights/…` path in
 * TrainingState.refs["tinker.weights"]; `load` (resume) creates a model and load_weights that path with the
 * optimizer state, so a resumed run continues from the service's checkpoint (also on a restarted server).
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../util/errors.js";
import type { WeightMap } from "../model/weights.js";
import { readSafetensors } from "../model/safetensors.js";
import type { TrainConfig } from "./config.js";
import { datumOf, type BackendUpdate, type TrainingBackend, type TrainingState } from "./backend.js";
import { microLossOf, planUpdate, type LossParts, type UpdateResult, type UpdateRow } from "./update.js";
import { lossCoefficients } from "./ggml-backend.js";

export interface TinkerBackendOptions {
  /** Service root, e.g. http://127.0.0.1:8001 (routes are under /api/v1/). */
  baseUrl: string;
  /** Model name the service knows (Tinker: e.g. "Qwen/Qwen3-8B"; research serve trainer: a directory under --models). */
  baseModel: string;
  /** LoRA rank sent in create_model's lora_config (0: none, full fine-tune — what research serve trainer supports). */
  loraRank: number;
  /** Sent as X-API-Key (default: env TINKER_API_KEY, as the SDK does). */
  apiKey?: string;
  eosId: number | null;
  /** Load published weights into the local rollout engine. */
  syncWeights(weights: WeightMap): void | Promise<void>;
  /** Retries of a call after a 5xx, a timeout or a network error (default 3). */
  retries?: number;
  /** Per-request timeout (default 120 s). */
  timeoutMs?: number;
  /** First retry's wait, doubled each retry (default 200 ms). */
  backoffMs?: number;
}

/** Which configs the backend reproduces exactly (module comment). */
export function checkTinkerConfig(cfg: TrainConfig, source = "config"): void {
  const bad = [cfg.klCoef !== 0 && "klCoef: 0", cfg.entropyCoef !== 0 && "entropyCoef: 0", cfg.updatesPerStep !== 1 && "updatesPerStep: 1"].filter(Boolean);
  if (bad.length) throw new UserError(`${source}: the tinker backend needs ${bad.join(", ")} (one on-policy update per step, no KL or entropy term; see src/train/tinker-client.ts)`);
}

/** Requests sent, by route (README: requests per step). */
export type RequestCounts = Record<string, number>;

export function createTinkerBackend(opts: TinkerBackendOptions): TrainingBackend & { requests: RequestCounts; modelId(): string | null } {
  const root = opts.baseUrl.replace(/\/+$/, "");
  const apiKey = opts.apiKey ?? process.env.TINKER_API_KEY ?? "";
  const retries = opts.retries ?? 3;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const backoffMs = opts.backoffMs ?? 200;
  const requests: RequestCounts = {};
  const session = crypto.randomUUID();
  let modelId: string | null = null;
  let seq = 0;
  let steps = 0;
  let published: WeightMap | null = null;
  let creating: Promise<string> | null = null;

  const headers = (idem?: string): Record<string, string> => ({
    "content-type": "application/json",
    ...(apiKey ? { "X-API-Key": apiKey } : {}),
    ...(idem ? { "X-Idempotency-Key": idem } : {}),
  });

  /** One HTTP exchange with retries on 5xx / timeout / network errors; 4xx throws. */
  async function http(method: "GET" | "POST", route: string, call: string, body?: unknown, idem?: string): Promise<Response> {
    const url = route.startsWith("http") ? route : `${root}${route}`;
    let last = "";
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
      requests[call] = (requests[call] ?? 0) + 1;
      let res: Response;
      try {
        res = await fetch(url, { method, headers: headers(idem), body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      } catch (e) {
        last = (e as Error).name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : `${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ""}`;
        continue;
      }
      if (res.status >= 500 || res.status === 408 || res.status === 429) {
        last = `HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`;
        continue;
      }
      if (res.status >= 400) {
        const text = await res.text();
        let msg = text;
        try {
          const j = JSON.parse(text) as { error?: unknown; detail?: unknown };
          msg = typeof j.error === "string" ? j.error : JSON.stringify(j.error ?? j.detail ?? j);
        } catch {
          /* not JSON */
        }
        throw new UserError(`tinker ${call} (${url}): HTTP ${res.status}: ${msg}`);
      }
      return res;
    }
    throw new UserError(`tinker ${call} (${url}) failed after ${retries + 1} tries: ${last}`);
  }

  /** POST a call and collect its future (retrieve_future until it is not try_again). */
  async function call<T>(route: string, body: Record<string, unknown>): Promise<T> {
    const idem = `${session}:${route}:${(body.seq_id as number | undefined) ?? crypto.randomUUID()}`;
    const fut = (await (await http("POST", `/api/v1/${route}`, route, body, idem)).json()) as { request_id?: string };
    if (!fut.request_id) throw new UserError(`tinker ${route}: the service answered no request_id (${JSON.stringify(fut).slice(0, 200)})`);
    for (;;) {
      const r = (await (await http("POST", "/api/v1/retrieve_future", `retrieve_future(${route})`, { request_id: fut.request_id })).json()) as Record<string, unknown>;
      if (r.type === "try_again") continue;
      if (typeof r.error === "string" && r.category !== undefined) throw new UserError(`tinker ${route} failed on the service (${r.category}): ${r.error}`);
      return r as T;
    }
  }

  async function model(): Promise<string> {
    if (modelId) return modelId;
    creating ??= call<{ model_id: string }>("create_model", {
      session_id: session,
      model_seq_id: 0,
      base_model: opts.baseModel,
      ...(opts.loraRank > 0 ? { lora_config: { rank: opts.loraRank } } : {}),
    }).then((r) => {
      modelId = r.model_id;
      return r.model_id;
    });
    try {
      return await creating;
    } finally {
      creating = null;
    }
  }

  /** A training call on the model, with the next seq_id (kept across retries). */
  async function modelCall<T>(route: string, body: Record<string, unknown>): Promise<T> {
    const id = await model();
    seq += 1;
    return call<T>(route, { model_id: id, seq_id: seq, ...body });
  }

  async function download(path: string): Promise<WeightMap> {
    const m = /^tinker:\/\/([^/]+)\/(.+)$/.exec(path);
    if (!m) throw new UserError(`tinker save_weights_for_sampler: unexpected path "${path}"`);
    const archive = (await (await http("GET", `/api/v1/training_runs/${m[1]}/checkpoints/${m[2]}/archive`, "checkpoint_archive_url")).json()) as { url?: string };
    if (!archive.url) throw new UserError(`tinker checkpoint_archive_url: no url for ${path}`);
    const bytes = Buffer.from(await (await http("GET", new URL(archive.url, `${root}/`).href, "download_checkpoint")).arrayBuffer());
    const dir = mkdtempSync(join(tmpdir(), "tinker-weights-"));
    try {
      writeFileSync(join(dir, "model.safetensors"), bytes);
      return readSafetensors(join(dir, "model.safetensors")).weights;
    } catch (e) {
      throw new UserError(`tinker: the weights of ${path} are not a safetensors file (${(e as Error).message}); publishing to the local sampler needs a service that serves full weights, as research serve trainer does`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  type Out = { loss_fn_outputs: Array<Record<string, { data: number[] }>>; metrics?: Record<string, number> };

  async function update(rows: UpdateRow[], cfg: TrainConfig, lr: number): Promise<BackendUpdate> {
    checkTinkerConfig(cfg);
    const t0 = performance.now();
    const noLogprobs = { tokenLogprobs: () => { throw new Error("tinker backend: no local log-probs (updatesPerStep 1, no reference)"); } };
    const plan = planUpdate(rows, cfg, { policy: noLogprobs, eosId: opts.eosId });
    const logprobsMs = performance.now() - t0;
    const res: UpdateResult = { stats: { loss: 0, pg: 0, kl: 0, ent: 0, clip: 0, akl: 0, gnorm: 0 }, lpDiff: { sum: 0, n: 0 }, backwardMs: 0, optimMs: 0 };
    try {
      const nMinis = plan.minis.length;
      for (const { parts, normalizer, tokenNormalizer, keptNormalizer } of plan.minis) {
        if (parts.length === 0) continue;
        const tb = performance.now();
        const part: LossParts = { loss: 0, pg: 0, kl: 0, ent: 0, clip: 0, akl: 0 };
        const loss = microLossOf(rows, cfg, res, part, normalizer, tokenNormalizer);
        let total = 0;
        let gradNorm = NaN;
        for (const p of parts) {
          const B = p.batch.B;
          const T = p.batch.L - 1;
          const [cLp] = lossCoefficients(p, loss, new Float32Array(B * T), new Float32Array(B * T));
          const data = p.idx.map((r, b) => {
            const d = datumOf(rows[r].seq, rows[r].adv, opts.eosId);
            const n = d.modelInput.length;
            const weights = Array.from(cLp.subarray(b * T, b * T + n), (c) => (c === 0 ? 0 : -c));
            return {
              model_input: { chunks: [{ type: "encoded_text", tokens: d.modelInput }] },
              loss_fn_inputs: { target_tokens: { data: d.targetTokens, dtype: "int64", shape: [n] }, weights: { data: weights, dtype: "float32", shape: [n] } },
            };
          });
          const out = await modelCall<Out>("forward_backward", {
            forward_backward_input: { data, loss_fn: "cross_entropy", ...(cfg.temperature !== 1 ? { loss_fn_config: { temperature: cfg.temperature } } : {}) },
          });
          if (out.loss_fn_outputs?.length !== B) throw new UserError(`tinker forward_backward: ${out.loss_fn_outputs?.length} outputs for ${B} datums`);
          const lp = new Float32Array(B * T);
          const ent = new Float32Array(B * T).fill(NaN);
          out.loss_fn_outputs.forEach((o, b) => {
            lp.set(o.logprobs.data, b * T);
            if (o.entropy) ent.set(o.entropy.data, b * T);
            else ent.fill(NaN, b * T, b * T + o.logprobs.data.length);
            ent.fill(0, b * T + o.logprobs.data.length, (b + 1) * T);
          });
          total += tf.tidy(() => loss(p, tf.tensor2d(lp, [B, T]), tf.tensor2d(ent, [B, T]), true).dataSync()[0]);
          gradNorm = out.metrics?.grad_norm ?? NaN;
        }
        res.backwardMs += performance.now() - tb;
        const to = performance.now();
        part.ent *= normalizer / keptNormalizer;
        part.kl *= normalizer / keptNormalizer;
        for (const key of Object.keys(part) as (keyof LossParts)[]) res.stats[key] += part[key] / nMinis;
        res.stats.gnorm += gradNorm / nMinis;
        if (!Number.isFinite(total) || Number.isNaN(gradNorm) === false && !Number.isFinite(gradNorm)) {
          // the service keeps the gradient until an optim_step; with no way to drop it the run stops here
          throw new UserError(`tinker: non-finite ${Number.isFinite(total) ? "gradient" : "loss"} at optimizer step ${steps + 1}; lower lr (the service's accumulated gradient cannot be discarded)`);
        }
        await modelCall("optim_step", {
          adam_params: { learning_rate: lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.adamEps, weight_decay: cfg.weightDecay, grad_clip_norm: cfg.gradClip },
        });
        steps++;
        res.optimMs += performance.now() - to;
      }
      return { ...res, trainedTokens: plan.trainedTokens, skippedRows: plan.skippedRows, logprobsMs };
    } finally {
      plan.dispose();
    }
  }

  async function publish(): Promise<void> {
    const r = await modelCall<{ path: string }>("save_weights_for_sampler", { path: `sampler-${steps}` });
    published = await download(r.path);
    await opts.syncWeights(published);
  }

  return {
    kind: "tinker",
    requests,
    modelId: () => modelId,
    update,
    publish,
    optimizerSteps: () => steps,
    async save(step: number): Promise<TrainingState> {
      const r = await modelCall<{ path: string }>("save_weights", { path: `step-${step}` });
      if (!published) {
        const s = await modelCall<{ path: string }>("save_weights_for_sampler", { path: `sampler-${steps}` });
        published = await download(s.path);
      }
      return { weights: published, optimizer: new Map(), refs: { "tinker.weights": r.path, "tinker.base_model": opts.baseModel } };
    },
    async load(state: TrainingState): Promise<void> {
      const path = state.refs?.["tinker.weights"];
      if (!path) throw new UserError("this checkpoint holds no tinker:// weights path (it was saved by the in-process backend); resume it without --backend tinker");
      await modelCall("load_weights", { path, optimizer: true });
      const info = (await http("POST", "/api/v1/get_info", "get_info", { model_id: await model() })
        .then((r) => r.json())
        .catch(() => ({}))) as { optimizer_steps?: number }; // optimizer_steps: research serve trainer's; else keep the count
      if (typeof info.optimizer_steps === "number") steps = info.optimizer_steps;
      published = state.weights;
      await opts.syncWeights(state.weights);
    },
    async close() {
      /* models live on the service; nothing held here */
    },
  };
}
