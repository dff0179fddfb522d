/**
 * @module rollout/trajectory — trajectories as JSONL: one `Trajectory` per line with its extracted `answer`,
 * appended as each rollout finishes; read back with file:line errors; the finished ids of a file for resuming.
 */
import { existsSync, openSync, readSync, fstatSync, closeSync, truncateSync } from "node:fs";
import { z } from "zod";
import { extractAnswer } from "../reward/reward.js";
import { appendJsonl, readJsonl, writeFileAtomic } from "../util/fs.js";
import { InputError } from "../util/errors.js";
import { segmentAuthor, segmentTrained, type Trajectory } from "./types.js";

/** A segment line; files written before segments had `author`/`trained` (`kind` only) are read as the same. */
const SegmentSchema = z
  .object({
    author: z.enum(["policy", "env", "tool"]).optional(),
    trained: z.boolean().optional(),
    kind: z.enum(["policy", "tool"]).optional(),
    text: z.string(),
    tokenIds: z.array(z.number().int()).optional(),
    logprobs: z.array(z.number()).optional(),
  })
  .refine((g) => g.author !== undefined || g.kind !== undefined, { message: "expected author (policy | env | tool)", path: ["author"] })
  .transform(({ kind, ...g }) => ({ ...g, author: segmentAuthor({ author: g.author, kind }), trained: g.trained ?? (kind ? segmentTrained({ kind }) : g.author === "policy") }));

/** What a trajectory line must hold; extra fields pass through. */
export const TrajectorySchema = z.looseObject({
  id: z.string(),
  question: z.string(),
  prompt: z.string(),
  segments: z.array(SegmentSchema),
  response: z.string(),
  finishReason: z.enum(["eos", "length", "max_searches", "error"]),
  searches: z.number().int(),
  queries: z.array(z.string()),
  responseIds: z.array(z.number().int()).optional(),
  lossMask: z.array(z.union([z.literal(0), z.literal(1)])).optional(),
  timings: z.object({ generateMs: z.number(), searchMs: z.number(), totalMs: z.number() }),
});

/** The trajectory with its `answer`: the reward's extractAnswer on the response (null when there is none). */
export function withAnswer(t: Trajectory): Trajectory {
  return { ...t, answer: extractAnswer(t.response) };
}

/** Append one finished trajectory (with `answer`) as a JSONL line; returns what was written. */
export function appendTrajectory(path: string, t: Trajectory): Trajectory {
  const line = withAnswer(t);
  appendJsonl(path, line);
  return line;
}

/** Stream the trajectories of a JSONL file; a malformed line throws an InputError naming file, line and field. */
export async function* readTrajectories(path: string): AsyncGenerator<Trajectory> {
  for await (const { value, line } of readJsonl(path)) {
    const r = TrajectorySchema.safeParse(value);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new InputError(path, line, issue.path.join(".") || undefined, issue.message);
    }
    yield r.data as unknown as Trajectory;
  }
}

/**
 * Make an output file safe to append to after a crash: a last line cut mid-write (no final newline) is removed;
 * with `retryErrors`, rollouts that ended in `error` are removed too (rewritten atomically) so they run again.
 * Returns the ids already in the file (the rollouts a rerun skips).
 */
export async function prepareResume(path: string, opts: { retryErrors?: boolean } = {}): Promise<Set<string>> {
  const done = new Set<string>();
  if (!existsSync(path)) return done;
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size > 0) {
      const tail = Buffer.alloc(Math.min(size, 1 << 20));
      readSync(fd, tail, 0, tail.length, size - tail.length);
      if (tail[tail.length - 1] !== 0x0a) {
        const nl = tail.lastIndexOf(0x0a);
        if (nl < 0 && size > tail.length) throw new InputError(path, undefined, undefined, "last line longer than 1 MiB and unterminated");
        truncateSync(path, nl < 0 ? 0 : size - tail.length + nl + 1);
      }
    }
  } finally {
    closeSync(fd);
  }
  const kept: string[] = [];
  let dropped = 0;
  for await (const t of readTrajectories(path)) {
    if (opts.retryErrors && t.finishReason === "error") dropped++;
    else {
      done.add(t.id);
      if (opts.retryErrors) kept.push(JSON.stringify(t));
    }
  }
  if (dropped) writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
  return done;
}
