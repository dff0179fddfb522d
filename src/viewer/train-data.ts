/**
 * @module viewer/train-data — reading a training run directory (train/run.ts layout) while it is being written:
 * metrics.jsonl is read incrementally from the last offset (a half-written last line waits for the next read; a
 * shorter file — a resume truncated it — is read again from the start), and trajectory files are parsed once per
 * (size, mtime) and cached, so paging through 10,000 trajectories re-reads nothing.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Trajectory } from "../rollout/types.js";
import { InputError } from "../util/errors.js";

const stepPath = (dir: string, step: number) => join(dir, "trajectories", `step-${String(step).padStart(6, "0")}.jsonl`);

/** One line of metrics.jsonl (train/trainer.ts StepMetrics; read loosely, since older runs may lack fields). */
export type MetricsRow = Record<string, unknown> & { step: number };

/** A trajectory line of trajectories/step-N.jsonl: the Trajectory plus the trainer's scores. */
export type StepTrajectory = Trajectory & {
  reward?: number;
  advantage?: number;
  /** Runs written before scaffolds were plug-ins: a forced first search, forced follow-up searches. */
  forced?: boolean;
  forcedSearches?: number;
  score?: { valid?: boolean; f1?: number; em?: number; reason?: string; prediction?: string | null };
};

interface MetricsCache {
  offset: number;
  rows: MetricsRow[];
}

/** Reads runs' files with caches that live as long as the reader (one per viewer or report). */
export interface TrainReader {
  metrics(dir: string): MetricsRow[];
  /** Steps that have a trajectory file, ascending, with the file's size and mtime (the live view's version). */
  steps(dir: string): { step: number; size: number; mtimeMs: number }[];
  trajectories(dir: string, step: number): StepTrajectory[];
  /** Trajectories in a step's file, counted without parsing them. */
  count(dir: string, step: number): number;
}

/** Parsed trajectory files kept in memory (least recently used dropped first). */
const MAX_CACHED_FILES = 256;

export function createTrainReader(): TrainReader {
  const metricsCache = new Map<string, MetricsCache>();
  const trajCache = new Map<string, { key: string; rows: StepTrajectory[] }>();

  function metrics(dir: string): MetricsRow[] {
    const path = join(dir, "metrics.jsonl");
    if (!existsSync(path)) return [];
    const size = statSync(path).size;
    let c = metricsCache.get(path);
    if (!c || size < c.offset) c = { offset: 0, rows: [] };
    if (size > c.offset) {
      const buf = Buffer.alloc(size - c.offset);
      const fd = openSync(path, "r");
      try {
        readSync(fd, buf, 0, buf.length, c.offset);
      } finally {
        closeSync(fd);
      }
      const text = buf.toString("utf8");
      const end = text.lastIndexOf("\n"); // only complete lines; the rest is still being written
      if (end >= 0) {
        const lineBase = c.rows.length;
        text
          .slice(0, end)
          .split("\n")
          .forEach((line, i) => {
            if (!line.trim()) return;
            let row: unknown;
            try {
              row = JSON.parse(line);
            } catch (e) {
              throw new InputError(path, lineBase + i + 1, undefined, `invalid JSON (${(e as Error).message})`);
            }
            if (typeof (row as MetricsRow).step !== "number") throw new InputError(path, lineBase + i + 1, "step", "missing or not a number");
            c!.rows.push(row as MetricsRow);
          });
        c.offset += Buffer.byteLength(text.slice(0, end + 1), "utf8");
      }
    }
    metricsCache.set(path, c);
    return c.rows;
  }

  function steps(dir: string) {
    const root = join(dir, "trajectories");
    if (!existsSync(root)) return [];
    return readdirSync(root)
      .map((n) => /^step-(\d+)\.jsonl$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => {
        const st = statSync(join(root, m[0]));
        return { step: Number(m[1]), size: st.size, mtimeMs: st.mtimeMs };
      })
      .sort((a, b) => a.step - b.step);
  }

  function trajectories(dir: string, step: number): StepTrajectory[] {
    const path = stepPath(dir, step);
    if (!existsSync(path)) return [];
    const st = statSync(path);
    const key = `${st.size}:${st.mtimeMs}`;
    const hit = trajCache.get(path);
    if (hit && hit.key === key) {
      trajCache.delete(path); // re-insert: Map order is the LRU order
      trajCache.set(path, hit);
      return hit.rows;
    }
    const rows = readFileSync(path, "utf8")
      .split("\n")
      .map((line, i) => {
        if (!line.trim()) return null;
        try {
          return JSON.parse(line) as StepTrajectory;
        } catch (e) {
          throw new InputError(path, i + 1, undefined, `invalid JSON (${(e as Error).message})`);
        }
      })
      .filter((t): t is StepTrajectory => t !== null);
    trajCache.set(path, { key, rows });
    if (trajCache.size > MAX_CACHED_FILES) trajCache.delete(trajCache.keys().next().value!);
    return rows;
  }

  const counts = new Map<string, { key: string; n: number }>();
  function count(dir: string, step: number): number {
    const path = stepPath(dir, step);
    if (!existsSync(path)) return 0;
    const st = statSync(path);
    const key = `${st.size}:${st.mtimeMs}`;
    const hit = counts.get(path);
    if (hit?.key === key) return hit.n;
    const buf = readFileSync(path);
    let n = 0; // non-empty lines
    for (let start = 0; start < buf.length; ) {
      const nl = buf.indexOf(10, start);
      const end = nl < 0 ? buf.length : nl;
      if (end > start) n++;
      start = end + 1;
    }
    counts.set(path, { key, n });
    return n;
  }

  return { metrics, steps, trajectories, count };
}

/** A GRPO group: the G rollouts of one prompt at one step. */
export interface TrajectoryGroup {
  step: number;
  /** The rollouts' common example id (`<step>:<i>:<example>`), or the question. */
  key: string;
  question: string;
  goldenAnswers: string[];
  rollouts: StepTrajectory[];
}

/** Group a step's trajectories by prompt, in file order (the trainer writes group after group). */
export function groupTrajectories(step: number, rows: StepTrajectory[]): TrajectoryGroup[] {
  const groups = new Map<string, TrajectoryGroup>();
  for (const t of rows) {
    const key = t.exampleId ?? t.id.replace(/#\d+$/, "");
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { step, key, question: t.question, goldenAnswers: t.goldenAnswers ?? [], rollouts: [] }));
    g.rollouts.push(t);
  }
  return [...groups.values()];
}

export interface TrajectoryFilter {
  minReward?: number;
  maxReward?: number;
  minSearches?: number;
  maxSearches?: number;
  /** Case-insensitive substring of the question, the response, the queries or the golden answers. */
  text?: string;
  /** Exactly this question (the per-question view across steps). */
  question?: string;
}

/** Whether one rollout passes the filter. */
export function matchesFilter(t: StepTrajectory, f: TrajectoryFilter): boolean {
  const r = t.reward ?? 0;
  if (f.minReward !== undefined && r < f.minReward) return false;
  if (f.maxReward !== undefined && r > f.maxReward) return false;
  if (f.minSearches !== undefined && t.searches < f.minSearches) return false;
  if (f.maxSearches !== undefined && t.searches > f.maxSearches) return false;
  if (f.question !== undefined && t.question !== f.question) return false;
  if (f.text) {
    const needle = f.text.toLowerCase();
    const hay = [t.question, t.response, ...(t.queries ?? []), ...(t.goldenAnswers ?? [])].join("\n").toLowerCase();
    if (!hay.includes(needle)) return false;
  }
  return true;
}

export interface GroupPage {
  /** Groups that have at least one matching rollout, and rollouts that match, over all steps searched. */
  matchedGroups: number;
  matchedRollouts: number;
  totalRollouts: number;
  page: number;
  pageSize: number;
  groups: (TrajectoryGroup & { matches: boolean[] })[];
}

/** Groups with at least one rollout passing the filter (whole groups kept, matches flagged), one page of them. */
export function pageGroups(groups: Iterable<TrajectoryGroup>, f: TrajectoryFilter, page: number, pageSize: number): GroupPage {
  let matchedGroups = 0;
  let matchedRollouts = 0;
  let totalRollouts = 0;
  const from = page * pageSize;
  const out: GroupPage["groups"] = [];
  for (const g of groups) {
    totalRollouts += g.rollouts.length;
    const matches = g.rollouts.map((t) => matchesFilter(t, f));
    const n = matches.filter(Boolean).length;
    if (n === 0) continue;
    matchedRollouts += n;
    if (matchedGroups >= from && out.length < pageSize) out.push({ ...g, matches });
    matchedGroups++;
  }
  return { matchedGroups, matchedRollouts, totalRollouts, page, pageSize, groups: out };
}
