import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { createEmbedder } from "./dense.js";
import { buildIndex, openRetriever } from "./index.js";
import { embedderOptions, hasOrt, ORT_MISSING, prefixed } from "./onnx-embedder.js";
import { writeTinyEmbeddingModel } from "./onnx-fixture.js";
import { basicTokens, loadWordPiece } from "./wordpiece.js";

const tmp = mkdtempSync(join(tmpdir(), "onnx-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "##s", "sat", "on", "mat", ".", "dog", "ran", "far", "un", "##believ", "##able", "query", "passage", ":"];
const D = 4;
/** onnxruntime-node is an optional peer dependency: the model tests run where it is installed, and skip elsewhere. */
const ORT = await hasOrt();

describe("ONNX embedder: tokenization, options, install", () => {
  test("E5 directories get the query: / passage: prefixes; embedder.json overrides them and is validated", () => {
    const e5 = join(tmp, "multilingual-e5-base");
    writeTinyEmbeddingModel(e5, VOCAB, D);
    const o = embedderOptions(e5);
    expect(o).toEqual({ pooling: "mean", queryPrefix: "query: ", passagePrefix: "passage: ", maxTokens: 512 });
    expect(prefixed(o, "who wrote it", "query")).toBe("query: who wrote it");
    expect(prefixed(o, "It was written by X.", "passage")).toBe("passage: It was written by X.");
    const bge = join(tmp, "bge-small");
    writeTinyEmbeddingModel(bge, VOCAB, D);
    expect(embedderOptions(bge)).toMatchObject({ queryPrefix: "", passagePrefix: "" });
    writeFileSync(join(bge, "embedder.json"), JSON.stringify({ pooling: "cls", queryPrefix: "Represent this: " }));
    expect(embedderOptions(bge)).toEqual({ pooling: "cls", queryPrefix: "Represent this: ", passagePrefix: "", maxTokens: 512 });
    writeFileSync(join(bge, "embedder.json"), JSON.stringify({ pooling: "max" }));
    expect(() => embedderOptions(bge)).toThrow(/embedder\.json: pooling: /);
    writeFileSync(join(bge, "embedder.json"), JSON.stringify({ prefix: "x" }));
    expect(() => embedderOptions(bge)).toThrow(/embedder\.json: .*prefix/);
  });

  test.runIf(!ORT)("without onnxruntime-node an ONNX embedder says how to install it", async () => {
    const dir = join(tmp, "no-ort");
    writeTinyEmbeddingModel(dir, VOCAB, D);
    await expect(createEmbedder(`onnx:${dir}`)).rejects.toThrow(ORT_MISSING);
  });

  test("clear errors for a directory without a model or tokenizer", async () => {
    await expect(createEmbedder(`onnx:${join(tmp, "nothing")}`)).rejects.toThrow(/no model\.onnx/);
    await expect(createEmbedder("word2vec")).rejects.toThrow(/unknown embedder "word2vec"; available: use-lite, onnx:<model dir>/);
  });

  test("BERT basic tokenization and WordPiece", () => {
    expect(basicTokens("Héllo, WORLD!  naïve\tx 中文", true)).toEqual(["hello", ",", "world", "!", "naive", "x", "中", "文"]);
    const dir = join(tmp, "tok");
    writeTinyEmbeddingModel(dir, VOCAB, D);
    const wp = loadWordPiece(dir);
    const ids = (s: string) => wp.encode(s, 512).map((i) => VOCAB[i]);
    expect(ids("The cats sat.")).toEqual(["[CLS]", "the", "cat", "##s", "sat", ".", "[SEP]"]);
    expect(ids("Unbelievable zebra")).toEqual(["[CLS]", "un", "##believ", "##able", "[UNK]", "[SEP]"]);
    expect(wp.encode("the cat sat on the mat", 5).map((i) => VOCAB[i])).toEqual(["[CLS]", "the", "cat", "sat", "[SEP]"]);
  });

});

describe.skipIf(!ORT)("ONNX embedder (onnxruntime-node) with WordPiece", () => {
  test("embeddings are the masked mean of the model's last_hidden_state (batch with padding)", async () => {
    const dir = join(tmp, "model");
    const table = writeTinyEmbeddingModel(dir, VOCAB, D);
    const e = await createEmbedder(`onnx:${dir}`);
    expect(e.dim).toBe(D);
    const [a, b] = await e.embed(["The cats sat.", "dog"], "passage");
    const mean = (toks: string[]) => {
      const v = new Float32Array(D);
      for (const t of toks) for (let j = 0; j < D; j++) v[j] += table[VOCAB.indexOf(t) * D + j] / toks.length;
      return v;
    };
    const close = (x: Float32Array, y: Float32Array) => x.forEach((v, j) => expect(v).toBeCloseTo(y[j], 5));
    close(a, mean(["[CLS]", "the", "cat", "##s", "sat", ".", "[SEP]"]));
    close(b, mean(["[CLS]", "dog", "[SEP]"])); // padded to the longer sequence, padding excluded
  });

  test("an E5 model embeds 'query: ' + query and 'passage: ' + passage", async () => {
    const dir = join(tmp, "tiny-e5");
    const table = writeTinyEmbeddingModel(dir, VOCAB, D, 5);
    const e = await createEmbedder(`onnx:${dir}`);
    const mean = (toks: string[]) => {
      const v = new Float32Array(D);
      for (const t of toks) for (let j = 0; j < D; j++) v[j] += table[VOCAB.indexOf(t) * D + j] / toks.length;
      return v;
    };
    const close = (x: Float32Array, y: Float32Array) => x.forEach((v, j) => expect(v).toBeCloseTo(y[j], 5));
    const [q] = await e.embed(["the cat"], "query");
    const [p] = await e.embed(["the cat"], "passage");
    close(q, mean(["[CLS]", "query", ":", "the", "cat", "[SEP]"]));
    close(p, mean(["[CLS]", "passage", ":", "the", "cat", "[SEP]"]));
  });

  test("an index built with --embedder onnx:DIR searches densely", async () => {
    const dir = join(tmp, "model2");
    writeTinyEmbeddingModel(dir, VOCAB, D, 7);
    const corpus = join(tmp, "c.jsonl");
    writeFileSync(corpus, ["the cat sat on the mat", "the dog ran far", "unbelievable"].map((t, i) => JSON.stringify({ id: `d${i}`, title: "", text: t })).join("\n") + "\n");
    const out = join(tmp, "ix");
    await buildIndex({ corpus, out, kind: "dense", embedder: `onnx:${dir}`, quiet: true });
    expect(JSON.parse(readFileSync(join(out, "dense.json"), "utf8"))).toMatchObject({ embedder: `onnx:${dir}`, dim: D, numDocs: 3 });
    const r = await openRetriever({ index: out, mode: "dense" });
    const [hits] = await r.search(["the dog ran far"], 3);
    expect(hits[0].id).toBe("d1");
    expect(hits[0].score).toBeGreaterThan(hits[1].score);
    await r.close?.();
  });

});
