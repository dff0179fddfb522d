import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadQAArray } from "../../data/qa.js";
import { SHARED_DATA } from "../../util/shared.js";

const tmp = mkdtempSync(join(tmpdir(), "cli-data-"));
const research = (...args: string[]) => spawnSync(process.execPath, ["bin/research.js", ...args], { encoding: "utf8" });

describe("research data", () => {
  it("inspect prints rows, format and three examples", () => {
    const r = research("data", "inspect", SHARED_DATA + "/eval/r1searcher_musique_500.jsonl");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("format: r1searcher (jsonl)");
    expect(r.stdout).toContain("rows:   500");
    expect(r.stdout.match(/^example \d:/gm)).toEqual(["example 1:", "example 2:", "example 3:"]);
    expect(r.stdout).toContain("golden_answers: [\"Academy Award for Best Live Action Short Film\"]");
  });

  it("convert writes FlashRAG JSONL that loads back identically", async () => {
    const out = join(tmp, "musique.jsonl");
    const r = research("data", "convert", SHARED_DATA + "/eval/musique_dev.json", "--out", out);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(research("data", "inspect", out, "--json", "-n", "1").stdout);
    expect(j).toMatchObject({ format: "flashrag", container: "jsonl", rows: 2417 });
    const [orig, back] = await Promise.all([loadQAArray(SHARED_DATA + "/eval/musique_dev.json"), loadQAArray(out)]);
    expect(back).toEqual(orig);
  });

  it("convert --to verl writes the training parquet; inspect and our loader read it back to the same questions/answers", async () => {
    const out = join(tmp, "verl", "bamboogle.parquet");
    const r = research("data", "convert", SHARED_DATA + "/eval/bamboogle_qa_agenticrag.json", "--to", "verl", "--out", out, "--split", "test", "--data-source", "bamboogle");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("wrote 125 examples (qa) to");
    const j = JSON.parse(research("data", "inspect", out, "--json", "-n", "1").stdout);
    expect(j).toMatchObject({ format: "verl", container: "parquet", rows: 125 });
    const [orig, back] = await Promise.all([loadQAArray(SHARED_DATA + "/eval/bamboogle_qa_agenticrag.json"), loadQAArray(out)]);
    expect(back.map((e) => [e.id, e.question, e.golden_answers])).toEqual(orig.map((e) => [e.id, e.question, e.golden_answers]));
    expect(back[0].metadata).toMatchObject({ data_source: "bamboogle", ability: "qa", extra_info: { split: "test", index: 0 } });
  });

  it("convert --to with a bad value or a bad verl option names the flag", () => {
    const bad = research("data", "convert", SHARED_DATA + "/eval/bamboogle_qa_agenticrag.json", "--to", "csv", "--out", join(tmp, "x"));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--to: expected flashrag or verl, got csv");
    const gt = research("data", "convert", SHARED_DATA + "/eval/bamboogle_qa_agenticrag.json", "--to", "verl", "--ground-truth", "dict", "--out", join(tmp, "y.parquet"));
    expect(gt.status).toBe(1);
    expect(gt.stderr).toContain("--ground-truth:");
  });

  it("a non-QA file is a clear error with a non-zero exit", () => {
    const r = research("data", "inspect", SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl");
    expect(r.status).toBe(1);
    expect(r.stderr.startsWith(`error: ${SHARED_DATA}/corpus/wiki18_sample_1000.jsonl:1: not a QA record we know (keys: id, contents)`)).toBe(true);
  });
});
