/** @module cli/commands/reward — `research reward`: the ReSearch reward for each line of a JSONL file. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("reward")
    .description("score rollouts with the ReSearch rule-based reward (one JSON line per input line)")
    .requiredOption("-i, --input <file>", 'JSONL lines {"solution", "golden_answers", "eos_token"}')
    .option("--eos-token <text>", "EOS text for lines without eos_token (e.g. '<|im_end|>' or '<|endoftext|>')")
    .option("--with-prediction", "also write the extracted \\boxed{} answer as \"prediction\"")
    .addHelpText(
      "after",
      `\nWrites {"reward", "reason"} per line to stdout: 0 for a bad format or a missing EOS (cut by the length limit),
else the max token-F1 of the \\boxed{} answer over golden_answers, or 0.1 if that F1 is 0.\n
Example:
  research reward --input rollouts.jsonl > rewards.jsonl`,
    )
    .action(async (opts: { input: string; eosToken?: string; withPrediction?: boolean }) => {
      const { readJsonl } = await import("../../util/fs.js");
      const { computeReward } = await import("../../reward/reward.js");
      const { parseRecord, RewardLineSchema } = await import("../../reward/io.js");
      const { recordError } = await import("../../data/formats.js");
      let index = 0;
      for await (const { value, line } of readJsonl(opts.input)) {
        const at = { file: opts.input, index: index++, line };
        const rec = parseRecord(RewardLineSchema, value, at);
        const eosToken = rec.eos_token ?? opts.eosToken;
        if (eosToken === undefined) throw recordError(at, "eos_token", "missing (give it per line or with --eos-token)");
        const r = computeReward({ solution: rec.solution, goldenAnswers: rec.golden_answers, eosToken });
        const out = opts.withPrediction ? { reward: r.reward, reason: r.reason, prediction: r.prediction } : { reward: r.reward, reason: r.reason };
        if (!process.stdout.write(JSON.stringify(out) + "\n")) await new Promise((res) => process.stdout.once("drain", res));
      }
    });
}
