/**
 * @module rollout/intervention — the one seam where something other than the policy and the retriever writes into a
 * rollout (training-time exploration aids live under train/; evaluation never passes any). The loop asks an
 * intervention for extra stop strings before each generation; when one of them fires (the policy's text, or text the
 * environment spliced, ends with it) the intervention says what to splice; after each search it may look at the hits.
 */
import type { SearchHit } from "../retrieval/types.js";
import type { PromptTemplate } from "./prompts.js";
import type { Segment } from "./types.js";

/** What an intervention sees of one rollout (read-only, live). */
export interface RolloutView {
  /** `<exampleId>#<sample>` */
  readonly id: string;
  readonly sample: number;
  readonly question: string;
  readonly searches: number;
  readonly queries: readonly string[];
  readonly segments: readonly Segment[];
  /** The loop's cap on searches (RolloutOptions.maxSearches), if any. */
  readonly maxSearches?: number;
  /** The run's seed (RolloutOptions.seed): seed picks from it so reruns pick the same. */
  readonly seed: number;
  readonly template: PromptTemplate;
  /** Add to one of the rollout's counters (Trajectory.interventions[key]). */
  count(key: string, by?: number): void;
}

/** Text the environment writes into the response (author "env"), trained on or not. */
export interface Splice {
  text: string;
  trained: boolean;
}

export interface InterventionAction {
  /**
   * Keep only this prefix of the text just generated: the loop keeps the longest prefix of the generated tokens that
   * decodes to a prefix of it, and writes the rest of it as environment text in front of the first splice (so the
   * context never re-tokenizes sampled text). Absent: the generation is kept whole.
   */
  keep?: string;
  /** Environment text appended after the (kept) generation, in order. */
  splice?: Splice[];
  /** Run this search now (the splices wrote its query and closing tag); the response budget is checked first. */
  search?: string;
}

export interface Intervention {
  /** Stop strings to add to the next generation's (besides the template's). */
  stops?(v: RolloutView): string[];
  /**
   * One of this intervention's stop strings fired: the generation (`generated`, its text as the trajectory keeps it)
   * or environment text (`generated` = "") ends with `stop`. null: nothing to do (the loop generates on).
   */
  onStop?(v: RolloutView, stop: string, generated: string): InterventionAction | null;
  /** After each search, its hits. */
  observe?(v: RolloutView, hits: SearchHit[]): void;
}

/**
 * Several interventions as one, in order: stop strings concatenated; a fired stop goes to the first intervention that
 * asked for it; every one observes.
 */
export function composeInterventions(list: Intervention[]): Intervention | undefined {
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0];
  return {
    stops: (v) => list.flatMap((iv) => iv.stops?.(v) ?? []),
    onStop: (v, stop, generated) => {
      const owner = list.find((iv) => iv.stops?.(v).includes(stop));
      return owner?.onStop?.(v, stop, generated) ?? null;
    },
    observe: (v, hits) => list.forEach((iv) => iv.observe?.(v, hits)),
  };
}
