/**
 * @module rollout/backends — one factory for every policy backend (native transformer, OpenAI-compatible servers,
 * llama.cpp GGUF) from one validated config, and the commander flags that fill it (shared by ask, rollout, eval, train).
 */
import { existsSync, statSync } from "node:fs";
import type { Command } from "commander";
import { z } from "zod";
import { UserError } from "../../util/errors.js";
import { ROLLOUT_DEFAULTS, type PolicyBackend } from "../types.js";
import type { Retriever } from "../../retrieval/types.js";
import { defaultEosText } from "./openai.js";

export const BackendConfigSchema = z.object({
  model: z.string().optional().describe("model directory (HF / llama2.c; native backend) or FILE.gguf (llama.cpp)"),
  baseUrls: z.array(z.string().url()).default([]).describe("OpenAI-compatible base URLs ending in /v1, used in rotation"),
  modelName: z.string().optional().describe("model name the server serves (with base URLs)"),
  chat: z.boolean().default(false).describe("remote: /v1/chat/completions with the instruct template's messages (any backend: instruct template by default)"),
  eosToken: z.string().optional().describe("EOS text kept at the end of EOS-ended rollouts (remote: <|endoftext|>, chat <|im_end|>)"),
  concurrency: z.coerce.number().int().positive().default(32).describe("remote requests in flight"),
  retries: z.coerce.number().int().min(0).default(4).describe("remote retries (backoff doubles from 0.5 s)"),
  timeoutS: z.coerce.number().positive().default(600).describe("remote request timeout, seconds"),
  maxBatch: z.coerce.number().int().positive().default(16).describe("native: sequences decoded together; llama.cpp: parallel sequences"),
  cpu: z.boolean().default(false).describe("llama.cpp: CPU only"),
  contextSize: z.coerce.number().int().positive().optional().describe("llama.cpp: context tokens per sequence"),
  threads: z.coerce.number().int().positive().optional().describe("llama.cpp: CPU threads (default: llama.cpp's choice)"),
  tokenizer: z.string().optional().describe("remote: local tokenizer of the served model (prompt limit, --token-ids)"),
  tokenIds: z.boolean().default(false).describe("remote (vLLM): exact token ids in and out, so trajectories carry ids and a loss mask"),
});
export type BackendConfig = z.input<typeof BackendConfigSchema>;

/** Build the policy backend a config names: --model DIR → native, --model FILE.gguf → llama.cpp, --base-url → remote. */
export async function createBackend(input: BackendConfig): Promise<PolicyBackend> {
  const cfg = parseConfig(BackendConfigSchema, input);
  if (cfg.model && cfg.baseUrls.length) throw new UserError("give either --model or --base-url, not both");
  if (cfg.baseUrls.length) {
    if (!cfg.modelName) throw new UserError("--base-url needs --model-name (the name the server serves)");
    const { createOpenAIBackend } = await import("./openai.js");
    let tokenizer;
    if (cfg.tokenizer) tokenizer = await (await import("../../tokenizer/load.js")).loadTokenizer(cfg.tokenizer);
    if (cfg.tokenIds && !tokenizer) throw new UserError("--token-ids needs --tokenizer DIR (the served model's tokenizer)");
    return createOpenAIBackend({
      baseUrls: cfg.baseUrls,
      modelName: cfg.modelName,
      chat: cfg.chat,
      eosText: cfg.eosToken ?? defaultEosText(cfg.chat),
      concurrency: cfg.concurrency,
      retries: cfg.retries,
      timeoutMs: cfg.timeoutS * 1000,
      tokenizer,
      tokenIds: cfg.tokenIds,
    });
  }
  if (!cfg.model) throw new UserError("no policy: give --model DIR|FILE.gguf or --base-url URL --model-name NAME");
  if (!existsSync(cfg.model)) throw new UserError(`model not found: ${cfg.model}`);
  if (statSync(cfg.model).isFile() && cfg.model.endsWith(".gguf")) {
    const { createLlamaCppBackend } = await import("./llamacpp.js");
    return createLlamaCppBackend({ modelPath: cfg.model, gpu: cfg.cpu ? false : "auto", sequences: cfg.maxBatch, contextSize: cfg.contextSize, threads: cfg.threads });
  }
  const [{ loadModel }, { createNativeBackend }] = await Promise.all([import("../../model/load.js"), import("./native.js")]);
  return createNativeBackend({ model: await loadModel(cfg.model), maxBatch: cfg.maxBatch });
}

export const RetrieverConfigSchema = z.object({
  index: z.string().optional().describe("index directory (research index) searched in process"),
  retrieverUrl: z.string().url().optional().describe("retrieval server base URL (research serve retriever)"),
  retrieverApi: z.enum(["research", "search-r1"]).default("research").describe("wire API of --retriever-url: research (FlashRAG /batch_search) or search-r1 (/retrieve)"),
  topN: z.coerce.number().int().positive().default(ROLLOUT_DEFAULTS.topN).describe("passages per query (ReSearch: 5)"),
  retrieverTimeoutS: z.coerce.number().positive().default(30).describe("--retriever-url: deadline per attempt, seconds"),
  retrieverRetries: z.coerce.number().int().min(0).max(20).default(4).describe("--retriever-url: retries after a 5xx, timeout or malformed answer (backoff doubles from 0.25 s)"),
});
export type RetrieverConfig = z.input<typeof RetrieverConfigSchema>;

export const RolloutConfigSchema = z.object({
  template: z.string().optional().describe("prompt template: research | research-instruct | searchr1 | searchr1-instruct (default research, research-instruct with --chat)"),
  temperature: z.coerce.number().min(0).default(ROLLOUT_DEFAULTS.temperature).describe("sampling temperature (ReSearch training: 1.0)"),
  topP: z.coerce.number().gt(0).max(1).optional().describe("nucleus sampling"),
  maxResponseTokens: z.coerce.number().int().positive().default(ROLLOUT_DEFAULTS.maxResponseTokens).describe("response budget, policy + tool tokens (ReSearch: 8192)"),
  maxPromptTokens: z.coerce.number().int().positive().default(ROLLOUT_DEFAULTS.maxPromptTokens).describe("prompt limit (ReSearch: 512)"),
  maxSearches: z.coerce.number().int().min(0).optional().describe("cap on searches per rollout (paper: none)"),
  seed: z.coerce.number().int().default(0).describe("sampling seed (per rollout and round)"),
  batchSize: z.coerce.number().int().positive().default(ROLLOUT_DEFAULTS.batchSize).describe("rollouts in flight at once"),
  schedule: z.enum(["rounds", "async"]).default("rounds").describe("rounds: lock-step rounds (reproducible); async: a rollout continues as soon as its search returns"),
});
export type RolloutConfig = z.input<typeof RolloutConfigSchema>;

export function parseConfig<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new UserError(`option ${i.path.join(".")}: ${i.message}`);
  }
  return r.data;
}

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(",").map((s) => s.trim()).filter(Boolean)];

/** `--model DIR|FILE.gguf | --base-url URL --model-name NAME`, `--chat`, `--eos-token`, and the backends' knobs. */
export function addBackendOptions(cmd: Command): Command {
  return cmd
    .option("--model <path>", "policy: model directory (native) or FILE.gguf (llama.cpp)")
    .option("--base-url <url>", "policy: OpenAI-compatible base URL ending in /v1 (repeat or comma-separate for rotation)", collect)
    .option("--model-name <name>", "model name served at --base-url")
    .option("--chat", "instruct model: research-instruct template; remote: /v1/chat/completions")
    .option("--eos-token <text>", "EOS text kept when a remote model ends (default <|endoftext|>, chat <|im_end|>)")
    .option("--concurrency <n>", "remote requests in flight", "32")
    .option("--retries <n>", "remote retries with backoff", "4")
    .option("--timeout <s>", "remote request timeout in seconds", "600")
    .option("--max-batch <n>", "native/llama.cpp: sequences decoded together", "16")
    .option("--cpu", "llama.cpp: CPU only")
    .option("--threads <n>", "llama.cpp: CPU threads")
    .option("--tokenizer <dir>", "remote: local tokenizer of the served model")
    .option("--token-ids", "remote (vLLM): exact token ids, with a loss mask");
}

/** `--index DIR | --retriever-url URL`, `--top-n`. */
export function addRetrieverOptions(cmd: Command): Command {
  return cmd
    .option("--index <dir>", "retriever: index directory searched in process")
    .option("--retriever-url <url>", "retriever: a running `research serve retriever` (or FlashRAG / Search-R1 server)")
    .option("--retriever-api <api>", "wire API of --retriever-url: research | search-r1", "research")
    .option("--top-n <n>", "passages per query", String(ROLLOUT_DEFAULTS.topN))
    .option("--retriever-timeout <s>", "--retriever-url: deadline per attempt, seconds", "30")
    .option("--retriever-retries <n>", "--retriever-url: retries after a 5xx, timeout or malformed answer", "4");
}

/** The loop's knobs: template, sampling, budgets, seed, batch size. */
export function addRolloutOptions(cmd: Command, defaults: { temperature?: string } = {}): Command {
  return cmd
    .option("--template <name>", "prompt template: research | research-instruct | searchr1 | searchr1-instruct")
    .option("--temperature <t>", "sampling temperature (0 = greedy)", defaults.temperature ?? ROLLOUT_DEFAULTS.temperature.toFixed(1))
    .option("--top-p <p>", "nucleus sampling")
    .option("--max-response-tokens <n>", "response budget (policy + tool tokens)", String(ROLLOUT_DEFAULTS.maxResponseTokens))
    .option("--max-prompt-tokens <n>", "longest prompt", String(ROLLOUT_DEFAULTS.maxPromptTokens))
    .option("--max-searches <n>", "cap on searches per rollout (default: none)")
    .option("--seed <n>", "sampling seed", "0")
    .option("--batch-size <n>", "rollouts in flight at once", String(ROLLOUT_DEFAULTS.batchSize))
    .option("--schedule <s>", "rounds (lock-step, reproducible) | async (continue as each search returns)", "rounds");
}

type Flags = Record<string, unknown>;

export function backendConfigFromFlags(f: Flags): BackendConfig {
  return {
    model: f.model as string | undefined,
    baseUrls: (f.baseUrl as string[] | undefined) ?? [],
    modelName: f.modelName as string | undefined,
    chat: Boolean(f.chat),
    eosToken: f.eosToken as string | undefined,
    concurrency: f.concurrency as number | undefined,
    retries: f.retries as number | undefined,
    timeoutS: f.timeout as number | undefined,
    maxBatch: f.maxBatch as number | undefined,
    cpu: Boolean(f.cpu),
    threads: f.threads as number | undefined,
    tokenizer: f.tokenizer as string | undefined,
    tokenIds: Boolean(f.tokenIds),
  };
}

export function retrieverConfigFromFlags(f: Flags): RetrieverConfig {
  return {
    index: f.index as string | undefined,
    retrieverUrl: f.retrieverUrl as string | undefined,
    retrieverApi: f.retrieverApi as "research" | "search-r1" | undefined,
    topN: f.topN as number | undefined,
    retrieverTimeoutS: f.retrieverTimeout as number | undefined,
    retrieverRetries: f.retrieverRetries as number | undefined,
  };
}

export function rolloutConfigFromFlags(f: Flags): z.output<typeof RolloutConfigSchema> {
  return parseConfig(RolloutConfigSchema, {
    template: (f.template as string | undefined) ?? (f.chat ? "research-instruct" : undefined),
    temperature: f.temperature,
    topP: f.topP,
    maxResponseTokens: f.maxResponseTokens,
    maxPromptTokens: f.maxPromptTokens,
    maxSearches: f.maxSearches,
    seed: f.seed,
    batchSize: f.batchSize,
    schedule: f.schedule,
  });
}

/** Open the retriever a config names: exactly one of `--index DIR` and `--retriever-url URL`. */
export async function openRetrieverFromConfig(input: RetrieverConfig): Promise<Retriever> {
  const cfg = parseConfig(RetrieverConfigSchema, input);
  if (Boolean(cfg.index) === Boolean(cfg.retrieverUrl)) throw new UserError("give exactly one retriever: --index DIR or --retriever-url URL");
  const { openRetriever } = await import("../../retrieval/index.js");
  return openRetriever(
    cfg.index ? { index: cfg.index } : { url: cfg.retrieverUrl, api: cfg.retrieverApi, timeoutMs: cfg.retrieverTimeoutS * 1000, retries: cfg.retrieverRetries },
  );
}
