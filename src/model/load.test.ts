import { afterAll, describe, expect, test } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, saveModel } from "./load.js";
import { createEngine } from "./generate.js";
import { encodeSafetensors, readSafetensors, readSafetensorsDir, writeSafetensors } from "./safetensors.js";
import { permuteHfToMeta, permuteMetaToHf } from "./llama2c.js";
import { tinyQwen2 } from "./testing.js";
import type { WeightMap } from "./weights.js";
import { SHARED_DATA } from "../util/shared.js";

const dir = mkdtempSync(join(tmpdir(), "load-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A safetensors file with one tensor of the given dtype and raw little-endian bytes. */
function rawSafetensors(path: string, dtype: string, shape: number[], bytes: Buffer): void {
  const header = Buffer.from(JSON.stringify({ x: { dtype, shape, data_offsets: [0, bytes.length] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(path, Buffer.concat([len, header, bytes]));
}

describe("safetensors", () => {
  test("F32 write → read is exact, header 8-byte aligned, metadata kept", () => {
    const w: WeightMap = new Map([
      ["b", { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-8, -0, 65504]) }],
      ["a", { shape: [1], data: Float32Array.from([Math.PI]) }],
    ]);
    const buf = encodeSafetensors(w, { step: "3" });
    expect(Number(buf.readBigUInt64LE(0)) % 8).toBe(0);
    writeSafetensors(join(dir, "t.safetensors"), w, { step: "3" });
    const r = readSafetensors(join(dir, "t.safetensors"));
    expect(r.metadata.step).toBe("3");
    expect(r.weights.get("b")).toEqual(w.get("b"));
    expect(r.weights.get("a")!.data[0]).toBe(Math.fround(Math.PI));
  });
  test.each([
    ["F16", Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x35, 0x01, 0x00, 0xff, 0x7b]), [1, -2, 0.3125, 2 ** -24, 65504]],
    ["BF16", Buffer.from([0x80, 0x3f, 0x00, 0xc0, 0x49, 0x40]), [1, -2, 3.140625]],
  ])("%s decodes to F32", (dtype, bytes, want) => {
    rawSafetensors(join(dir, `${dtype}.safetensors`), dtype as string, [want.length], bytes as Buffer);
    expect(Array.from(readSafetensors(join(dir, `${dtype}.safetensors`)).weights.get("x")!.data)).toEqual(want);
  });
  test("sharded checkpoints load through model.safetensors.index.json", () => {
    const sd = join(dir, "sharded");
    writeSafetensors(join(sd, "model-00001-of-00002.safetensors"), new Map([["p", { shape: [2], data: Float32Array.from([1, 2]) }]]));
    writeSafetensors(join(sd, "model-00002-of-00002.safetensors"), new Map([["q", { shape: [1], data: Float32Array.from([3]) }]]));
    writeFileSync(join(sd, "model.safetensors.index.json"), JSON.stringify({ weight_map: { p: "model-00001-of-00002.safetensors", q: "model-00002-of-00002.safetensors" } }));
    const w = readSafetensorsDir(sd);
    expect([...w.keys()].sort()).toEqual(["p", "q"]);
    expect(Array.from(w.get("q")!.data)).toEqual([3]);
  });
  test("bad files give errors naming the file and field", () => {
    writeFileSync(join(dir, "bad.safetensors"), Buffer.from([4, 0, 0, 0, 0, 0, 0, 0, 123, 34, 120, 34]));
    expect(() => readSafetensors(join(dir, "bad.safetensors"))).toThrow(/bad\.safetensors: header: invalid JSON/);
    rawSafetensors(join(dir, "i8.safetensors"), "I8", [1], Buffer.from([1]));
    expect(() => readSafetensors(join(dir, "i8.safetensors"))).toThrow(/i8\.safetensors: x: unsupported dtype I8/);
  });
});

describe("loadModel / saveModel", () => {
  test("llama2.c q/k permutation: Meta → HF → Meta is the identity", () => {
    const w = Float32Array.from({ length: 4 * 8 * 3 }, (_, i) => i);
    expect(permuteHfToMeta(permuteMetaToHf(w, 4, 3), 4, 3)).toEqual(w);
    expect(permuteMetaToHf(w, 4, 3)).not.toEqual(w);
  });
  test.each([
    ["stories260K (llama2.c .bin + tok512.bin)", async () => loadModel(SHARED_DATA + "/models/stories260K")],
    ["a .bin path directly", async () => loadModel(SHARED_DATA + "/models/stories260K/stories260K.bin")],
    ["tiny Qwen2 (HF tokenizer.json, chat template)", async () => tinyQwen2({ seed: 4 })],
  ])("%s: save as an HF directory and load back gives identical logits and tokenizer", async (name, make) => {
    const m = await make();
    const out = join(dir, name.replace(/\W+/g, "_"));
    saveModel(out, m);
    const back = await loadModel(out);
    expect(back.config.vocab_size).toBe(m.config.vocab_size);
    const ids = back.tokenizer.encode("the cat in the hat, Lily <|im_end|>");
    expect(ids).toEqual(m.tokenizer.encode("the cat in the hat, Lily <|im_end|>"));
    expect(createEngine(back).logits(ids)).toEqual(createEngine(m).logits(ids));
    expect(back.tokenizer.chatTemplate).toBe(m.tokenizer.chatTemplate);
  });
  test("missing or malformed inputs are clear errors", async () => {
    await expect(loadModel(join(dir, "nope"))).rejects.toThrow(/model not found/);
    const bad = join(dir, "badcfg");
    saveModel(bad, tinyQwen2());
    writeFileSync(join(bad, "config.json"), JSON.stringify({ model_type: "qwen2", hidden_size: 64 }));
    await expect(loadModel(bad)).rejects.toThrow(/config\.json: vocab_size: required positive number/);
  });
});
