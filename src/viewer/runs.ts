/**
 * @module viewer/runs — finding the runs under the directories given to `research view` / `research report`:
 * a training run has `metrics.jsonl` (train/run.ts), an evaluation run `summary.json` or `run.json` (eval/run.ts);
 * any other directory (e.g. the output of `research demo`: `train/`, `eval/<method>/`, `report.json`) is searched
 * a few levels down. Discovery runs again on every refresh, so runs that appear while a demo runs show up.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { UserError } from "../util/errors.js";

export type RunKind = "train" | "eval";

export interface RunRef {
  /** Stable id (root name + path inside it), used in URLs. */
  id: string;
  kind: RunKind;
  dir: string;
  /** The directory given on the command line this run was found under. */
  root: string;
}

/** Directories never searched for runs (a run's own bulky subfolders). */
const SKIP = new Set(["checkpoints", "trajectories", "node_modules", "plots"]);
const MAX_DEPTH = 4;

export function runKindOf(dir: string): RunKind | null {
  if (existsSync(join(dir, "metrics.jsonl"))) return "train";
  if (existsSync(join(dir, "summary.json")) || existsSync(join(dir, "run.json"))) return "eval";
  return null;
}

/** Runs under `roots` (each a run directory or a folder of them), sorted by id. Throws when a root is missing. */
export function discoverRuns(roots: string[]): RunRef[] {
  const out: RunRef[] = [];
  const names = rootNames(roots);
  roots.forEach((root, r) => {
    const abs = resolve(root);
    if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new UserError(`not a directory: ${root}`);
    const walk = (dir: string, depth: number) => {
      const kind = runKindOf(dir);
      if (kind) {
        const rel = relative(abs, dir).split("\\").join("/");
        out.push({ id: rel ? `${names[r]}/${rel}` : names[r], kind, dir, root: abs });
        if (kind === "train") return; // a training run holds no other runs
      }
      if (depth >= MAX_DEPTH) return;
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        return;
      }
      for (const e of entries.sort()) {
        if (e.startsWith(".") || SKIP.has(e)) continue;
        const p = join(dir, e);
        try {
          if (statSync(p).isDirectory()) walk(p, depth + 1);
        } catch {
          /* vanished while listing */
        }
      }
    };
    walk(abs, 0);
  });
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Short unique names for the roots: base names; parent/base when two collide; numbered if that collides too. */
export function rootNames(roots: string[]): string[] {
  const abs = roots.map((r) => resolve(r));
  const base = abs.map((r) => basename(r) || "run");
  const two = abs.map((r, i) => (base.filter((x) => x === base[i]).length > 1 ? `${basename(dirname(r))}/${base[i]}` : base[i]));
  return two.map((n, i) => (two.filter((x) => x === n).length > 1 ? `${n}~${i + 1}` : n));
}

/** `report.json` of a `research demo` output directory, when there is one (null otherwise or when unreadable). */
export function readDemoReport(root: string): Record<string, unknown> | null {
  const p = join(root, "report.json");
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, "utf8")) as Record<string, unknown>;
  } catch {
    return null;
  }
}
