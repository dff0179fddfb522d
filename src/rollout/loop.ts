/**
 * @module rollout/loop — the ReSearch rollout loop (arXiv 2503.19470 §2): generate until `</search>` / EOS / budget,
 * run all queries of the round in one batched retriever call, splice the result (loss mask 0), continue.
 * A thin loop over three interfaces: PolicyBackend, Retriever, Tokenizer (optional, from the backend); an optional
 * Intervention (rollout/intervention.ts) is the only other writer. Schedules: rollout/schedules.ts.
 */
import type { SearchHit } from "../retrieval/types.js";
import { decodeAfter, encodePrompt } from "../model/generate.js";
import type { GenerationRequest, GenerationResult } from "../model/generation.js";
import { fnv1a } from "../util/hash.js";
import { ROLLOUT_DEFAULTS, type FinishReason, type RolloutEvent, type RolloutExample, type RolloutOptions, type Segment, type Trajectory } from "./types.js";
import { buildPrompt, extractQuery, getTemplate, type ChatMessage } from "./prompts.js";
import type { Intervention, InterventionAction, RolloutView, Splice } from "./intervention.js";
import { scheduleAsync, scheduleRounds } from "./schedules.js";

export type { RolloutEvent, RolloutExample, RolloutOptions };

/** Live state of one rollout; becomes a Trajectory when it finishes. */
export interface RolloutState {
  t: Trajectory;
  messages?: ChatMessage[];
  contextIds?: number[];
  responseTokens: number;
  startedAt: number;
  round: number;
  done: boolean;
  intervention?: Intervention;
  view?: RolloutView;
}

/** Rough token count for remote backends without a tokenizer (≈ 4 characters per token). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** A per-request seed from (run seed, rollout id, round): FNV-1a, so reruns of one rollout sample the same. */
export function deriveSeed(seed: number, id: string, round: number): number {
  return fnv1a(seed, `${id}\u0000${round}`);
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

export type Steps = ReturnType<typeof createSteps>;

/**
 * The loop's steps on one rollout, shared by both schedules: start (prompt, ids), the next generation request,
 * applying a generation (policy segment, mask 1; returns the query when it paused for search), applying a search
 * (tool segment, mask 0). Every step pushes its events to `events`.
 */
function createSteps(opts: RolloutOptions) {
  const { backend } = opts;
  const template = typeof opts.template === "object" ? opts.template : getTemplate(opts.template ?? "research");
  const n = opts.n ?? 1;
  const maxResponse = opts.maxResponseTokens ?? ROLLOUT_DEFAULTS.maxResponseTokens;
  const maxPrompt = opts.maxPromptTokens ?? ROLLOUT_DEFAULTS.maxPromptTokens;
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
  const overBudget = (s: RolloutState) => s.responseTokens >= maxResponse;
  const append = (s: RolloutState, segment: Segment, completionTokens?: number) => {
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
      for (let i = 0; i < segment.tokenIds.length; i++) t.lossMask!.push(segment.trained ? 1 : 0);
    }
    s.messages = s.messages && withAssistant(s.messages, t.response);
    s.responseTokens += segment.tokenIds?.length ?? completionTokens ?? (tok ? tok.encode(segment.text).length : estimateTokens(segment.text));
    events.push({ type: "segment", id: t.id, segment });
  };
  const policySegment = (text: string, r: GenerationResult): Segment => ({ author: "policy", trained: true, text, tokenIds: r.tokenIds, logprobs: r.logprobs });
  const envSegment = (s: RolloutState, sp: Splice): Segment => ({ author: "env", trained: sp.trained, text: sp.text, tokenIds: s.contextIds ? tok!.encode(sp.text) : undefined });
  const search = (s: RolloutState, query: string) => {
    s.t.searches++;
    s.t.queries.push(query);
    events.push({ type: "search", id: s.t.id, query });
    return query;
  };

  /**
   * Keep the prefix `keep` of a generation: its longest token prefix that decodes to a prefix of `keep` (text-only
   * rollouts keep the text as written). Returns the part of `keep` the kept tokens do not cover.
   */
  const appendKept = (s: RolloutState, r: GenerationResult, keep: string): string => {
    const ids = s.contextIds && tok ? r.tokenIds : undefined;
    let n = ids?.length ?? 0;
    let kept = ids ? "" : keep;
    if (ids) {
      const prev = s.contextIds![s.contextIds!.length - 1];
      for (; n > 0; n--) {
        const text = decodeAfter(tok!, prev, ids.slice(0, n));
        if (keep.startsWith(text)) {
          kept = text;
          break;
        }
      }
    }
    if (n > 0 || !ids) append(s, { author: "policy", trained: true, text: kept, tokenIds: ids?.slice(0, n), logprobs: ids && r.logprobs?.slice(0, n) }, r.completionTokens);
    return keep.slice(kept.length);
  };
  /**
   * An intervention's action: splices (the budget is checked before a splice that runs a search, and after the
   * splices), then a stop string the environment's text ends with fires too, then the search. The query or null.
   */
  const apply = (s: RolloutState, act: InterventionAction, rest = "", depth = 0): string | null => {
    const splices = [...(act.splice ?? [])];
    if (rest) splices[0] = splices.length ? { ...splices[0], text: rest + splices[0].text } : { text: rest, trained: false };
    if (act.search !== undefined && overBudget(s)) return finish(s, "length"), null;
    for (const sp of splices) append(s, envSegment(s, sp));
    if (overBudget(s)) return finish(s, "length"), null;
    if (act.search !== undefined) return search(s, act.search);
    const iv = s.intervention!;
    const fired = depth < 4 ? iv.stops?.(s.view!).find((stop) => s.t.response.endsWith(stop)) : undefined;
    const next = fired !== undefined ? iv.onStop?.(s.view!, fired, "") : null;
    return next ? apply(s, next, "", depth + 1) : null;
  };
  const viewOf = (s: RolloutState, k: number): RolloutView => ({
    id: s.t.id, sample: k, question: s.t.question, maxSearches: opts.maxSearches, seed: opts.seed ?? 0, template,
    get searches() { return s.t.searches; },
    get queries() { return s.t.queries; },
    get segments() { return s.t.segments; },
    count: (key, by = 1) => {
      const c = (s.t.interventions ??= {});
      c[key] = (c[key] ?? 0) + by;
    },
  });

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
      const s: RolloutState = { t, messages: built.messages, contextIds: promptIds && [...promptIds], responseTokens: 0, startedAt: Date.now(), round: 0, done: false };
      s.intervention = opts.intervene?.(ex, k);
      if (s.intervention) s.view = viewOf(s, k);
      events.push({ type: "start", id: t.id, prompt: t.prompt });
      if (promptIds && promptIds.length > maxPrompt) {
        finish(s, "error", `prompt has ${promptIds.length} tokens, over maxPromptTokens=${maxPrompt}`);
        return null;
      }
      return s;
    },

    /** 1) the request that continues a rollout until the stop string (or an intervention's), EOS or the budget. */
    request(s: RolloutState): GenerationRequest {
      return {
        prompt: s.t.prompt + s.t.response,
        promptIds: s.contextIds,
        messages: s.messages,
        maxTokens: maxResponse - s.responseTokens,
        stop: [...template.stop, ...(s.intervention?.stops?.(s.view!) ?? [])],
        temperature: opts.temperature ?? ROLLOUT_DEFAULTS.temperature,
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
      const iv = s.intervention;
      const hook = r.finishReason === "stop" && r.stopString !== undefined && iv?.stops?.(s.view!).includes(r.stopString) ? r.stopString : undefined;
      if (hook !== undefined) {
        // an intervention's stop string: it decides what follows; the rollout generates on unless it searches
        const act = iv!.onStop?.(s.view!, hook, text) ?? {};
        if (act.keep !== undefined) return apply(s, act, appendKept(s, r, act.keep));
        append(s, policySegment(text, r), r.completionTokens);
        return apply(s, act);
      }
      append(s, policySegment(text, r), r.completionTokens);
      if (r.finishReason === "eos") finish(s, "eos");
      else if (r.finishReason === "length" || overBudget(s)) finish(s, "length");
      else if (opts.maxSearches !== undefined && s.t.searches >= opts.maxSearches) finish(s, "max_searches");
      else return search(s, extractQuery(text, template));
      return null;
    },

    /** 3) splice the retrieved passages as tool text (mask 0), tokenized once; cut at the response budget. */
    applySearch(s: RolloutState, hits: SearchHit[] | Error, ms: number): void {
      s.t.timings.searchMs += ms;
      if (hits instanceof Error) return finish(s, "error", `retriever failed: ${hits.message}`);
      (s.t.retrievedIds ??= []).push(hits.map((h) => h.id));
      s.intervention?.observe?.(s.view!, hits);
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
      append(s, { author: "tool", trained: false, text, tokenIds: ids });
      if (overBudget(s)) finish(s, "length");
    },
  };
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

