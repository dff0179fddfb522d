/**
 * Rollout throughput with the native backend: rollouts/s and policy tokens/s with search on (pause at the stop
 * string, batched BM25 calls over FlashRAG's 1,000 wiki-18 passages, splice, re-prefill, continue), in both loop
 * schedules (rounds, async), against plain generation of the same length, read two ways: the same number of policy
 * tokens from the prompt, and the same whole responses (policy + spliced tokens) decoded straight through.
 * Target (issue 6): the search pauses cost ≤ 20% of plain throughput.
 *
 * The policy is a random tiny Qwen2 (model/testing) sampled at temperature 1: its near-uniform next-token
 * distribution emits one of `--stops` stop characters (default 4: "@#$%") about that many times per V tokens, so
 * rollouts pause at random points (about 2 searches per rollout, like ReSearch); EOS is switched off so both runs
 * generate equal lengths. Queries are swapped for real NQ questions so the retriever does real work and splices real
 * passages (`--top-n`, default 1 passage ≈ 300-600 byte-level tokens, about what 5 passages are in Qwen's tokenizer).
 * Options: `--rollouts=N` (8), `--max-response=N` (768), `--hidden=N` (256), `--layers=N` (4), `--top-n=N` (1),
 * `--stops=N` (4), `--repeats=N` (1; runs interleaved N times, best kept, since the machine may be shared).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadQAArray } from "../src/data/qa.js";
import { tinyQwen2 } from "../src/model/testing.js";
import { matmulBackend } from "../src/model/infer.js";
import { buildIndex, openRetriever } from "../src/retrieval/index.js";
import type { Retriever } from "../src/retrieval/types.js";
import { createNativeBackend } from "../src/rollout/backends/native.js";
import { runRollouts } from "../src/rollout/loop.js";
import { formatResearchResult, type PromptTemplate } from "../src/rollout/prompts.js";
import { writeJsonAtomic } from "../src/util/fs.js";

const DATA = join(import.meta.dirname, "..", "..", "shared", "data");
const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
};

/** ReSearch's splicing and loop, with rare characters standing in for `</search>` (a random model never writes the tag). */
const STOP_CHARS = ["@", "#", "$", "%", "&", "~", "^", "|"];
const benchTemplate = (stops: number): PromptTemplate => ({
  name: "research",
  chat: false,
  stop: STOP_CHARS.slice(0, stops),
  openTag: "\u0000",
  messages: (q) => [{ role: "user", content: q }],
  completion: (q) => `Question: ${q}\nAnswer:`,
  formatResult: formatResearchResult,
});

export async function main(): Promise<void> {
  const nRollouts = arg("rollouts", 8);
  const maxResponse = arg("max-response", 768);
  const topN = arg("top-n", 1);
  const tmp = mkdtempSync(join(tmpdir(), "bench-rollout-"));
  try {
    await buildIndex({ corpus: join(DATA, "corpus", "wiki18_sample_1000.jsonl"), out: join(tmp, "index"), quiet: true });
    const bm25 = await openRetriever({ index: join(tmp, "index") });
    const questions = (await loadQAArray(join(DATA, "eval", "flashrag_quickstart_nq_test.jsonl"))).map((q) => q.question);
    // each (nonsense) query maps to a real question by a hash of its text, so every run retrieves the same passages
    const pick = (q: string) => questions[[...q].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % questions.length];
    const retriever: Retriever = { search: (qs, k) => bm25.search(qs.map(pick), k) };
    const model = tinyQwen2({ hidden: arg("hidden", 256), layers: arg("layers", 4), ffn: arg("hidden", 256) * 3, seed: 3 });
    model.config.max_position_embeddings = 4096;
    // no EOS: every rollout runs to its budget, so the plain run can generate exactly the same lengths
    model.config.eos_token_id = null;
    model.tokenizer = { ...model.tokenizer, eosId: null, eosText: "" };
    const backend = createNativeBackend({ model, maxBatch: nRollouts });
    const examples = Array.from({ length: nRollouts }, (_, i) => ({ id: `q${i}`, question: questions[i % questions.length] }));

    // 1) with search, both schedules: pause at a stop character, batched search, splice, continue
    // 2) plain: the same prompts generating the same number of policy tokens in one go (no stop string)
    // The three runs are interleaved `repeats` times and each keeps its best throughput: the machine may be shared,
    // and interleaving keeps a slow spell from landing on one run only.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const repeats = arg("repeats", 1);
    const roll = (schedule: "async" | "rounds") =>
      runRollouts({
        backend, retriever, examples, template: benchTemplate(arg("stops", 4)), temperature: 1, seed: 7, maxResponseTokens: maxResponse, maxPromptTokens: 512, topN, batchSize: nRollouts, schedule,
      });
    const reference = await roll("rounds"); // warm-up, and the lengths the plain runs must match
    const policyLengths = reference.map((t) => t.lossMask!.reduce((a, m) => a + m, 0));
    const responseLengths = reference.map((t) => t.responseIds!.length); // policy + spliced tokens
    const plainRun = (lengths: number[]) =>
      backend.generate(reference.map((t, i) => ({ prompt: t.prompt, promptIds: t.promptIds, maxTokens: lengths[i], stop: [], temperature: 1, seed: 7 + i })));
    type Row = { run: string; rollouts: number; searches: number; policyTokens: number; toolTokens: number; ms: number; rolloutsPerS: number; tokensPerS: number; responseTokensPerS: number };
    const best = new Map<string, Row>();
    const keep = (r: Row) => {
      if ((best.get(r.run)?.responseTokensPerS ?? 0) < r.responseTokensPerS) best.set(r.run, r);
    };
    const row = (run: string, ms: number, policyTokens: number, toolTokens: number, searches: number): Row => ({
      run, rollouts: nRollouts, searches, policyTokens, toolTokens, ms, rolloutsPerS: (1000 * nRollouts) / ms, tokensPerS: (1000 * policyTokens) / ms,
      responseTokensPerS: (1000 * (policyTokens + toolTokens)) / ms,
    });
    const RUNS = ["search (async)", "search (rounds)", "plain (policy length)", "plain (response length)"] as const;
    for (let r = 0; r < repeats; r++) {
      for (const run of RUNS) {
        const t0 = performance.now();
        if (run.startsWith("plain")) {
          const tokens = sum((await plainRun(run === "plain (policy length)" ? policyLengths : responseLengths)).map((x) => x.tokenIds!.length));
          keep(row(run, performance.now() - t0, tokens, 0, 0));
        } else {
          // async batches depend on timing, so its samples (not its work) can differ from the reference run's
          const trajs = await roll(run === "search (async)" ? "async" : "rounds");
          const ms = performance.now() - t0;
          const policy = sum(trajs.map((t) => t.lossMask!.reduce((a, m) => a + m, 0)));
          keep(row(run, ms, policy, sum(trajs.map((t) => t.lossMask!.length)) - policy, sum(trajs.map((t) => t.searches))));
        }
      }
    }
    const rows = RUNS.map((k) => best.get(k)!);
    const [async, rounds, plainPolicy, plainResponse] = rows;

    // Two readings of "plain generation of the same length":
    //  policy: generated (policy) tokens/s against decoding the same number of policy tokens from the prompt; the
    //    search run also prefills every spliced passage and re-prefills its context each round, the plain run does not.
    //  response: the same whole responses (policy + spliced tokens) decoded straight through, i.e. what the pauses
    //    cost against producing those sequences without pausing.
    const costPolicy = (r: Row) => 1 - r.tokensPerS / plainPolicy.tokensPerS;
    const costResponse = (r: Row) => 1 - r.responseTokensPerS / plainResponse.responseTokensPerS;
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    console.log(`native backend, ${matmulBackend} matmul, tiny Qwen2 D=${model.config.hidden_size} L=${model.config.num_hidden_layers} V=${model.config.vocab_size}, top-n ${topN}, ${nRollouts} rollouts, budget ${maxResponse}`);
    console.table(rows.map((r) => ({
      ...r, ms: r.ms.toFixed(0), rolloutsPerS: r.rolloutsPerS.toFixed(2), tokensPerS: r.tokensPerS.toFixed(1), responseTokensPerS: r.responseTokensPerS.toFixed(1),
      costVsPolicy: r.run.startsWith("plain") ? "" : pct(costPolicy(r)), costVsResponse: r.run.startsWith("plain") ? "" : pct(costResponse(r)),
    })));
    console.log(`searches/rollout ${(rounds.searches / nRollouts).toFixed(2)}, spliced tokens ${pct(rounds.toolTokens / (rounds.toolTokens + rounds.policyTokens))} of the response`);
    // Prefill work of the search run: each generate call prefills its whole context (the engine starts a fresh KV
    // cache per request); with a cache kept across rounds only the prompt and the spliced tokens would be.
    let prefilled = 0;
    let needed = 0;
    for (const t of reference) {
      let ctx = t.promptIds!.length;
      needed += ctx;
      for (const seg of t.segments) {
        if (seg.author === "policy") prefilled += ctx;
        else needed += seg.tokenIds!.length;
        ctx += seg.tokenIds!.length;
      }
    }
    console.log(`prefilled tokens: ${prefilled} (a KV cache kept across rounds would need ${needed}, ${pct(1 - needed / prefilled)} less)`);
    for (const [name, r] of [["rounds", rounds], ["async", async]] as const)
      console.log(`${name}: pauses cost ${pct(costResponse(r))} vs the same responses decoded straight through, ${pct(costPolicy(r))} vs the same policy tokens from the prompt (target ≤ 20%)`);
    writeJsonAtomic(join(import.meta.dirname, "results", "rollout.json"), {
      date: new Date().toISOString(),
      matmul: matmulBackend,
      model: { hidden: model.config.hidden_size, layers: model.config.num_hidden_layers, vocab: model.config.vocab_size },
      topN, maxResponse, rows, searchesPerRollout: rounds.searches / nRollouts, prefilledTokens: prefilled, prefillWithKvReuse: needed,
      pauseCost: {
        vsSameResponse: { rounds: costResponse(rounds), async: costResponse(async) },
        vsSamePolicyTokens: { rounds: costPolicy(rounds), async: costPolicy(async) },
      },
      target: 0.2,
    });
    await bm25.close?.();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
