/** @module eval/testing/fixtures — real data for eval tests and benches: a BM25 index over wiki-18 passages, HotpotQA questions, a tiny model. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadQAArray } from "../../data/qa.js";
import type { LoadedModel } from "../../model/generate.js";
import { tinyQwen2 } from "../../model/testing.js";
import { buildIndex } from "../../retrieval/index.js";
import type { EvalItem } from "../types.js";

export const SHARED_DATA = join(import.meta.dirname, "..", "..", "..", "..", "shared", "data");

/**
 * Build a BM25 index at `dir/index` over FlashRAG's 1,000 wiki-18 passages, each cut to its first `maxChars`
 * characters (random test models tokenize nearly per character, and prompt length is what costs). Returns the ids.
 */
export async function buildWikiIndex(dir: string, maxChars = 160): Promise<{ index: string; ids: Set<string> }> {
  const ids = new Set<string>();
  const lines = readFileSync(join(SHARED_DATA, "corpus", "wiki18_sample_1000.jsonl"), "utf8").split("\n").filter((l) => l.trim());
  const corpus = join(dir, "corpus.jsonl");
  writeFileSync(
    corpus,
    lines
      .map((l) => {
        const p = JSON.parse(l) as { id: string | number; contents: string };
        ids.add(String(p.id));
        return JSON.stringify({ id: String(p.id), contents: p.contents.slice(0, maxChars) });
      })
      .join("\n") + "\n",
  );
  await buildIndex({ corpus, out: join(dir, "index"), quiet: true });
  return { index: join(dir, "index"), ids };
}

/** The first `n` questions of R1-Searcher's HotpotQA eval set. */
export async function hotpotItems(n: number): Promise<EvalItem[]> {
  const qa = await loadQAArray(join(SHARED_DATA, "eval", "r1searcher_hotpotqa_500.jsonl"), { limit: n });
  return qa.map((e) => ({ id: e.id, question: e.question, goldenAnswers: e.golden_answers }));
}

/** C2's random tiny Qwen2 with room for FlashRAG's long prompts (RoPE weights do not depend on the context length). */
export function tinyEvalModel(seed = 3): LoadedModel {
  const tiny = tinyQwen2({ seed });
  return { ...tiny, config: { ...tiny.config, max_position_embeddings: 8192 } };
}
