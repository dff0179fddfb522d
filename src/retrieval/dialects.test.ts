/**
 * Each retriever dialect is sent the exact body the other project's client sends, and the answer is parsed the way
 * that client parses it (the Python lines are quoted beside each check).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SHARED_DATA } from "../util/shared.js";
import { parseContents } from "./corpus.js";
import { rolloutParagraphs } from "./corpus-from-qa.js";
import { buildIndex } from "./index.js";
import { startRetrieverServer, type RetrieverServer } from "./server.js";

let dir: string;
let server: RetrieverServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dialects-"));
  await buildIndex({ corpus: SHARED_DATA + "/corpus/wiki18_sample_1000.jsonl", out: join(dir, "ix"), quiet: true });
  server = await startRetrieverServer({ index: join(dir, "ix"), port: 0, workers: 1 });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}
type Doc = { id: string; contents: string };
/** The reference: what /batch_search answers (ReSearch/FlashRAG), with scores. */
async function reference(queries: string[], n: number): Promise<{ docs: Doc[]; scores: number[] }[]> {
  const { body } = await post("/batch_search", { query: queries, top_n: n, return_score: true });
  return (body as [Doc[], number[]][]).map(([docs, scores]) => ({ docs, scores }));
}
const Q = ["who was the president of the united states", "Delhi coronation park"];

describe("SkyRL-gym (NovaSky-AI/SkyRL skyrl-gym/skyrl_gym/tools/search.py)", () => {
  // payload = {"queries": query_list, "topk": topk, "return_scores": return_scores}; query_list = [query]
  // raw_results = api_response.get("result", []); for retrieval in raw_results: _passages2string(retrieval)
  // _passages2string: f"Doc {idx+1}: {doc_item['document']['contents'].strip()}\n"
  const passages2string = (retrieval: { document: { contents: string } }[]) => retrieval.map((d, i) => `Doc ${i + 1}: ${d.document.contents.trim()}\n`).join("");

  test("its exact body on /retrieve parses to the /batch_search results", async () => {
    const { status, body } = await post("/retrieve", { queries: [Q[0]], topk: 3, return_scores: true }, { accept: "application/json" });
    expect(status).toBe(200);
    const raw = body.result as { document: Doc; score: number }[][];
    expect(raw).toHaveLength(1);
    const [ref] = await reference([Q[0]], 3);
    expect(passages2string(raw[0])).toBe(ref.docs.map((d, i) => `Doc ${i + 1}: ${d.contents.trim()}\n`).join(""));
    expect(raw[0].map((r) => r.score)).toEqual(ref.scores);
  });

  test("the single-query form {query, topk, return_scores} answers the same `result`", async () => {
    const { status, body } = await post("/retrieve", { query: Q[1], topk: 3, return_scores: true });
    expect(status).toBe(200);
    const [ref] = await reference([Q[1]], 3);
    expect(passages2string(body.result[0])).toBe(ref.docs.map((d, i) => `Doc ${i + 1}: ${d.contents.trim()}\n`).join(""));
  });
});

describe("rLLM (rllm-org/rllm examples/search/local_retrieval_tool.py)", () => {
  // payload = {"query": query, "top_k": min(top_k, 50)}; response = self.client.post(f"{server_url}/retrieve", json=payload)
  // results = response_data.get("results", []); result.get("document", {}).get("id"), ...get("contents"), result.get("score", 0.0)
  test("its exact body on /retrieve parses to the /batch_search results", async () => {
    const { status, body } = await post("/retrieve", { query: Q[0], top_k: 5 });
    expect(status).toBe(200);
    const parsed = (body.results as { document?: Doc; score?: number }[]).map((r) => ({ id: r.document?.id ?? "", contents: r.document?.contents ?? "", score: r.score ?? 0 }));
    const [ref] = await reference([Q[0]], 5);
    expect(parsed).toEqual(ref.docs.map((d, i) => ({ ...d, score: ref.scores[i] })));
    expect(body).toMatchObject({ query: Q[0], method: "bm25", num_results: 5 });
  });
});

describe("R1-Searcher (RUCAIBox/R1-Searcher train/wiki_corpus_load.py, evaluation/eval_search_loacl.py)", () => {
  // response = requests.post(url_wiki, json={"queries": query_list, "k": topk}); answers = result["answers"]
  // doc_now = re.sub(r'^\d+\s+', '', retrieve_docs[j]); doc_content_list.append(f"({j+1}){doc_now}\n")
  test("POST /queries: its exact body; the documents it splices parse back to the /batch_search passages", async () => {
    const { status, body } = await post("/queries", { queries: Q, k: 3 });
    expect(status).toBe(200);
    expect(body.queries).toEqual(Q);
    const refs = await reference(Q, 3);
    expect(body.answers).toHaveLength(2);
    for (const [i, answers] of (body.answers as string[][]).entries()) {
      const spliced = "<|begin_of_documents|>\n" + answers.map((a, j) => `(${j + 1})${a.replace(/^\d+\s+/, "")}\n`).join("") + "<|end_of_documents|>\n\n";
      const back = rolloutParagraphs(spliced);
      expect(back).toEqual(refs[i].docs.map((d) => { const { title, text } = parseContents(d.contents); return { title, text: text.replace(/\s+/g, " ").trim() }; }));
      // the line R1-Searcher's corpus stores: numeric id, a tab, "Title: … Text: …"
      expect(answers[0]).toMatch(new RegExp(`^${refs[i].docs[0].id}\\tTitle: `));
    }
  });
});

describe("Search-R1 /retrieve keeps working beside the single-query form", () => {
  test("{queries, topk} → {result: [[{document, score}]]} for each query", async () => {
    const { body } = await post("/retrieve", { queries: Q, topk: 2 });
    const refs = await reference(Q, 2);
    expect(body.result.map((l: { document: Doc }[]) => l.map((x) => x.document))).toEqual(refs.map((r) => r.docs));
    expect(body.results).toBeUndefined();
  });
});

describe("bad bodies: 400 naming the field", () => {
  test.each([
    ["/retrieve", { query: "x", top_k: "5" }, /^top_k: expected an integer/],
    ["/retrieve", { query: "x", top_k: 0 }, /^top_k: must be between 1 and 1000/],
    ["/retrieve", { query: "x", return_scores: "yes" }, /^return_scores: expected true or false/],
    ["/retrieve", { query: 5 }, /^queries: required/],
    ["/queries", { k: 3 }, /^queries: required/],
    ["/queries", { queries: "one" }, /^queries: expected a list of strings/],
    ["/queries", { queries: ["a"], k: 2.5 }, /^k: expected an integer/],
  ])("%s %j", async (path, body, msg) => {
    const res = await post(path, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(msg);
  });
});
