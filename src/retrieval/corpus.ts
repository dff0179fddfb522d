/**
 * @module retrieval/corpus — corpora in every container data/container detects: FlashRAG JSONL of `{"id", "contents"}`
 * (first line of `contents` is the title, often in quotes) or `{"id", "title", "text"}`, the same records as a JSON
 * array or parquet, DPR's `psgs_w100.tsv` (`id, text, title` with a header row), a HippoRAG `{title: [sentences]}`
 * dict, each gzip/zstd compressed or not. JSONL and TSV stream in constant memory; errors name file, row and field.
 */
import { statSync } from "node:fs";
import { detectFile, readRecords, type FileKind } from "../data/container.js";
import { recordError, type RecordPlace } from "../data/formats.js";
import type { Passage } from "./types.js";

/** Split FlashRAG `contents` verbatim: title = the first line as written (quotes kept, as FlashRAG's prompts show
 * it), text = the remaining lines joined by "\n" ("" without a newline). */
export function splitContents(contents: string): { title: string; text: string } {
  const nl = contents.indexOf("\n");
  return nl < 0 ? { title: contents, text: "" } : { title: contents.slice(0, nl), text: contents.slice(nl + 1) };
}

/** Split FlashRAG `contents` into title (first line, trimmed, surrounding quotes removed) and text (the rest). */
export function parseContents(contents: string): { title: string; text: string } {
  const { title: first, text } = splitContents(contents);
  let title = first.trim();
  if (title.length >= 2 && title.startsWith('"') && title.endsWith('"')) title = title.slice(1, -1);
  return { title, text };
}

/** FlashRAG `contents` for a title and a text: `"Title"\ntext` (the form FlashRAG and Search-R1 corpora use). */
export function makePassage(title: string, text: string): string {
  return `"${title}"\n${text}`;
}

export interface ReadCorpusOptions {
  /** Skip malformed lines and duplicate ids instead of throwing; each skip is reported to `onSkip`. */
  skipBad?: boolean;
  /** `line`: the JSONL/TSV line, else the 1-based row; `where`: "file:line" or "file [row]" for messages. */
  onSkip?: (line: number, reason: string, where: string) => void;
  /** Called once with the detected container. */
  onDetect?: (kind: FileKind) => void;
  /** Called with bytes read so far (approximate) for progress bars. */
  onBytes?: (bytes: number) => void;
  /** Reject duplicate ids here (keeps a Set of ids; pass false when the caller detects duplicates itself). */
  checkDuplicates?: boolean;
}

/** One passage of a corpus line, or a reason it is malformed. */
export function passageFromJson(value: unknown): Passage | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "expected a JSON object";
  const v = value as Record<string, unknown>;
  let id = v.id ?? v._id ?? v.idx; // idx: HippoRAG's corpus lists
  if (typeof id === "number" && Number.isFinite(id)) id = String(id);
  if (typeof id !== "string" || id.length === 0) return "id: missing or not a non-empty string";
  if (typeof v.contents === "string") return { id, contents: v.contents };
  if (v.contents !== undefined) return "contents: not a string";
  if (typeof v.text !== "string") return "expected `contents` (string) or `title` and `text` (strings)";
  if (v.title !== undefined && typeof v.title !== "string") return "title: not a string";
  return { id, contents: makePassage((v.title as string | undefined) ?? "", v.text) };
}

/** A HippoRAG corpus dict `{title: [sentences…]}` (every value a list of strings), or null. */
function hippoEntries(v: unknown): [string, string[]][] | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const entries = Object.entries(v);
  if (!entries.length || !entries.every(([, x]) => Array.isArray(x) && x.every((t) => typeof t === "string"))) return null;
  return entries as [string, string[]][];
}

/** "file:line" or "file [row]". */
export function placeText(at: RecordPlace): string {
  return at.line !== undefined ? `${at.file}:${at.line}` : `${at.file} [${at.index}]`;
}

/** Stream the passages of a corpus (any container) with their place: `line` is the JSONL/TSV line, else the 1-based row. */
export async function* readCorpusLines(
  path: string,
  opts: ReadCorpusOptions = {},
): AsyncGenerator<{ passage: Passage; line: number; place: RecordPlace }> {
  const seen = opts.checkDuplicates === false ? null : new Set<string>();
  const kind = detectFile(path);
  opts.onDetect?.(kind);
  const bad = (at: RecordPlace, reason: string) => {
    if (!opts.skipBad) {
      const m = /^(\w+): (.*)$/s.exec(reason);
      throw recordError(at, m ? m[1] : undefined, m ? m[2] : reason);
    }
    opts.onSkip?.(at.line ?? at.index + 1, reason, placeText(at));
  };
  let bytes = 0;
  let hippoIds = 0;
  const onBadLine = opts.skipBad ? (line: number, e: string) => opts.onSkip?.(line, e, `${path}:${line}`) : undefined;
  for await (const rec of readRecords(path, kind, { allowObject: true, onBadLine })) {
    const at: RecordPlace = { file: path, index: rec.index, line: rec.line };
    const hippo = kind.container !== "tsv" && kind.container !== "parquet" ? hippoEntries(rec.value) : null;
    const passages: (Passage | string)[] = hippo
      ? hippo.map(([title, sentences]) => ({ id: String(hippoIds++), contents: makePassage(title, sentences.join(" ").trim()) }))
      : [passageFromJson(rec.value)];
    for (const p of passages) {
      if (typeof p === "string") {
        bad(at, p);
        continue;
      }
      if (seen) {
        if (seen.has(p.id)) {
          bad(at, `id: duplicate id ${JSON.stringify(p.id)}`);
          continue;
        }
        seen.add(p.id);
      }
      if (opts.onBytes) {
        bytes += p.contents.length + p.id.length + 20;
        opts.onBytes(bytes);
      }
      yield { passage: p, line: at.line ?? at.index + 1, place: at };
    }
  }
}

/** Stream the passages of a corpus (any container or record format), rejecting duplicates and bad lines. */
export async function* readCorpus(path: string, opts: ReadCorpusOptions = {}): AsyncGenerator<Passage> {
  for await (const { passage } of readCorpusLines(path, opts)) yield passage;
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
