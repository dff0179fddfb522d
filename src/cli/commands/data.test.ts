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

  it("a non-QA file is a clear error with a non-zero exit", () => {
    const r = research("data", "inspect", SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl");
    expect(r.status).toBe(1);
    expect(r.stderr.startsWith(`error: ${SHARED_DATA}/corpus/wiki18_sample_1000.jsonl:1: not a QA record we know (keys: id, contents)`)).toBe(true);
  });
});
