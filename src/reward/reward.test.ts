import { describe, expect, it, test } from "vitest";
import { checkFormat, computeReward, computeResponseReward, extractAnswer, lastBoxedOnlyString, removeBoxed, splitResponse } from "./reward.js";

const EOS = "<|im_end|>";
const chat = (response: string) => `<|im_start|>user\nWho?<|im_end|>\n<|im_start|>assistant\n${response}`;
const good = "<think>plan</think><search>q</search><result>r</result><think>ok</think><answer>\\boxed{Paris}</answer>";

describe("format rules (table)", () => {
  test.each([
    ["well formed", good, true, "format is correct"],
    ["no search at all", "<think>x</think><answer>\\boxed{a}</answer>", true, "format is correct"],
    ["missing think", "<answer>\\boxed{a}</answer>", false, "<think> or </think> not found"],
    ["unbalanced think", "<think>a</think><think>b<answer>\\boxed{a}</answer>", false, "<think> </think> not paired"],
    ["two answers", "<think>a</think><answer>\\boxed{a}</answer><answer>\\boxed{b}</answer>", false, "<answer> or </answer> not found"],
    ["no answer", "<think>a</think>\\boxed{a}", false, "<answer> or </answer> not found"],
    ["answer close before open", "<think>a</think></answer>\\boxed{a}<answer>", false, "<answer> must be before </answer>"],
    ["search with no result", "<think>a</think><search>q</search><answer>\\boxed{a}</answer>", false, "search/result tags are incomplete"],
    ["search never closed", "<think>a</think><search>q<result>r</result><answer>\\boxed{a}</answer>", false, "search/result tags are incomplete"],
    ["result before /search", "<think>a</think><search>q<result>r</search></result><answer>\\boxed{a}</answer>", false, "search/result tags are nested in the wrong order"],
    ["result closed before opened", "<think>a</think><search>q</search></result><result><answer>\\boxed{a}</answer>", false, "search/result tags are incomplete"],
    ["second search lacks result", "<think>a</think><search>q</search><result>r</result><search>q2</search><answer>\\boxed{a}</answer>", false, "search/result tags are incomplete"],
    ["second search reuses first result", "<think>a</think><search>q</search><search>q2</search><result>r</result><answer>\\boxed{a}</answer>", true, "format is correct"],
    ["no \\boxed in answer", "<think>a</think><answer>Paris</answer>", false, "answer is missing \\boxed{} format"],
    ["\\boxed outside the answer", "<think>\\boxed{a}</think><answer>a}</answer>", false, "answer is missing \\boxed{} format"],
    ["\\fbox only", "<think>a</think><answer>\\fbox{a}</answer>", false, "answer is missing \\boxed{} format"],
  ])("%s", (_name, response, ok, reason) => {
    expect(checkFormat(response)).toEqual({ ok, reason });
  });
});

describe("computeReward (table)", () => {
  test.each([
    ["exact answer", chat(good + EOS), ["Paris"], EOS, 1, "Paris"],
    ["partial F1", chat("<think>x</think><answer>\\boxed{Paris France}</answer>" + EOS), ["paris"], EOS, 2 / 3, "Paris France"],
    ["max over golds", chat("<think>x</think><answer>\\boxed{New York}</answer>" + EOS), ["york city", "NYC", "new york"], EOS, 1, "New York"],
    ["wrong answer, good format", chat("<think>x</think><answer>\\boxed{London}</answer>" + EOS), ["Paris"], EOS, 0.1, "London"],
    ["yes/no mismatch scores 0.1", chat("<think>x</think><answer>\\boxed{yes}</answer>" + EOS), ["no"], EOS, 0.1, "yes"],
    ["missing EOS (cut by length)", chat(good), ["Paris"], EOS, 0, null],
    ["EOS of the other model kind", chat(good + "<|endoftext|>"), ["Paris"], EOS, 0, null],
    ["nested braces", chat("<think>x</think><answer>\\boxed{\\text{Paris}}</answer>" + EOS), ["textparis"], EOS, 1, "\\text{Paris}"],
    ["last \\boxed wins", chat("<think>x</think><answer>\\boxed{London} no, \\boxed{Paris}</answer>" + EOS), ["Paris"], EOS, 1, "Paris"],
    ["unbalanced braces", chat("<think>x</think><answer>\\boxed{{Paris}</answer>" + EOS), ["Paris"], EOS, 0, null],
    ["\\boxed with a space takes text to $", chat("<think>x</think><answer>\\boxed{a} \\boxed Paris$ x</answer>" + EOS), ["Paris"], EOS, 1, "Paris"],
    ["empty \\boxed{}", chat("<think>x</think><answer>\\boxed{}</answer>" + EOS), ["Paris"], EOS, 0.1, ""],
    ["base model separator", "User: Who?\nAssistant: " + good + "<|endoftext|>", ["paris"], "<|endoftext|>", 1, "Paris"],
    ["instruct separator preferred over Assistant:", "Assistant: <|im_start|>assistant\n" + good + EOS, ["Paris"], EOS, 1, "Paris"],
    ["second separator truncates the response", chat(good + EOS + "<|im_start|>assistant\nmore"), ["Paris"], EOS, 1, "Paris"],
    ["answer in the prompt is ignored", "<think>x</think><answer>\\boxed{Paris}</answer>Assistant: nothing" + EOS, ["Paris"], EOS, 0, null],
    ["no separator at all", good + EOS, ["Paris"], EOS, 0, null],
    ["empty EOS strips everything (Python s[:-0])", chat(good), ["Paris"], "", 0, null],
    ["golden answers as one string", chat(good + EOS), "paris", EOS, 1, "Paris"],
  ])("%s", (_name, solution, golds, eos, reward, prediction) => {
    const r = computeReward({ solution, goldenAnswers: golds, eosToken: eos });
    expect(r.reward).toBeCloseTo(reward, 12);
    expect(r.prediction).toBe(prediction);
  });

  it("gives reasons in the original's words", () => {
    const r = (s: string) => computeReward({ solution: s, goldenAnswers: ["Paris"], eosToken: EOS }).reason;
    expect(r(chat(good + EOS))).toBe("correct answer, get f1 score: 1.0");
    expect(r(chat("<think>x</think><answer>\\boxed{Paris France}</answer>" + EOS))).toBe("correct answer, get f1 score: 0.6666666666666666");
    expect(r(chat(good))).toBe("over length");
    expect(r(chat("<answer>\\boxed{a}</answer>" + EOS))).toBe("bad format: <think> or </think> not found");
    expect(r(chat("<think>x</think><answer>\\boxed{Rome}</answer>" + EOS))).toBe("wrong answer but good format: Rome");
    expect(r(chat("<think>x</think><answer>\\boxed{{x}</answer>" + EOS))).toMatch(/^find box error/);
  });
});

describe("answer extraction pieces", () => {
  test.each([
    ["\\boxed{a}", "\\boxed{a}"],
    ["x \\boxed{a{b}c} y", "\\boxed{a{b}c}"],
    ["\\boxed{a} \\boxed{b}", "\\boxed{b}"],
    ["\\boxed{a", null],
    ["\\fbox{a}", "\\fbox{a}"],
    ["nothing", null],
    ["\\boxed b$c \\boxed{x}", "\\boxed b"],
    ["\\boxed}{a}}", null],
  ])("lastBoxedOnlyString(%j)", (s, expected) => {
    expect(lastBoxedOnlyString(s)).toBe(expected);
  });

  test.each([
    ["\\boxed{a}", "a"],
    ["\\boxed b", "b"],
    ["\\fbox{a}", null],
    ["\\boxedx{a}", null],
  ])("removeBoxed(%j)", (s, expected) => {
    expect(removeBoxed(s)).toBe(expected);
  });

  test.each([
    ["<think>t</think><answer>\\boxed{A}</answer>", "A"],
    ["<answer>\n\\boxed{multi\nline}\n</answer>", "multi\nline"],
    ["<answer>\\boxed{A}</answer><answer>\\boxed{B}</answer>", "A"],
    ["<answer>A</answer>", null],
    ["\\boxed{A}", null],
  ])("extractAnswer(%j)", (s, expected) => {
    expect(extractAnswer(s)).toBe(expected);
  });

  it("splitResponse behaves like Python str.split(sep)[1]", () => {
    expect(splitResponse("p<|im_start|>assistant\nR1<|im_start|>assistant\nR2")).toBe("R1");
    expect(splitResponse("User: q\nAssistant: a Assistant: b")).toBe(" a ");
    expect(splitResponse("no separator")).toBeNull();
  });

  it("computeResponseReward scores a bare response", () => {
    expect(computeResponseReward(good + EOS, ["Paris"], EOS).reward).toBe(1);
  });
});
