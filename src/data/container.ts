/**
 * @module data/container — the one detection layer every QA and corpus reader goes through: what a file is
 * (JSONL, a JSON array or object, e.g. a HippoRAG `{title: [sentences]}` dict, TSV such as DPR's `psgs_w100.tsv`, or parquet such
 * as verl/Search-R1/ReSearch training files) and how it is compressed (gzip `.gz`, zstd `.zst`), sniffed from the
 * bytes (magic numbers, then the first line), with the extension only breaking ties. Records stream in constant
 * memory where the format allows (JSONL and TSV, compressed or not; parquet one row group at a time); a JSON
 * document is parsed whole. Each record carries its place (0-based index; the line for line formats) so errors
 * name file, row and field.
 */
import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { Transform, type Readable } from "node:stream";
import { constants as zc, createGunzip, gunzipSync } from "node:zlib";
import { Decompress as ZstdStream, decompress as zstdDecompress } from "fzstd";
import { InputError } from "../util/errors.js";
import { assertFile } from "../util/fs.js";

export type Container = "jsonl" | "json" | "tsv" | "parquet";
export type Compression = "none" | "gzip" | "zstd";
export interface FileKind {
  container: Container;
  compression: Compression;
}
/** One raw record: a JSON value (TSV rows and parquet rows become objects keyed by column), with its place. */
export interface RawRecord {
  value: unknown;
  index: number;
  /** 1-based physical line (JSONL, TSV). */
  line?: number;
}

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const PAR1 = [0x50, 0x41, 0x52, 0x31];
const starts = (b: Uint8Array, magic: number[]) => magic.every((x, i) => b[i] === x);
const HEAD_BYTES = 1 << 16;

function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The first bytes of the decompressed text: compressed input is fed in slices until enough text comes out (or EOF). */
function textHead(path: string, compression: Compression): string {
  if (compression === "none") return readHead(path, HEAD_BYTES).toString("utf8");
  const fd = openSync(path, "r");
  const out: Uint8Array[] = [];
  let outLen = 0;
  const zstd = compression === "zstd" ? new ZstdStream((d) => void (out.push(d), (outLen += d.length))) : undefined;
  const seen: Buffer[] = [];
  try {
    for (let pos = 0; outLen < HEAD_BYTES / 4 && pos < 64 * HEAD_BYTES; ) {
      const chunk = Buffer.alloc(HEAD_BYTES / 4);
      const n = readSync(fd, chunk, 0, chunk.length, pos);
      if (n === 0) break;
      pos += n;
      if (zstd) zstd.push(chunk.subarray(0, n));
      else {
        seen.push(chunk.subarray(0, n));
        const text = gunzipSync(Buffer.concat(seen), { finishFlush: zc.Z_SYNC_FLUSH });
        out.length = 0;
        out.push(text);
        outLen = text.length;
      }
    }
  } catch (e) {
    throw new InputError(path, undefined, undefined, `not a valid ${compression} file (${(e as Error).message})`);
  } finally {
    closeSync(fd);
  }
  if (outLen === 0 && statSync(path).size > 0) throw new InputError(path, undefined, undefined, `not a valid ${compression} file (no data decodes)`);
  return Buffer.concat(out).toString("utf8");
}

/** What a file is, from its bytes. Throws a clear InputError for an empty file or one we cannot read. */
export function detectFile(path: string): FileKind {
  assertFile(path);
  const magic = readHead(path, 4);
  if (starts(magic, PAR1)) return { container: "parquet", compression: "none" };
  const compression: Compression = starts(magic, GZIP) ? "gzip" : starts(magic, ZSTD) ? "zstd" : "none";
  const head = textHead(path, compression).replace(/^[\s\ufeff]+/, "");
  const firstLine = head.split("\n")[0].replace(/\r$/, "");
  if (!head.length) throw new InputError(path, 1, undefined, "empty file");
  if (head.startsWith("[")) return { container: "json", compression };
  if (head.startsWith("{")) {
    // A complete JSON value on the first line is JSONL; otherwise one (pretty-printed) JSON document.
    if (!head.includes("\n") && head.length >= HEAD_BYTES / 4) return { container: "jsonl", compression }; // a first line longer than the head
    try {
      JSON.parse(firstLine);
      return { container: "jsonl", compression };
    } catch {
      return { container: "json", compression };
    }
  }
  if (firstLine.includes("\t") || /\.tsv(\.gz|\.zst)?$/i.test(path)) return { container: "tsv", compression };
  throw new InputError(path, 1, undefined, "not JSON, JSONL, TSV or parquet (expected '[', '{', a tab-separated line or a parquet file)");
}

/** A zstd stream decoder as a node Transform (fzstd decodes incrementally). */
function zstdTransform(): Transform {
  let push: ((d: Uint8Array) => void) | undefined;
  const dec = new ZstdStream((d) => push?.(d));
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      push = (d) => this.push(Buffer.from(d));
      try {
        dec.push(chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb) {
      push = (d) => this.push(Buffer.from(d));
      try {
        dec.push(new Uint8Array(0), true);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}

function openStream(path: string, compression: Compression): Readable {
  const raw = createReadStream(path);
  if (compression === "none") return raw;
  const dec = compression === "gzip" ? createGunzip() : zstdTransform();
  raw.on("error", (e) => dec.destroy(e));
  return raw.pipe(dec);
}

/** Lines of a (possibly compressed) text file, streamed (CR before LF dropped); read errors name the file and line. */
async function* lines(path: string, compression: Compression): AsyncGenerator<{ text: string; line: number }> {
  const decoder = new StringDecoder("utf8");
  let rest = "";
  let line = 0;
  const clean = (t: string) => (line === 1 ? t.replace(/^\ufeff/, "") : t).replace(/\r$/, "");
  try {
    for await (const chunk of openStream(path, compression)) {
      const text = rest + decoder.write(chunk as Buffer);
      let start = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
        line++;
        yield { text: clean(text.slice(start, nl)), line };
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    rest += decoder.end();
    if (rest.length) {
      line++;
      yield { text: clean(rest), line };
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(path, line + 1, undefined, `cannot read ${compression === "none" ? "file" : `${compression} data`} (${(e as Error).message})`);
  }
}

function wholeText(path: string, compression: Compression): string {
  const raw = readFileSync(path);
  try {
    const bytes = compression === "gzip" ? gunzipSync(raw) : compression === "zstd" ? Buffer.from(zstdDecompress(raw)) : raw;
    return bytes.toString("utf8").replace(/^\ufeff/, "");
  } catch (e) {
    throw new InputError(path, undefined, undefined, `not a valid ${compression} file (${(e as Error).message})`);
  }
}

function parseJsonDocument(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? text.slice(0, Number(pos[1])).split("\n").length : undefined;
    throw new InputError(path, line, undefined, `invalid JSON (${msg})`);
  }
}

/** A TSV field: CSV-style quoting (`"a ""b"""` → `a "b"`), as Python's csv writer leaves DPR's passages. */
function unquote(f: string): string {
  return f.length >= 2 && f.startsWith('"') && f.endsWith('"') ? f.slice(1, -1).replace(/""/g, '"') : f;
}
const HEADER_NAMES = new Set(["id", "_id", "text", "title", "contents", "question", "answer", "answers", "golden_answers"]);

/** TSV rows as objects: a header row names the columns; without one, DPR's `id, text, title` (or `id, contents`). */
async function* tsvRecords(path: string, compression: Compression): AsyncGenerator<RawRecord> {
  let columns: string[] | undefined;
  let index = 0;
  for await (const { text, line } of lines(path, compression)) {
    const raw = text.replace(/\r$/, "");
    if (!raw.trim()) continue;
    const fields = raw.split("\t").map(unquote);
    if (!columns) {
      if (fields.some((f) => HEADER_NAMES.has(f.trim().toLowerCase()))) {
        columns = fields.map((f) => f.trim());
        continue;
      }
      if (fields.length === 3) columns = ["id", "text", "title"];
      else if (fields.length === 2) columns = ["id", "contents"];
      else throw new InputError(path, line, undefined, `TSV without a header row needs 2 (id, contents) or 3 (id, text, title) columns, got ${fields.length}`);
    }
    if (fields.length !== columns.length) {
      throw new InputError(path, line, undefined, `expected ${columns.length} tab-separated fields (${columns.join(", ")}), got ${fields.length}`);
    }
    yield { value: Object.fromEntries(columns.map((c, i) => [c, fields[i]])), index: index++, line };
  }
}

/** Parquet values as JSON: BigInt (INT64) → number when exact, else string. */
function plain(v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object" && !(v instanceof Date) && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/** Parquet rows as objects, one row group in memory at a time (hyparquet; snappy built in, zstd/gzip/brotli/lz4 via hyparquet-compressors). */
async function* parquetRecords(path: string): AsyncGenerator<RawRecord> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import("hyparquet");
  const { compressors } = await import("hyparquet-compressors");
  let file, metadata;
  try {
    file = await asyncBufferFromFile(path);
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new InputError(path, undefined, undefined, `not a readable parquet file (${(e as Error).message})`);
  }
  let start = 0;
  for (const rg of metadata.row_groups) {
    const end = start + Number(rg.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end, compressors });
    } catch (e) {
      throw new InputError(path, undefined, `rows ${start}-${end - 1}`, `cannot decode parquet (${(e as Error).message})`);
    }
    for (let i = 0; i < rows.length; i++) yield { value: plain(rows[i]), index: start + i };
    start = end;
  }
}

/**
 * Every record of a file in order. A JSON document is an array of records, or with `allowObject` one object taken as a
 * single record (a HippoRAG corpus dict `{title: [sentences…]}`, which the corpus reader expands). `onBadLine` skips
 * JSONL lines that are not JSON instead of throwing.
 */
export async function* readRecords(
  path: string,
  kind: FileKind = detectFile(path),
  opts: { allowObject?: boolean; onBadLine?: (line: number, error: string) => void } = {},
): AsyncGenerator<RawRecord> {
  const { container, compression } = kind;
  if (container === "parquet") return yield* parquetRecords(path);
  if (container === "tsv") return yield* tsvRecords(path, compression);
  if (container === "jsonl") {
    let index = 0;
    for await (const { text, line } of lines(path, compression)) {
      const t = text.trim();
      if (!t) continue;
      let value: unknown;
      try {
        value = JSON.parse(t);
      } catch (e) {
        const msg = `invalid JSON (${(e as Error).message})`;
        if (opts.onBadLine) {
          opts.onBadLine(line, msg);
          continue;
        }
        throw new InputError(path, line, undefined, msg);
      }
      yield { value, index: index++, line };
    }
    return;
  }
  const doc = parseJsonDocument(path, wholeText(path, compression));
  if (Array.isArray(doc)) {
    for (let i = 0; i < doc.length; i++) yield { value: doc[i], index: i };
    return;
  }
  if (opts.allowObject && doc !== null && typeof doc === "object") {
    yield { value: doc, index: 0 }; // one record (e.g. a HippoRAG {title: [sentences]} dict, which the corpus reader expands)
    return;
  }
  throw new InputError(path, undefined, undefined, `expected a JSON array of records (or JSONL), got a top-level ${doc === null ? "null" : typeof doc}`);
}

/** "jsonl", "json (gzip)", … for messages. */
export function describeKind(k: FileKind): string {
  return k.compression === "none" ? k.container : `${k.container} (${k.compression})`;
}
