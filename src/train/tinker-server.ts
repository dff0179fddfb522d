/**
 * @module train/tinker-server — `research serve trainer`: our ggml engine behind the Tinker training REST API, so a
 * script written for Tinker trains our models on a laptop and train/tinker-client.ts is tested end to end over HTTP.
 *
 * Wire protocol (JSON bodies; field names as in the Tinker SDK, thinking-machines-lab/tinker @ d595dc2):
 *   POST /api/v1/create_model      {session_id?, model_seq_id?, base_model, lora_config?: {rank, …}}      types/create_model_request.py
 *   POST /api/v1/forward_backward  {model_id, seq_id?, forward_backward_input: {data: Datum[], loss_fn,
 *                                    loss_fn_config?}}                                            types/forward_backward_request.py, forward_backward_input.py
 *   POST /api/v1/forward           same body, no gradient                                          resources/training.py (forward_only)
 *   POST /api/v1/optim_step        {model_id, seq_id?, adam_params: {learning_rate, beta1, beta2, eps, weight_decay,
 *                                    grad_clip_norm}}                                              types/optim_step_request.py
 *   POST /api/v1/save_weights | save_weights_for_sampler  {model_id, path?, seq_id?}               types/save_weights_request.py, save_weights_for_sampler_request.py
 *   POST /api/v1/load_weights      {model_id, path, optimizer, seq_id?}                            types/load_weights_request.py
 *   POST /api/v1/asample           {num_samples, prompt: ModelInput, sampling_params: {max_tokens, seed, stop,
 *                                    temperature, top_k, top_p}, base_model?, model_path?}         types/sample_request.py, _pydantic_types/sampling_params.py
 *   POST /api/v1/retrieve_future   {request_id}  → the result, {type: "try_again", …} while pending, or
 *                                    {error, category} when it failed                              types/future_retrieve_response.py, try_again_response.py
 *   GET  /api/v1/training_runs/{model_id}/checkpoints/{kind}/{name}/archive → {url, expires}       resources/weights.py get_checkpoint_archive_url
 * Every POST but retrieve_future answers an UntypedAPIFuture {request_id, model_id} (types/shared/untyped_api_future.py).
 * Datum: {model_input: {chunks: [{type: "encoded_text", tokens}]}, loss_fn_inputs: {target_tokens, weights,
 * advantages, logprobs: TensorData {data, dtype, shape}}} (_pydantic_types/datum.py, tensor_data.py, model_input.py).
 * The newest SDK sends forward_backward as protobuf; this server speaks the JSON form (as SkyRL-tx does).
 *
 * Semantics:
 *   - full fine-tune of the base model `DIR/<base_model>` (any directory loadModel reads); lora_config.rank > 0 is
 *     refused with 400 (our engine has no LoRA), rank 0 or no lora_config means full fine-tune;
 *   - forward_backward accumulates gradients until optim_step (as Tinker). Losses, summed over tokens:
 *     cross_entropy −Σ weights·logp; importance_sampling −Σ exp(logp − logprobs)·advantages (·weights when given).
 *     loss_fn_outputs per datum: `logprobs` and, an extension of this server, `entropy` (TensorData); metrics
 *     `loss:sum` and (extension) `grad_norm` of the gradient accumulated so far. loss_fn_config.temperature
 *     (extension, default 1) scores softmax(logits / T), as the trainer's loss does;
 *   - target_tokens must be model_input shifted by one (the engine scores each next token of the input);
 *   - optim_step: AdamW with the request's params; grad_clip_norm > 0 clips by global norm; answers metrics
 *     {grad_norm, step}; gradients are then zeroed;
 *   - calls on one model run one at a time in arrival order. `seq_id` (the SDK's per-client counter) makes a call
 *     idempotent: the same seq_id and kind again answers the first call's future (an optim_step retried after a
 *     lost response is not applied twice); the same seq_id with another kind, or a seq_id at or below one already
 *     used that was never seen, is 409. The X-Idempotency-Key header (the SDK's) dedupes the same way;
 *   - checkpoints are files under `--checkpoints` (default DIR/.tinker): `tinker://<model_id>/weights/<name>` holds
 *     model.safetensors + optimizer.safetensors, `tinker://<model_id>/sampler_weights/<name>` model.safetensors. They
 *     outlive the server, so a restarted server loads them (load_weights) for a resumed run;
 *   - errors: a bad body is 400 naming the field, an unknown model, future or checkpoint 404, a conflict 409.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { z } from "zod";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadModel } from "../model/load.js";
import { createEngine, type Engine, type LoadedModel } from "../model/generate.js";
import { AdamWConfigSchema } from "../model/optim.js";
import { engineRuntime } from "../model/engine-select.js";
import { GgmlWeights } from "../ggml/model.js";
import { GgmlAdamW, GgmlPolicy } from "../ggml/train.js";
import { encodeSafetensors, readSafetensors } from "../model/safetensors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fs.js";

const TensorDataSchema = z
  .object({
    data: z.array(z.number()),
    dtype: z.enum(["float32", "int64"]),
    shape: z.array(z.number().int().nonnegative()).nullish(),
    sparse_crow_indices: z.null().optional(),
    sparse_col_indices: z.null().optional(),
  })
  .passthrough();
const ModelInputSchema = z.object({
  chunks: z.array(z.object({ type: z.literal("encoded_text").default("encoded_text"), tokens: z.array(z.number().int().nonnegative()) })).min(1),
});
const DatumSchema = z.object({
  model_input: ModelInputSchema,
  loss_fn_inputs: z.object({ target_tokens: TensorDataSchema, weights: TensorDataSchema.optional(), advantages: TensorDataSchema.optional(), logprobs: TensorDataSchema.optional() }).passthrough(),
});
export const ForwardBackwardSchema = z.object({
  model_id: z.string(),
  seq_id: z.number().int().nullish(),
  forward_backward_input: z.object({
    data: z.array(DatumSchema).min(1),
    loss_fn: z.enum(["cross_entropy", "importance_sampling"]),
    loss_fn_config: z.record(z.string(), z.number()).nullish(),
  }),
  type: z.string().optional(),
});
export const AdamParamsSchema = z.object({
  learning_rate: z.number().nonnegative().default(0.0001),
  beta1: z.number().min(0).max(1).default(0.9),
  beta2: z.number().min(0).max(1).default(0.95),
  eps: z.number().positive().default(1e-12),
  weight_decay: z.number().min(0).default(0),
  grad_clip_norm: z.number().min(0).default(0),
});
const OptimStepSchema = z.object({ model_id: z.string(), seq_id: z.number().int().nullish(), adam_params: AdamParamsSchema, type: z.string().optional() });
const CreateModelSchema = z.object({
  session_id: z.string().optional(),
  model_seq_id: z.number().int().optional(),
  base_model: z.string().min(1),
  user_metadata: z.record(z.string(), z.unknown()).nullish(),
  lora_config: z.object({ rank: z.number().int().nonnegative() }).passthrough().nullish(),
  type: z.string().optional(),
});
const SaveSchema = z.object({ model_id: z.string(), path: z.string().regex(/^[A-Za-z0-9._-]+$/, "a name of letters, digits, . _ -").nullish(), seq_id: z.number().int().nullish() }).passthrough();
const LoadSchema = z.object({ model_id: z.string(), path: z.string(), optimizer: z.boolean(), seq_id: z.number().int().nullish() }).passthrough();
const SampleSchema = z.object({
  num_samples: z.number().int().min(1).max(256).default(1),
  prompt: ModelInputSchema,
  sampling_params: z.object({
    max_tokens: z.number().int().positive().nullish(),
    seed: z.number().int().nullish(),
    stop: z.union([z.string(), z.array(z.string())]).nullish(),
    temperature: z.number().min(0).default(1),
    top_k: z.number().int().default(-1),
    top_p: z.number().gt(0).max(1).default(1),
  }),
  base_model: z.string().nullish(),
  model_path: z.string().nullish(),
}).passthrough();
const RetrieveSchema = z.object({ request_id: z.string() }).passthrough();

/** An HTTP error with a status (400 bad body, 404 unknown, 409 conflict). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new HttpError(400, `${what}: ${i.path.join(".") || "(body)"}: ${i.message}`);
}

interface Future {
  status: "pending" | "done" | "failed";
  result?: unknown;
  error?: string;
  category?: "user" | "server";
}

interface TrainModel {
  id: string;
  baseModel: string;
  base: LoadedModel;
  weights: GgmlWeights;
  policy: GgmlPolicy;
  optimizer: GgmlAdamW;
  /** Calls run one at a time on a model. */
  chain: Promise<unknown>;
  /** seq_id → the call it was used for. */
  seqs: Map<number, { kind: string; requestId: string }>;
  maxSeq: number;
}

export interface TinkerServerOptions {
  /** Directory of base models: `base_model` names a subdirectory (or a file) loadModel reads. */
  models: string;
  /** Where checkpoints live (default `<models>/.tinker`). */
  checkpoints?: string;
  port?: number;
  host?: string;
  /** Loads a base model by name instead of `loadModel(<models>/<name>)` (models built in memory, e.g. tests'); null = unknown. */
  loadBase?(name: string): Promise<LoadedModel | null>;
}

/** Splits a `tinker://<model_id>/<kind>/<name>` path. */
export function parseTinkerPath(path: string): { modelId: string; kind: "weights" | "sampler_weights"; name: string } {
  const m = /^tinker:\/\/([A-Za-z0-9._-]+)\/(weights|sampler_weights)\/([A-Za-z0-9._-]+)$/.exec(path);
  if (!m) throw new HttpError(400, `path: expected tinker://<model_id>/(weights|sampler_weights)/<name>, got "${path}"`);
  return { modelId: m[1], kind: m[2] as "weights" | "sampler_weights", name: m[3] };
}

const float = (data: ArrayLike<number>) => ({ data: Array.from(data), dtype: "float32" as const, shape: [data.length] });

/** The fastify app (not listening): routes of the module comment. */
export function createTinkerApp(opts: TinkerServerOptions): { app: FastifyInstance; dispose(): void } {
  const modelsDir = resolve(opts.models);
  const ckptDir = resolve(opts.checkpoints ?? join(modelsDir, ".tinker"));
  const rt = engineRuntime();
  const bases = new Map<string, Promise<LoadedModel>>();
  const models = new Map<string, TrainModel>();
  const futures = new Map<string, Future>();
  const idempotency = new Map<string, string>();
  const samplers = new Map<string, { engine: Engine; weights: GgmlWeights }>();
  let samplerChain: Promise<unknown> = Promise.resolve();

  const baseOf = (name: string): Promise<LoadedModel> => {
    if (name.includes("..") || name.startsWith("/")) throw new HttpError(400, `base_model: "${name}" must name an entry of the models directory`);
    const path = join(modelsDir, name);
    const unknown = () => new HttpError(404, `base_model: no model "${name}" in ${modelsDir}`);
    if (!opts.loadBase && !existsSync(path)) throw unknown();
    let p = bases.get(name);
    if (!p) {
      p = opts.loadBase
        ? opts.loadBase(name).then((m) => {
            if (!m) throw unknown();
            return m;
          })
        : loadModel(path);
      bases.set(name, p);
      p.catch(() => bases.delete(name));
    }
    return p;
  };
  const modelOf = (id: string): TrainModel => {
    const m = models.get(id);
    if (!m) throw new HttpError(404, `model_id: no model "${id}" (create_model first)`);
    return m;
  };
  const ckptPath = (modelId: string, kind: string, name: string) => join(ckptDir, modelId, kind, name);

  /** Schedule `work` as a future; on `model` (one at a time), deduped by seq_id and the idempotency key. */
  function submit(req: FastifyRequest, kind: string, model: TrainModel | null, seqId: number | null | undefined, work: () => Promise<unknown> | unknown): { request_id: string; model_id?: string } {
    const key = req.headers["x-idempotency-key"];
    const idemKey = typeof key === "string" && key ? `${kind}:${key}` : null;
    if (idemKey && idempotency.has(idemKey)) return { request_id: idempotency.get(idemKey)!, ...(model ? { model_id: model.id } : {}) };
    if (model && seqId !== null && seqId !== undefined) {
      const seen = model.seqs.get(seqId);
      if (seen) {
        if (seen.kind !== kind) throw new HttpError(409, `seq_id ${seqId} of model ${model.id} was already used by a ${seen.kind} call (this is a ${kind})`);
        return { request_id: seen.requestId, model_id: model.id };
      }
      if (seqId <= model.maxSeq) throw new HttpError(409, `seq_id ${seqId} of model ${model.id} is out of order: ${model.maxSeq} was already used (another client on this model?)`);
    }
    const requestId = randomUUID();
    const fut: Future = { status: "pending" };
    futures.set(requestId, fut);
    if (idemKey) idempotency.set(idemKey, requestId);
    if (model && seqId !== null && seqId !== undefined) {
      model.seqs.set(seqId, { kind, requestId });
      model.maxSeq = seqId;
    }
    const run = async () => {
      try {
        fut.result = await work();
        fut.status = "done";
      } catch (e) {
        fut.status = "failed";
        fut.error = (e as Error).message;
        fut.category = e instanceof HttpError && e.statusCode < 500 ? "user" : "server";
      }
    };
    if (model) model.chain = model.chain.then(run);
    else void run();
    return { request_id: requestId, ...(model ? { model_id: model.id } : {}) };
  }

  /** The padded batch of a forward_backward's data, checked. */
  function batchOf(data: z.infer<typeof DatumSchema>[]) {
    const rows = data.map((d, i) => {
      const input = d.model_input.chunks.flatMap((c) => c.tokens);
      const target = d.loss_fn_inputs.target_tokens.data;
      const n = input.length;
      const field = (k: string, t: { data: number[] } | undefined) => {
        if (t && t.data.length !== n) throw new HttpError(400, `forward_backward_input.data.${i}.loss_fn_inputs.${k}: ${t.data.length} values for ${n} input tokens`);
        return t?.data;
      };
      field("target_tokens", d.loss_fn_inputs.target_tokens);
      for (let t = 0; t + 1 < n; t++)
        if (target[t] !== input[t + 1]) throw new HttpError(400, `forward_backward_input.data.${i}.loss_fn_inputs.target_tokens: must be model_input shifted by one (position ${t})`);
      return { tokens: [...input, target[n - 1]], weights: field("weights", d.loss_fn_inputs.weights), advantages: field("advantages", d.loss_fn_inputs.advantages), logprobs: field("logprobs", d.loss_fn_inputs.logprobs) };
    });
    const L = Math.max(...rows.map((r) => r.tokens.length));
    const B = rows.length;
    const ids = new Int32Array(B * L);
    const mask = new Float32Array(B * L);
    rows.forEach((r, b) => r.tokens.forEach((t, j) => ((ids[b * L + j] = t), (mask[b * L + j] = 1))));
    return { rows, B, L, ids, mask };
  }

  /** Checks the body (400 now, not a failed future) and returns the call's work. */
  function forwardBackward(m: TrainModel, body: z.infer<typeof ForwardBackwardSchema>, backward: boolean) {
    const { data, loss_fn: lossFn, loss_fn_config: cfg } = body.forward_backward_input;
    const { rows, B, L, ids, mask } = batchOf(data);
    rows.forEach((r, i) => {
      if (lossFn === "cross_entropy" && !r.weights) throw new HttpError(400, `forward_backward_input.data.${i}.loss_fn_inputs.weights: required by cross_entropy`);
      if (lossFn === "importance_sampling" && (!r.advantages || !r.logprobs)) throw new HttpError(400, `forward_backward_input.data.${i}.loss_fn_inputs.${r.advantages ? "logprobs" : "advantages"}: required by importance_sampling`);
    });
    const V = m.base.config.vocab_size;
    rows.forEach((r, i) => {
      const bad = r.tokens.findIndex((t) => t >= V);
      if (bad >= 0) throw new HttpError(400, `forward_backward_input.data.${i}: token ${r.tokens[bad]} is outside the vocabulary (${V})`);
    });
    if (L > m.base.config.max_position_embeddings) throw new HttpError(400, `forward_backward_input.data: ${L} tokens exceed the model's context (${m.base.config.max_position_embeddings})`);
    return () => run(m, rows, B, L, ids, mask, lossFn, cfg?.temperature ?? 1, backward);
  }

  function run(m: TrainModel, rows: ReturnType<typeof batchOf>["rows"], B: number, L: number, ids: Int32Array, mask: Float32Array, lossFn: "cross_entropy" | "importance_sampling", temperature: number, backward: boolean) {
    const T = L - 1;
    const tb = { inputIds: ids, B, T: L, attentionMask: mask, temperature };
    const coef = (lp: Float32Array | null) => {
      const c = new Float32Array(B * T);
      rows.forEach((r, b) => {
        for (let t = 0; t < r.tokens.length - 1; t++) {
          const w = r.weights ? r.weights[t] : 1;
          c[b * T + t] = lossFn === "cross_entropy" ? -w : -Math.exp(lp![b * T + t] - r.logprobs![t]) * r.advantages![t] * w;
        }
      });
      return c;
    };
    let out;
    if (!backward) out = m.policy.logprobs(tb);
    else {
      const c = lossFn === "cross_entropy" ? coef(null) : coef(m.policy.logprobs(tb).logprobs);
      out = m.policy.accumulate(tb, c, new Float32Array(B * T));
    }
    let loss = 0;
    const c = coef(out.logprobs);
    rows.forEach((r, b) => {
      for (let t = 0; t < r.tokens.length - 1; t++) loss += lossFn === "cross_entropy" ? c[b * T + t] * out.logprobs[b * T + t] : c[b * T + t];
    });
    return {
      loss_fn_output_type: "TensorData",
      loss_fn_outputs: rows.map((r, b) => ({
        logprobs: float(out.logprobs.subarray(b * T, b * T + r.tokens.length - 1)),
        entropy: float(out.entropy.subarray(b * T, b * T + r.tokens.length - 1)),
      })),
      metrics: { "loss:sum": loss, ...(backward ? { grad_norm: m.policy.gradNorm() } : {}) },
    };
  }

  function saveCheckpoint(m: TrainModel, kind: "weights" | "sampler_weights", name: string): string {
    const dir = ckptPath(m.id, kind, name);
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, "model.safetensors"), encodeSafetensors(m.weights.export()));
    if (kind === "weights") writeFileAtomic(join(dir, "optimizer.safetensors"), encodeSafetensors(m.optimizer.exportState()));
    writeJsonAtomic(join(dir, "meta.json"), { base_model: m.baseModel, optimizer_steps: m.optimizer.stepCount });
    return `tinker://${m.id}/${kind}/${name}`;
  }

  function checkpointDir(path: string, what: string): { dir: string; meta: { base_model: string } } {
    const p = parseTinkerPath(path);
    const dir = ckptPath(p.modelId, p.kind, p.name);
    if (!existsSync(join(dir, "meta.json"))) throw new HttpError(404, `${what}: no checkpoint ${path}`);
    return { dir, meta: JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as { base_model: string } };
  }

  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 * 1024 });
  const fut = (r: { request_id: string; model_id?: string }) => ({ ...r });

  app.get("/api/v1/healthz", async () => ({ status: "ok" }));
  app.post("/api/v1/create_session", async () => ({ type: "create_session", session_id: randomUUID(), info_message: null, warning_message: null, error_message: null }));
  app.post("/api/v1/session_heartbeat", async () => ({ type: "session_heartbeat" }));
  app.post("/api/v1/get_server_capabilities", async () => ({ supported_models: [] }));

  app.post("/api/v1/create_model", async (req) => {
    const b = parse(CreateModelSchema, req.body, "create_model");
    if (b.lora_config && b.lora_config.rank > 0)
      throw new HttpError(400, `lora_config.rank: ${b.lora_config.rank} is not supported: this server trains the full model (send rank 0 or no lora_config)`);
    const base = await baseOf(b.base_model);
    const id = randomUUID();
    const weights = new GgmlWeights(rt, base.config, base.weights);
    const policy = new GgmlPolicy(weights);
    const optimizer = new GgmlAdamW(policy, AdamWConfigSchema.parse({ lr: 1e-4 }));
    const m: TrainModel = { id, baseModel: b.base_model, base, weights, policy, optimizer, chain: Promise.resolve(), seqs: new Map(), maxSeq: 0 };
    models.set(id, m);
    return fut(submit(req, "create_model", null, null, () => ({ type: "create_model", model_id: id })));
  });

  app.post("/api/v1/get_info", async (req) => {
    const m = modelOf(parse(z.object({ model_id: z.string() }).passthrough(), req.body, "get_info").model_id);
    return { type: "get_info", model_id: m.id, model_data: { model_name: m.baseModel, lora_rank: null }, optimizer_steps: m.optimizer.stepCount };
  });

  for (const [route, backward] of [["forward_backward", true], ["forward", false]] as const)
    app.post(`/api/v1/${route}`, async (req) => {
      const b = parse(ForwardBackwardSchema, req.body, route);
      const m = modelOf(b.model_id);
      const work = forwardBackward(m, b, backward);
      return fut(submit(req, route, m, b.seq_id, work));
    });

  app.post("/api/v1/optim_step", async (req) => {
    const b = parse(OptimStepSchema, req.body, "optim_step");
    const m = modelOf(b.model_id);
    return fut(
      submit(req, "optim_step", m, b.seq_id, () => {
        const p = b.adam_params;
        Object.assign(m.optimizer.config, { beta1: p.beta1, beta2: p.beta2, eps: p.eps, weightDecay: p.weight_decay });
        const norm = m.policy.gradNorm();
        if (!Number.isFinite(norm)) throw new HttpError(400, `optim_step: the accumulated gradient is not finite (norm ${norm}); call forward_backward again`);
        const scale = p.grad_clip_norm > 0 ? p.grad_clip_norm / (norm + 1e-6) : 1; // torch.nn.utils.clip_grad_norm_
        m.optimizer.update(p.learning_rate, scale < 1 ? scale : 1);
        m.policy.zeroGrad();
        return { type: "optim_step", metrics: { grad_norm: norm, step: m.optimizer.stepCount } };
      }),
    );
  });

  for (const kind of ["weights", "sampler_weights"] as const)
    app.post(kind === "weights" ? "/api/v1/save_weights" : "/api/v1/save_weights_for_sampler", async (req) => {
      const what = kind === "weights" ? "save_weights" : "save_weights_for_sampler";
      const b = parse(SaveSchema, req.body, what);
      const m = modelOf(b.model_id);
      const name = b.path ?? `step-${m.optimizer.stepCount}`;
      return fut(submit(req, what, m, b.seq_id, () => ({ type: what, path: saveCheckpoint(m, kind, name) })));
    });

  app.post("/api/v1/load_weights", async (req) => {
    const b = parse(LoadSchema, req.body, "load_weights");
    const m = modelOf(b.model_id);
    const { dir, meta } = checkpointDir(b.path, "path");
    if (meta.base_model !== m.baseModel) throw new HttpError(400, `path: ${b.path} is a checkpoint of ${meta.base_model}, not of ${m.baseModel}`);
    if (b.optimizer && !existsSync(join(dir, "optimizer.safetensors"))) throw new HttpError(400, `optimizer: ${b.path} holds no optimizer state (a sampler checkpoint)`);
    return fut(
      submit(req, "load_weights", m, b.seq_id, () => {
        m.weights.load(readSafetensors(join(dir, "model.safetensors")).weights);
        if (b.optimizer) m.optimizer.importState(readSafetensors(join(dir, "optimizer.safetensors")).weights);
        m.policy.zeroGrad();
        return { type: "load_weights", path: b.path, model_id: m.id };
      }),
    );
  });

  app.post("/api/v1/asample", async (req) => {
    const b = parse(SampleSchema, req.body, "asample");
    let key: string;
    let load: () => Promise<LoadedModel>;
    if (b.model_path) {
      const { dir, meta } = checkpointDir(b.model_path, "model_path");
      key = b.model_path;
      load = async () => ({ ...(await baseOf(meta.base_model)), weights: readSafetensors(join(dir, "model.safetensors")).weights });
    } else if (b.base_model) {
      key = `base:${b.base_model}`;
      load = () => baseOf(b.base_model!);
    } else throw new HttpError(400, "asample: give model_path (a sampler checkpoint) or base_model");
    const prompt = b.prompt.chunks.flatMap((c) => c.tokens);
    const sp = b.sampling_params;
    return fut(
      submit(req, "asample", null, null, async () => {
        let s = samplers.get(key);
        if (!s) {
          const model = await load();
          const weights = new GgmlWeights(rt, model.config, model.weights);
          s = { engine: createEngine(model, { weights, maxBatch: 16 }), weights };
          for (const [k, old] of samplers) if (samplers.size >= 2) (samplers.delete(k), void samplerChain.then(() => old.weights.dispose()));
          samplers.set(key, s);
        }
        const engine = s.engine;
        const run = samplerChain.then(() =>
          engine.generate(
            Array.from({ length: b.num_samples }, (_, i) => ({
              prompt: "",
              promptIds: prompt,
              maxTokens: sp.max_tokens ?? 256,
              stop: sp.stop === null || sp.stop === undefined ? [] : typeof sp.stop === "string" ? [sp.stop] : sp.stop,
              temperature: sp.temperature,
              ...(sp.top_p < 1 ? { topP: sp.top_p } : {}),
              ...(sp.top_k > 0 ? { topK: sp.top_k } : {}),
              ...(sp.seed !== null && sp.seed !== undefined ? { seed: sp.seed + i } : {}),
            })),
          ),
        );
        samplerChain = run.catch(() => undefined);
        const res = await run;
        return {
          type: "sample",
          sequences: res.map((r) => ({ tokens: r.tokenIds ?? [], logprobs: r.logprobs ?? null, stop_reason: r.finishReason === "length" ? "length" : "stop" })),
          prompt_logprobs: null,
        };
      }),
    );
  });

  app.post("/api/v1/retrieve_future", async (req) => {
    const b = parse(RetrieveSchema, req.body, "retrieve_future");
    const f = futures.get(b.request_id);
    if (!f) throw new HttpError(404, `request_id: no future "${b.request_id}"`);
    if (f.status === "pending") {
      await Promise.race([new Promise((r) => setTimeout(r, 50)), ...[...models.values()].map((m) => m.chain)]);
      if (futures.get(b.request_id)!.status === "pending") return { type: "try_again", request_id: b.request_id, queue_state: "active" };
    }
    return f.status === "done" ? f.result : { error: f.error, category: f.category };
  });

  app.get("/api/v1/training_runs/:model_id/checkpoints/:kind/:name/archive", async (req) => {
    const { model_id, kind, name } = req.params as Record<string, string>;
    checkpointDir(`tinker://${model_id}/${kind}/${name}`, "checkpoint");
    return { url: `/api/v1/_files/${model_id}/${kind}/${name}/model.safetensors`, expires: new Date(Date.now() + 3600_000).toISOString() };
  });
  app.get("/api/v1/_files/:model_id/:kind/:name/model.safetensors", async (req, reply) => {
    const { model_id, kind, name } = req.params as Record<string, string>;
    const { dir } = checkpointDir(`tinker://${model_id}/${kind}/${name}`, "checkpoint");
    return reply.type("application/octet-stream").send(readFileSync(join(dir, "model.safetensors")));
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const code = err.statusCode && err.statusCode < 600 ? err.statusCode : 500;
    void reply.code(code).send({ error: err.message, category: code < 500 ? "user" : "server" });
  });

  return {
    app,
    dispose: () => {
      for (const s of samplers.values()) s.weights.dispose();
      for (const m of models.values()) {
        m.optimizer.dispose();
        m.policy.dispose();
        m.weights.dispose();
      }
      models.clear();
      samplers.clear();
    },
  };
}

/** Start the server; `url` is where it listens (port 0 = any free port). */
export async function startTinkerServer(opts: TinkerServerOptions, setup?: (app: FastifyInstance) => void): Promise<{ url: string; app: FastifyInstance; close(): Promise<void> }> {
  const { app, dispose } = createTinkerApp(opts);
  setup?.(app);
  const url = await app.listen({ port: opts.port ?? 8001, host: opts.host ?? "127.0.0.1" });
  return {
    url,
    app,
    close: async () => {
      await app.close();
      dispose();
    },
  };
}
