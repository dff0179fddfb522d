/**
 * @module retrieval/corpus-from-qa — turn QA files that carry their own paragraphs into a FlashRAG corpus (any
 * container data/container reads: HotpotQA's release is one JSON array, AMOR's copy JSONL, either may be gzipped):
 * HotpotQA distractor rows (`context: [[title, [sentences…]]…]`) and R1-Searcher rollouts (`gen_text_store`
 * with `<|begin_of_documents|> (1)Title: … Text: … <|end_of_documents|>` blocks). Identical paragraphs
 * (same title and text) become one passage; ids are "0", "1", … in first-seen order.
 */
import { createWriteStream, mkdirSync, renameSync, rmSync } from "node:fs";
import { once } from "node:events";
import { dirname } from "node:path";
import { readRecords } from "../data/container.js";
import { recordError } from "../data/formats.js";
import { makePassage } from "./corpus.js";

export interface Paragraph {
  title: string;
  text: string;
}

/** Paragraphs of a HotpotQA row's `context`. Sentences are concatenated as HotpotQA stores them. */
export function hotpotParagraphs(context: unknown): Paragraph[] | string {
  if (!Array.isArray(context)) return "context: expected a list of [title, sentences]";
  const out: Paragraph[] = [];
  for (const [i, entry] of context.entries()) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || !Array.isArray(entry[1])) return `context: item ${i} is not [title, [sentences]]`;
    const text = (entry[1] as unknown[]).map(String).join("").trim();
    out.push({ title: entry[0], text });
  }
  return out;
}

const DOC_BLOCK = /<\|begin_of_documents\|>([\s\S]*?)(?:<\|end_of_documents\|>|$)/g;
/** `(n)Title: T Text: X` (R1-Searcher Llama runs) or `(n)T   X` (title, three spaces, text: the Qwen runs). */
const DOC_LINE = /^\s*\(\d+\)\s*Title:\s*(.*?)\s+Text:\s*([\s\S]*)$/;
const DOC_LINE_SPACED = /^\s*\(\d+\)(.*?) {3}([\s\S]*)$/;

/** Retrieved passages inside an R1-Searcher trace. */
export function rolloutParagraphs(trace: string): Paragraph[] {
  const out: Paragraph[] = [];
  for (const block of trace.matchAll(DOC_BLOCK)) {
    // Each document starts a line with "(n)Title:"; a text may span lines.
    const docs = block[1].split(/\n(?=\s*\(\d+\))/);
    for (const d of docs) {
      const m = DOC_LINE.exec(d) ?? DOC_LINE_SPACED.exec(d);
      if (m && m[2].trim()) out.push({ title: m[1].trim(), text: m[2].trim().replace(/\s+/g, " ") });
    }
  }
  return out;
}

export interface CorpusFromQaStats {
  passages: number;
  duplicates: number;
  files: { path: string; rows: number; paragraphs: number }[];
}

/** Read every input, write the deduplicated corpus to `out` (atomically: temp file, then rename). */
export async function corpusFromQa(opts: { inputs: string[]; out: string }): Promise<CorpusFromQaStats> {
  mkdirSync(dirname(opts.out), { recursive: true });
  const tmp = `${opts.out}.tmp-${process.pid}`;
  const ws = createWriteStream(tmp);
  await once(ws, "open"); // so a failure below destroys an open stream (not one that opens after its directory is gone)
  const seen = new Set<string>();
  const stats: CorpusFromQaStats = { passages: 0, duplicates: 0, files: [] };
  try {
    for (const path of opts.inputs) {
      const f = { path, rows: 0, paragraphs: 0 };
      for await (const { value: v, index, line } of readRecords(path)) {
        f.rows++;
        const at = { file: path, index, line };
        const value = (v && typeof v === "object" && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
        let paras: Paragraph[];
        if ("context" in value) {
          const p = hotpotParagraphs(value.context);
          if (typeof p === "string") throw recordError(at, "context", p.replace(/^context: /, ""));
          paras = p;
        } else if (typeof value.gen_text_store === "string") {
          paras = rolloutParagraphs(value.gen_text_store);
        } else {
          throw recordError(at, undefined, "expected a HotpotQA row (context) or an R1-Searcher rollout (gen_text_store)");
        }
        for (const p of paras) {
          f.paragraphs++;
          const key = `${p.title}\u0000${p.text}`;
          if (seen.has(key)) { stats.duplicates++; continue; }
          seen.add(key);
          const ok = ws.write(JSON.stringify({ id: String(stats.passages++), contents: makePassage(p.title, p.text) }) + "\n");
          if (!ok) await once(ws, "drain");
        }
      }
      stats.files.push(f);
    }
    ws.end();
    await once(ws, "finish");
    renameSync(tmp, opts.out);
    return stats;
  } catch (e) {
    ws.on("error", () => {}); // a write still in flight fails once destroyed: that is expected here
    ws.destroy();
    rmSync(tmp, { force: true });
    throw e;
  }
}
