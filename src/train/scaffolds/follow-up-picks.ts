/**
 * @module train/scaffolds/follow-up-picks — an exploration scaffold for the bridge entity: at a held rollout's search
 * after the first (the policy wrote the search tag, or min-searches spliced it), the environment picks the query
 * uniformly at random among the names of the question and of the last result not yet searched (`textNames`,
 * `resultNames`) and splices it with the closing tag, trained on (off-policy, no sampler log-prob). The pick says
 * nothing about which name is right — the group's rewards do. Seeded by (run seed, rollout id, search index).
 * Metric: `searches_mean` (picked queries per rollout).
 */
import { z } from "zod";
import { deriveSeed } from "../../rollout/loop.js";
import type { Intervention, RolloutView } from "../../rollout/intervention.js";
import { resultNames, textNames } from "./names.js";
import { counterMean, type Scaffold, type ScaffoldDef } from "./types.js";

export const FollowUpPicksOptions = z
  .object({
    rollouts: z.enum(["held", "all"]).default("held").describe("held: only rollouts min-searches holds (the rest of the group runs free); all: every rollout"),
  })
  .strict();
export type FollowUpPicksOptions = z.infer<typeof FollowUpPicksOptions>;

const PICKED = "follow-up-picks/searches";

/** The intervention of one rollout: random-name follow-up queries. */
export function followUpPicksIntervention(): Intervention {
  let names: string[] = [];
  const pick = (v: RolloutView): string | null => {
    if ((v.maxSearches !== undefined && v.searches >= v.maxSearches) || v.searches === 0 || !names.length) return null;
    const asked = v.queries.map((q) => q.toLowerCase());
    const fresh = names.filter((n) => !asked.some((q) => q.includes(n.toLowerCase())));
    const pool = fresh.length ? fresh : names;
    return pool[deriveSeed(v.seed, `${v.id}#mention`, v.searches) % pool.length];
  };
  return {
    stops: (v) => (pick(v) !== null ? [v.template.openTag] : []),
    onStop: (v) => {
      const query = pick(v);
      if (query === null) return null;
      v.count(PICKED);
      return { splice: [{ text: ` ${query} ${v.template.stop[0]}`, trained: true }], search: query };
    },
    observe: (v, hits) => {
      names = [...new Set([...textNames(v.question), ...resultNames(hits)])];
    },
  };
}

export function createFollowUpPicks(o: FollowUpPicksOptions): Scaffold {
  return {
    name: "follow-up-picks",
    intervene: (_i, _k, _prompt, plan) => (o.rollouts === "all" || plan.held ? followUpPicksIntervention() : undefined),
    metrics: (ts) => ({ searches_mean: counterMean(ts, PICKED) }),
  };
}

export const followUpPicks: ScaffoldDef<typeof FollowUpPicksOptions> = { schema: FollowUpPicksOptions, create: createFollowUpPicks };
