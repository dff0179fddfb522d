/**
 * @module retrieval/wire — the HTTP wire formats, as zod schemas with the exact field names: ReSearch/FlashRAG
 * (`/search`, `/batch_search`), Search-R1 and SkyRL-gym (`/retrieve {queries}`), rLLM (`/retrieve {query}`) and
 * R1-Searcher (`/queries`). Bad bodies get messages that name the field.
 */
import { z } from "zod";

export const MAX_TOP_N = 1000;
export const MAX_BATCH = 10_000;

const count = (name: string) =>
  z
    .number({ error: (i) => (i.input === undefined ? `${name}: required` : `${name}: expected an integer`) })
    .int({ error: `${name}: expected an integer` })
    .min(1, { error: `${name}: must be between 1 and ${MAX_TOP_N}` })
    .max(MAX_TOP_N, { error: `${name}: must be between 1 and ${MAX_TOP_N}` });
const topN = (name: string, dflt: number) => count(name).default(dflt);
const flag = (name: string, dflt: boolean) => z.boolean({ error: `${name}: expected true or false` }).default(dflt);
const queryList = (name: string) =>
  z
    .array(z.string({ error: "expected a string" }), {
      error: (i) => (i.input === undefined ? `${name}: required` : `${name}: expected a list of strings`),
    })
    .min(1, { error: `${name}: must hold at least one query` })
    .max(MAX_BATCH, { error: `${name}: at most ${MAX_BATCH} queries per request` });

/** Extension (ours only; other servers ignore it): the search mode for this request. */
const mode = z.enum(["bm25", "dense", "hybrid"], { error: "mode: expected bm25, dense or hybrid" }).optional();

export const SearchBody = z.object({
  query: z.string({ error: (i) => (i.input === undefined ? "query: required" : "query: expected a string") }),
  top_n: topN("top_n", 10),
  return_score: flag("return_score", false),
  mode,
});
export const BatchSearchBody = z.object({
  query: queryList("query"),
  top_n: topN("top_n", 10),
  return_score: flag("return_score", false),
  mode,
});
export const RetrieveBody = z.object({
  queries: queryList("queries"),
  topk: topN("topk", 3),
  return_scores: flag("return_scores", true),
  mode,
});

/**
 * `/retrieve` with one query string: rLLM's LocalRetrievalTool sends `{query, top_k}`
 * (rllm-org/rllm examples/search/local_retrieval_tool.py); `topk`/`k` are accepted as rLLM's own server does.
 */
export const RetrieveOneBody = z
  .object({
    query: z.string({ error: "query: expected a string" }),
    topk: count("topk").optional(),
    top_k: count("top_k").optional(),
    k: count("k").optional(),
    return_scores: flag("return_scores", true),
    mode,
  })
  .transform((b) => ({ ...b, n: b.topk ?? b.top_k ?? b.k ?? 3 }));

/** R1-Searcher's wiki server (RUCAIBox/R1-Searcher train/wiki_corpus_load.py): `POST /queries {queries, k}`. */
export const QueriesBody = z.object({
  queries: queryList("queries"),
  k: topN("k", 3),
  mode,
});

/** A body parse failure as one message naming the first bad field. */
export function describeIssues(err: z.ZodError): string {
  const first = err.issues[0];
  if (!first) return "body: invalid";
  if (first.path.length === 0) return "body: expected a JSON object";
  const [head, ...rest] = first.path;
  const field = String(head) + rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  // Our messages already start with the field name; others get the path prefixed.
  return first.message.startsWith(`${String(head)}:`) ? first.message : `${field}: ${first.message}`;
}

export interface WireDoc {
  id: string;
  contents: string;
}
