/** A JSONL file far larger than the heap limit streams through `loadQA`; holding it all under the same limit fails. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "qa-stream-"));
const big = join(dir, "big.jsonl");
const ROWS = 300_000; // ≈ 80 MB
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const node = (args: string[]) => spawnSync(process.execPath, ["--max-old-space-size=24", "--import", "tsx", ...args], { encoding: "utf8", cwd: process.cwd() });

describe("constant-memory JSONL loading", () => {
  it("streams an 80 MB file under a 24 MB old-space heap", () => {
    const line = JSON.stringify({ question: "q".repeat(60), answer: "a".repeat(20), pad: "x".repeat(150) }) + "\n";
    writeFileSync(big, line.repeat(ROWS));
    const ok = node(["src/data/testdata/count-qa.ts", big]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).rows).toBe(ROWS);
    // Control: materializing every example under the same limit runs out of memory, so the limit is meaningful.
    const all = node(["-e", `const { loadQAArray } = await import("./src/data/qa.ts"); await loadQAArray(${JSON.stringify(big)});`]);
    expect(all.status).not.toBe(0);
  });
});
