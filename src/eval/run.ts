/**
 * @module eval/run — one evaluation run: a method over a dataset selection into `DIR/predictions.jsonl` and
 * `DIR/summary.json`. Resumable: items already in predictions.jsonl send no model (or judge) request again; a record
 * is appended as soon as its item finishes, and at the end the file is rewritten once, in dataset order, one line per
 * item. An item whose method throws gets a `{id, failed: true, error}` line instead, and runs again next time.
 * K items run concurrently (`concurrency`).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { scoreItem } from "../reward/metrics.js";
import { estimateTokens } from "../rollout/loop.js";
import type { Trajectory } from "../rollout/types.js";
import { UserError } from "../util/errors.js";
import { appendJsonl, readJsonl, writeFileAtomic, writeJsonAtomic } from "../util/fs.js";
import { createProgress } from "../util/progress.js";
import { JudgeConfigError, type Judge } from "./judge.js";
import { summarize, type EvalRecord, type EvalSummary } from "./summary.js";
import type { ReflectionGold } from "./reflection.js";
import type { EvalItem, Method, MethodContext, MethodOutput } from "./types.js";

export interface EvalRunOptions {
  method: Method;
  /** The selection to evaluate, in dataset order (see `selectItems`). */
  items: EvalItem[];
  /** Dataset name for the summary and the table (e.g. "hotpotqa"). */
  dataset: string;
  datasetPath?: string;
  label?: string;
  outDir: string;
  ctx: MethodContext;
  judge?: Judge;
  /** Items in flight at once (default 1). */
  concurrency?: number;
  /** Rerun items whose rollout ended in `error` and re-judge judge errors (default: they count as finished). */
  retryErrors?: boolean;
  quiet?: boolean;
  /** Extra settings recorded in run.json. */
  settings?: Record<string, unknown>;
  /** Each item's gold chain (kind, chainNames), by id, for the summary's reflection metrics; absent: their proxy. */
  gold?: ReadonlyMap<string, ReflectionGold>;
}

export interface EvalRunResult {
  summary: EvalSummary;
  /** Items the method ran in this invocation. */
  ran: number;
  /** Items judged in this invocation. */
  judged: number;
  failures: { id: string; error: string }[];
}

export const PREDICTIONS_FILE = "predictions.jsonl";
export const SUMMARY_FILE = "summary.json";
export const RUN_FILE = "run.json";
/** A run stops early when this many items failed before any succeeded (a misconfigured server, a wrong model name). */
export const ABORT_AFTER_FAILURES = 10;

/** The stable subset `--limit N` takes: the first N items in file order (FlashRAG's `test_sample_num` without shuffling). */
export function selectItems<T extends { id: string }>(items: readonly T[], limit?: number): T[] {
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.id)) throw new UserError(`duplicate example id "${it.id}" in the dataset: a resumable run needs unique ids`);
    seen.add(it.id);
  }
  return limit === undefined ? [...items] : items.slice(0, Math.max(0, limit));
}

/**
 * An item whose method threw (a retriever or model server that stayed down, timed out or answered garbage after its
 * retries): recorded with the reason, and not finished, so the next run of the same DIR runs it again.
 */
export interface FailureLine {
  id: string;
  question: string;
  goldenAnswers: string[];
  failed: true;
  error: string;
  at: string;
}

/** Records already written in DIR/predictions.jsonl, by id (a later line wins); failure lines and unreadable lines are skipped. */
export async function readRecords(outDir: string): Promise<Map<string, EvalRecord>> {
  const path = join(outDir, PREDICTIONS_FILE);
  const out = new Map<string, EvalRecord>();
  if (!existsSync(path)) return out;
  let bad = 0;
  for await (const { value } of readJsonl<EvalRecord>(path, { onBad: () => bad++ })) {
    if (value && (value as unknown as Partial<FailureLine>).failed === true) continue; // an item that failed: it runs again
    if (value && typeof value.id === "string" && typeof value.pred === "string" && value.scores) out.set(value.id, value);
    else bad++;
  }
  if (bad) process.stderr.write(`${path}: skipped ${bad} unreadable line(s) (an interrupted write); those items run again\n`);
  return out;
}

/** Check that DIR is either new or holds the same method on the same dataset; write run.json. */
function claimRunDir(opts: EvalRunOptions): void {
  const path = join(opts.outDir, RUN_FILE);
  if (existsSync(path)) {
    const prev = JSON.parse(readFileSync(path, "utf8")) as { method?: string; dataset?: string };
    if (prev.method !== opts.method.name || prev.dataset !== opts.dataset) {
      throw new UserError(
        `${opts.outDir} holds a "${prev.method}" run on "${prev.dataset}"; this is "${opts.method.name}" on "${opts.dataset}": use another --out`,
      );
    }
    return;
  }
  writeJsonAtomic(path, {
    method: opts.method.name,
    dataset: opts.dataset,
    datasetPath: opts.datasetPath,
    label: opts.label,
    createdAt: new Date().toISOString(),
    settings: opts.settings ?? {},
  });
}

/** Response length in tokens: the trajectory's ids, else the backend's tokenizer, else an estimate (~4 chars/token). */
function responseTokens(out: MethodOutput, ctx: MethodContext): { responseTokens: number; tokensEstimated?: true } | undefined {
  const t = out.trajectory;
  if (!t) return undefined;
  if (t.responseIds) return { responseTokens: t.responseIds.length };
  if (ctx.backend.tokenizer) return { responseTokens: ctx.backend.tokenizer.encode(t.response).length };
  return { responseTokens: estimateTokens(t.response), tokensEstimated: true };
}

/**
 * The trajectory as an eval record keeps it: text, segments, queries, finish reason, timings — without token ids,
 * loss mask and per-token log-probs, which evaluation does not use and which would make a 500-question run of
 * 8k-token rollouts weigh ~100 MB (the length survives as the record's `responseTokens`).
 */
export function textOnly(t: Trajectory): Trajectory {
  const { promptIds: _p, responseIds: _r, lossMask: _m, ...rest } = t;
  return { ...rest, segments: t.segments.map(({ author, trained, text }) => ({ author, trained, text })) };
}

export async function runEval(opts: EvalRunOptions): Promise<EvalRunResult> {
  const { method, ctx, judge, outDir } = opts;
  if (method.needsRetriever && !ctx.retriever) throw new UserError(`method ${method.name} needs a retriever: give --index DIR or --retriever-url URL`);
  if (method.name === "research" && !ctx.rollout) throw new UserError("method research needs the rollout loop");
  selectItems(opts.items); // unique ids, or a clear error
  claimRunDir(opts);
  const records = await readRecords(outDir);
  const predictionsPath = join(outDir, PREDICTIONS_FILE);

  // 1) what is left: items without a record need the method; with a record but no verdict, only the judge
  const needsRun = (r: EvalRecord | undefined) => !r || (opts.retryErrors === true && r.trajectory?.finishReason === "error");
  const needsJudge = (r: EvalRecord | undefined) => judge !== undefined && (!r?.judge || (opts.retryErrors === true && r.judge.verdict === "error"));
  const pending = opts.items.filter((it) => needsRun(records.get(it.id)) || needsJudge(records.get(it.id)));

  // 2) run them, K at a time; each finished item is appended at once so an interrupted run loses nothing
  const failures: { id: string; error: string }[] = [];
  const failed = new Map<string, FailureLine>();
  let ran = 0;
  let judged = 0;
  let succeeded = 0;
  let fatal: unknown;
  const progress = createProgress(`eval ${method.name}`, pending.length, { quiet: opts.quiet });
  const started = Date.now();
  const processItem = async (item: EvalItem) => {
    const t0 = Date.now();
    let record = records.get(item.id);
    if (needsRun(record)) {
      const out = await method.run(item, ctx);
      ran++;
      record = {
        id: item.id,
        question: item.question,
        goldenAnswers: item.goldenAnswers,
        pred: out.pred,
        ...(out.raw !== undefined ? { raw: out.raw } : {}),
        scores: scoreItem(out.pred, item.goldenAnswers),
        ...responseTokens(out, ctx),
        ...(out.retrievals ? { retrievals: out.retrievals } : {}),
        ...(out.generations ? { generations: out.generations } : {}),
        ...(out.trajectory ? { trajectory: textOnly(out.trajectory) } : {}),
        ms: Date.now() - t0,
      };
      // Written before judging, so a judge failure never costs this model output again.
      records.set(item.id, record);
      appendJsonl(predictionsPath, record);
    }
    if (!record) return;
    if (judge && needsJudge(record)) {
      const t1 = Date.now();
      record.judge = await judge.judge({ question: item.question, goldenAnswers: item.goldenAnswers, pred: record.pred });
      record.ms = (record.ms ?? 0) + (Date.now() - t1);
      judged++;
      records.set(item.id, record);
      appendJsonl(predictionsPath, record); // a later line for the same id wins; step 3 keeps one line per item
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < pending.length && fatal === undefined) {
      const item = pending[next++];
      try {
        await processItem(item);
        succeeded++;
      } catch (e) {
        if (e instanceof JudgeConfigError) fatal = e;
        else {
          const error = (e as Error).message ?? String(e);
          failures.push({ id: item.id, error });
          if (!records.has(item.id)) {
            const line: FailureLine = { id: item.id, question: item.question, goldenAnswers: item.goldenAnswers, failed: true, error, at: new Date().toISOString() };
            failed.set(item.id, line);
            appendJsonl(predictionsPath, line);
          }
        }
        if (succeeded === 0 && failures.length >= ABORT_AFTER_FAILURES && fatal === undefined) {
          fatal = new UserError(`stopping: the first ${failures.length} items all failed (first: ${failures[0].id}: ${failures[0].error})`);
        }
      }
      progress.increment(1, { failed: failures.length });
    }
  };
  const k = Math.max(1, Math.floor(opts.concurrency ?? 1));
  await Promise.all(Array.from({ length: Math.min(k, Math.max(1, pending.length)) }, worker));
  progress.stop();
  const seconds = (Date.now() - started) / 1000;

  // 3) one line per item, in dataset order (items outside this selection, from a larger earlier run, stay after them)
  const selected = new Set(opts.items.map((it) => it.id));
  const ordered = opts.items.map((it) => records.get(it.id)).filter((r): r is EvalRecord => r !== undefined);
  for (const r of ordered) r.scores = scoreItem(r.pred, r.goldenAnswers); // current metric code, also for resumed items
  const rest = [...records.values()].filter((r) => !selected.has(r.id));
  const failedLines = opts.items.map((it) => (records.has(it.id) ? undefined : failed.get(it.id))).filter((f): f is FailureLine => f !== undefined);
  const lines = [...ordered, ...failedLines, ...rest];
  if (lines.length > 0) writeFileAtomic(predictionsPath, lines.map((r) => JSON.stringify(r) + "\n").join(""));
  if (fatal !== undefined) throw fatal;

  const summary = summarize({
    method: method.name,
    dataset: opts.dataset,
    datasetPath: opts.datasetPath,
    label: opts.label,
    records: ordered,
    total: opts.items.length,
    judge: judge !== undefined,
    judgeModel: judge?.model,
    session: { ran, seconds, questionsPerSecond: seconds > 0 ? ran / seconds : 0 },
    ...(opts.gold ? { gold: opts.gold } : {}),
  });
  writeJsonAtomic(join(outDir, SUMMARY_FILE), summary);
  return { summary, ran, judged, failures };
}
