/**
 * @module retrieval/server — the retriever over HTTP (fastify), a drop-in for the ReSearch/FlashRAG, Search-R1,
 * SkyRL-gym, rLLM and R1-Searcher retrieval servers (see wire.ts and the README's dialect table). Searches run on a pool of worker threads (never on the event loop); requests wait
 * in a bounded queue and get 503 + Retry-After when it is full; bodies are size-limited and validated.
 */
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { availableParallelism } from "node:os";
import { z } from "zod";
import { UserError } from "../util/errors.js";
import type { SearchMode } from "./engine.js";
import { createSearchPool, type SearchPool } from "./pool.js";
import type { SearchHit } from "./types.js";
import { parseContents } from "./corpus.js";
import { BatchSearchBody, QueriesBody, RetrieveBody, RetrieveOneBody, SearchBody, describeIssues, type WireDoc } from "./wire.js";

export const ServerConfigSchema = z.object({
  index: z.string().describe("index directory built by `research index build`"),
  port: z.number().int().min(0).max(65535).default(8000).describe("TCP port (0 = any free port); 8000 as in FlashRAG/Search-R1"),
  host: z.string().default("127.0.0.1").describe("interface to listen on (0.0.0.0 for all)"),
  workers: z.number().int().min(1).default(availableParallelism()).describe("search threads (default: all cores)"),
  maxQueue: z.number().int().min(256).default(1024).describe("requests that may wait for a worker before 503"),
  bodyLimit: z.number().int().min(1024).default(32 * 1024 * 1024).describe("largest request body, bytes"),
  retryAfterSeconds: z.number().int().min(1).default(1).describe("Retry-After sent with 503"),
  mode: z.enum(["bm25", "dense", "hybrid"]).optional().describe("search mode (default: the index's best)"),
});
export type ServerConfig = z.infer<typeof ServerConfigSchema>;

export interface RetrieverServer {
  url: string;
  app: FastifyInstance;
  pool: SearchPool;
  close(): Promise<void>;
}

const doc = (h: SearchHit): WireDoc => ({ id: h.id, contents: h.contents });

/**
 * A passage as a line of R1-Searcher's wiki corpus TSV, `id<TAB>Title: T Text: X`: its client strips a leading
 * number and whitespace (`re.sub(r'^\d+\s+', '', doc)`), so the id is sent only when it is a number.
 */
export function r1SearcherLine(h: SearchHit): string {
  const { title, text } = parseContents(h.contents);
  return `${/^\d+$/.test(h.id) ? `${h.id}\t` : ""}Title: ${title} Text: ${text.replace(/\s+/g, " ").trim()}`;
}

export async function startRetrieverServer(input: z.input<typeof ServerConfigSchema>): Promise<RetrieverServer> {
  const cfg = ServerConfigSchema.parse(input);
  const pool = await createSearchPool({ index: cfg.index, workers: cfg.workers });
  const app = Fastify({ bodyLimit: cfg.bodyLimit, logger: false });
  app.removeContentTypeParser("text/plain"); // JSON only: anything else is a 415 that says so
  let waiting = 0; // requests admitted and not yet answered

  class Overloaded extends Error {}
  /** Admit one request into the bounded queue, run it on the pool, release its slot. */
  async function run(queries: string[], topN: number, mode?: SearchMode): Promise<SearchHit[][]> {
    if (waiting >= cfg.maxQueue + pool.size) throw new Overloaded();
    waiting++;
    try {
      return await pool.search(queries, topN, mode ?? cfg.mode);
    } finally {
      waiting--;
    }
  }

  function parse<T>(schema: z.ZodType<T>, body: unknown): T {
    const r = schema.safeParse(body);
    if (!r.success) throw new UserError(describeIssues(r.error));
    return r.data;
  }

  app.setErrorHandler((err: FastifyError | Error, _req, reply) => {
    if (err instanceof Overloaded) {
      return reply.code(503).header("Retry-After", String(cfg.retryAfterSeconds)).send({ error: "overloaded: too many queued requests, retry later" });
    }
    if (err instanceof UserError) return reply.code(400).send({ error: err.message });
    const code = (err as FastifyError).code;
    if (code === "FST_ERR_CTP_INVALID_JSON_BODY" || err instanceof SyntaxError) return reply.code(400).send({ error: "body: invalid JSON" });
    if (code === "FST_ERR_CTP_EMPTY_JSON_BODY") return reply.code(400).send({ error: "body: empty (expected a JSON object)" });
    if (code === "FST_ERR_CTP_BODY_TOO_LARGE") return reply.code(413).send({ error: `body: larger than ${cfg.bodyLimit} bytes` });
    if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return reply.code(415).send({ error: "body: send Content-Type: application/json" });
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: err.message });
    return reply.code(500).send({ error: `internal error: ${err.message}` });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}; try POST /search, /batch_search, /retrieve, /queries or GET /health` }));

  app.get("/health", async () => ({
    status: "healthy",
    retrievers: { total: pool.size, available: Math.max(0, pool.size - Math.min(pool.size, pool.pending())) },
  }));

  // ReSearch / FlashRAG: one query.
  app.post("/search", async (req) => {
    const b = parse(SearchBody, req.body);
    const [hits] = await run([b.query], b.top_n, b.mode);
    return b.return_score ? [hits.map(doc), hits.map((h) => h.score)] : hits.map(doc);
  });

  // ReSearch / FlashRAG: many queries, one result (as /search returns it) per query.
  app.post("/batch_search", async (req) => {
    const b = parse(BatchSearchBody, req.body);
    const lists = await run(b.query, b.top_n, b.mode);
    return lists.map((hits) => (b.return_score ? [hits.map(doc), hits.map((h) => h.score)] : hits.map(doc)));
  });

  const method = (m?: SearchMode) => m ?? cfg.mode ?? (pool.meta.kinds.includes("hybrid") ? "hybrid" : "bm25");
  const scored = (hits: SearchHit[]) => hits.map((h) => ({ document: doc(h), score: h.score }));

  // Search-R1 / SkyRL-gym `{queries, topk, return_scores}` → {result}; rLLM `{query, top_k}` → {query, results, …}.
  // Dispatched by the body's shape: a string `query` (and no `queries`) is the single-query form.
  app.post("/retrieve", async (req) => {
    const body = req.body as Record<string, unknown> | null;
    if (body && typeof body === "object" && !("queries" in body) && typeof body.query === "string") {
      const b = parse(RetrieveOneBody, body);
      const [hits] = await run([b.query], b.n, b.mode);
      const results = scored(hits);
      // rLLM's tool reads `results[i].document.{id,contents}` and `.score`; `result` is the Search-R1 form of the same
      // list, for clients that send one query but parse Search-R1's answer.
      return { query: b.query, method: method(b.mode), results, num_results: results.length, result: [b.return_scores ? results : hits.map(doc)] };
    }
    const b = parse(RetrieveBody, body);
    const lists = await run(b.queries, b.topk, b.mode);
    return { result: lists.map((hits) => (b.return_scores ? scored(hits) : hits.map(doc))) };
  });

  // R1-Searcher: {queries, k} → {queries, answers: [[corpus line…]…]}.
  app.post("/queries", async (req) => {
    const b = parse(QueriesBody, req.body);
    const lists = await run(b.queries, b.k, b.mode);
    return { queries: b.queries, answers: lists.map((hits) => hits.map(r1SearcherLine)) };
  });

  try {
    await app.listen({ port: cfg.port, host: cfg.host });
  } catch (e) {
    await pool.close();
    throw new UserError(`cannot listen on ${cfg.host}:${cfg.port}: ${(e as Error).message}`);
  }
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : cfg.port;
  const host = cfg.host.includes(":") ? `[${cfg.host}]` : cfg.host;
  return {
    url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    app,
    pool,
    async close() {
      await app.close();
      await pool.close();
    },
  };
}
