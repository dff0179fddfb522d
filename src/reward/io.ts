/**
 * @module reward/io — input records of `research reward` and `research score`, as zod schemas, with errors that
 * name file, line (or item) and field.
 */
import { z } from "zod";
import { recordError, type RecordPlace } from "../data/formats.js";

const golds = z.union([z.string(), z.array(z.string())]).describe("gold answers: one string or a list (FlashRAG `golden_answers`)");

export const RewardLineSchema = z.object({
  solution: z.string().describe("full decoded text: prompt + response, special tokens kept"),
  golden_answers: golds,
  eos_token: z.string().optional().describe("EOS text, e.g. <|im_end|>; falls back to --eos-token"),
});
export type RewardLine = z.infer<typeof RewardLineSchema>;

/** Parse one record with a schema; the first issue becomes an InputError naming its field. */
export function parseRecord<T>(schema: z.ZodType<T>, value: unknown, at: RecordPlace): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw recordError(at, issue.path.length ? issue.path.join(".") : undefined, issue.message);
}

/** Read a dotted path (`output.pred`) from a record; undefined when any step is missing. */
export function getPath(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const key of path.split(".")) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export const ScoreOptionsSchema = z.object({
  predField: z
    .string()
    .optional()
    .describe("dotted path of the prediction; default: `pred`, else FlashRAG's saved `output.pred`"),
  goldField: z.string().default("golden_answers").describe("dotted path of the gold answers (string or list)"),
});
export type ScoreOptions = z.infer<typeof ScoreOptionsSchema>;

export interface ScoreRecord {
  id?: string;
  pred: string;
  golds: string | string[];
}

/** Pull prediction and golds out of one score input record. */
export function toScoreRecord(value: unknown, at: RecordPlace, opts: ScoreOptions): ScoreRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw recordError(at, undefined, "expected a JSON object");
  const predPaths = opts.predField ? [opts.predField] : ["pred", "output.pred"];
  const predPath = predPaths.find((p) => getPath(value, p) !== undefined) ?? predPaths[0];
  const pred = getPath(value, predPath);
  if (typeof pred !== "string") {
    throw recordError(at, predPath, pred === undefined ? "missing prediction" : `expected a string, got ${pred === null ? "null" : typeof pred}`);
  }
  const g = golds.safeParse(getPath(value, opts.goldField));
  if (!g.success) throw recordError(at, opts.goldField, "expected a string or a list of strings");
  const id = (value as Record<string, unknown>).id;
  return { id: typeof id === "string" || typeof id === "number" ? String(id) : undefined, pred, golds: g.data };
}
