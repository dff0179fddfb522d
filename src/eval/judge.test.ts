import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { UserError } from "../util/errors.js";
import { createJudge, parseVerdict } from "./judge.js";
import { startScriptedServer, type ScriptedServer } from "./testing/scripted-openai.js";

/** The judge server's replies are picked by the prediction in the prompt. */
const replies: Record<string, string[]> = {
  good: ['{"rationale": "same city", "verdict": "correct"}'],
  wrong: ['```json\n{"rationale": "different person", "verdict": "Incorrect"}\n```'],
  garbage: ["I think it is right!", "{not json}", '{"verdict": "maybe", "rationale": "?"}'],
  "late-fix": ["sure thing", 'Verdict: {"rationale": "ok", "verdict": "correct"} done'],
};

let server: ScriptedServer;
const calls: Record<string, number> = {};
beforeAll(async () => {
  server = await startScriptedServer((req) => {
    const user = req.messages?.find((m) => m.role === "user")?.content ?? "";
    const pred = /Prediction: (.*)$/m.exec(user)?.[1] ?? "";
    if (pred === "unauthorized") return { status: 401, text: "bad key" };
    if (pred === "flaky" && (calls[pred] = (calls[pred] ?? 0) + 1) === 1) return { status: 503, text: "busy" };
    if (pred === "flaky") return '{"rationale": "x", "verdict": "correct"}';
    const list = replies[pred] ?? ["???"];
    const i = req.messages!.filter((m) => m.role === "assistant").length; // retries carry the earlier bad replies
    return list[Math.min(i, list.length - 1)];
  });
});
afterAll(() => server.close());

const input = (pred: string) => ({ question: "Capital of France?", goldenAnswers: ["Paris"], pred });

describe("LLM judge against a real OpenAI-compatible server", () => {
  test("valid verdicts, fenced JSON and case are accepted; the prompt carries question, golds and prediction", async () => {
    const judge = createJudge({ baseUrl: server.baseUrl, model: "judge-m", apiKey: "sk-test" });
    const before = server.requests.length;
    expect(await judge.judge(input("good"))).toEqual({ verdict: "correct", rationale: "same city", attempts: 1 });
    expect((await judge.judge(input("wrong"))).verdict).toBe("incorrect");
    const req = server.requests[before];
    expect(req.path).toBe("/chat/completions");
    expect(req.body.model).toBe("judge-m");
    expect(req.messages![1].content).toBe('Question: Capital of France?\nGold answers: ["Paris"]\nPrediction: good');
    expect(judge.requests).toBe(2);
  });

  test("garbage replies are retried, then counted as an error (never correct)", async () => {
    const judge = createJudge({ baseUrl: server.baseUrl, model: "m", maxAttempts: 3 });
    const v = await judge.judge(input("garbage"));
    expect(v.verdict).toBe("error");
    expect(v.attempts).toBe(3);
    expect(v.error).toMatch(/malformed reply/);
    expect(judge.requests).toBe(3);
  });

  test("a malformed reply followed by a valid one is correct after 2 attempts, with the reminder sent", async () => {
    const judge = createJudge({ baseUrl: server.baseUrl, model: "m" });
    const before = server.requests.length;
    expect(await judge.judge(input("late-fix"))).toMatchObject({ verdict: "correct", attempts: 2 });
    const retry = server.requests[before + 1].messages!;
    expect(retry.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(retry[3].content).toMatch(/only a JSON object/);
  });

  test("a failed request (503) is retried", async () => {
    const judge = createJudge({ baseUrl: server.baseUrl, model: "m" });
    expect(await judge.judge(input("flaky"))).toMatchObject({ verdict: "correct", attempts: 2 });
  });

  test("an empty prediction is incorrect without a request; 401 is a configuration error", async () => {
    const judge = createJudge({ baseUrl: server.baseUrl, model: "m" });
    expect(await judge.judge(input("  "))).toMatchObject({ verdict: "incorrect", attempts: 0 });
    expect(judge.requests).toBe(0);
    await expect(judge.judge(input("unauthorized"))).rejects.toBeInstanceOf(UserError);
  });

  test.each([
    ['{"rationale": "r", "verdict": "correct"}', "correct"],
    ['noise {"verdict": "INCORRECT", "rationale": "r"} noise', "incorrect"],
    ['{"verdict": "correct"}', null],
    ['{"rationale": "r", "verdict": "partially"}', null],
    ["[1, 2]", null],
    ["", null],
  ])("parseVerdict(%j) → %s", (reply, want) => {
    const v = parseVerdict(reply);
    if (want === null) expect("error" in v).toBe(true);
    else expect(v).toMatchObject({ verdict: want });
  });
});
