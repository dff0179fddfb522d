/**
 * @module cli/commands/eval — `research eval` (a method over a QA dataset into a resumable run directory) and
 * `research eval table DIR…` (the paper's Table 2 from run directories).
 */
import type { Command } from "commander";
import { addBackendOptions, addRetrieverOptions, addRolloutOptions } from "../../rollout/backends/index.js";

export function register(program: Command): void {
  const evalCmd = program
    .command("eval")
    .description("Evaluate a policy with a method (naive-gen, naive-rag, iter-retgen, ircot, research) on a QA dataset; `eval table` prints Table 2")
    // `eval`'s own options stop at the `table` subcommand, so `eval table --csv` is the subcommand's flag.
    .enablePositionalOptions()
    .option("--dataset <file>", "QA dataset (FlashRAG JSONL or any file in shared/data; see `research data inspect`)")
    .option("--method <name>", "naive-gen | naive-rag | iter-retgen | ircot | research")
    .option("--out <dir>", "run directory: predictions.jsonl, summary.json, run.json (a rerun resumes)")
    .option("--limit <n>", "evaluate only the first N questions (a stable subset)")
    .option("--dataset-name <name>", "dataset name in the summary and the table (default: the file name)")
    .option("--label <text>", "model label for the table's row group (e.g. Qwen2.5-7B-Instruct)")
    .option("--max-tokens <n>", "baselines: new tokens per generation (FlashRAG default 32)", "32")
    .option("--judge-base-url <url>", "LLM judge: OpenAI-compatible base URL ending in /v1 (key from OPENAI_API_KEY)")
    .option("--judge-model <name>", "LLM judge: model name (the paper used gpt-4o-mini)")
    .option("--judge-attempts <n>", "LLM judge: requests per item before it counts as an error", "3")
    .option("--retry-errors", "rerun items whose rollout ended in error and re-judge judge errors")
    .option("--quiet", "no progress bar");
  addBackendOptions(evalCmd);
  addRetrieverOptions(evalCmd);
  addRolloutOptions(evalCmd);
  // Evaluation decodes greedily unless asked otherwise (the rollout commands sample at 1.0).
  evalCmd.options.find((o) => o.long === "--temperature")?.default("0");
  evalCmd.setOptionValueWithSource("temperature", "0", "default");
  evalCmd.addHelpText(
    "after",
    `
--concurrency K is also the number of questions evaluated at once.
Examples:
  research eval --dataset ../shared/data/eval/r1searcher_bamboogle.jsonl --method naive-rag \\
    --base-url http://localhost:8000/v1 --model-name Qwen2.5-7B-Instruct --chat --index idx --out runs/rag-bamboogle
  research eval --dataset data.jsonl --method research --model ckpt/ --index idx --out runs/research --limit 100 \\
    --judge-base-url https://api.openai.com/v1 --judge-model gpt-4o-mini
  research eval table runs/ --csv`,
  );
  evalCmd.action(async (flags: Record<string, unknown>) => {
    const { runEvalCommand } = await import("../../eval/cli.js");
    await runEvalCommand(flags);
  });

  evalCmd
    .command("table")
    .description("Print a methods × datasets table (EM and LLM-judge, %) in the layout of the paper's Table 2")
    .argument("<dirs...>", "run directories, or folders holding run directories")
    .option("--csv", "print CSV instead of markdown")
    .option("--metrics <list>", "comma-separated metrics per dataset: em, f1, acc, lj", "em,lj")
    .option("--digits <n>", "decimals", "1")
    .action(async (dirs: string[], flags: { csv?: boolean; metrics: string; digits: string }) => {
      const { runTableCommand } = await import("../../eval/cli.js");
      process.stdout.write(runTableCommand(dirs, flags));
    });
}
