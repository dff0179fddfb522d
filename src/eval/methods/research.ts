/**
 * @module eval/methods/research — ReSearch itself: one rollout of the think → search → result → answer loop; the
 * prediction is extracted exactly as the reward does (first `<answer>`, last `\boxed{}` in it), "" when there is none.
 */
import { extractAnswer } from "../../reward/answer.js";
import { stripEos } from "../../tokenizer/chat.js";
import { runRollouts, type RolloutOptions } from "../../rollout/loop.js";
import type { Trajectory } from "../../rollout/types.js";
import type { EvalItem, Method } from "../types.js";

/**
 * The `rollout` of a MethodContext: one rollout per question through the rollout engine's loop (greedy unless a
 * temperature is given). Concurrency comes from the eval runner's workers, each running its own question.
 */
export function createRolloutRunner(opts: Omit<RolloutOptions, "examples" | "n" | "include">): (item: EvalItem) => Promise<Trajectory> {
  return async (item) => {
    const [t] = await runRollouts({ ...opts, examples: [{ id: item.id, question: item.question, goldenAnswers: item.goldenAnswers }], n: 1, batchSize: 1 });
    if (!t) throw new Error(`rollout loop returned no trajectory for ${item.id}`);
    return t;
  };
}


/** ReSearch's prediction for a finished rollout. */
export function researchPrediction(t: Trajectory, eosText: string): string {
  return extractAnswer(stripEos(t.response, eosText)) ?? "";
}

export const research: Method = {
  name: "research",
  description: "ReSearch rollout (think/search/result/answer loop); prediction = \\boxed{} in the first <answer>",
  needsRetriever: true,
  async run(item, ctx) {
    if (!ctx.rollout) throw new Error("the research method needs a rollout runner");
    const trajectory = await ctx.rollout(item);
    return { pred: researchPrediction(trajectory, ctx.backend.eosText), raw: trajectory.response, trajectory };
  },
};
