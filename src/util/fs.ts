/** @module util/fs — atomic writes (temp + rename) and streaming JSONL with file:line errors. */
import { createReadStream, existsSync, mkdirSync, openSync, closeSync, fsyncSync, renameSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { InputError, UserError } from "./errors.js";

/** Write a file atomically: write `path.tmp-<pid>`, fsync, rename over `path`. A reader never sees half a file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeAtomicWith(path, (tmp) => writeFileSync(tmp, data));
}

/** Atomically replace `path` with what `write(tmp)` writes to a temp file (fsync, rename; the temp file is removed on error). */
export function writeAtomicWith(path: string, write: (tmp: string) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    write(tmp);
    const fd = openSync(tmp, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Append one JSON value as a line (the line is written with a single write call). */
export function appendJsonl(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, JSON.stringify(value) + "\n");
}

export function assertFile(path: string, what = "file"): void {
  if (!existsSync(path)) throw new UserError(`${what} not found: ${path}`);
}

/**
 * Stream a JSONL file line by line in constant memory. Blank lines are skipped. A line that is not
 * valid JSON throws an InputError naming file and line (or is passed to `onBad` when given).
 */
export async function* readJsonl<T = unknown>(
  path: string,
  opts: { onBad?: (line: number, error: string) => void } = {},
): AsyncGenerator<{ value: T; line: number }> {
  assertFile(path);
  const rl = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let line = 0;
  for await (const raw of rl) {
    line++;
    const text = raw.trim();
    if (!text) continue;
    let value: T;
    try {
      value = JSON.parse(text) as T;
    } catch (e) {
      const msg = `invalid JSON (${(e as Error).message})`;
      if (opts.onBad) {
        opts.onBad(line, msg);
        continue;
      }
      throw new InputError(path, line, undefined, msg);
    }
    yield { value, line };
  }
}
