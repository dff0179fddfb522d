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
    .argument("<file>", "QA file: JSONL, JSON array, TSV or parquet, optionally .gz/.zst (detected from the bytes)")
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
      const container = s.compression === "none" ? s.container : `${s.container}, ${s.compression}`;
      const lines = [`file:   ${s.path}`, `format: ${s.format ?? "(no records)"} (${container})`, `rows:   ${s.rows}`];
      s.examples.forEach((ex, i) => {
        lines.push(`example ${i + 1}:`, `  id:             ${ex.id}`, `  question:       ${clip(ex.question, 160)}`);
        lines.push(`  golden_answers: ${clip(JSON.stringify(ex.golden_answers), 160)}`);
        if (ex.metadata) lines.push(`  metadata:       ${Object.keys(ex.metadata).join(", ")}`);
      });
      process.stdout.write(lines.join("\n") + "\n");
    });

  data
    .command("convert")
    .description("convert a QA file of any supported format to FlashRAG JSONL (default) or to verl/Search-R1/ReSearch training parquet (--to verl)")
    .argument("<file>", "QA file: JSONL, JSON array, TSV or parquet, optionally .gz/.zst")
    .requiredOption("-o, --out <file>", "output file, written atomically (.jsonl for flashrag, .parquet for verl)")
    .option("--to <format>", "flashrag: JSONL {id, question, golden_answers, metadata}; verl: parquet rows {data_source, prompt, ability, reward_model, extra_info}", "flashrag")
    .option("--limit <n>", "convert at most n examples", intOption("--limit", 0))
    .option("--no-metadata", "drop metadata (context, decompositions, …)")
    .option("--split <name>", "verl: extra_info.split", "train")
    .option("--data-source <name>", "verl: data_source column", "research")
    .option("--ability <name>", "verl: ability column", "qa")
    .option("--template <name>", "verl: prompt template (src/rollout/prompts.ts)", "research")
    .option("--ground-truth <shape>", "verl: target = {target: [...]} (Search-R1), list = [...] (ReSearch's reward)", "target")
    .addHelpText(
      "after",
      "\nExamples:\n  research data convert ../shared/data/eval/musique_dev.json --out data/musique_dev.jsonl\n" +
        "  research data convert ../shared/data/train/musique_train_qa_19938.json --to verl --out data/train.parquet",
    )
    .action(async (file: string, opts: { out: string; to: string; limit?: number; metadata: boolean; split: string; dataSource: string; ability: string; template: string; groundTruth: string }) => {
      const { UserError } = await import("../../util/errors.js");
      if (opts.to !== "flashrag" && opts.to !== "verl") throw new UserError(`--to: expected flashrag or verl, got ${opts.to}`);
      const { loadQA } = await import("../../data/qa.js");
      let rows = 0;
      let format = "";
      const onDetect = (d: { format: string }) => (format = d.format);
      if (opts.to === "verl") {
        const { toVerlRow, writeVerlParquet, VerlOptionsSchema } = await import("../../data/verl.js");
        const parsed = VerlOptionsSchema.safeParse({ split: opts.split, dataSource: opts.dataSource, ability: opts.ability, template: opts.template, groundTruth: opts.groundTruth });
        if (!parsed.success) {
          const i = parsed.error.issues[0];
          const flag = { dataSource: "--data-source", groundTruth: "--ground-truth" }[String(i.path[0])] ?? `--${String(i.path[0])}`;
          throw new UserError(`${flag}: ${i.message}`);
        }
        const out = [];
        for await (const ex of loadQA(file, { limit: opts.limit, onDetect })) {
          out.push(toVerlRow(opts.metadata ? ex : { ...ex, metadata: undefined }, rows++, parsed.data));
        }
        await writeVerlParquet(opts.out, out, parsed.data.groundTruth);
      } else {
        const { openJsonlWriter } = await import("../../data/jsonl-writer.js");
        const w = openJsonlWriter(opts.out);
        try {
          for await (const ex of loadQA(file, { limit: opts.limit, onDetect })) {
            w.write(opts.metadata || ex.metadata === undefined ? ex : { id: ex.id, question: ex.question, golden_answers: ex.golden_answers });
            rows++;
          }
          w.close();
        } finally {
          w.abort();
        }
      }
      process.stderr.write(`wrote ${rows} examples (${format || "empty"}) to ${opts.out} (${opts.to})\n`);
    });
}
