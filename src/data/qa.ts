/**
 * @module data/qa — load any QA file we know as a stream of `QAExample`s. The container (JSONL, JSON array, TSV,
 * parquet; gzip/zstd compressed or not) is sniffed by data/container from the bytes, not the extension (AMOR ships
 * JSONL named `.json`); JSONL and TSV stream in constant memory, parquet by row group, a JSON array is parsed whole.
 * The format is detected from the first record and every record must fit it.
 */
import { detectFile, readRecords as readFileRecords, type Container, type FileKind, type RawRecord } from "./container.js";
import { detectFormat, FORMAT_ORDER, FORMATS, recordError, toExample, type QAExample, type QAFormat } from "./formats.js";

export { detectFormat, FORMATS, FORMAT_ORDER, toExample, type QAExample, type QAFormat } from "./formats.js";
export { detectFile, type Container, type Compression, type FileKind } from "./container.js";

export interface LoadOptions {
  /** Force a format instead of detecting it from the first record. */
  format?: QAFormat;
  /** Stop after this many examples. */
  limit?: number;
  /** Called once, before the first example, with what was detected. */
  onDetect?: (info: { container: Container; compression: FileKind["compression"]; format: QAFormat }) => void;
}

/** The container of a QA file (JSONL, JSON, TSV or parquet; compressed or not), sniffed from its bytes. */
export function detectContainer(path: string): Container {
  return detectFile(path).container;
}

/** Raw records with their place (0-based index; line for JSONL and TSV), from any container. */
export function readRecords(path: string, kind: FileKind = detectFile(path)): AsyncGenerator<RawRecord> {
  return readFileRecords(path, kind);
}

const known = () => FORMAT_ORDER.map((f) => `${f}: ${FORMATS[f].description}`).join("; ");

/** Stream every example of a QA file. Throws InputError naming file, line (or item) and field on bad input. */
export async function* loadQA(path: string, opts: LoadOptions = {}): AsyncGenerator<QAExample> {
  const kind = detectFile(path);
  let format = opts.format;
  let n = 0;
  if (opts.limit !== undefined && opts.limit <= 0) return;
  for await (const { value, index, line } of readFileRecords(path, kind)) {
    const at = { file: path, index, line };
    if (format === undefined) {
      const detected = detectFormat(value);
      if (detected === null) {
        const keys = typeof value === "object" && value !== null ? Object.keys(value).join(", ") : typeof value;
        throw recordError(at, undefined, `not a QA record we know (keys: ${keys}); known formats: ${known()}`);
      }
      format = detected;
    }
    if (index === 0) opts.onDetect?.({ ...kind, format });
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
  compression: FileKind["compression"];
  /** null for a file with no records. */
  format: QAFormat | null;
  rows: number;
  examples: QAExample[];
}

/** Count rows, detect the format and keep the first `nExamples` examples (one streaming pass; every row validated). */
export async function inspectQA(path: string, nExamples = 3): Promise<QAFileSummary> {
  const { container, compression } = detectFile(path);
  let format: QAFormat | null = null;
  const examples: QAExample[] = [];
  let rows = 0;
  for await (const ex of loadQA(path, { onDetect: (info) => (format = info.format) })) {
    if (examples.length < nExamples) examples.push(ex);
    rows++;
  }
  return { path, container, compression, format, rows, examples };
}
