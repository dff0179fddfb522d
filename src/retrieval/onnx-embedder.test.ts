import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { createEmbedder } from "./dense.js";
import { buildIndex, openRetriever } from "./index.js";
import { writeTinyEmbeddingModel } from "./onnx-fixture.js";
import { basicTokens, loadWordPiece } from "./wordpiece.js";

const tmp = mkdtempSync(join(tmpdir(), "onnx-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "##s", "sat", "on", "mat", ".", "dog", "ran", "far", "un", "##believ", "##able"];
const D = 4;

describe("ONNX embedder (onnxruntime-node) with WordPiece", () => {
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

  test("clear errors for a directory without a model or tokenizer", async () => {
    await expect(createEmbedder(`onnx:${join(tmp, "nothing")}`)).rejects.toThrow(/no model\.onnx/);
    await expect(createEmbedder("word2vec")).rejects.toThrow(/unknown embedder "word2vec"; available: use-lite, onnx:<model dir>/);
  });
});
