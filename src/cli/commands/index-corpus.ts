/** @module cli/commands/index-corpus — `research index build` and `research index corpus-from-qa`. */
import type { Command } from "commander";
import { intOption, numberOption } from "../options.js";

interface IndexBuildFlags {
  corpus: string;
  out: string;
  kind: string;
  dense?: boolean;
  embedder: string;
  k1: number;
  b: number;
  skipBad?: boolean;
  overwrite?: boolean;
  quiet?: boolean;
  ann?: boolean;
  annQuantization: string;
  annConnectivity: number;
  annEfConstruction: number;
  annEfSearch: number;
  annChunk: number;
  annThreads: number;
  annRescore: number;
}

export function register(program: Command): void {
  const index = program.command("index").description("Build retrieval indexes and corpora");

  index
    .command("build")
    .description(
      "Index a corpus for BM25, dense or hybrid search: FlashRAG {id, contents} / {id, title, text} records as JSONL, a JSON array or parquet, " +
        "DPR psgs_w100.tsv (id, text, title), or a HippoRAG {title: [sentences]} dict; .gz/.zst compressed too (detected from the bytes)",
    )
    .requiredOption("--corpus <file>", "corpus file (any of the formats above)")
    .requiredOption("--out <dir>", "index directory to create")
    .option("--kind <kind>", "bm25 | dense | hybrid (dense and hybrid also embed every passage)", "bm25")
    .option("--dense", "same as --kind dense")
    .option("--embedder <name>", "dense embedder: use-lite (built in, no download) or onnx:<model dir>", "use-lite")
    .option("--ann", "also build the approximate (HNSW, usearch) dense index; resumes after a kill when rerun")
    .option("--ann-quantization <q>", "ANN vector storage: f32 | f16 | i8", "f16")
    .option("--ann-connectivity <n>", "HNSW M (neighbours per node)", intOption("--ann-connectivity", 4, 256), 16)
    .option("--ann-ef-construction <n>", "HNSW efConstruction", intOption("--ann-ef-construction", 8, 4096), 128)
    .option("--ann-ef-search <n>", "HNSW ef at search time (stored in ann.json)", intOption("--ann-ef-search", 8, 4096), 256)
    .option("--ann-rescore <n>", "search ranks rescore × k graph candidates by the exact vectors (1 = off; stored in ann.json)", intOption("--ann-rescore", 1, 100), 4)
    .option("--ann-chunk <n>", "vectors added between checkpoints", intOption("--ann-chunk", 1), 50_000)
    .option("--ann-threads <n>", "ANN build threads (0 = all cores)", intOption("--ann-threads", 0, 1024), 0)
    .option("--k1 <x>", "BM25 k1", numberOption("--k1", 0), 0.9)
    .option("--b <x>", "BM25 b", numberOption("--b", 0, 1), 0.4)
    .option("--skip-bad", "skip malformed lines and duplicate ids (counted) instead of failing")
    .option("--overwrite", "replace an existing index at --out")
    .option("--quiet", "no progress bar")
    .action(async (o: IndexBuildFlags) => {
      const { UserError } = await import("../../util/errors.js");
      if (o.dense) {
        if (o.kind !== "bm25" && o.kind !== "dense") throw new UserError(`--dense: conflicts with --kind ${o.kind}`);
        o.kind = "dense";
      }
      if (!["f32", "f16", "i8"].includes(o.annQuantization)) throw new UserError(`--ann-quantization: expected f32, f16 or i8, got ${o.annQuantization}`);
      if (!["bm25", "dense", "hybrid"].includes(o.kind)) throw new UserError(`--kind: expected bm25, dense or hybrid, got ${o.kind}`);
      const { buildIndex } = await import("../../retrieval/index.js");
      const stats = await buildIndex({
        corpus: o.corpus,
        out: o.out,
        kind: o.kind as "bm25" | "dense" | "hybrid",
        embedder: o.embedder,
        bm25: { k1: o.k1, b: o.b },
        skipBad: o.skipBad,
        overwrite: o.overwrite,
        quiet: o.quiet,
        ann: o.ann
          ? {
              quantization: o.annQuantization as "f16",
              connectivity: o.annConnectivity,
              expansionAdd: o.annEfConstruction,
              expansionSearch: o.annEfSearch,
              rescore: o.annRescore,
              chunk: o.annChunk,
              threads: o.annThreads,
            }
          : undefined,
        onSkip: (_line, reason, where) => process.stderr.write(`skipped ${where}: ${reason}\n`),
      });
      process.stdout.write(
        `indexed ${stats.passages} passages (${stats.skipped} skipped) into ${o.out}: ${stats.terms} terms, ` +
          `${stats.postings} postings, ${(stats.bytes / 1e6).toFixed(1)} MB, ${stats.seconds.toFixed(1)} s ` +
          `(${Math.round(stats.passagesPerSecond)} passages/s)\n`,
      );
      if (stats.ann) {
        const a = stats.ann;
        process.stdout.write(
          `ANN (${a.meta.params.quantization}, M ${a.meta.params.connectivity}): ${a.meta.numDocs} vectors` +
            `${a.resumedAt ? `, resumed at ${a.resumedAt}` : ""}, ${(a.meta.bytes / 1e6).toFixed(1)} MB, ${a.meta.buildSeconds.toFixed(1)} s in all\n`,
        );
      }
    });

  index
    .command("corpus-from-qa")
    .description("Make a FlashRAG corpus from QA files that carry paragraphs (HotpotQA distractor context, R1-Searcher rollouts)")
    .requiredOption("--input <files...>", "QA files, any container (JSONL, JSON array, parquet; .gz/.zst): HotpotQA rows with `context`, or rollouts with `gen_text_store`")
    .requiredOption("--out <file>", "corpus JSONL to write")
    .action(async (o: { input: string[]; out: string }) => {
      const { corpusFromQa } = await import("../../retrieval/corpus-from-qa.js");
      const s = await corpusFromQa({ inputs: o.input, out: o.out });
      for (const f of s.files) process.stdout.write(`${f.path}: ${f.rows} rows, ${f.paragraphs} paragraphs\n`);
      process.stdout.write(`wrote ${s.passages} passages to ${o.out} (${s.duplicates} duplicates merged)\n`);
    });
}
