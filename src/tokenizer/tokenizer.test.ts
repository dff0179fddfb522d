import { describe, expect, test } from "vitest";
import { loadTokenizer } from "./load.js";
import { createHfTokenizer, loadQwen3Tokenizer } from "./hf.js";
import { buildByteLevelTokenizer, bytesToUnicode } from "./bytelevel.js";
import type { Tokenizer } from "./types.js";
import { SHARED_DATA } from "../util/shared.js";

const STORIES = SHARED_DATA + "/models/stories260K";

describe("llama2.c tokenizer (run.c semantics)", async () => {
  const tok = await loadTokenizer(STORIES);
  test("encodes with dummy prefix and best-score merges; decode strips the space after BOS", () => {
    const ids = tok.encode("Once upon a time", { addBos: true });
    expect(ids[0]).toBe(1);
    expect(tok.decode(ids)).toBe("<s>Once upon a time");
    expect(tok.decode(ids.slice(1))).toBe(" Once upon a time");
    // every merge was taken: no two adjacent tokens concatenate to a vocabulary piece with a score
    expect(ids.length).toBeLessThan(" Once upon a time".length);
  });
  test.each(["héllo wörld ✓ 😀", "a\nb\tc", "Lily's mom said, \"Hi!\""])("round trips %j through byte fallback", (s) => {
    expect(tok.decode(tok.encode(s))).toBe(" " + s);
  });
  test("byte fallback ids are byte + 3", () => {
    const ids = tok.encode("😀");
    expect(ids.slice(-4)).toEqual([...Buffer.from("😀")].map((b) => b + 3));
  });
  test("special texts map to their ids", () => {
    expect(tok.encode("</s>")).toEqual([2]);
    expect(tok.eosId).toBe(2);
    expect(tok.bosId).toBe(1);
  });
});

describe("HF tokenizer.json", () => {
  test("Qwen3 (bundled, 151,669 ids) round trips text and special tokens", async () => {
    const q = await loadQwen3Tokenizer();
    expect(q.vocabSize).toBe(151669);
    const s = "<|im_start|>user\nWho wrote Hamlet? 你好 😀<|im_end|>\n<|im_start|>assistant\n<think>x</think><|endoftext|>";
    const ids = q.encode(s);
    expect(ids[0]).toBe(151644);
    expect(ids).toContain(151645);
    expect(ids).toContain(151643);
    expect(q.decode(ids)).toBe(s);
    expect(q.encode("Hello world")).toEqual([9707, 1879]);
    expect(q.eosText).toBe("<|im_end|>");
    expect(q.chatTemplate).toContain("im_start");
  });
  test("a byte-level BPE tokenizer.json applies merges and round trips any text", () => {
    const u = bytesToUnicode();
    const tok: Tokenizer = createHfTokenizer(buildByteLevelTokenizer([[u[32], "t"], ["h", "e"], [u[32] + "t", "he"]]));
    const ids = tok.encode(" the é<|im_end|>");
    expect(ids[0]).toBe(258); // " the" after three merges
    expect(ids.at(-1)).toBe(tok.eosId);
    expect(tok.decode(ids)).toBe(" the é<|im_end|>");
  });
  test("a WordLevel tokenizer.json loads: known words map to ids, unknown to unk", () => {
    const special = (id: number, content: string) => ({ id, content, special: true, single_word: false, lstrip: false, rstrip: false, normalized: false });
    const tok = createHfTokenizer({
      tokenizerJson: {
        version: "1.0",
        added_tokens: [special(0, "[UNK]"), special(1, "<eos>")],
        normalizer: null,
        pre_tokenizer: { type: "WhitespaceSplit" },
        post_processor: null,
        decoder: null,
        model: { type: "WordLevel", vocab: { "[UNK]": 0, "<eos>": 1, alice: 2, lives: 3, in: 4, paris: 5, parisian: 6 }, unk_token: "[UNK]" },
      },
      tokenizerConfig: { eos_token: "<eos>" },
    });
    expect(tok.encode("alice lives in parisian bob<eos>")).toEqual([2, 3, 4, 6, 0, 1]);
    expect(tok.encode("parisx")).toEqual([0]); // no sub-word splitting
    expect(tok.decode([2, 3, 4, 5, 1])).toBe("alice lives in paris <eos>");
    expect(tok.eosId).toBe(1);
    expect(tok.vocabSize).toBe(7);
  });
});

describe("cross-check with the synthetic world's own WordLevel tokenizer (src/world)", () => {
  test("tokenizer.json written by world/tokenizer gives identical ids and text through the HF loader", async () => {
    const { buildVocab, createWordLevelTokenizer, toTokenizerJson } = await import("../world/tokenizer.js");
    const data = buildVocab(["Alice lives in Paris.", "<think>Who is Bob?</think>\n<search>Bob's city</search>", "<answer>\\boxed{Paris}</answer><|endoftext|>"]);
    const world = createWordLevelTokenizer(data);
    const hf = createHfTokenizer({ tokenizerJson: toTokenizerJson(data) as never, tokenizerConfig: { eos_token: "<|endoftext|>", unk_token: "<unk>", bos_token: null } });
    const s = "<think>Alice lives in Rome, Bob?!</think>\n<search> Paris's \\boxed{x}</search>\n\n<|endoftext|>";
    expect(hf.encode(s)).toEqual(world.encode(s));
    expect(hf.decode(world.encode(s))).toBe(world.decode(world.encode(s)));
    expect([hf.vocabSize, hf.eosId]).toEqual([world.vocabSize, world.eosId]);
  });
});
