/** @module cli/commands/serve-mcp — `research serve mcp`: the retriever as an MCP server (stdio, or streamable HTTP with --port). */
import type { Command } from "commander";
import { getOrCreateGroup } from "../group.js";
import { intOption } from "../options.js";

interface McpFlags {
  index?: string;
  retrieverUrl?: string;
  api: string;
  mode?: string;
  port?: number;
  host: string;
  topN: number;
  maxTopN: number;
}

export function register(program: Command): void {
  getOrCreateGroup(program, "serve", "Serve a retriever or a model over HTTP")
    .command("mcp")
    .description(
      "Serve an index (or a retriever server) as a Model Context Protocol server with one tool, `search` {query, top_n?}: " +
        "over stdio by default (an MCP client spawns this command), over streamable HTTP at /mcp with --port",
    )
    .option("--index <dir>", "index directory built by `research index build`")
    .option("--retriever-url <url>", "a retriever server instead of an index (ours, FlashRAG/ReSearch or Search-R1)")
    .option("--api <api>", "wire API of --retriever-url: research | search-r1", "research")
    .option("--mode <mode>", "bm25 | dense | hybrid (default: the index's best)")
    .option("--port <n>", "serve streamable HTTP on this port instead of stdio (0 = any free port)", intOption("--port", 0, 65535))
    .option("--host <addr>", "interface for --port", "127.0.0.1")
    .option("--top-n <n>", "passages when the call gives no top_n", intOption("--top-n", 1, 1000), 3)
    .option("--max-top-n <n>", "largest top_n a call may ask for", intOption("--max-top-n", 1, 1000), 50)
    .action(async (o: McpFlags) => {
      const { UserError } = await import("../../util/errors.js");
      if (!o.index === !o.retrieverUrl) throw new UserError("give exactly one of --index <dir> or --retriever-url <url>");
      if (o.mode && !["bm25", "dense", "hybrid"].includes(o.mode)) throw new UserError(`--mode: expected bm25, dense or hybrid, got ${o.mode}`);
      if (!["research", "search-r1"].includes(o.api)) throw new UserError(`--api: expected research or search-r1, got ${o.api}`);
      if (o.topN > o.maxTopN) throw new UserError(`--top-n: ${o.topN} exceeds --max-top-n ${o.maxTopN}`);
      const { openRetriever } = await import("../../retrieval/index.js");
      const retriever = await openRetriever({ index: o.index, url: o.retrieverUrl, api: o.api as "research", mode: o.mode as "bm25" | undefined });
      const opts = { defaultTopN: o.topN, maxTopN: o.maxTopN };
      const mcp = await import("../../retrieval/mcp.js");
      // stdout carries the protocol on stdio: every message of ours goes to stderr.
      if (o.port === undefined) {
        const server = await mcp.serveMcpStdio(retriever, opts);
        process.stderr.write(`research MCP server on stdio (${o.index ?? o.retrieverUrl})\n`);
        const stop = () => void server.close().then(() => retriever.close?.()).then(() => process.exit(0));
        process.stdin.once("end", stop);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        return;
      }
      const s = await mcp.serveMcpHttp(retriever, { ...opts, port: o.port, host: o.host });
      process.stderr.write(`research MCP server on ${s.url} (${o.index ?? o.retrieverUrl})\n`);
      const stop = () => void s.close().then(() => retriever.close?.()).then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
