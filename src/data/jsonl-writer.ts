/**
 * @module data/jsonl-writer — write a JSONL file of any size atomically: lines go to `path.tmp-<pid>-<time>`,
 * which is fsynced and renamed over `path` on `close()`; `abort()` removes it. Readers never see half a file.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export interface JsonlWriter {
  write(value: unknown): void;
  close(): void;
  abort(): void;
}

export function openJsonlWriter(path: string, flushBytes = 1 << 20): JsonlWriter {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, "w");
  let buf: string[] = [];
  let size = 0;
  let open = true;
  const flush = () => {
    if (buf.length) writeSync(fd, buf.join(""));
    buf = [];
    size = 0;
  };
  return {
    write(value) {
      const line = JSON.stringify(value) + "\n";
      buf.push(line);
      size += line.length;
      if (size >= flushBytes) flush();
    },
    close() {
      if (!open) return;
      open = false;
      flush();
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, path);
    },
    abort() {
      if (!open) return;
      open = false;
      closeSync(fd);
      rmSync(tmp, { force: true });
    },
  };
}
