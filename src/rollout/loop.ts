/**
 * @module rollout/loop — the ReSearch rollout loop (arXiv 2503.19470 §2): generate until `</search>` / EOS / budget,
 * run all queries of the round in one batched retriever call, splice the result (loss mask 0), continue.
 * A thin loop over three interfaces: PolicyBackend, Retriever, Tokenizer (optional, from the backend).
 */
import type { Retriever, SearchHit } from "../retrieval/types.js";
import { decodeAfter, encodePrompt } from "../model/generate.js";
import type { GenerationRequest, GenerationResult } from "../model/generation.js";
import type { FinishReason, PolicyBackend, Segment, Trajectory } from "./types.js";
import { buildPrompt, extractQuery, getTemplate, type ChatMessage, type PromptTemplate } from "./prompts.js";
import { resultMentions, resultNames, textNames } from "./names.js";

export interface RolloutExample {
  id: string;
  question: string;
  goldenAnswers?: string[];
  /**
   * A training scaffold (never used at evaluation): until the rollout has made this many searches, writing the
   * answer tag makes it search instead. The answer tag the policy wrote is dropped and the template's search tag is
   * spliced in its place (tool text, loss mask 0, unless RolloutOptions.forcedSearchTrained); the policy then writes
   * the query. Unset: the ReSearch loop.
   */
  minSearches?: number;
  /** Hold only the first N of the example's n samples to minSearches (the rest run free); default: all. */
  minSearchesSamples?: number;
  /**
   * A training hint for held samples (never used at evaluation): the queries the environment writes, by search index
   * (e.g. the gold chain's entity names; null or past the end: the policy writes the query). At a search with a hint,
   * whether the policy wrote the search tag itself or a forced search spliced it, the environment writes the query and
   * closing tag as tool text (loss mask 0) and runs the search at once; the policy's own tag is trained as usual, a
   * forced one follows RolloutOptions.forcedSearchTrained.
   */
  forcedQueries?: (string | null)[];
  /** Give forcedQueries only to the first N held samples (default: every held sample). */
  forcedQueriesSamples?: number;
  /**
   * An exploration scaffold for held samples (never used at evaluation): at a search after the first that has no
   * forced query, the environment picks the query uniformly at random among the names of the question and of the last
   * result not yet searched (`textNames`, `resultNames`) and splices it with the closing tag as the policy's tokens
   * (loss mask 1, no sampler log-prob): the group's rewards then say which name was worth following, and the policy is
   * trained on it, off-policy. The pick carries no information about the right name: every candidate is equally likely.
   */
  followUpMentions?: boolean;
  /**
   * An exploration scaffold for held samples (never used at evaluation): once the rollout may answer, when the policy
   * has written `\boxed{` after a search, the environment picks the answer uniformly at random among the names and
   * numbers of the last result (`resultMentions`) and splices it with the closing brace as the policy's tokens (loss
   * mask 1, no sampler log-prob); the policy writes the rest. Like followUpMentions, every candidate is equally likely:
   * the rewards say which one answers.
   */
  answerMentions?: boolean;
}

/** The stop string after which an answerMentions pick is spliced. */
export const BOXED_OPEN = "\\boxed{";

export interface RolloutOptions {
  backend: PolicyBackend;
  retriever: Retriever;
  examples: RolloutExample[];
  /** Rollouts per example (GRPO group size G). */
  n?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  /** Response budget in tokens, policy + tool tokens (ReSearch: 8192). */
  maxResponseTokens?: number;
  /** Longer prompts end as `error` (ReSearch: 512). */
  maxPromptTokens?: number;
  /** Passages per query (ReSearch: 5). */
  topN?: number;
  /** Cap on searches per rollout; the paper has none. */
  maxSearches?: number;
  template?: PromptTemplate | string;
  /** Chat template (Jinja) for instruct templates; defaults to the backend tokenizer's, else ChatML. */
  chatTemplate?: string;
  seed?: number;
  /** Rollouts generated together (one backend batch per round); finished ones are replaced at the next round. */
  batchSize?: number;
  /** Run only these samples (resume): called with the example id and sample index. */
  include?: (exampleId: string, sample: number) => boolean;
  /**
   * rounds (default): lock-step rounds, one backend batch and one retriever call per round; batches are the same on
   * every run, so a seed reproduces the rollouts exactly. async: each rollout continues as soon as its search returns
   * (no round barrier, best with continuously batched backends), but batches then depend on timing, and so (through
   * floating-point batch effects) may the samples.
   */
  schedule?: "async" | "rounds";
  /** The tag that opens an answer; with RolloutExample.minSearches it triggers a forced search (default `<answer>`). */
  answerTag?: string;
  /**
   * The search tag a minSearches rollout is forced to write: tool text (default, mask 0: the scaffold is never trained
   * on) or policy text (mask 1, no sampler log-prob): then the decision to search again is trained, off-policy.
   */
  forcedSearchTrained?: boolean;
}

export type RolloutEvent =
  | { type: "start"; id: string; prompt: string }
  | { type: "segment"; id: string; segment: Segment }
  | { type: "search"; id: string; query: string }
  | { type: "done"; trajectory: Trajectory };

/** Live state of one rollout; becomes a Trajectory when it finishes. */
interface RolloutState {
  t: Trajectory;
  messages?: ChatMessage[];
  contextIds?: number[];
  responseTokens: number;
  startedAt: number;
  round: number;
  done: boolean;
  /** Searches this rollout must make before it may answer (RolloutExample.minSearches; 0 = none). */
  minSearches: number;
  /** Queries the environment writes, by search index (RolloutExample.forcedQueries, held samples only). */
  forcedQueries?: (string | null)[];
  /** Held sample with RolloutExample.followUpMentions. */
  followUpMentions?: boolean;
  /** Held sample with RolloutExample.answerMentions. */
  answerMentions?: boolean;
  /** Names in the question and the last search's passages (for followUpMentions). */
  lastNames?: string[];
  /** Names and numbers in the last search's passages (for answerMentions). */
  lastMentions?: string[];
}

/** Rough token count for remote backends without a tokenizer (≈ 4 characters per token). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** A per-request seed from (run seed, rollout id, round): FNV-1a, so reruns of one rollout sample the same. */
export function deriveSeed(seed: number, id: string, round: number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const c of `${id}\u0000${round}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h >>> 0;
}

/** Run rollouts and return the finished trajectories in input order (example-major, then sample). */
export async function runRollouts(opts: RolloutOptions): Promise<Trajectory[]> {
  const order = new Map<string, number>();
  const n = opts.n ?? 1;
  opts.examples.forEach((ex, i) => {
    for (let k = 0; k < n; k++) order.set(`${ex.id}#${k}`, i * n + k);
  });
  const out: Trajectory[] = [];
  for await (const ev of streamRollouts(opts)) if (ev.type === "done") out.push(ev.trajectory);
  return out.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}

/** The loop as a stream of events (segments as they are produced, trajectories as they finish). */
export async function* streamRollouts(opts: RolloutOptions): AsyncGenerator<RolloutEvent> {
  const steps = createSteps(opts);
  yield* (opts.schedule ?? "rounds") === "rounds" ? scheduleRounds(opts, steps) : scheduleAsync(opts, steps);
}

type Steps = ReturnType<typeof createSteps>;

/**
 * The loop's steps on one rollout, shared by both schedules: start (prompt, ids), the next generation request,
 * applying a generation (policy segment, mask 1; returns the query when it paused for search), applying a search
 * (tool segment, mask 0). Every step pushes its events to `events`.
 */
function createSteps(opts: RolloutOptions) {
  const { backend } = opts;
  const template = typeof opts.template === "object" ? opts.template : getTemplate(opts.template ?? "research");
  const n = opts.n ?? 1;
  const maxResponse = opts.maxResponseTokens ?? 8192;
  const maxPrompt = opts.maxPromptTokens ?? 512;
  const tok = backend.tokenizer;
  const chatTemplate = opts.chatTemplate ?? tok?.chatTemplate;
  const events: RolloutEvent[] = [];

  const finish = (s: RolloutState, reason: FinishReason, error?: string) => {
    s.done = true;
    s.t.finishReason = reason;
    if (error !== undefined) s.t.error = error;
    s.t.timings.totalMs = Date.now() - s.startedAt;
    events.push({ type: "done", trajectory: s.t });
  };
  const append = (s: RolloutState, segment: Segment, mask: 0 | 1, completionTokens?: number) => {
    const t = s.t;
    t.segments.push(segment);
    t.response += segment.text;
    if (s.contextIds && !segment.tokenIds) {
      // The backend gave text only: ids would need re-tokenizing generated text, which we never do; drop them.
      s.contextIds = undefined;
      delete t.responseIds;
      delete t.lossMask;
    }
    if (s.contextIds && segment.tokenIds) {
      s.contextIds.push(...segment.tokenIds);
      t.responseIds!.push(...segment.tokenIds);
      for (let i = 0; i < segment.tokenIds.length; i++) t.lossMask!.push(mask);
    }
    s.messages = s.messages && withAssistant(s.messages, t.response);
    s.responseTokens += segment.tokenIds?.length ?? completionTokens ?? (tok ? tok.encode(segment.text).length : estimateTokens(segment.text));
    events.push({ type: "segment", id: t.id, segment });
  };

  const answerTag = opts.answerTag ?? "<answer>";
  const mustSearch = (s: RolloutState) => s.t.searches < s.minSearches;
  /**
   * The policy wrote the answer tag before its minimum of searches: keep what it wrote before the tag (its longest
   * token prefix that reads as a prefix of that text), splice the rest + the search tag (tool text unless
   * forcedSearchTrained). With a forced query for this search (RolloutExample.forcedQueries) the query and closing tag
   * follow as tool text and the search runs: returns its query; else null (the policy writes the query next).
   */
  const forceSearch = (s: RolloutState, r: GenerationResult, before: string): string | null => {
    const ids = s.contextIds && tok ? r.tokenIds : undefined; // text-only rollouts keep the text as written
    let keep = ids?.length ?? 0;
    let kept = ids ? "" : before;
    if (ids) {
      const prev = s.contextIds![s.contextIds!.length - 1];
      for (; keep > 0; keep--) {
        const text = decodeAfter(tok!, prev, ids.slice(0, keep));
        if (before.startsWith(text)) {
          kept = text;
          break;
        }
      }
    }
    if (keep > 0 || !ids) append(s, { kind: "policy", text: kept, tokenIds: ids?.slice(0, keep), logprobs: ids && r.logprobs?.slice(0, keep) }, 1, r.completionTokens);
    const forced = before.slice(kept.length) + template.openTag;
    const trained = opts.forcedSearchTrained === true;
    append(s, { kind: trained ? "policy" : "tool", text: forced, tokenIds: s.contextIds ? tok!.encode(forced) : undefined }, trained ? 1 : 0);
    s.t.forcedSearches = (s.t.forcedSearches ?? 0) + 1;
    return hintedSearch(s);
  };
  /**
   * The query the environment writes at the rollout's next search, if any: a forced query (tool text), else with
   * followUpMentions after the first search a uniformly random name of the question or the last result not yet in a
   * query (the policy's tokens, trained). The pick is seeded by (run seed, rollout id, search index), so it is the
   * same however often asked.
   */
  const hintFor = (s: RolloutState): { query: string; trained: boolean } | null => {
    if (opts.maxSearches !== undefined && s.t.searches >= opts.maxSearches) return null;
    const forced = s.forcedQueries?.[s.t.searches];
    if (forced) return { query: forced, trained: false };
    if (!s.followUpMentions || s.t.searches === 0 || !s.lastNames?.length) return null;
    const asked = s.t.queries.map((q) => q.toLowerCase());
    const fresh = s.lastNames.filter((n) => !asked.some((q) => q.includes(n.toLowerCase())));
    const pool = fresh.length ? fresh : s.lastNames;
    return { query: pool[deriveSeed(opts.seed ?? 0, `${s.t.id}#mention`, s.t.searches) % pool.length], trained: true };
  };
  /** The answer the environment picks for a held answerMentions rollout that may answer now, if any (seeded like hintFor). */
  const answerPick = (s: RolloutState): string | null => {
    if (!s.answerMentions || mustSearch(s) || !s.lastMentions?.length || s.t.segments.some((g) => g.kind === "policy" && g.text.includes(BOXED_OPEN))) return null;
    return s.lastMentions[deriveSeed(opts.seed ?? 0, `${s.t.id}#answer`, s.t.searches) % s.lastMentions.length];
  };
  /**
   * After a search tag: at the response budget the rollout ends; else, with a hint, write its query and closing tag
   * (a forced query as tool text, a followUpMentions pick as the policy's tokens), count the search and return the
   * query; without one, null (the policy writes the query).
   */
  const hintedSearch = (s: RolloutState): string | null => {
    if (s.responseTokens >= maxResponse) return finish(s, "length"), null;
    const hint = hintFor(s);
    if (!hint) return null;
    const text = ` ${hint.query} ${template.stop[0]}`;
    append(s, { kind: hint.trained ? "policy" : "tool", text, tokenIds: s.contextIds ? tok!.encode(text) : undefined }, hint.trained ? 1 : 0);
    if (hint.trained) s.t.mentionSearches = (s.t.mentionSearches ?? 0) + 1;
    else s.t.hintedSearches = (s.t.hintedSearches ?? 0) + 1;
    if (s.responseTokens >= maxResponse) return finish(s, "length"), null;
    s.t.searches++;
    s.t.queries.push(hint.query);
    events.push({ type: "search", id: s.t.id, query: hint.query });
    return hint.query;
  };

  return {
    events,
    /** Rollouts are created lazily so a large dataset never lives in memory as states. */
    *pending(): Generator<{ ex: RolloutExample; k: number }> {
      for (const ex of opts.examples) for (let k = 0; k < n; k++) if (!opts.include || opts.include(ex.id, k)) yield { ex, k };
    },

    /** 0) a new rollout: prompt and its ids; null when it ended at once (prompt over the limit). */
    start(ex: RolloutExample, k: number): RolloutState | null {
      const built = buildPrompt(template, ex.question, { chatTemplate, eosToken: backend.eosText });
      const promptIds = tok ? (backend.encodePrompt?.(built.text) ?? encodePrompt(tok, built.text)) : undefined; // BOS where wanted
      const t = {
        id: `${ex.id}#${k}`,
        exampleId: ex.id,
        sample: k,
        question: ex.question,
        ...(ex.goldenAnswers ? { goldenAnswers: ex.goldenAnswers } : {}),
        prompt: built.text,
        ...(promptIds ? { promptIds, responseIds: [], lossMask: [] } : {}),
        segments: [],
        response: "",
        finishReason: "length" as FinishReason, // set by finish()
        searches: 0,
        queries: [],
        timings: { generateMs: 0, searchMs: 0, totalMs: 0 },
      } satisfies Trajectory;
      const held = ex.minSearchesSamples === undefined || k < ex.minSearchesSamples;
      const minSearches = held ? Math.min(ex.minSearches ?? 0, opts.maxSearches ?? Infinity) : 0;
      const s: RolloutState = { t, messages: built.messages, contextIds: promptIds && [...promptIds], responseTokens: 0, startedAt: Date.now(), round: 0, done: false, minSearches,
        ...(held && ex.forcedQueries?.length && k < (ex.forcedQueriesSamples ?? Infinity) ? { forcedQueries: ex.forcedQueries } : {}),
        ...(held && ex.followUpMentions ? { followUpMentions: true } : {}),
        ...(held && ex.answerMentions ? { answerMentions: true } : {}),
      };
      events.push({ type: "start", id: t.id, prompt: t.prompt });
      if (promptIds && promptIds.length > maxPrompt) {
        finish(s, "error", `prompt has ${promptIds.length} tokens, over maxPromptTokens=${maxPrompt}`);
        return null;
      }
      return s;
    },

    /** 1) the request that continues a rollout until the stop string, EOS or the budget. */
    request(s: RolloutState): GenerationRequest {
      return {
        prompt: s.t.prompt + s.t.response,
        promptIds: s.contextIds,
        messages: s.messages,
        maxTokens: maxResponse - s.responseTokens,
        stop: [...template.stop, ...(mustSearch(s) ? [answerTag] : []), ...(hintFor(s) ? [template.openTag] : []), ...(answerPick(s) ? [BOXED_OPEN] : [])],
        temperature: opts.temperature ?? 1.0,
        topP: opts.topP,
        topK: opts.topK,
        seed: deriveSeed(opts.seed ?? 0, s.t.id, s.round),
      };
    },

    /** 2) splice a generated segment (mask 1); the query when the rollout paused for search, else null. */
    applyGeneration(s: RolloutState, r: GenerationResult | Error, ms: number): string | null {
      s.round++;
      s.t.timings.generateMs += ms;
      if (r instanceof Error) {
        finish(s, "error", `generation failed: ${r.message}`);
        return null;
      }
      const text = normaliseText(r, template.stop, backend.eosText);
      if (r.finishReason === "stop" && mustSearch(s) && (r.stopString ?? "") === answerTag) {
        return forceSearch(s, r, text.slice(0, text.length - answerTag.length));
      }
      const pick = r.finishReason === "stop" && r.stopString === BOXED_OPEN && text.endsWith(BOXED_OPEN) ? answerPick(s) : null;
      append(s, { kind: "policy", text, tokenIds: r.tokenIds, logprobs: r.logprobs }, 1, r.completionTokens);
      if (r.finishReason === "stop" && r.stopString === template.openTag && hintFor(s)) return hintedSearch(s);
      if (r.finishReason === "stop" && r.stopString === BOXED_OPEN) {
        // answerMentions: splice the pick and the closing brace as the policy's tokens; the policy writes the rest
        if (pick !== null) {
          const more = ` ${pick} }`;
          append(s, { kind: "policy", text: more, tokenIds: s.contextIds ? tok!.encode(more) : undefined }, 1);
          s.t.answerMentions = 1;
        }
        if (s.responseTokens >= maxResponse) finish(s, "length");
        return null;
      }
      if (r.finishReason === "eos") finish(s, "eos");
      else if (r.finishReason === "length" || s.responseTokens >= maxResponse) finish(s, "length");
      else if (opts.maxSearches !== undefined && s.t.searches >= opts.maxSearches) finish(s, "max_searches");
      else {
        const query = extractQuery(text, template);
        s.t.searches++;
        s.t.queries.push(query);
        events.push({ type: "search", id: s.t.id, query });
        return query;
      }
      return null;
    },

    /** 3) splice the retrieved passages as tool text (mask 0), tokenized once; cut at the response budget. */
    applySearch(s: RolloutState, hits: SearchHit[] | Error, ms: number): void {
      s.t.timings.searchMs += ms;
      if (hits instanceof Error) return finish(s, "error", `retriever failed: ${hits.message}`);
      (s.t.retrievedIds ??= []).push(hits.map((h) => h.id));
      if (s.followUpMentions) s.lastNames = [...new Set([...textNames(s.t.question), ...resultNames(hits)])];
      if (s.answerMentions) s.lastMentions = resultMentions(hits);
      let text = template.formatResult(hits);
      let ids = s.contextIds ? tok!.encode(text) : undefined;
      const room = maxResponse - s.responseTokens;
      if (ids && ids.length > room) {
        // The response budget is a hard cap (training buffers have that size): cut the tool text at it.
        // text: the same-length prefix of the formatted text (decoders may add a dummy-prefix space to both)
        const full = tok!.decode(ids);
        ids = ids.slice(0, room);
        const cut = tok!.decode(ids);
        const extra = full.length - text.length;
        text = full.endsWith(text) && cut.length >= extra ? text.slice(0, cut.length - extra) : cut;
      }
      append(s, { kind: "tool", text, tokenIds: ids }, 0);
      if (s.responseTokens >= maxResponse) finish(s, "length");
    },
  };
}

/**
 * Lock-step rounds: every active rollout generates (one backend batch), then every query of the round goes in one
 * retriever call. Deterministic grouping; a rollout that pauses early waits for the round to end.
 */
async function* scheduleRounds(opts: RolloutOptions, st: Steps): AsyncGenerator<RolloutEvent> {
  const batchSize = opts.batchSize ?? 64;
  const topN = opts.topN ?? 5;
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
async function* scheduleAsync(opts: RolloutOptions, st: Steps): AsyncGenerator<RolloutEvent> {
  const batchSize = opts.batchSize ?? 64;
  const search = createSearchBatcher(opts.retriever, opts.topN ?? 5);
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

/** Chat form of the context: the prompt messages plus the assistant's partial response (continued by the server). */
function withAssistant(messages: ChatMessage[], response: string): ChatMessage[] {
  const base = messages[messages.length - 1].role === "assistant" ? messages.slice(0, -1) : messages;
  return [...base, { role: "assistant", content: response }];
}

/**
 * The generated text as the trajectory keeps it: a stop-ended segment contains the stop string exactly once (appended
 * when a server dropped it and gave no ids), an EOS-ended one ends with the EOS text.
 */
export function normaliseText(r: GenerationResult, stop: string[], eosText: string): string {
  if (r.finishReason === "stop" && !r.tokenIds) {
    const s = r.stopString ?? stop[0];
    return r.text.endsWith(s) ? r.text : r.text + s;
  }
  if (r.finishReason === "eos" && eosText && !r.text.endsWith(eosText)) return r.text + eosText;
  return r.text;
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
