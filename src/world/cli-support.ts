/** @module world/cli-support — reading world configs and corpus files for the `world` and `demo` commands. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Passage } from "../retrieval/types.js";
import { readConfigFile } from "../util/config-file.js";
import { InputError, UserError } from "../util/errors.js";
import { readJsonl } from "../util/fs.js";
import { smallWorldConfig, WorldConfigSchema, type WorldConfig } from "./config.js";

/** Defaults (or the small world), then the file's fields, then the seed. Bad fields name the file and the field. */
export function loadWorldConfig(opts: { seed?: number; small?: boolean; file?: string }): WorldConfig {
  const base: Record<string, unknown> = opts.small ? smallWorldConfig() : WorldConfigSchema.parse({});
  const fromFile = opts.file ? readConfigFile(opts.file) : {};
  const merged = { ...base, ...fromFile, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) };
  const r = WorldConfigSchema.safeParse(merged);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(opts.file ?? "world config", undefined, issue.path.join("."), issue.message);
  }
  return r.data;
}

export async function readCorpusFile(worldDir: string): Promise<Passage[]> {
  const path = join(worldDir, "corpus.jsonl");
  if (!existsSync(path)) throw new UserError(`corpus not found: ${path} (run: research world build --out ${worldDir})`);
  const out: Passage[] = [];
  for await (const { value, line } of readJsonl<Passage>(path)) {
    if (typeof value?.id !== "string" || typeof value?.contents !== "string") throw new InputError(path, line, "id/contents", "expected {id: string, contents: string}");
    out.push(value);
  }
  return out;
}
