import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, test } from "vitest";
import { makePassage, parseContents, readCorpus, splitContents } from "./corpus.js";
import { corpusFromQa, hotpotParagraphs, rolloutParagraphs } from "./corpus-from-qa.js";
import { buildIndex, openRetriever } from "./index.js";
import { SHARED_DATA } from "../util/shared.js";

const tmp = mkdtempSync(join(tmpdir(), "corpus-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, lines: string[]) => {
  const p = join(tmp, name);
  writeFileSync(p, lines.join("\n") + "\n");
  return p;
};
const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

describe("corpus", () => {
  test.each([
    ['"Paris"\nThe capital of France.', "Paris", "The capital of France."],
    ["Paris\nThe capital.\nSecond line.", "Paris", "The capital.\nSecond line."],
    ['"Say "hi""\ntext', 'Say "hi"', "text"],
    ["Just a title", "Just a title", ""],
    ['""\ntext', "", "text"],
  ])("parseContents(%j)", (contents, title, text) => {
    expect(parseContents(contents)).toEqual({ title, text });
    if (!contents.startsWith('"')) return;
    expect(parseContents(makePassage(title, text))).toEqual({ title, text });
  });

  test("splitContents: the first line verbatim (quotes and spaces kept) is the title, the rest the text; no newline gives empty text", () => {
    expect(splitContents("T\na\nb")).toEqual({ title: "T", text: "a\nb" });
    expect(splitContents("only")).toEqual({ title: "only", text: "" });
    expect(splitContents(' "Q" \nx')).toEqual({ title: ' "Q" ', text: "x" });
  });

  test("reads both line formats; ids may be numbers", async () => {
    const p = file("both.jsonl", [
      JSON.stringify({ id: "a", contents: '"A"\nalpha' }),
      "",
      JSON.stringify({ id: 2, title: "B", text: "beta" }),
      JSON.stringify({ _id: "c", text: "no title" }),
    ]);
    expect(await collect(readCorpus(p))).toEqual([
      { id: "a", contents: '"A"\nalpha' },
      { id: "2", contents: '"B"\nbeta' },
      { id: "c", contents: '""\nno title' },
    ]);
  });

  test.each([
    ["not json", "{oops", /bad\.jsonl:2: invalid JSON/],
    ["missing id", JSON.stringify({ contents: "x" }), /bad\.jsonl:2: id: missing/],
    ["contents not a string", JSON.stringify({ id: "x", contents: 5 }), /bad\.jsonl:2: contents: not a string/],
    ["no text", JSON.stringify({ id: "x", title: "t" }), /bad\.jsonl:2: expected `contents`/],
    ["duplicate id", JSON.stringify({ id: "a", contents: "y" }), /bad\.jsonl:2: id: duplicate id "a"/],
    ["array line", "[1,2]", /bad\.jsonl:2: expected a JSON object/],
  ])("rejects %s with file:line", async (_what, line, msg) => {
    const p = file("bad.jsonl", [JSON.stringify({ id: "a", contents: "x" }), line]);
    await expect(collect(readCorpus(p))).rejects.toThrow(msg);
    const skipped: number[] = [];
    const got = await collect(readCorpus(p, { skipBad: true, onSkip: (l) => skipped.push(l) }));
    expect(got).toHaveLength(1);
    expect(skipped).toEqual([2]);
  });

  test("buildIndex: duplicates fail with file:line, --skip-bad counts them, the index is searchable", async () => {
    const p = file("dup.jsonl", [
      JSON.stringify({ id: "1", contents: '"Rivers"\nThe Danube flows through Vienna.' }),
      JSON.stringify({ id: "1", contents: '"Again"\nduplicate' }),
      "garbage",
      JSON.stringify({ id: "2", title: "Mountains", text: "The Alps are in Europe." }),
    ]);
    const out = join(tmp, "ix-dup");
    await expect(buildIndex({ corpus: p, out, quiet: true })).rejects.toThrow(/dup\.jsonl:2: id: duplicate id "1"/);
    expect(existsSync(out)).toBe(false); // nothing half-built is left behind
    const stats = await buildIndex({ corpus: p, out, quiet: true, skipBad: true });
    expect(stats).toMatchObject({ passages: 2, skipped: 2 });
    await expect(buildIndex({ corpus: p, out, quiet: true, skipBad: true })).rejects.toThrow(/exists and is not empty/);
    const r = await openRetriever({ index: out });
    const [hits] = await r.search(["where are the alps"], 5);
    expect(hits.map((h) => h.id)).toEqual(["2", "1"]); // OR semantics: "the" matches the other passage too
    expect(hits[0].contents).toBe('"Mountains"\nThe Alps are in Europe.');
    await r.close?.();
  });
});

describe("corpus-from-qa", () => {
  test("HotpotQA context paragraphs", () => {
    expect(hotpotParagraphs([["T", ["One.", " Two."]]])).toEqual([{ title: "T", text: "One. Two." }]);
    expect(hotpotParagraphs("x")).toMatch(/^context: /);
  });

  test("R1-Searcher traces in both document formats", () => {
    const llama = "q <|begin_of_documents|>\n(1)Title: Nidal Hasan Text:  Born 1970.\n(2)Title: Fort Hood Text: A base.\n<|end_of_documents|> more";
    expect(rolloutParagraphs(llama)).toEqual([
      { title: "Nidal Hasan", text: "Born 1970." },
      { title: "Fort Hood", text: "A base." },
    ]);
    const qwen = "<|begin_of_documents|>\n(1).mil   .mil The domain name mil.\n(2)DARPA   DARPA is an agency.\n<|end_of_documents|>";
    expect(rolloutParagraphs(qwen)).toEqual([
      { title: ".mil", text: ".mil The domain name mil." },
      { title: "DARPA", text: "DARPA is an agency." },
    ]);
  });

  test("real shared data: HotpotQA distractor and rollouts become one deduplicated corpus", async () => {
    const out = join(tmp, "qa-corpus.jsonl");
    const stats = await corpusFromQa({
      inputs: [SHARED_DATA + "/hotpotqa_distractor_500.jsonl", SHARED_DATA + "/rollouts/r1searcher_bamboogle_llama.jsonl"],
      out,
    });
    expect(stats.files[0]).toEqual({ path: SHARED_DATA + "/hotpotqa_distractor_500.jsonl", rows: 500, paragraphs: 4960 });
    expect(stats.files[1].paragraphs).toBeGreaterThan(500);
    const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; contents: string });
    expect(lines).toHaveLength(stats.passages);
    expect(new Set(lines.map((l) => l.id)).size).toBe(lines.length);
    expect(new Set(lines.map((l) => l.contents)).size).toBe(lines.length);
    expect(lines.find((l) => l.contents.startsWith('"University of Kansas"\n'))).toBeTruthy();
    await expect(corpusFromQa({ inputs: [file("nope.jsonl", ['{"question": "q"}'])], out: join(tmp, "x.jsonl") })).rejects.toThrow(/nope\.jsonl:1: expected a HotpotQA row/);
    expect(existsSync(join(tmp, "x.jsonl"))).toBe(false);
  });
});

describe("corpus containers (detected from the bytes)", () => {
  const put = (name: string, data: string | Uint8Array) => {
    const p = join(tmp, name);
    writeFileSync(p, data);
    return p;
  };
  const wiki = readFileSync(SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl", "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; contents: string });

  test("the shared wiki-18 sample as a JSON array, gzipped JSONL, and DPR TSV reads the same 1000 passages", async () => {
    const want = await collect(readCorpus(SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl"));
    expect(want).toHaveLength(1000);
    expect(await collect(readCorpus(put("wiki.json", JSON.stringify(wiki))))).toEqual(want);
    expect(await collect(readCorpus(put("wiki.jsonl.gz", gzipSync(readFileSync(SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl")))))).toEqual(want);
    // DPR psgs_w100.tsv: header id, text, title; Python's csv quoting ("" inside a quoted field)
    const q = (s: string) => (/["\t]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const tsv = ["id\ttext\ttitle", ...want.map((p) => { const { title, text } = parseContents(p.contents); return `${p.id}\t${q(text)}\t${q(title)}`; })].join("\n") + "\n";
    const fromTsv = await collect(readCorpus(put("psgs_w100.tsv", tsv)));
    expect(fromTsv.map((p) => [p.id, parseContents(p.contents)])).toEqual(want.map((p) => [p.id, parseContents(p.contents)]));
  });

  test("DPR TSV quoting and a bad row with file:line", async () => {
    const p = put("dpr.tsv", 'id\ttext\ttitle\n1\t"Aaron ( or ; ""Ahärôn"") is a prophet"\tAaron\n2\tonly two fields\n');
    await expect(collect(readCorpus(p))).rejects.toThrow(`${p}:3: expected 3 tab-separated fields (id, text, title), got 2`);
    const ok = put("dpr-ok.tsv", 'id\ttext\ttitle\n1\t"Aaron ( or ; ""Ahärôn"") is a prophet"\tAaron\n');
    expect(await collect(readCorpus(ok))).toEqual([{ id: "1", contents: '"Aaron"\nAaron ( or ; "Ahärôn") is a prophet' }]);
  });

  test("a HippoRAG {title: [sentences]} dict becomes one passage per title, ids in order", async () => {
    const p = put("hippo.json", JSON.stringify({ "Radio City (Indian radio station)": ["Radio City is India's first private FM radio station.", " It was started on 3 July 2001."], Oslo: ["Oslo is the capital of Norway."] }, null, 2));
    expect(await collect(readCorpus(p))).toEqual([
      { id: "0", contents: "\"Radio City (Indian radio station)\"\nRadio City is India's first private FM radio station.  It was started on 3 July 2001." },
      { id: "1", contents: '"Oslo"\nOslo is the capital of Norway.' },
    ]);
  });

  test("JSON array errors name the item; --skip-bad reports where", async () => {
    const p = put("arr.json", JSON.stringify([{ id: "a", contents: "x" }, { id: "b" }, { id: "a", contents: "dup" }]));
    await expect(collect(readCorpus(p))).rejects.toThrow(`${p}: [1]: expected \`contents\``);
    const where: string[] = [];
    expect(await collect(readCorpus(p, { skipBad: true, onSkip: (_l, _r, w) => where.push(w) }))).toHaveLength(1);
    expect(where).toEqual([`${p} [1]`, `${p} [2]`]);
  });

  test("buildIndex over a JSON-array corpus and a HippoRAG dict (both failed before)", async () => {
    const arr = put("small.json", JSON.stringify(wiki.slice(0, 50)));
    const s1 = await buildIndex({ corpus: arr, out: join(tmp, "ix-arr"), quiet: true });
    expect(s1.passages).toBe(50);
    const hippo = put("small-hippo.json", JSON.stringify(Object.fromEntries(wiki.slice(0, 20).map((p) => { const { title, text } = parseContents(p.contents); return [`${title} ${p.id}`, [text]]; }))));
    expect((await buildIndex({ corpus: hippo, out: join(tmp, "ix-hippo"), quiet: true })).passages).toBe(20);
  });

  test("corpus-from-qa reads HotpotQA's release form (one JSON array), gzipped too", async () => {
    const rows = readFileSync(SHARED_DATA + "/hotpotqa_distractor_500.jsonl", "utf8").trim().split("\n").slice(0, 30).map((l) => JSON.parse(l) as unknown);
    const fromArray = await corpusFromQa({ inputs: [put("hotpot_train.json", JSON.stringify(rows))], out: join(tmp, "from-array.jsonl") });
    const fromGz = await corpusFromQa({ inputs: [put("hotpot_train.json.gz", gzipSync(JSON.stringify(rows)))], out: join(tmp, "from-gz.jsonl") });
    const fromJsonl = await corpusFromQa({ inputs: [put("hotpot_30.jsonl", rows.map((r) => JSON.stringify(r)).join("\n"))], out: join(tmp, "from-jsonl.jsonl") });
    expect(fromArray.files[0]).toMatchObject({ rows: 30, paragraphs: fromJsonl.files[0].paragraphs });
    expect(readFileSync(join(tmp, "from-array.jsonl"), "utf8")).toBe(readFileSync(join(tmp, "from-jsonl.jsonl"), "utf8"));
    expect(readFileSync(join(tmp, "from-gz.jsonl"), "utf8")).toBe(readFileSync(join(tmp, "from-jsonl.jsonl"), "utf8"));
    expect(fromGz.passages).toBe(fromJsonl.passages);
    await expect(corpusFromQa({ inputs: [put("bad-arr.json", JSON.stringify([rows[0], { question: "q" }]))], out: join(tmp, "y.jsonl") })).rejects.toThrow(/bad-arr\.json: \[1\]: expected a HotpotQA row/);
  });
});
