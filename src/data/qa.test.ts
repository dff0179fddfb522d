import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, test } from "vitest";
import { detectContainer, detectFormat, inspectQA, loadQAArray } from "./qa.js";
import { SHARED_DATA } from "../util/shared.js";

const DATA = SHARED_DATA;
const tmp = mkdtempSync(join(tmpdir(), "qa-test-"));
const write = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

// Every QA file listed in shared/data/README.md, with the row count the README gives.
describe("loaders for every shared QA file (counts match the README)", () => {
  test.each([
    ["eval/r1searcher_bamboogle.jsonl", "jsonl", "r1searcher", 125, "1", ["james madison"]],
    ["eval/r1searcher_hotpotqa_500.jsonl", "jsonl", "r1searcher", 500, "1", ["Kauffman Stadium"]],
    ["eval/r1searcher_2wiki_500.jsonl", "jsonl", "r1searcher", 500, "1", ["Tetisheri"]],
    ["eval/r1searcher_musique_500.jsonl", "jsonl", "r1searcher", 500, "1", ["Academy Award for Best Live Action Short Film"]],
    ["train/r1searcher_stage2.jsonl", "jsonl", "r1searcher", 8148, "1", ["filmmaker"]],
    ["train/r1searcher_stage1.jsonl", "jsonl", "r1searcher", 350, "37653", ["U.S. Route 22"]],
    ["rollouts/r1searcher_bamboogle_qwen.jsonl", "jsonl", "r1searcher", 125, "0", ["Yes"]],
    ["rollouts/r1searcher_hotpotqa_llama.jsonl", "jsonl", "r1searcher", 500, "0", ["Nidal Hasan"]],
    ["eval/flashrag_quickstart_nq_test.jsonl", "jsonl", "flashrag", 17, "test_0", ["Wilhelm Conrad Röntgen"]],
    ["reference/flashrag_skr_training_sample.json", "json", "flashrag", 849, "0", ["Lyle Lovett"]],
    ["hotpotqa_distractor_500.jsonl", "jsonl", "hotpotqa", 500, "5a7166395542994082a3e814", ["Kansas Song"]],
    ["hotpotqa_amor_dev.jsonl", "jsonl", "hotpotqa", 100, "5a85355a5542997b5ce3ffc8", ["beer and whisky"]],
    ["eval/musique_dev.json", "json", "musique", 2417, "2hop__460946_294723", ["Miquette Giraudy"]],
    ["eval/hotpotqa_dev_qa_7405.json", "json", "qa", 7405, "0", ["yes"]],
    ["eval/2wiki_dev_qa_12576.json", "json", "qa", 12576, "0", ["Małgorzata Braunek"]],
    ["eval/musique_dev_qa_agenticrag.json", "json", "qa", 2417, "0", ["Miquette Giraudy"]],
    ["eval/bamboogle_qa_agenticrag.json", "json", "qa", 125, "0", ["james madison"]],
    ["train/musique_train_qa_19938.json", "json", "qa", 19938, "0", ["1960"]],
    ["reference/agenticrag_bamboogle_verl_format.jsonl", "jsonl", "verl", 125, "0", ["james madison"]],
    ["reference/agenticrag_musique_dev_verl_format.jsonl", "jsonl", "verl", 2417, "0", ["Miquette Giraudy"]],
    ["eval/2wiki_dev_1000_aliases.json", "json", "qa", 1000, "0", ["Małgorzata Braunek"]],
    ["eval/2wiki_dev_lag_with_evidence.json", "json", "2wiki", 4000, "e93c07e8084f11ebbd56ac1f6bf848b6", ["What Price Hollywood?"]],
  ])("%s", async (file, container, format, rows, firstId, firstGolds) => {
    const s = await inspectQA(join(DATA, file), 3);
    expect(s).toMatchObject({ container, format, rows });
    expect(s.examples).toHaveLength(3);
    expect(s.examples[0].id).toBe(firstId);
    expect(s.examples[0].golden_answers).toEqual(firstGolds);
    for (const ex of s.examples) expect(ex.question.length).toBeGreaterThan(5);
  });

  it("MuSiQue golds are the answer followed by its aliases", async () => {
    const all = await loadQAArray(join(DATA, "eval/musique_dev.json"));
    const ex = all.find((e) => e.id === "2hop__335418_279684")!;
    expect(ex.golden_answers).toEqual(["Pittsburgh Pirates", "Orioles", "Pirates", "Baltimore Orioles", "New York Mets", "Mets"]);
    expect(ex.metadata).toMatchObject({ answerable: true });
    expect(Array.isArray(ex.metadata!.question_decomposition)).toBe(true);
  });

  it("2Wiki alias lists and plain strings both map to golden_answers", async () => {
    const all = await loadQAArray(join(DATA, "eval/2wiki_dev_1000_aliases.json"), { limit: 3 });
    expect(all.map((e) => e.id)).toEqual(["0", "1", "2"]);
    expect(all[2].golden_answers).toEqual(["12 June 1516"]);
  });

  it("HotpotQA keeps its context and supporting facts as metadata", async () => {
    const [ex] = await loadQAArray(join(DATA, "hotpotqa_distractor_500.jsonl"), { limit: 1 });
    expect(ex.metadata).toMatchObject({ type: expect.any(String), level: expect.any(String) });
    expect((ex.metadata!.context as unknown[]).length).toBe(10);
  });

  it("rollout rows keep pred_ans for scoring", async () => {
    const [ex] = await loadQAArray(join(DATA, "rollouts/r1searcher_bamboogle_qwen.jsonl"), { limit: 1 });
    expect(ex.metadata).toMatchObject({ pred_ans: " Yes ", gpt4o_output: "True" });
  });
});

describe("formats and containers", () => {
  test.each([
    [{ question: "q", golden_answers: ["a"] }, "flashrag"],
    [{ id: "w1", question: "q", golden_answers: ["a"], metadata: { hops: 2 } }, "flashrag"],
    [{ idx: 1, question: "q", answer: "a", gen_text_store: "" }, "r1searcher"],
    [{ question: "q", answer: "a" }, "qa"],
    [{ question: "q", answer: "a", answer_aliases: [] }, "musique"],
    [{ prompt: [], reward_model: { ground_truth: { target: ["a"] } } }, "verl"],
    [{ id: "0", contents: "passage" }, null],
    [[1, 2], null],
    ["text", null],
  ])("detectFormat(%j) = %s", (rec, expected) => {
    expect(detectFormat(rec)).toBe(expected);
  });

  it("sniffs JSONL named .json, and a pretty-printed array", () => {
    expect(detectContainer(write("amor.json", '{"question": "q", "answer": "a"}\n{"question": "q2", "answer": "b"}\n'))).toBe("jsonl");
    expect(detectContainer(write("pretty.json", '[\n  {\n    "question": "q"\n  }\n]\n'))).toBe("json");
    expect(detectContainer(write("bom.jsonl", '\ufeff\n\n{"question": "q", "answer": "a"}\n'))).toBe("jsonl");
  });

  it("reads Search-R1 verl rows with {target: [...]} and no extra_info.question", async () => {
    const p = write("searchr1.jsonl", JSON.stringify({ data_source: "nq", prompt: [{ role: "system", content: "s" }, { role: "user", content: "Who?" }], reward_model: { ground_truth: { target: ["A", "B"] }, style: "rule" }, extra_info: { index: 7 } }) + "\n");
    expect(await loadQAArray(p)).toEqual([expect.objectContaining({ id: "7", question: "Who?", golden_answers: ["A", "B"] })]);
  });

  it("merges FlashRAG metadata with extra fields (our world's files)", async () => {
    const p = write("world.jsonl", JSON.stringify({ id: "w-1", question: "Where?", golden_answers: ["Oslo"], metadata: { hops: 2 }, output: { pred: "Oslo" } }) + "\n");
    expect(await loadQAArray(p)).toEqual([{ id: "w-1", question: "Where?", golden_answers: ["Oslo"], metadata: { hops: 2, output: { pred: "Oslo" } } }]);
  });

  it("streams: the first example arrives without reading the rest, and limit stops early", async () => {
    const lines = [JSON.stringify({ question: "q0", answer: "a" }), ...Array.from({ length: 5 }, (_, i) => JSON.stringify({ question: `q${i + 1}`, answer: "a" })), "{broken"];
    const p = write("stream.jsonl", lines.join("\n") + "\n");
    expect((await loadQAArray(p, { limit: 6 })).map((e) => e.question)).toEqual(["q0", "q1", "q2", "q3", "q4", "q5"]);
    await expect(loadQAArray(p)).rejects.toThrow(`${p}:7: invalid JSON`);
  });
});

describe("malformed input names file, line and field", () => {
  test.each([
    ["missing answer", "a.jsonl", '{"question": "q", "answer": "a"}\n{"question": "q2"}\n', ":2: answer: expected a string or a list of strings, got nothing (field missing)"],
    ["answer of wrong type", "b.jsonl", '{"idx": 1, "question": "q", "answer": 3}\n', ":1: answer: expected a string, got number"],
    ["non-string alias", "c.jsonl", '{"question": "q", "golden_answers": ["a", 2]}\n', ":1: golden_answers[1]: expected a string, got number"],
    ["empty gold list", "d.jsonl", '{"question": "q", "golden_answers": []}\n', ":1: golden_answers: empty list of answers"],
    ["question missing", "e.jsonl", '{"golden_answers": ["a"]}\n', ":1: question: expected a string, got nothing (field missing)"],
    ["bad JSON line", "f.jsonl", '{"question": "q", "answer": "a"}\n\n{"question": \n', ":3: invalid JSON"],
    ["array item field", "g.json", '[{"question": "q", "answer": "a"}, {"question": 5, "answer": "a"}]', ": [1].question: expected a string, got number"],
    ["array item not an object", "h.json", '[{"question": "q", "answer": "a"}, 7]', ": [1]: expected a JSON object, got number"],
    ["broken JSON document", "i.json", '[\n{"question": "q", "answer": "a"},\n{"question": "q" "answer": "a"}\n]', ":3: invalid JSON"],
    ["top-level object", "j.json", '{\n"question": "q"\n}', ": expected a JSON array of records (or JSONL), got a top-level object"],
    ["not a QA file", "k.jsonl", '{"id": "0", "contents": "text"}\n', ":1: not a QA record we know (keys: id, contents)"],
    ["empty file", "l.jsonl", "", ":1: empty file"],
    ["verl without ground truth", "m.jsonl", '{"prompt": [], "reward_model": {}}\n', ":1: reward_model.ground_truth: expected a string or a list of strings, got nothing (field missing)"],
  ])("%s", async (_name, file, text, message) => {
    const p = write(file, text);
    await expect(loadQAArray(p)).rejects.toThrow(p + message);
  });

  it("a missing file is a clear error", async () => {
    await expect(loadQAArray(join(tmp, "nope.jsonl"))).rejects.toThrow("file not found");
  });
});
