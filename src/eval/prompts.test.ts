import { describe, expect, test } from "vitest";
import {
  buildPrompt,
  fillTemplate,
  formatReference,
  IRCOT_PROMPT,
  NAIVE_GEN_PROMPT,
  NAIVE_RAG_PROMPT,
} from "./prompts.js";

const hits = [
  { contents: '"Paris"\nParis is the capital of France.' },
  { contents: "Lyon\nLyon is a city.\nSecond line." },
];

describe("FlashRAG prompts", () => {
  test("reference lines are `Doc {i}(Title: {title}) {text}` with the title's quotes kept", () => {
    expect(formatReference(hits)).toBe('Doc 1(Title: "Paris") Paris is the capital of France.\nDoc 2(Title: Lyon) Lyon is a city.\nSecond line.\n');
  });

  test("naive-gen, base model: system and user joined by a blank line", () => {
    expect(buildPrompt(NAIVE_GEN_PROMPT, { question: "Who?" }).text).toBe(
      "Answer the question based on your own knowledge. Only give me the answer and do not output any other words.\n\nQuestion: Who?",
    );
  });

  test("naive-rag, base model: FlashRAG's base_system_prompt byte for byte", () => {
    expect(buildPrompt(NAIVE_RAG_PROMPT, { question: "Capital?", hits }).text).toBe(
      "Answer the question based on the given document.Only give me the answer and do not output any other words.\n" +
        "The following are given documents.\n\n" +
        'Doc 1(Title: "Paris") Paris is the capital of France.\nDoc 2(Title: Lyon) Lyon is a city.\nSecond line.\n' +
        "\n\nQuestion: Capital?",
    );
  });

  test("chat model: messages rendered by the chat renderer, and sent as messages", () => {
    const render = (m: { role: string; content: string }[]) => m.map((x) => `<${x.role}>${x.content}`).join("|");
    const p = buildPrompt(NAIVE_GEN_PROMPT, { question: "Q" }, render);
    expect(p.messages?.map((m) => m.role)).toEqual(["system", "user"]);
    expect(p.text).toBe(`<system>${NAIVE_GEN_PROMPT.system}|<user>Question: Q`);
  });

  test("IRCoT: plain even for chat models; Wikipedia Title references; previous thoughts appended", () => {
    const render = () => "CHAT";
    const p = buildPrompt(IRCOT_PROMPT, { question: "Q?", hits, previousGen: " A. B." }, render);
    expect(p.text.startsWith("You serve as an intelligent assistant")).toBe(true);
    expect(p.text).toContain("So the answer is: no.\n\n\n\nWikipedia Title: \"Paris\"\nParis is the capital of France.\n\nWikipedia Title: Lyon\n");
    expect(p.text.endsWith("Question: Q?\nThought: A. B.")).toBe(true);
    expect(p.messages).toEqual([{ role: "user", content: p.text }]);
  });

  test("placeholders are filled once: braces inside values are not expanded", () => {
    expect(fillTemplate("{question} {reference}", { question: "{reference}", reference: "R" })).toBe("{reference} R");
    expect(buildPrompt(NAIVE_GEN_PROMPT, { question: "a {question} b" }).text.endsWith("Question: a {question} b")).toBe(true);
  });
});
