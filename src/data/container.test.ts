import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parquetReadObjects } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterAll, describe, expect, it, test } from "vitest";
import { SHARED_DATA } from "../util/shared.js";
import { detectFile, readRecords } from "./container.js";
import { inspectQA, loadQAArray } from "./qa.js";
import { toVerlRow, writeVerlParquet } from "./verl.js";
import { RESEARCH_BASE_PROMPT, SEARCHR1_PROMPT } from "../rollout/prompts.js";

const tmp = mkdtempSync(join(tmpdir(), "container-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const put = (name: string, data: string | Uint8Array) => {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
};
const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

/** A valid zstd frame of raw (stored) blocks: the format's simplest encoding, readable by any zstd decoder. */
export function zstdRaw(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0])]; // magic; single segment, 4-byte content size
  const fcs = Buffer.alloc(4);
  fcs.writeUInt32LE(data.length);
  parts.push(fcs);
  const BLOCK = 1 << 17;
  for (let off = 0; off < data.length || off === 0; off += BLOCK) {
    const chunk = data.subarray(off, off + BLOCK);
    const last = off + BLOCK >= data.length ? 1 : 0;
    const h = (chunk.length << 3) | last; // block type 0 = raw
    parts.push(Uint8Array.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), chunk);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

const haveZstd = spawnSync("zstd", ["--version"]).status === 0;
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const QA = [
  { id: "q1", question: "Who wrote Hamlet?", golden_answers: ["Shakespeare", "William Shakespeare"] },
  { id: "q2", question: "Capital of Norway?", golden_answers: ["Oslo"] },
];

describe("detectFile sniffs container and compression from the bytes", () => {
  test.each([
    ["plain.jsonl", jsonl(QA), { container: "jsonl", compression: "none" }],
    ["array.json", JSON.stringify(QA, null, 2), { container: "json", compression: "none" }],
    ["jsonl-named.json", jsonl(QA), { container: "jsonl", compression: "none" }],
    ["psgs.tsv", "id\ttext\ttitle\n1\tsome text\tTitle\n", { container: "tsv", compression: "none" }],
    ["x.jsonl.gz", gzipSync(jsonl(QA)), { container: "jsonl", compression: "gzip" }],
    ["x.json.gz", gzipSync(JSON.stringify(QA)), { container: "json", compression: "gzip" }],
    ["x.jsonl.zst", zstdRaw(Buffer.from(jsonl(QA))), { container: "jsonl", compression: "zstd" }],
    ["gz-without-extension", gzipSync("id\ttext\ttitle\n"), { container: "tsv", compression: "gzip" }],
  ])("%s", (name, data, kind) => {
    expect(detectFile(put(name, data))).toEqual(kind);
  });

  it("parquet by its PAR1 magic, whatever the name", () => {
    const buf = parquetWriteBuffer({ columnData: [{ name: "question", data: ["q"] }, { name: "answer", data: ["a"] }] });
    expect(detectFile(put("data.bin", new Uint8Array(buf)))).toEqual({ container: "parquet", compression: "none" });
  });

  test.each([
    ["empty", "", ":1: empty file"],
    ["prose.txt", "just some words\n", ":1: not JSON, JSONL, TSV or parquet"],
    ["broken.gz", Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xff]), ": not a valid gzip file"],
  ])("%s is a clear error naming the file", (name, data, msg) => {
    const p = put(name, data);
    expect(() => detectFile(p)).toThrow(p + msg);
  });
});

describe("every container yields the same QA examples", () => {
  const want = QA.map((q) => ({ id: q.id, question: q.question, golden_answers: q.golden_answers }));
  test.each([
    ["a.jsonl", () => jsonl(QA)],
    ["a.json", () => JSON.stringify(QA)],
    ["a.jsonl.gz", () => gzipSync(jsonl(QA))],
    ["a.json.gz", () => gzipSync(JSON.stringify(QA))],
    ["a.jsonl.zst", () => zstdRaw(Buffer.from(jsonl(QA)))],
    ["a.tsv", () => "id\tquestion\tanswer\nq1\tWho wrote Hamlet?\tShakespeare\nq2\tCapital of Norway?\tOslo\n"],
  ])("%s", async (name, make) => {
    const got = await loadQAArray(put(name, make()));
    if (name.endsWith(".tsv")) expect(got.map((e) => [e.id, e.question, e.golden_answers])).toEqual([["q1", "Who wrote Hamlet?", ["Shakespeare"]], ["q2", "Capital of Norway?", ["Oslo"]]]);
    else expect(got).toEqual(want);
  });

  it.skipIf(!haveZstd)("a file compressed by the real zstd tool (compressed blocks, checksum)", async () => {
    const p = put("real.jsonl", jsonl(Array.from({ length: 2000 }, (_, i) => ({ question: `question number ${i}?`, answer: `a${i % 7}` }))));
    expect(spawnSync("zstd", ["-q", "-19", "-f", p, "-o", p + ".zst"]).status).toBe(0);
    const got = await loadQAArray(p + ".zst");
    expect(got).toHaveLength(2000);
    expect(got[1999]).toMatchObject({ question: "question number 1999?", golden_answers: ["a4"] });
  });

  it("a corrupt gzip stream in the middle is an error naming the file", async () => {
    const gz = gzipSync(jsonl(Array.from({ length: 5000 }, (_, i) => ({ question: `q${i} ${"x".repeat(i % 50)}`, answer: String(i) }))));
    const broken = Buffer.concat([gz.subarray(0, 4000), Buffer.alloc(200, 7), gz.subarray(4200)]);
    const p = put("corrupt.jsonl.gz", broken);
    await expect(loadQAArray(p)).rejects.toThrow(p);
  });

  it("streams compressed JSONL: a bad line 3 of 4 fails with its line number after 2 good examples", async () => {
    const p = put("bad.jsonl.gz", gzipSync(jsonl(QA) + "{nope\n" + JSON.stringify(QA[0]) + "\n"));
    expect(await loadQAArray(p, { limit: 2 })).toHaveLength(2);
    await expect(loadQAArray(p)).rejects.toThrow(`${p}:3: invalid JSON`);
  });

  it("TSV rows with the wrong number of fields name file and line", async () => {
    const p = put("bad.tsv", "id\tquestion\tanswer\nq1\tWho?\tme\nq2\tonly two\n");
    await expect(loadQAArray(p)).rejects.toThrow(`${p}:3: expected 3 tab-separated fields (id, question, answer), got 2`);
  });

  it("shared data: a gzipped and a zstd copy of musique_dev.json read the same 2417 examples", async () => {
    const src = join(SHARED_DATA, "eval/musique_dev.json");
    const orig = await loadQAArray(src);
    const gz = put("musique_dev.json.gz", gzipSync(readFileSync(src)));
    const zst = put("musique_dev.json.zst", zstdRaw(readFileSync(src)));
    expect(await loadQAArray(gz)).toEqual(orig);
    expect(await loadQAArray(zst)).toEqual(orig);
    expect(await inspectQA(gz, 1)).toMatchObject({ container: "json", compression: "gzip", format: "musique", rows: 2417 });
  });
});

describe("verl / Search-R1 parquet", () => {
  // The row nq_search.py writes: FlashRAG's columns kept, the prompt the Search-R1 template around the question.
  const searchR1Rows = [
    { id: "train_0", question: "total number of death row inmates in the us?", golden_answers: ["2,718"] },
    { id: "train_1", question: "big little lies season 2 how many episodes?", golden_answers: ["seven"] },
  ].map((r, i) => ({
    ...r,
    data_source: "nq",
    prompt: [{ role: "user", content: SEARCHR1_PROMPT.replace("{question}", r.question) }],
    ability: "fact-reasoning",
    reward_model: { style: "rule", ground_truth: { target: r.golden_answers } },
    extra_info: { split: "train", index: BigInt(i) },
  }));

  it("reads a Search-R1 training parquet (written with nested list/struct columns) to questions and golds", async () => {
    const cols = ["id", "question", "golden_answers", "data_source", "prompt", "ability", "reward_model", "extra_info"] as const;
    const buf = parquetWriteBuffer({
      columnData: cols.map((name) => ({ name, data: searchR1Rows.map((r) => r[name]) })),
      schema: [
        { name: "root", num_children: 8 },
        { name: "id", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "question", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "golden_answers", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        { name: "element", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "data_source", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "prompt", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        { name: "element", repetition_type: "OPTIONAL", num_children: 2 },
        { name: "role", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "content", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "ability", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "reward_model", repetition_type: "OPTIONAL", num_children: 2 },
        { name: "style", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "ground_truth", repetition_type: "OPTIONAL", num_children: 1 },
        { name: "target", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        { name: "element", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "extra_info", repetition_type: "OPTIONAL", num_children: 2 },
        { name: "split", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
        { name: "index", type: "INT64", repetition_type: "OPTIONAL" },
      ],
    });
    const p = put("nq_train.parquet", new Uint8Array(buf));
    const s = await inspectQA(p, 2);
    expect(s).toMatchObject({ container: "parquet", format: "verl", rows: 2 });
    expect(s.examples.map((e) => [e.id, e.question, e.golden_answers])).toEqual([
      ["0", "total number of death row inmates in the us?", ["2,718"]],
      ["1", "big little lies season 2 how many episodes?", ["seven"]],
    ]);
  });

  it("with no question column the question comes out of the templated prompt (ReSearch or Search-R1 template)", async () => {
    const rows = [
      { prompt: [{ role: "user", content: RESEARCH_BASE_PROMPT.replace("{prompt}", "Who founded Oslo?") }], reward_model: { ground_truth: ["Harald Hardrada"] } },
      { prompt: [{ role: "user", content: SEARCHR1_PROMPT.replace("{question}", "Where is Bergen?") }], reward_model: { ground_truth: { target: ["Norway"] } } },
      { prompt: [{ role: "system", content: "s" }, { role: "user", content: "A bare question?" }], reward_model: { ground_truth: "x" } },
    ];
    const got = await loadQAArray(put("templated.jsonl", jsonl(rows)));
    expect(got.map((e) => [e.question, e.golden_answers])).toEqual([
      ["Who founded Oslo?", ["Harald Hardrada"]],
      ["Where is Bergen?", ["Norway"]],
      ["A bare question?", ["x"]],
    ]);
  });

  it("a bad parquet row names file, row and field", async () => {
    const buf = parquetWriteBuffer({ columnData: [{ name: "question", data: ["ok?", "bad?"] }, { name: "answer", data: ["a", null] }] });
    const p = put("bad.parquet", new Uint8Array(buf));
    await expect(loadQAArray(p)).rejects.toThrow(`${p}: [1].answer: expected a string or a list of strings, got null`);
  });

  it("convert round trip: our parquet reads back (hyparquet) with the verl schema and loads to the same questions/answers", async () => {
    const src = join(SHARED_DATA, "eval/r1searcher_bamboogle.jsonl");
    const orig = await loadQAArray(src, { limit: 40 });
    const out = join(tmp, "verl", "bamboogle.parquet");
    await writeVerlParquet(out, orig.map((ex, i) => toVerlRow(ex, i, { split: "test", dataSource: "bamboogle" })));
    const { asyncBufferFromFile } = await import("hyparquet");
    const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(out) })) as Record<string, any>[];
    expect(rows).toHaveLength(40);
    expect(rows[0]).toMatchObject({
      data_source: "bamboogle",
      ability: "qa",
      prompt: [{ role: "user", content: RESEARCH_BASE_PROMPT.replace("{prompt}", orig[0].question) }],
      reward_model: { style: "rule", ground_truth: { target: orig[0].golden_answers } },
      extra_info: { split: "test", question: orig[0].question },
      question: orig[0].question,
    });
    expect(Number(rows[7].extra_info.index)).toBe(7);
    const back = await loadQAArray(out);
    expect(back.map((e) => [e.question, e.golden_answers])).toEqual(orig.map((e) => [e.question, e.golden_answers]));
    // ReSearch's reward takes a plain list: --ground-truth list
    const out2 = join(tmp, "verl", "list.parquet");
    await writeVerlParquet(out2, orig.slice(0, 3).map((ex, i) => toVerlRow(ex, i, { groundTruth: "list" })), "list");
    const rows2 = (await parquetReadObjects({ file: await asyncBufferFromFile(out2) })) as Record<string, any>[];
    expect(rows2[0].reward_model.ground_truth).toEqual(orig[0].golden_answers);
    expect((await loadQAArray(out2)).map((e) => e.golden_answers)).toEqual(orig.slice(0, 3).map((e) => e.golden_answers));
  });

  it("readRecords turns INT64 into numbers", async () => {
    const buf = parquetWriteBuffer({ columnData: [{ name: "n", data: [1n, 2n], type: "INT64" }] });
    expect((await collect(readRecords(put("ints.parquet", new Uint8Array(buf))))).map((r) => r.value)).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
