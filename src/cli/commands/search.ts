/** @module cli/commands/search — `research search`: query an index directory or a retriever server. */
import type { Command } from "commander";
import { intOption } from "../options.js";

export function register(program: Command): void {
  program
    .command("search")
    .description("Search an index (or a retriever server) and print the top passages")
    .argument("<query...>", "query text (any text is valid; words are OR-ed and ranked by BM25)")
    .option("--index <dir>", "index directory built by `research index build`")
    .option("--url <url>", "a retriever server instead of --index (ours, FlashRAG/ReSearch or Search-R1)")
    .option("--api <api>", "wire API of --url: research | search-r1", "research")
    .option("--mode <mode>", "bm25 | dense | hybrid (default: the index's best)")
    .option("--top-k <n>", "passages to return", intOption("--top-k", 1, 1000), 5)
    .option("--json", "print JSON lines {rank, id, score, contents}")
    .action(async (words: string[], o: { index?: string; url?: string; api: string; mode?: string; topK: number; json?: boolean }) => {
      const { UserError } = await import("../../util/errors.js");
      if (!o.index && !o.url) throw new UserError("give --index DIR or --url URL");
      if (o.mode && !["bm25", "dense", "hybrid"].includes(o.mode)) throw new UserError(`--mode: expected bm25, dense or hybrid, got ${o.mode}`);
      if (!["research", "search-r1"].includes(o.api)) throw new UserError(`--api: expected research or search-r1, got ${o.api}`);
      const { openRetriever } = await import("../../retrieval/index.js");
      const { parseContents } = await import("../../retrieval/corpus.js");
      const r = await openRetriever({ index: o.index, url: o.url, api: o.api as "research", mode: o.mode as "bm25" | undefined });
      try {
        const [hits] = await r.search([words.join(" ")], o.topK);
        hits.forEach((h, i) => {
          if (o.json) process.stdout.write(JSON.stringify({ rank: i + 1, id: h.id, score: h.score, contents: h.contents }) + "\n");
          else {
            const { title, text } = parseContents(h.contents);
            process.stdout.write(`${i + 1}. [${h.id}] ${title}  (score ${h.score.toFixed(3)})\n   ${text.replace(/\s+/g, " ").slice(0, 240)}\n`);
          }
        });
        if (!hits.length && !o.json) process.stdout.write("no passage shares a word with the query\n");
      } finally {
        await r.close?.();
      }
    });
}
