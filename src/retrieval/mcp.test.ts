import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildIndex, openRetriever } from "./index.js";
import { startRetrieverServer, type RetrieverServer } from "./server.js";
import type { Retriever } from "./types.js";

const BIN = join(import.meta.dirname, "../../bin/research.js");
const tmp = mkdtempSync(join(tmpdir(), "mcp-"));
const index = join(tmp, "ix");
let local: Retriever;
let remote: RetrieverServer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  const corpus = join(tmp, "corpus.jsonl");
  const rows = [
    ["Kalder Falls", "Kalder Falls is a city in North Kalder. It was founded in 1820."],
    ["North Kalder", "North Kalder is a country. Its capital is Kalder Falls."],
    ["Kalder Works", "Kalder Works is a company headquartered in Kalder Falls, founded by Mira Osk."],
    ["Mira Osk", "Mira Osk was born in Vell Bay in 1950. She founded Kalder Works."],
    ["Vell Bay", "Vell Bay is a city in Upper Vell."],
  ];
  writeFileSync(corpus, rows.map(([t, x], i) => JSON.stringify({ id: `d${i}`, title: t, text: x })).join("\n") + "\n");
  await buildIndex({ corpus, out: index, quiet: true });
  local = await openRetriever({ index });
  remote = await startRetrieverServer({ index, port: 0, workers: 1 });
}, 60_000);
afterAll(async () => {
  for (const c of children) c.kill("SIGTERM");
  await local?.close?.();
  await remote?.close();
  rmSync(tmp, { recursive: true, force: true });
});

interface SearchResult {
  content: { type: string; text: string }[];
  structuredContent?: { results: { id: string; contents: string; score: number }[] };
  isError?: boolean;
}

/** list tools, call search, compare with what the index itself returns; bad arguments name the field. */
async function exercise(client: Client) {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual(["search"]);
  expect(tools[0].inputSchema.properties).toHaveProperty("query");
  expect(tools[0].inputSchema.properties).toHaveProperty("top_n");
  expect(tools[0].inputSchema.required).toEqual(["query"]);
  for (const [query, topN] of [["who founded Kalder Works", 2], ["capital of North Kalder", undefined], ["Vell Bay city", 5]] as const) {
    const r = (await client.callTool({ name: "search", arguments: topN === undefined ? { query } : { query, top_n: topN } })) as SearchResult;
    const [want] = await local.search([query], topN ?? 3);
    expect(r.isError).toBeFalsy();
    expect(r.content.map((c) => c.text)).toEqual(want.map((h) => h.contents));
    expect(r.structuredContent!.results.map((h) => h.id)).toEqual(want.map((h) => h.id));
    r.structuredContent!.results.forEach((h, i) => expect(h.score).toBeCloseTo(want[i].score, 6));
  }
  for (const [args, field] of [[{ query: "x", top_n: 0 }, "top_n"], [{ query: "x", top_n: 2.5 }, "top_n"], [{ top_n: 2 }, "query"], [{ query: 7 }, "query"], [{ query: "x", k: 3 }, "k"]] as const) {
    const r = (await client.callTool({ name: "search", arguments: args })) as SearchResult;
    expect(r.isError).toBe(true);
    expect(r.content[0].text).toMatch(/Input validation error/);
    expect(r.content[0].text).toContain(field);
  }
}

describe("research serve mcp (official MCP SDK client)", () => {
  test("stdio: the client spawns `research serve mcp --index DIR`", async () => {
    const client = new Client({ name: "test", version: "1.0.0" });
    const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, "serve", "mcp", "--index", index], stderr: "pipe" });
    await client.connect(transport);
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  }, 60_000);

  test("streamable HTTP with --port, over a remote retriever (--retriever-url)", async () => {
    const child = spawn(process.execPath, [BIN, "serve", "mcp", "--retriever-url", remote.url, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
    children.push(child);
    const url = await new Promise<string>((resolve, reject) => {
      let err = "";
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        const m = /MCP server on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(err);
        if (m) resolve(m[1]);
      });
      child.once("exit", (code) => reject(new Error(`serve mcp exited ${code}: ${err}`)));
    });
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
    const res = await fetch(url.replace("/mcp", "/other"), { method: "POST", body: "{}" });
    expect(res.status).toBe(404);
  }, 60_000);

  test("bad command lines: neither or both of --index and --retriever-url", async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const c = spawn(process.execPath, [BIN, "serve", "mcp", ...args], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        c.stderr.on("data", (d: Buffer) => (err += d.toString()));
        c.once("exit", (code) => resolve({ code, err }));
      });
    const a = await run([]);
    expect(a.code).toBe(1);
    expect(a.err).toContain("give exactly one of --index <dir> or --retriever-url <url>");
    const b = await run(["--index", index, "--top-n", "60"]);
    expect(b.code).toBe(1);
    expect(b.err).toContain("--top-n: 60 exceeds --max-top-n 50");
  }, 60_000);
});
