/**
 * @module retrieval/client — a Retriever over HTTP for our server and for existing Python servers: the
 * ReSearch/FlashRAG API (`POST /batch_search`) or the Search-R1 API (`POST /retrieve`). One deadline per attempt
 * (connect to last byte); a bounded number of retries with exponential backoff on network errors, timeouts, 5xx,
 * 429/503 (honouring Retry-After, capped) and 2xx answers that are not JSON; other 4xx and answers of the wrong shape
 * fail at once with the server's message. After the last attempt the error names the URL and the last cause.
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { UserError } from "../util/errors.js";
import { passageFromJson } from "./corpus.js";
import type { Retriever, SearchHit } from "./types.js";

export interface ClientOptions {
  url: string;
  api?: "research" | "search-r1";
  /** Per attempt, ms. */
  timeoutMs?: number;
  /** Extra attempts after the first. */
  retries?: number;
  /** First backoff, ms (doubles each retry, with jitter). */
  backoffMs?: number;
  /** Cap on a server's Retry-After, ms (a bounded wait even if the server asks for more). */
  maxRetryAfterMs?: number;
  /** Queries per HTTP request (larger batches are split). */
  maxBatch?: number;
  /** Search mode, sent as `mode` (our server only; FlashRAG and Search-R1 servers ignore unknown fields). */
  mode?: "bm25" | "dense" | "hybrid";
}

export class RetrieverHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Worth another attempt (5xx, 429, a 2xx whose body is not JSON: a proxy or a server cut off mid-answer). */
    readonly retryable = status >= 500 || status === 429,
  ) {
    super(message);
    this.name = "RetrieverHttpError";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RawResponse {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

/**
 * POST a JSON body over node:http(s) with a keep-alive agent (several times cheaper per request than fetch,
 * which matters with dozens of concurrent rollout workers). Rejects on network errors and after `timeoutMs`.
 */
function postJson(url: URL, body: string, timeoutMs: number, agent: HttpAgent | HttpsAgent): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"], text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("connection closed mid-answer")));
      },
    );
    // One deadline for the whole exchange (connect, headers, body): a server that trickles bytes is cut off too.
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { name: "TimeoutError" })), timeoutMs);
    req.on("close", () => clearTimeout(timer));
    req.on("error", reject);
    req.end(body);
  });
}

function toHit(v: unknown, score: number, where: string): SearchHit {
  const p = passageFromJson(v);
  if (typeof p === "string") throw new RetrieverHttpError(0, `${where}: unexpected document (${p})`);
  return { ...p, score };
}

/** Parse a /batch_search answer: per-query `[docs]` / `[[docs], [scores]]`, or FlashRAG's `[[docs…], [scores…]]`. */
export function parseBatchSearch(body: unknown, n: number): SearchHit[][] {
  if (!Array.isArray(body)) throw new RetrieverHttpError(0, "batch_search: expected a JSON array");
  const isNums = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === "number");
  const isDocs = (x: unknown) => Array.isArray(x) && x.every((d) => typeof d === "object" && d !== null && !Array.isArray(d));
  // FlashRAG style: [docLists, scoreLists].
  if (body.length === 2 && n !== 2 && Array.isArray(body[0]) && Array.isArray(body[1]) && body[0].length === n && (body[1] as unknown[]).every(isNums) && (body[0] as unknown[]).every(isDocs)) {
    const [docs, scores] = body as [unknown[][], number[][]];
    return docs.map((list, i) => list.map((d, j) => toHit(d, scores[i][j], "batch_search")));
  }
  if (body.length !== n) throw new RetrieverHttpError(0, `batch_search: expected ${n} results, got ${body.length}`);
  return body.map((r: unknown) => {
    if (Array.isArray(r) && r.length === 2 && Array.isArray(r[0]) && isDocs(r[0]) && isNums(r[1])) {
      const [docs, scores] = r as [unknown[], number[]];
      return docs.map((d, j) => toHit(d, scores[j], "batch_search"));
    }
    if (!Array.isArray(r)) throw new RetrieverHttpError(0, "batch_search: expected a list per query");
    return r.map((d, j) => toHit(d, -j, "batch_search")); // no scores: keep the server's order
  });
}

/** Parse a Search-R1 /retrieve answer: `{result: [[{document, score}…]…]}` or `{result: [[doc…]…]}`. */
export function parseRetrieve(body: unknown, n: number): SearchHit[][] {
  const result = (body as { result?: unknown })?.result;
  if (!Array.isArray(result) || result.length !== n) throw new RetrieverHttpError(0, `retrieve: expected {"result": [...]} with ${n} lists`);
  return result.map((list: unknown) => {
    if (!Array.isArray(list)) throw new RetrieverHttpError(0, "retrieve: expected a list per query");
    return list.map((item: unknown, j) => {
      const o = item as { document?: unknown; score?: unknown };
      if (o && typeof o === "object" && "document" in o) return toHit(o.document, typeof o.score === "number" ? o.score : -j, "retrieve");
      return toHit(item, -j, "retrieve");
    });
  });
}

export function createRetrieverClient(opts: ClientOptions): Retriever {
  const base = opts.url.replace(/\/+$/, "");
  const api = opts.api ?? "research";
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const retries = opts.retries ?? 4;
  const backoffMs = opts.backoffMs ?? 250;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 30_000;
  const maxBatch = opts.maxBatch ?? 512;
  const agent = base.startsWith("https:") ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });

  async function post(path: string, body: unknown): Promise<unknown> {
    let lastErr: Error = new Error("no attempt");
    for (let attempt = 0; attempt <= retries; attempt++) {
      let wait = backoffMs * 2 ** attempt * (0.5 + Math.random() / 2);
      try {
        const res = await postJson(new URL(base + path), JSON.stringify(body), timeoutMs, agent);
        const text = res.text;
        if (res.status >= 200 && res.status < 300) {
          try {
            return JSON.parse(text);
          } catch {
            throw new RetrieverHttpError(res.status, `${base}${path}: answer is not JSON: ${JSON.stringify(text.slice(0, 120))}`, true);
          }
        }
        let msg = text.slice(0, 500);
        try {
          const j = JSON.parse(text) as { error?: string; detail?: unknown };
          msg = j.error ?? (typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail ?? j));
        } catch { /* plain text */ }
        const err = new RetrieverHttpError(res.status, `${base}${path}: HTTP ${res.status}: ${msg}`);
        if (!err.retryable) throw err;
        const ra = Number(res.retryAfter);
        if (Number.isFinite(ra) && ra > 0) wait = Math.max(wait, Math.min(ra * 1000, maxRetryAfterMs));
        lastErr = err;
      } catch (e) {
        if (e instanceof RetrieverHttpError && !e.retryable) throw e;
        lastErr = e instanceof RetrieverHttpError ? e : new Error(`${base}${path}: ${(e as Error).message}`);
      }
      if (attempt < retries) await sleep(wait);
    }
    throw new UserError(`retriever failed after ${retries + 1} attempts: ${lastErr.message}`);
  }

  async function searchChunk(queries: string[], topN: number): Promise<SearchHit[][]> {
    const extra = opts.mode ? { mode: opts.mode } : {};
    if (api === "search-r1") return parseRetrieve(await post("/retrieve", { queries, topk: topN, return_scores: true, ...extra }), queries.length);
    return parseBatchSearch(await post("/batch_search", { query: queries, top_n: topN, return_score: true, ...extra }), queries.length);
  }

  return {
    async close() {
      agent.destroy();
    },
    async search(queries, topN) {
      if (queries.length === 0 || topN <= 0) return queries.map(() => []);
      const parts: Promise<SearchHit[][]>[] = [];
      for (let i = 0; i < queries.length; i += maxBatch) parts.push(searchChunk(queries.slice(i, i + maxBatch), topN));
      return (await Promise.all(parts)).flat();
    },
  };
}
