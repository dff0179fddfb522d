/**
 * @module train/config-legacy — config files written before training scaffolds were plug-ins keep working: the old
 * `curriculum.*` fields and `reward.retrievalBonus*` become the `scaffolds` section they meant (run directories'
 * config.json files hold every old field with its default, so defaults pass silently); options that were tried and
 * not kept are refused with a message naming what replaced them.
 */
import { UserError } from "../util/errors.js";

/** The old curriculum fields and their defaults (a default value means "off" and is accepted silently). */
const OLD_CURRICULUM_DEFAULTS: Record<string, unknown> = {
  forcedSearchProb: 0,
  forcedSearchAnnealSteps: 50,
  forcedPrefix: " <think>",
  forcedFollowUpProb: 0,
  forcedFollowUpShare: 1,
  forcedFollowUpTrained: false,
  forcedFollowUpQuery: "policy",
  forcedFollowUpAnswer: "policy",
  forcedFollowUpFrom: 0,
  forcedFollowUpAnnealSteps: 100,
};
const OLD_REWARD_DEFAULTS: Record<string, unknown> = { retrievalBonus: 0, retrievalBonusAnnealSteps: 0, retrievalBonusFrom: 0 };

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x);

/** A copy of `raw` with the old fields moved into `scaffolds`; throws a UserError naming the field for removed options. */
export function upgradeLegacyFields(raw: Record<string, unknown>, source: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  const scaffolds: Record<string, unknown> = {};
  const fail = (field: string, msg: string) => {
    throw new UserError(`${source}: ${field}: ${msg}`);
  };
  const cur = raw.curriculum;
  if (cur !== undefined) {
    if (!isObject(cur)) fail("curriculum", "expected a mapping (old form of `scaffolds`)");
    const c = cur as Record<string, unknown>;
    const known = new Set([...Object.keys(OLD_CURRICULUM_DEFAULTS), "hops"]);
    for (const k of Object.keys(c)) if (!known.has(k)) fail(`curriculum.${k}`, "unknown field (training scaffolds are configured under `scaffolds` now)");
    const get = (k: string) => (c[k] === undefined ? OLD_CURRICULUM_DEFAULTS[k] : c[k]);
    if (get("forcedSearchProb") !== 0 || get("forcedPrefix") !== OLD_CURRICULUM_DEFAULTS.forcedPrefix)
      fail("curriculum.forcedSearchProb", "the forced first search (forcedSearchProb, forcedPrefix) was removed: tried and not kept (README history); use scaffolds.min-searches");
    if (Array.isArray(c.hops) && c.hops.length) scaffolds["hop-curriculum"] = { stages: c.hops };
    const query = get("forcedFollowUpQuery");
    if (query === "gold" || query === "gold-mention")
      fail("curriculum.forcedFollowUpQuery", `"${String(query)}" (gold follow-up queries) was removed: tried and not kept (README history); "mention" is scaffolds.follow-up-picks`);
    if (get("forcedFollowUpProb") !== 0) {
      scaffolds["min-searches"] = {
        prob: get("forcedFollowUpProb"), share: get("forcedFollowUpShare"), trained: get("forcedFollowUpTrained"),
        from: get("forcedFollowUpFrom"), annealSteps: get("forcedFollowUpAnnealSteps"),
      };
      if (query === "mention") scaffolds["follow-up-picks"] = {};
      if (get("forcedFollowUpAnswer") === "mention") scaffolds["answer-picks"] = {};
    }
    delete out.curriculum;
  }
  if (isObject(raw.reward)) {
    const r = { ...raw.reward };
    const get = (k: string) => (r[k] === undefined ? OLD_REWARD_DEFAULTS[k] : r[k]);
    if (get("retrievalBonus") !== 0) scaffolds["retrieval-bonus"] = { weight: get("retrievalBonus"), from: get("retrievalBonusFrom"), annealSteps: get("retrievalBonusAnnealSteps") };
    for (const k of Object.keys(OLD_REWARD_DEFAULTS)) delete r[k];
    out.reward = r;
  }
  if (Object.keys(scaffolds).length) {
    if (raw.scaffolds !== undefined) fail("scaffolds", "given together with the old curriculum / reward.retrievalBonus fields: use one form");
    out.scaffolds = scaffolds;
  }
  return out;
}
