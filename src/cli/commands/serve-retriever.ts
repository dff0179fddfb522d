/** @module cli/commands/serve-retriever — `research serve retriever`: the index over HTTP in every retriever dialect we know (README table). */
import type { Command } from "commander";
import { getOrCreateGroup } from "../group.js";
import { intOption } from "../options.js";

export function register(program: Command): void {
  getOrCreateGroup(program, "serve", "Serve a retriever or a model over HTTP")
    .command("retriever")
    .description(
      "Serve an index: POST /search, /batch_search (ReSearch/FlashRAG), POST /retrieve {queries} (Search-R1, SkyRL-gym) " +
        "or {query, top_k} (rLLM), POST /queries (R1-Searcher), GET /health",
    )
    .requiredOption("--index <dir>", "index directory built by `research index build`")
    .option("--port <n>", "TCP port", intOption("--port", 0, 65535), 8000)
    .option("--host <addr>", "interface to listen on", "127.0.0.1")
    .option("--workers <n>", "search threads (default: number of cores)", intOption("--workers", 1, 256))
    .option("--max-queue <n>", "requests waiting for a worker before 503 (>= 256)", intOption("--max-queue", 256, 1_000_000), 1024)
    .option("--mode <mode>", "bm25 | dense | hybrid (default: the index's best)")
    .action(async (o: { index: string; port: number; host: string; workers?: number; maxQueue: number; mode?: string }) => {
      const { UserError } = await import("../../util/errors.js");
      if (o.mode && !["bm25", "dense", "hybrid"].includes(o.mode)) throw new UserError(`--mode: expected bm25, dense or hybrid, got ${o.mode}`);
      const { startRetrieverServer } = await import("../../retrieval/server.js");
      const s = await startRetrieverServer({ index: o.index, port: o.port, host: o.host, workers: o.workers, maxQueue: o.maxQueue, mode: o.mode as "bm25" | undefined });
      process.stderr.write(`retriever on ${s.url} (${s.pool.size} workers, ${s.pool.meta.numPassages} passages)\n`);
      const stop = async () => {
        await s.close();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
