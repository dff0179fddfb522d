/**
 * @module data/qa — load any QA file we know as a stream of `QAExample`s. JSONL streams in constant memory;
 * a JSON array is parsed whole. The container (JSONL vs JSON) is sniffed from the content, not the extension
 * (AMOR ships JSONL named `.json`); the format is detected from the first record and every record must fit it.
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { readJsonl, assertFile } from "../util/fs.js";
import { InputError } from "../util/errors.js";
import { detectFormat, FORMAT_ORDER, FORMATS, recordError, toExample, type QAExample, type QAFormat } from "./formats.js";

export { detectFormat, FORMATS, FORMAT_ORDER, toExample, type QAExample, type QAFormat } from "./formats.js";

export type Container = "jsonl" | "json";

export interface LoadOptions {
  /** Force a format instead of detecting it from the first record. */
  format?: QAFormat;
  /** Stop after this many examples. */
  limit?: number;
  /** Called once, before the first example, with what was detected. */
  onDetect?: (info: { container: Container; format: QAFormat }) => void;
}

/** JSONL or one JSON document, from the first non-blank line: `[` → JSON; a complete JSON value on line 1 → JSONL. */
export function detectContainer(path: string): Container {
  assertFile(path);
  const fd = openSync(path, "r");
  const buf = Buffer.alloc(1 << 16);
  let head = "";
  try {
    // Read until the first non-blank line is complete (or EOF); a first line longer than that is read whole.
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      head += buf.toString("utf8", 0, n);
      pos += n;
      const trimmed = head.replace(/^[\s\ufeff]+/, "");
      if (n === 0 || trimmed.includes("\n")) break;
    }
  } finally {
    closeSync(fd);
  }
  const text = head.replace(/^[\s\ufeff]+/, "");
  if (text.startsWith("[")) return "json";
  if (!text.startsWith("{")) {
    throw new InputError(path, 1, undefined, text.length ? "not JSON or JSONL (expected '[' or '{')" : "empty file");
  }
  try {
    JSON.parse(text.split("\n")[0]);
    return "jsonl";
  } catch {
    return "json";
  }
}

function parseJsonDocument(path: string): unknown {
  const text = readFileSync(path, "utf8").replace(/^\ufeff/, "");
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? text.slice(0, Number(pos[1])).split("\n").length : undefined;
    throw new InputError(path, line, undefined, `invalid JSON (${msg})`);
  }
}

/** Raw records with their place (0-based index; line for JSONL), from either container. */
export async function* readRecords(path: string, container: Container = detectContainer(path)): AsyncGenerator<{ value: unknown; index: number; line?: number }> {
  if (container === "jsonl") {
    let index = 0;
    for await (const { value, line } of readJsonl(path)) yield { value, index: index++, line };
    return;
  }
  const doc = parseJsonDocument(path);
  if (!Array.isArray(doc)) {
    throw new InputError(path, undefined, undefined, `expected a JSON array of records (or JSONL), got a top-level ${doc === null ? "null" : typeof doc}`);
  }
  for (let i = 0; i < doc.length; i++) yield { value: doc[i], index: i };
}

const known = () => FORMAT_ORDER.map((f) => `${f}: ${FORMATS[f].description}`).join("; ");

/** Stream every example of a QA file. Throws InputError naming file, line (or item) and field on bad input. */
export async function* loadQA(path: string, opts: LoadOptions = {}): AsyncGenerator<QAExample> {
  const container = detectContainer(path);
  let format = opts.format;
  let n = 0;
  if (opts.limit !== undefined && opts.limit <= 0) return;
  for await (const { value, index, line } of readRecords(path, container)) {
    const at = { file: path, index, line };
    if (format === undefined) {
      const detected = detectFormat(value);
      if (detected === null) {
        const keys = typeof value === "object" && value !== null ? Object.keys(value).join(", ") : typeof value;
        throw recordError(at, undefined, `not a QA record we know (keys: ${keys}); known formats: ${known()}`);
      }
      format = detected;
    }
    if (index === 0) opts.onDetect?.({ container, format });
    yield toExample(format, value, at);
    if (opts.limit !== undefined && ++n >= opts.limit) return;
  }
}

export async function loadQAArray(path: string, opts: LoadOptions = {}): Promise<QAExample[]> {
  const out: QAExample[] = [];
  for await (const ex of loadQA(path, opts)) out.push(ex);
  return out;
}

export interface QAFileSummary {
  path: string;
  container: Container;
  /** null for a file with no records. */
  format: QAFormat | null;
  rows: number;
  examples: QAExample[];
}

/** Count rows, detect the format and keep the first `nExamples` examples (one streaming pass; every row validated). */
export async function inspectQA(path: string, nExamples = 3): Promise<QAFileSummary> {
  let container = detectContainer(path);
  let format: QAFormat | null = null;
  const examples: QAExample[] = [];
  let rows = 0;
  const onDetect = (info: { container: Container; format: QAFormat }) => ({ container, format } = info);
  for await (const ex of loadQA(path, { onDetect })) {
    if (examples.length < nExamples) examples.push(ex);
    rows++;
  }
  return { path, container, format, rows, examples };
}
