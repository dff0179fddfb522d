/** @module cli/commands/data — `research data inspect|convert`: QA datasets in any supported format. */
import type { Command } from "commander";
import { intOption } from "../options.js";
import { getOrCreateGroup } from "../group.js";

const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + "…" : s);

export function register(program: Command): void {
  const data = getOrCreateGroup(program, "data", "inspect and convert QA datasets (FlashRAG, R1-Searcher, MuSiQue, HotpotQA, 2Wiki, verl, …)");

  data
    .command("inspect")
    .description("print a QA file's row count, detected format and first examples")
    .argument("<file>", "JSONL or JSON QA file")
    .option("-n, --examples <n>", "how many examples to show", intOption("--examples", 0), 3)
    .option("--json", "print one JSON object (examples include their metadata)")
    .addHelpText("after", "\nExample:\n  research data inspect ../shared/data/eval/musique_dev.json")
    .action(async (file: string, opts: { examples: number; json?: boolean }) => {
      const { inspectQA } = await import("../../data/qa.js");
      const s = await inspectQA(file, opts.examples);
      if (opts.json) {
        process.stdout.write(JSON.stringify(s) + "\n");
        return;
      }
      const lines = [`file:   ${s.path}`, `format: ${s.format ?? "(no records)"} (${s.container})`, `rows:   ${s.rows}`];
      s.examples.forEach((ex, i) => {
        lines.push(`example ${i + 1}:`, `  id:             ${ex.id}`, `  question:       ${clip(ex.question, 160)}`);
        lines.push(`  golden_answers: ${clip(JSON.stringify(ex.golden_answers), 160)}`);
        if (ex.metadata) lines.push(`  metadata:       ${Object.keys(ex.metadata).join(", ")}`);
      });
      process.stdout.write(lines.join("\n") + "\n");
    });

  data
    .command("convert")
    .description("convert a QA file of any supported format to FlashRAG JSONL {id, question, golden_answers, metadata}")
    .argument("<file>", "JSONL or JSON QA file")
    .requiredOption("-o, --out <out.jsonl>", "output JSONL (written atomically)")
    .option("--limit <n>", "convert at most n examples", intOption("--limit", 0))
    .option("--no-metadata", "drop metadata (context, decompositions, …)")
    .addHelpText("after", "\nExample:\n  research data convert ../shared/data/eval/musique_dev.json --out data/musique_dev.jsonl")
    .action(async (file: string, opts: { out: string; limit?: number; metadata: boolean }) => {
      const { loadQA } = await import("../../data/qa.js");
      const { openJsonlWriter } = await import("../../data/jsonl-writer.js");
      const w = openJsonlWriter(opts.out);
      let rows = 0;
      let format = "";
      try {
        for await (const ex of loadQA(file, { limit: opts.limit, onDetect: (d) => (format = d.format) })) {
          w.write(opts.metadata || ex.metadata === undefined ? ex : { id: ex.id, question: ex.question, golden_answers: ex.golden_answers });
          rows++;
        }
        w.close();
      } finally {
        w.abort();
      }
      process.stderr.write(`wrote ${rows} examples (${format || "empty"}) to ${opts.out}\n`);
    });
}
