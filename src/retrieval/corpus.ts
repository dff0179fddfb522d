/**
 * @module retrieval/corpus — FlashRAG corpora: JSONL of `{"id", "contents"}` (first line of `contents` is the
 * title, often in quotes) or `{"id", "title", "text"}`, streamed in constant memory with file:line errors.
 */
import { statSync } from "node:fs";
import { InputError } from "../util/errors.js";
import { readJsonl } from "../util/fs.js";
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
  onSkip?: (line: number, reason: string) => void;
  /** Called with bytes read so far (approximate) for progress bars. */
  onBytes?: (bytes: number) => void;
  /** Reject duplicate ids here (keeps a Set of ids; pass false when the caller detects duplicates itself). */
  checkDuplicates?: boolean;
}

/** One passage of a corpus line, or a reason it is malformed. */
export function passageFromJson(value: unknown): Passage | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "expected a JSON object";
  const v = value as Record<string, unknown>;
  let id = v.id ?? v._id;
  if (typeof id === "number" && Number.isFinite(id)) id = String(id);
  if (typeof id !== "string" || id.length === 0) return "id: missing or not a non-empty string";
  if (typeof v.contents === "string") return { id, contents: v.contents };
  if (v.contents !== undefined) return "contents: not a string";
  if (typeof v.text !== "string") return "expected `contents` (string) or `title` and `text` (strings)";
  if (v.title !== undefined && typeof v.title !== "string") return "title: not a string";
  return { id, contents: makePassage((v.title as string | undefined) ?? "", v.text) };
}

/** Stream the passages of a FlashRAG JSONL corpus with their line numbers. */
export async function* readCorpusLines(
  path: string,
  opts: ReadCorpusOptions = {},
): AsyncGenerator<{ passage: Passage; line: number }> {
  const seen = opts.checkDuplicates === false ? null : new Set<string>();
  const bad = (line: number, reason: string) => {
    if (!opts.skipBad) {
      const m = /^(\w+): (.*)$/s.exec(reason);
      throw new InputError(path, line, m ? m[1] : undefined, m ? m[2] : reason);
    }
    opts.onSkip?.(line, reason);
  };
  let bytes = 0;
  for await (const { value, line } of readJsonl(path, { onBad: (l, e) => bad(l, e) })) {
    const p = passageFromJson(value);
    if (typeof p === "string") {
      bad(line, p);
      continue;
    }
    if (seen) {
      if (seen.has(p.id)) {
        bad(line, `id: duplicate id ${JSON.stringify(p.id)}`);
        continue;
      }
      seen.add(p.id);
    }
    if (opts.onBytes) {
      bytes += p.contents.length + p.id.length + 20;
      opts.onBytes(bytes);
    }
    yield { passage: p, line };
  }
}

/** Stream the passages of a FlashRAG JSONL corpus (both line formats), rejecting duplicates and bad lines. */
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
