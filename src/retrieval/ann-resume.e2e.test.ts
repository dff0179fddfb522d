import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { ANN_CURSOR, ANN_FILE, ANN_META, buildAnn } from "./ann.js";
import { openRetriever } from "./index.js";

const BIN = join(import.meta.dirname, "../../bin/research.js");
const tmp = mkdtempSync(join(tmpdir(), "ann-kill-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const WORDS = "river city north bay falls works labs film star country company founded born capital director year people street market harbour".split(" ");
const N = 1200;

function cli(args: string[], killWhen?: () => boolean) {
  return new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = killWhen && setInterval(() => { if (killWhen()) { c.kill("SIGKILL"); clearInterval(timer); } }, 20);
    c.once("exit", (code, signal) => { if (timer) clearInterval(timer); resolve({ code, signal, out, err }); });
  });
}

test("research index build --dense --ann: SIGKILL mid-build, rerun resumes; results match an uninterrupted build", async () => {
  const corpus = join(tmp, "corpus.jsonl");
  let s = 7;
  const word = () => WORDS[(s = (Math.imul(s, 1103515245) + 12345) >>> 0) % WORDS.length];
  const texts = Array.from({ length: N }, (_, i) => Array.from({ length: 12 }, word).join(" ") + ` item${i}`);
  writeFileSync(corpus, texts.map((t, i) => JSON.stringify({ id: `p${i}`, title: `P ${i}`, text: t })).join("\n") + "\n");
  const out = join(tmp, "ix");
  const args = ["index", "build", "--corpus", corpus, "--out", out, "--dense", "--ann", "--ann-chunk", "50", "--ann-ef-construction", "400", "--ann-connectivity", "32", "--ann-threads", "1", "--quiet"];
  const cursor = join(out, ANN_CURSOR);
  const killed = await cli(args, () => existsSync(cursor) && JSON.parse(readFileSync(cursor, "utf8")).added >= 300);
  expect(killed.signal).toBe("SIGKILL");
  expect(existsSync(join(out, ANN_META))).toBe(false);
  const at = JSON.parse(readFileSync(cursor, "utf8")).added as number;
  expect(at).toBeGreaterThan(0);
  expect(at).toBeLessThan(N);

  const resumed = await cli(args);
  expect(resumed.code).toBe(0);
  expect(resumed.out).toMatch(new RegExp(`ANN \\(f16, M 32\\): ${N} vectors, resumed at ${at}`));
  const meta = JSON.parse(readFileSync(join(out, ANN_META), "utf8"));
  expect(meta).toMatchObject({ numDocs: N, resumes: 1 });
  expect(existsSync(cursor)).toBe(false);

  // The same graph built in one go from the same vectors.
  const whole = join(tmp, "ix-whole");
  cpSync(out, whole, { recursive: true });
  rmSync(join(whole, ANN_META));
  rmSync(join(whole, ANN_FILE));
  await buildAnn(whole, { params: { chunk: 50, expansionAdd: 400, connectivity: 32, threads: 1 }, quiet: true });

  const queries = texts.filter((_, i) => i % 24 === 0).map((t) => t.split(" ").slice(2, 9).join(" "));
  const exact = await openRetriever({ index: out, mode: "dense", dense: "exact" });
  const a = await openRetriever({ index: out, mode: "dense" });
  const b = await openRetriever({ index: whole, mode: "dense" });
  const [e, ra, rb] = [await exact.search(queries, 10), await a.search(queries, 10), await b.search(queries, 10)];
  const recall = (got: typeof e) => got.reduce((n, hits, i) => n + hits.filter((h) => e[i].some((x) => x.id === h.id)).length, 0) / (10 * queries.length);
  expect(recall(ra)).toBeGreaterThanOrEqual(0.95);
  expect(Math.abs(recall(ra) - recall(rb))).toBeLessThanOrEqual(0.03);
  expect(ra.map((h) => h[0].id)).toEqual(e.map((h) => h[0].id));
  for (const r of [exact, a, b]) await r.close?.();
}, 300_000);
