/**
 * @module retrieval/onnx-embedder — dense embeddings from an ONNX sentence-embedding model the user has on disk
 * (e.g. an E5 or BGE export: model.onnx + tokenizer.json), run by onnxruntime-node on the CPU. Nothing is
 * downloaded. onnxruntime-node is an optional peer dependency (its install script fetches binaries from outside the
 * npm registry, so a plain `npm install` of this project never installs it): it is loaded with a dynamic import
 * and a clear error says to `npm install onnxruntime-node` where it is absent. Pooling: the model's `sentence_embedding` output when it has one, else the attention-masked
 * mean of `last_hidden_state` (E5) or its first token (`"pooling": "cls"`, BGE).
 *
 * Optional `embedder.json` in the model directory: {"pooling": "mean"|"cls", "queryPrefix": "query: ",
 * "passagePrefix": "passage: ", "maxTokens": 512}. Prefixes default to E5's when the directory name has "e5".
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { InputError, UserError } from "../util/errors.js";
import type { Embedder } from "./dense.js";
import { loadWordPiece } from "./wordpiece.js";

/** The part of onnxruntime-node's API this module uses (typed here: the package is optional, so not always there). */
export interface OrtTensor {
  data: unknown;
  dims: readonly number[];
}
export interface OrtModule {
  Tensor: new (type: "int64", data: BigInt64Array, dims: number[]) => OrtTensor;
  InferenceSession: {
    create(path: string, opts: { intraOpNumThreads: number; interOpNumThreads: number }): Promise<{
      inputNames: readonly string[];
      outputNames: readonly string[];
      run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
    }>;
  };
}

const ORT = "onnxruntime-node";
export const ORT_MISSING =
  "ONNX embedders need the optional package onnxruntime-node, which is not installed: run `npm install onnxruntime-node` " +
  "(its install script downloads GPU binaries from GitHub; `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` keeps the CPU build only)";

/** onnxruntime-node, or a UserError telling how to install it. */
export async function loadOrt(): Promise<OrtModule> {
  let path: string;
  try {
    path = createRequire(import.meta.url).resolve(ORT);
  } catch {
    throw new UserError(ORT_MISSING);
  }
  try {
    const m = (await import(/* @vite-ignore */ pathToFileURL(path).href)) as OrtModule & { default?: OrtModule };
    return m.InferenceSession ? m : m.default!;
  } catch (e) {
    throw new UserError(`onnxruntime-node (${path}) failed to load: ${(e as Error).message}`);
  }
}

/** Whether onnxruntime-node can be loaded here (tests skip the model tests without it). */
export async function hasOrt(): Promise<boolean> {
  try {
    await loadOrt();
    return true;
  } catch {
    return false;
  }
}

/** The text actually embedded: the model's query or passage prefix, then the text (E5: "query: " / "passage: "). */
export function prefixed(opts: { queryPrefix: string; passagePrefix: string }, text: string, kind: "query" | "passage"): string {
  return (kind === "query" ? opts.queryPrefix : opts.passagePrefix) + text;
}

/** `embedder.json` in a model directory (every field optional; unknown keys are errors). */
export const EmbedderJsonSchema = z
  .object({
    pooling: z.enum(["mean", "cls"]).optional().describe("masked mean of last_hidden_state (E5) or its first token (BGE)"),
    queryPrefix: z.string().optional().describe('prepended to every query (E5: "query: ")'),
    passagePrefix: z.string().optional().describe('prepended to every passage (E5: "passage: ")'),
    maxTokens: z.number().int().min(2).optional().describe("longest input, tokens, [CLS] and [SEP] included"),
  })
  .strict();
export type OnnxOptions = Required<z.infer<typeof EmbedderJsonSchema>>;

function readEmbedderJson(path: string): z.infer<typeof EmbedderJsonSchema> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new InputError(path, undefined, undefined, `invalid JSON: ${(e as Error).message}`);
  }
  const r = EmbedderJsonSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(path, undefined, issue.path.join(".") || undefined, issue.message);
  }
  return r.data;
}

/** The options of a model directory: `embedder.json` over the defaults (E5's prefixes when the name has "e5"). */
export function embedderOptions(dirArg: string): OnnxOptions {
  const dir = resolve(dirArg);
  const e5 = /e5/i.test(basename(dir));
  const cfgPath = join(dir, "embedder.json");
  return {
    pooling: "mean",
    queryPrefix: e5 ? "query: " : "",
    passagePrefix: e5 ? "passage: " : "",
    maxTokens: 512,
    ...(existsSync(cfgPath) ? readEmbedderJson(cfgPath) : {}),
  };
}

export async function createOnnxEmbedder(dirArg: string): Promise<Embedder> {
  const dir = resolve(dirArg);
  const model = [join(dir, "model.onnx"), join(dir, "onnx", "model.onnx")].find(existsSync);
  if (!model) throw new UserError(`${dir}: no model.onnx (or onnx/model.onnx)`);
  const opts = embedderOptions(dir);
  const ort = await loadOrt();
  const tokenizer = loadWordPiece(dir);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const outName = session.outputNames.includes("sentence_embedding")
    ? "sentence_embedding"
    : session.outputNames.includes("last_hidden_state") ? "last_hidden_state" : session.outputNames[0];

  async function run(texts: string[]): Promise<Float32Array[]> {
    const enc = texts.map((t) => tokenizer.encode(t, opts.maxTokens));
    const B = enc.length;
    const T = Math.max(...enc.map((e) => e.length));
    const ids = new BigInt64Array(B * T).fill(BigInt(tokenizer.padId));
    const mask = new BigInt64Array(B * T);
    enc.forEach((e, b) => e.forEach((id, t) => { ids[b * T + t] = BigInt(id); mask[b * T + t] = 1n; }));
    const feeds: Record<string, OrtTensor> = {};
    for (const name of session.inputNames) {
      if (name === "input_ids") feeds[name] = new ort.Tensor("int64", ids, [B, T]);
      else if (name === "attention_mask") feeds[name] = new ort.Tensor("int64", mask, [B, T]);
      else if (name === "token_type_ids") feeds[name] = new ort.Tensor("int64", new BigInt64Array(B * T), [B, T]);
      else throw new UserError(`${model}: unsupported model input ${name} (expected input_ids, attention_mask, token_type_ids)`);
    }
    const out = (await session.run(feeds))[outName];
    const data = out.data as Float32Array;
    if (out.dims.length === 2) return texts.map((_, b) => data.slice(b * out.dims[1], (b + 1) * out.dims[1]));
    const D = out.dims[2];
    return enc.map((e, b) => {
      const v = new Float32Array(D);
      if (opts.pooling === "cls") v.set(data.subarray(b * T * D, b * T * D + D));
      else {
        for (let t = 0; t < e.length; t++) for (let j = 0; j < D; j++) v[j] += data[(b * T + t) * D + j]; // (T, D) → (D,)
        for (let j = 0; j < D; j++) v[j] /= e.length;
      }
      return v;
    });
  }

  const dim = (await run(["dimension probe"]))[0].length;
  return {
    name: `onnx:${dir}`,
    dim,
    embed: (texts, kind) => run(texts.map((t) => prefixed(opts, t, kind))),
  };
}
