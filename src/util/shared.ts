/**
 * @module util/shared — where the read-only shared data lives: `../shared/data` beside the repository
 * (as on developers' machines and in CI), or `RESEARCH_SHARED_DATA` when set. Tests and benchmarks read it.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SHARED_DATA = process.env.RESEARCH_SHARED_DATA ?? resolve(REPO_ROOT, "../shared/data");
