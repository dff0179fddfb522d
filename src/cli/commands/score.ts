/** @module cli/commands/score — `research score`: FlashRAG em / f1 / acc of predictions against gold answers. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("score")
    .description("compute em / f1 / acc (FlashRAG) of predictions in a JSONL or JSON file")
    .requiredOption("-i, --input <file>", 'JSONL or JSON array of {"golden_answers": [...], "pred": "..."} (or FlashRAG saved results with output.pred)')
    .option("--per-item <out.jsonl>", "also write each item's {index, id?, em, f1, acc} (atomically)")
    .option("--pred-field <path>", "dotted path of the prediction (default: pred, else output.pred)")
    .option("--gold-field <path>", "dotted path of the gold answers", "golden_answers")
    .addHelpText(
      "after",
      `\nPrints {"n", "em", "f1", "acc"} as one JSON line. Normalization is SQuAD's (lowercase, no punctuation, no a/an/the).\n
Examples:
  research score --input preds.jsonl --per-item scores.jsonl
  research score --input ../shared/data/rollouts/r1searcher_bamboogle_qwen.jsonl --pred-field pred_ans --gold-field answer`,
    )
    .action(async (opts: { input: string; perItem?: string; predField?: string; goldField: string }) => {
      const { readRecords } = await import("../../data/qa.js");
      const { openJsonlWriter } = await import("../../data/jsonl-writer.js");
      const { ScoreAccumulator, scoreItem } = await import("../../reward/metrics.js");
      const { ScoreOptionsSchema, toScoreRecord } = await import("../../reward/io.js");
      const { UserError } = await import("../../util/errors.js");
      const scoreOpts = ScoreOptionsSchema.parse({ predField: opts.predField, goldField: opts.goldField });
      const totals = new ScoreAccumulator();
      const perItem = opts.perItem ? openJsonlWriter(opts.perItem) : undefined;
      try {
        for await (const { value, index, line } of readRecords(opts.input)) {
          const rec = toScoreRecord(value, { file: opts.input, index, line }, scoreOpts);
          const s = scoreItem(rec.pred, rec.golds);
          totals.add(s);
          perItem?.write(rec.id === undefined ? { index, ...s } : { index, id: rec.id, ...s });
        }
        const result = totals.result();
        if (result.n === 0) throw new UserError(`${opts.input}: no items to score`);
        perItem?.close();
        process.stdout.write(JSON.stringify(result) + "\n");
      } finally {
        perItem?.abort();
      }
    });
}
