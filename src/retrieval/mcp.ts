/**
 * @module retrieval/mcp — the retriever as a Model Context Protocol server (official @modelcontextprotocol/sdk):
 * one tool, `search` `{query: string, top_n?: integer}`, answering with the passages as text (one text block per
 * passage, its FlashRAG `contents`: title line, then text) and as structured content `{results: [{id, contents,
 * score}]}`. Over stdio (the default: an MCP client spawns `research serve mcp`) or streamable HTTP at `/mcp`
 * (stateless: every POST is a fresh server over the same retriever).
 *
 * Bad arguments are rejected by the SDK's schema check before the search runs; the client gets an error result
 * (`isError: true`) whose text names the field, e.g. `Input validation error: … "path": ["top_n"] …`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import { UserError } from "../util/errors.js";
import type { Retriever } from "./types.js";

export interface McpOptions {
  /** Passages returned when the call gives no top_n (default 3, as ReSearch's rollouts). */
  defaultTopN?: number;
  /** Largest top_n accepted (default 50). */
  maxTopN?: number;
  /** Server name reported to clients. */
  name?: string;
}

const VERSION = "0.1.0";

/** An MCP server exposing `search` over `retriever` (the caller connects a transport). */
export function createMcpServer(retriever: Retriever, opts: McpOptions = {}): McpServer {
  const defaultTopN = opts.defaultTopN ?? 3;
  const maxTopN = opts.maxTopN ?? 50;
  const server = new McpServer({ name: opts.name ?? "research-retriever", version: VERSION });
  server.registerTool(
    "search",
    {
      title: "Search the corpus",
      description:
        `Search the document index and return the best-matching passages (first line: the title). ` +
        `top_n passages are returned (default ${defaultTopN}, at most ${maxTopN}).`,
      inputSchema: z
        .object({
          query: z.string().min(1, "query: must not be empty").describe("what to search for"),
          top_n: z.number().int("top_n: must be an integer").min(1, "top_n: must be ≥ 1").max(maxTopN, `top_n: must be ≤ ${maxTopN}`).optional()
            .describe(`number of passages (default ${defaultTopN})`),
        })
        .strict(),
      outputSchema: {
        results: z.array(z.object({ id: z.string(), contents: z.string(), score: z.number() })),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ query, top_n }) => {
      const [hits] = await retriever.search([query], top_n ?? defaultTopN);
      const results = hits.map((h) => ({ id: h.id, contents: h.contents, score: h.score }));
      return {
        content: results.length
          ? results.map((r) => ({ type: "text" as const, text: r.contents }))
          : [{ type: "text" as const, text: "no passages found" }],
        structuredContent: { results },
      };
    },
  );
  return server;
}

/** Serve over stdin/stdout until the client closes the pipe. */
export async function serveMcpStdio(retriever: Retriever, opts: McpOptions = {}): Promise<McpServer> {
  const server = createMcpServer(retriever, opts);
  await server.connect(new StdioServerTransport());
  return server;
}

export interface McpHttpServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

const readJson = (req: IncomingMessage) =>
  new Promise<unknown>((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) {
        reject(new UserError("body: larger than 1 MiB"));
        req.destroy();
      } else parts.push(c);
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString("utf8")));
      } catch {
        reject(new UserError("body: invalid JSON"));
      }
    });
    req.on("error", reject);
  });

const jsonRpcError = (res: ServerResponse, status: number, message: string) => {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
};

/** Streamable HTTP at `http://host:port/mcp` (stateless; bound to 127.0.0.1 unless `host` says otherwise). */
export async function serveMcpHttp(retriever: Retriever, opts: McpOptions & { port?: number; host?: string } = {}): Promise<McpHttpServer> {
  const host = opts.host ?? "127.0.0.1";
  const http = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/mcp") return jsonRpcError(res, 404, `no route ${req.method} ${path}; the MCP endpoint is POST /mcp`);
    if (req.method !== "POST") return jsonRpcError(res, 405, `${req.method} /mcp: this server is stateless, use POST`);
    void (async () => {
      let body: unknown;
      try {
        body = await readJson(req);
      } catch (e) {
        return jsonRpcError(res, 400, (e as Error).message);
      }
      const server = createMcpServer(retriever, opts);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on("close", () => {
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
        await transport.handleRequest(req, res, body);
      } catch (e) {
        if (!res.headersSent) jsonRpcError(res, 500, `internal error: ${(e as Error).message}`);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", (e) => reject(new UserError(`cannot listen on ${host}:${opts.port ?? 8000}: ${e.message}`)));
    http.listen(opts.port ?? 8000, host, () => resolve());
  });
  const addr = http.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  const shown = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  return {
    url: `http://${shown}:${port}/mcp`,
    server: http,
    close: () => new Promise<void>((resolve) => { http.closeAllConnections(); http.close(() => resolve()); }),
  };
}
