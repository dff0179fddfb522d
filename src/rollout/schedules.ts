/**
 * @module rollout/schedules — how the loop's steps (rollout/loop.ts) are driven: lock-step rounds (deterministic
 * batches, one retriever call per round) or asynchronous (each rollout continues as soon as its search returns), and
 * the batch calls that isolate one failing request or query to its own rollout.
 */
import type { Retriever, SearchHit } from "../retrieval/types.js";
import type { GenerationRequest, GenerationResult } from "../model/generation.js";
import { ROLLOUT_DEFAULTS, type PolicyBackend } from "./types.js";
import type { RolloutEvent, RolloutOptions, RolloutState, Steps } from "./loop.js";

/**
 * Lock-step rounds: every active rollout generates (one backend batch), then every query of the round goes in one
 * retriever call. Deterministic grouping; a rollout that pauses early waits for the round to end.
 */
export async function* scheduleRounds(opts: RolloutOptions, st: Steps): AsyncGenerator<RolloutEvent> {
  const batchSize = opts.batchSize ?? ROLLOUT_DEFAULTS.batchSize;
  const topN = opts.topN ?? ROLLOUT_DEFAULTS.topN;
  const queue = st.pending();
  let active: RolloutState[] = [];
  for (;;) {
    // 0) admit new rollouts up to the batch size
    while (active.length < batchSize) {
      const next = queue.next();
      if (next.done) break;
      const s = st.start(next.value.ex, next.value.k);
      if (s) active.push(s);
    }
    yield* st.events.splice(0);
    if (active.length === 0) return;

    // 1) generate until the stop string, EOS or the budget, for every active rollout
    const t0 = Date.now();
    const results = await generateIsolated(opts.backend, active.map((s) => st.request(s)));
    const genMs = Date.now() - t0;

    // 2) splice the generated segments, collect the searches of this round
    const searching: { s: RolloutState; query: string }[] = [];
    active.forEach((s, i) => {
      const query = st.applyGeneration(s, results[i], genMs);
      if (query !== null) searching.push({ s, query });
    });
    yield* st.events.splice(0);

    // 3) one batched retriever call for every query of the round; splice results (loss mask 0)
    if (searching.length) {
      const t1 = Date.now();
      const hits = await searchIsolated(opts.retriever, searching.map((q) => q.query), topN);
      const searchMs = Date.now() - t1;
      searching.forEach(({ s }, i) => st.applySearch(s, hits[i], searchMs));
      yield* st.events.splice(0);
    }
    active = active.filter((s) => !s.done);
  }
}

/**
 * Asynchronous: up to `batchSize` rollouts run at once, each its own generate → search → generate chain. With a
 * continuously batched backend (the native engine, vLLM) a rollout back from search rejoins the running batch at
 * once, so nobody waits for the slowest rollout of a round. Queries that arrive together (the same engine step, or
 * while a retriever call is in flight) still go in one batched retriever call.
 */
export async function* scheduleAsync(opts: RolloutOptions, st: Steps): AsyncGenerator<RolloutEvent> {
  const batchSize = opts.batchSize ?? ROLLOUT_DEFAULTS.batchSize;
  const search = createSearchBatcher(opts.retriever, opts.topN ?? ROLLOUT_DEFAULTS.topN);
  const queue = st.pending();
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  let stopped = false; // the consumer stopped reading: take no new rollouts
  const runOne = async (s: RolloutState) => {
    while (!s.done) {
      const t0 = Date.now();
      const [r] = await generateIsolated(opts.backend, [st.request(s)]);
      const query = st.applyGeneration(s, r, Date.now() - t0);
      notify();
      if (query === null) continue;
      const t1 = Date.now();
      const hits = await search(query);
      st.applySearch(s, hits, Date.now() - t1);
      notify();
    }
  };
  const worker = async () => {
    for (let next = queue.next(); !next.done && !stopped; next = queue.next()) {
      const s = st.start(next.value.ex, next.value.k);
      notify();
      if (s) await runOne(s);
    }
  };
  let finished = false;
  let failure: unknown;
  Promise.all(Array.from({ length: batchSize }, worker)).then(
    () => ((finished = true), notify()),
    (e) => ((failure = e), notify()),
  );
  try {
    for (;;) {
      if (st.events.length) {
        yield* st.events.splice(0);
        continue;
      }
      if (failure) throw failure;
      if (finished) return;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    stopped = true;
  }
}

/** Queries arriving together share one retriever call; those arriving while it runs go in the next one. */
function createSearchBatcher(retriever: Retriever, topN: number): (query: string) => Promise<SearchHit[] | Error> {
  let waiting: { query: string; done: (h: SearchHit[] | Error) => void }[] = [];
  let busy = false;
  const flush = async () => {
    if (busy) return;
    busy = true;
    try {
      while (waiting.length) {
        const batch = waiting;
        waiting = [];
        const hits = await searchIsolated(retriever, batch.map((w) => w.query), topN);
        batch.forEach((w, i) => w.done(hits[i]));
      }
    } finally {
      busy = false;
    }
  };
  return (query) =>
    new Promise((done) => {
      waiting.push({ query, done });
      setImmediate(flush); // let rollouts resolved in the same engine step join this call
    });
}

/** Generate a batch; if the batch call fails, retry request by request so one bad request fails only its rollout. */
async function generateIsolated(backend: PolicyBackend, requests: GenerationRequest[]): Promise<(GenerationResult | Error)[]> {
  try {
    const out = await backend.generate(requests);
    if (out.length !== requests.length) throw new Error(`backend ${backend.name} returned ${out.length} results for ${requests.length} requests`);
    return out;
  } catch (batchError) {
    if (requests.length === 1) return [asError(batchError)];
    const out: (GenerationResult | Error)[] = [];
    for (const r of requests) {
      try {
        out.push((await backend.generate([r]))[0]);
      } catch (e) {
        out.push(asError(e));
      }
    }
    return out;
  }
}

/** One batched retriever call; if it fails, query by query so one bad query fails only its rollout. */
async function searchIsolated(retriever: Retriever, queries: string[], topN: number): Promise<(SearchHit[] | Error)[]> {
  try {
    const out = await retriever.search(queries, topN);
    if (out.length !== queries.length) throw new Error(`retriever returned ${out.length} hit lists for ${queries.length} queries`);
    return out;
  } catch (batchError) {
    if (queries.length === 1) return [asError(batchError)];
    const out: (SearchHit[] | Error)[] = [];
    for (const q of queries) {
      try {
        out.push((await retriever.search([q], topN))[0]);
      } catch (e) {
        out.push(asError(e));
      }
    }
    return out;
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
