/** @module eval/cli — the actions behind `research eval` and `research eval table` (flags → config → run). */
import { basename, extname, resolve } from "node:path";
import { z } from "zod";
import { loadQAArray } from "../data/qa.js";
import { MultiHopMetadata } from "../data/metadata.js";
import type { ReflectionGold } from "./reflection.js";
import {
  backendConfigFromFlags,
  createBackend,
  openRetrieverFromConfig,
  parseConfig,
  retrieverConfigFromFlags,
  rolloutConfigFromFlags,
} from "../rollout/backends/index.js";
import { renderChat } from "../tokenizer/chat.js";
import { ROLLOUT_DEFAULTS } from "../rollout/types.js";
import type { Retriever } from "../retrieval/types.js";
import { UserError } from "../util/errors.js";
import { createJudge, type Judge } from "./judge.js";
import { getMethod } from "./methods/index.js";
import { createRolloutRunner } from "./methods/research.js";
import { runEval } from "./run.js";
import { buildTable, loadRuns, renderCsv, renderMarkdown, TABLE_METRICS, type TableMetric } from "./table.js";
import { METHOD_NAMES, type MethodContext } from "./types.js";

export const EvalConfigSchema = z.object({
  dataset: z.string({ error: "--dataset FILE is required" }).describe("QA dataset file"),
  method: z.enum(METHOD_NAMES as [string, ...string[]], { error: `--method must be one of ${METHOD_NAMES.join(", ")}` }).describe("evaluation method"),
  out: z.string({ error: "--out DIR is required" }).describe("run directory"),
  limit: z.coerce.number().int().min(0).optional().describe("first N questions only (stable subset)"),
  concurrency: z.coerce.number().int().positive().default(32).describe("questions in flight (and remote requests in flight)"),
  datasetName: z.string().optional().describe("dataset name for summary and table; default: file name without extension"),
  label: z.string().optional().describe("model label (table row group)"),
  maxTokens: z.coerce.number().int().positive().default(32).describe("baselines: new tokens per generation (FlashRAG generation_params.max_tokens)"),
  topN: z.coerce.number().int().positive().default(ROLLOUT_DEFAULTS.topN).describe("passages per retrieval (FlashRAG retrieval_topk, ReSearch top_n: 5)"),
  judgeBaseUrl: z.string().url().optional().describe("LLM judge base URL"),
  judgeModel: z.string().optional().describe("LLM judge model"),
  judgeAttempts: z.coerce.number().int().positive().default(3).describe("judge requests per item before an error"),
  retryErrors: z.boolean().default(false).describe("rerun error rollouts and re-judge judge errors"),
  quiet: z.boolean().default(false).describe("no progress bar"),
});

export async function runEvalCommand(flags: Record<string, unknown>): Promise<void> {
  const cfg = parseConfig(EvalConfigSchema, flags);
  const method = getMethod(cfg.method);
  if (Boolean(cfg.judgeBaseUrl) !== Boolean(cfg.judgeModel)) throw new UserError("the judge needs both --judge-base-url and --judge-model");
  const rollout = rolloutConfigFromFlags(flags);

  // --limit N: the first N questions of the file (the loader stops reading there)
  const examples = await loadQAArray(cfg.dataset, cfg.limit === undefined ? {} : { limit: cfg.limit });
  const selection = examples.map((e) => ({ id: e.id, question: e.question, goldenAnswers: e.golden_answers }));
  // the gold chains the records' metadata carries (the world's questions do): the reflection metrics judge misses by them
  const gold = new Map<string, ReflectionGold>();
  for (const e of examples) {
    const m = MultiHopMetadata.safeParse(e.metadata ?? {}); // other data sets' metadata may differ: then the proxy
    if (m.success && m.data.chainNames?.length) gold.set(e.id, { kind: m.data.kind, chainNames: m.data.chainNames });
  }

  const backend = await createBackend({ ...backendConfigFromFlags(flags), concurrency: cfg.concurrency });
  let retriever: Retriever | undefined;
  try {
    if (method.needsRetriever) retriever = await openRetrieverFromConfig(retrieverConfigFromFlags(flags));
    const instruct = (rollout.template ?? "research").endsWith("-instruct");
    const chatTemplate = backend.tokenizer?.chatTemplate;
    const ctx: MethodContext = {
      backend,
      retriever,
      topK: cfg.topN,
      gen: { maxTokens: cfg.maxTokens, temperature: rollout.temperature, topP: rollout.topP, seed: rollout.seed },
      ...(instruct ? { chat: (messages) => renderChat(messages, { chatTemplate, eosToken: backend.eosText }) } : {}),
      ...(retriever
        ? {
            rollout: createRolloutRunner({
              backend,
              retriever,
              template: rollout.template,
              temperature: rollout.temperature,
              topP: rollout.topP,
              maxResponseTokens: rollout.maxResponseTokens,
              maxPromptTokens: rollout.maxPromptTokens,
              maxSearches: rollout.maxSearches,
              seed: rollout.seed,
              topN: cfg.topN,
            }),
          }
        : {}),
    };
    const judge: Judge | undefined = cfg.judgeBaseUrl
      ? createJudge({ baseUrl: cfg.judgeBaseUrl, model: cfg.judgeModel!, apiKey: process.env.OPENAI_API_KEY || undefined, maxAttempts: cfg.judgeAttempts })
      : undefined;
    const result = await runEval({
      method,
      items: selection,
      dataset: cfg.datasetName ?? basename(cfg.dataset, extname(cfg.dataset)),
      datasetPath: resolve(cfg.dataset),
      label: cfg.label,
      outDir: cfg.out,
      ctx,
      judge,
      concurrency: cfg.concurrency,
      retryErrors: cfg.retryErrors,
      quiet: cfg.quiet,
      settings: { backend: backend.name, topN: cfg.topN, gen: ctx.gen, rollout, limit: cfg.limit },
      ...(gold.size ? { gold } : {}),
    });
    process.stdout.write(JSON.stringify(result.summary) + "\n");
    if (result.failures.length) {
      const first = result.failures[0];
      throw new UserError(`${result.failures.length} item(s) failed and were not recorded (first: ${first.id}: ${first.error}); rerun the same command to retry them`);
    }
  } finally {
    await retriever?.close?.();
    await backend.close?.();
  }
}

export function runTableCommand(dirs: string[], flags: { csv?: boolean; metrics?: string; digits?: string }): string {
  const metrics = (flags.metrics ?? "em,lj").split(",").map((m) => m.trim().toLowerCase());
  for (const m of metrics) if (!(TABLE_METRICS as readonly string[]).includes(m)) throw new UserError(`--metrics: unknown metric "${m}" (use ${TABLE_METRICS.join(", ")})`);
  const digits = Number(flags.digits ?? 1);
  if (!Number.isInteger(digits) || digits < 0 || digits > 6) throw new UserError(`--digits: expected 0..6, got "${flags.digits}"`);
  const table = buildTable(loadRuns(dirs), metrics as TableMetric[], { digits });
  return flags.csv ? renderCsv(table) : renderMarkdown(table);
}
