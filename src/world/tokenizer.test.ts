import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadHfTokenizer } from "../tokenizer/hf.js";
import { RESEARCH_BASE_PROMPT } from "../rollout/prompts.js";
import { buildWorld } from "./build.js";
import { smallWorldConfig } from "./config.js";
import { createWordLevelTokenizer, loadWordLevelTokenizer, preTokenize, saveWordLevelTokenizer, TAG_TOKENS } from "./tokenizer.js";
import { promptPhrases, promptTexts, worldVocab } from "./vocab.js";

const world = buildWorld(smallWorldConfig(2));
const data = worldVocab(world);
const tok = createWordLevelTokenizer(data);
const dir = mkdtempSync(join(tmpdir(), "wtok-"));
saveWordLevelTokenizer(dir, data, 1024);

describe("world word-level tokenizer", () => {
  test("round trip: decode(encode(x)) is x with words split by single spaces; world text has no <unk>", () => {
    for (const p of world.corpus.slice(0, 50)) {
      const ids = tok.encode(p.contents);
      expect(ids).not.toContain(tok.unkId);
      expect(tok.decode(ids)).toBe(p.contents.split("\n").map((l) => preTokenize(l).join(" ")).join(" \n "));
    }
    const q = world.questions.test[0];
    const spaced = `<think> ${q.metadata.chainNames[0]} </think> <search> ${q.metadata.chainNames[0]} </search> <result> \n a zzqx </result> <answer> \\boxed{ ${q.golden_answers[0]} } </answer> <|endoftext|>`;
    expect(tok.decode(tok.encode(spaced))).toBe(spaced.replace("zzqx", "<unk>"));
  });

  test("tags, \\boxed{ and EOS are single tokens; every prompt format tokenizes without <unk>", () => {
    for (const t of [...TAG_TOKENS, "<|endoftext|>"]) expect(tok.encode(t)).toHaveLength(1);
    expect(tok.eosId).toBe(tok.idOf("<|endoftext|>"));
    for (const t of promptTexts()) expect(tok.encode(t.replace("{prompt}", "").replace("{question}", ""))).not.toContain(tok.unkId);
    expect(tok.encode("zzqx unseenword")).toEqual([tok.unkId, tok.unkId]);
  });

  test("each fixed stretch of prompt boilerplate is one token; the question's words stay words", () => {
    const q = world.questions.test[0].question;
    const ids = tok.encode(RESEARCH_BASE_PROMPT.replace("{prompt}", q));
    // [instruction] + question words + [".", "Assistant", ":"]
    expect(ids).toHaveLength(1 + tok.encode(q + ".").length + 2);
    expect(tok.decode(ids.slice(0, 1))).toBe(RESEARCH_BASE_PROMPT.slice(0, RESEARCH_BASE_PROMPT.indexOf("{prompt}")).trim());
    for (const p of promptPhrases()) expect(tok.encode(p)).toHaveLength(1);
    expect(promptPhrases().length).toBeGreaterThanOrEqual(5);
  });

  test("saved tokenizer.json loads in the project's HF loader with identical ids and decoding", () => {
    const mine = loadWordLevelTokenizer(dir);
    const hf = loadHfTokenizer(dir);
    expect(hf.vocabSize).toBe(mine.vocabSize);
    expect(hf.eosId).toBe(mine.eosId);
    const texts = [
      RESEARCH_BASE_PROMPT.replace("{prompt}", world.questions.test[0].question),
      ...world.corpus.slice(0, 20).map((p) => p.contents),
      ...world.questions.test.slice(0, 20).map((q) => q.question),
      "<think> a b </think> <search> q </search> <result>\nx\n</result> <answer> \\boxed{y} </answer><|endoftext|>",
    ];
    for (const t of texts) {
      expect(hf.encode(t), t).toEqual(mine.encode(t));
      expect(hf.decode(mine.encode(t))).toBe(mine.decode(mine.encode(t)));
    }
  });
});
