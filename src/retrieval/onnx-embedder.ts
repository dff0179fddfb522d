/**
 * @module retrieval/onnx-embedder — dense embeddings from an ONNX sentence-embedding model the user has on disk
 * (e.g. an E5 or BGE export: model.onnx + tokenizer.json), run by onnxruntime-node on the CPU. Nothing is
 * downloaded. Pooling: the model's `sentence_embedding` output when it has one, else the attention-masked
 * mean of `last_hidden_state` (E5) or its first token (`"pooling": "cls"`, BGE).
 *
 * Optional `embedder.json` in the model directory: {"pooling": "mean"|"cls", "queryPrefix": "query: ",
 * "passagePrefix": "passage: ", "maxTokens": 512}. Prefixes default to E5's when the directory name has "e5".
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { UserError } from "../util/errors.js";
import type { Embedder } from "./dense.js";
import { loadWordPiece } from "./wordpiece.js";

interface OnnxOptions {
  pooling: "mean" | "cls";
  queryPrefix: string;
  passagePrefix: string;
  maxTokens: number;
}

export async function createOnnxEmbedder(dirArg: string): Promise<Embedder> {
  const dir = resolve(dirArg);
  const model = [join(dir, "model.onnx"), join(dir, "onnx", "model.onnx")].find(existsSync);
  if (!model) throw new UserError(`${dir}: no model.onnx (or onnx/model.onnx)`);
  const e5 = /e5/i.test(basename(dir));
  const cfgPath = join(dir, "embedder.json");
  const opts: OnnxOptions = {
    pooling: "mean",
    queryPrefix: e5 ? "query: " : "",
    passagePrefix: e5 ? "passage: " : "",
    maxTokens: 512,
    ...(existsSync(cfgPath) ? (JSON.parse(readFileSync(cfgPath, "utf8")) as Partial<OnnxOptions>) : {}),
  };
  let ort: typeof import("onnxruntime-node");
  try {
    ort = await import("onnxruntime-node");
  } catch (e) {
    throw new UserError(`ONNX embedders need onnxruntime-node (npm install onnxruntime-node): ${(e as Error).message}`);
  }
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
    const feeds: Record<string, import("onnxruntime-node").Tensor> = {};
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
    embed: (texts, kind) => run(texts.map((t) => (kind === "query" ? opts.queryPrefix : opts.passagePrefix) + t)),
  };
}
