/**
 * @module cli/commands/rollout — `research rollout --dataset FILE --out FILE.jsonl`: n rollouts per question, appended
 * as JSONL as each finishes (resumable: a rerun skips the ids already written), then a summary.
 */
import type { Command } from "commander";
import { intOption } from "../options.js";
import { addBackendOptions, addRetrieverOptions, addRolloutOptions } from "../../rollout/backends/index.js";
import { UserError } from "../../util/errors.js";
import type { Trajectory } from "../../rollout/types.js";

export function register(program: Command): void {
  const cmd = program
    .command("rollout")
    .description("Roll out a QA dataset with search: n trajectories per question, written as JSONL (resumable)")
    .requiredOption("--dataset <file>", "QA file (FlashRAG, R1-Searcher, MuSiQue, HotpotQA, 2Wiki, verl, {question, answer} …)")
    .requiredOption("--out <file.jsonl>", "trajectories, one JSON per line; rerunning skips the ids already there")
    .option("-n, --n <n>", "rollouts per question", intOption("-n", 1), 5)
    .option("--limit <n>", "first N questions only", intOption("--limit", 1))
    .option("--retry-errors", "rerun the rollouts that ended in error (they are removed from --out first)");
  addBackendOptions(cmd);
  addRetrieverOptions(cmd);
  addRolloutOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Example:
  research rollout --dataset ../shared/data/eval/flashrag_quickstart_nq_test.jsonl --out runs/nq.jsonl -n 5 \\
    --base-url http://localhost:8000/v1 --model-name ReSearch-Qwen-7B --index data/wiki-index`,
  );
  cmd.action(async (flags: Record<string, unknown>) => {
    const n = flags.n as number;
    const limit = flags.limit as number | undefined;
    const [backends, { streamRollouts }, traj, { loadQAArray }, { createProgress }] = await Promise.all([
      import("../../rollout/backends/index.js"),
      import("../../rollout/loop.js"),
      import("../../rollout/trajectory.js"),
      import("../../data/qa.js"),
      import("../../util/progress.js"),
    ]);
    const rc = backends.rolloutConfigFromFlags(flags);
    const retrieverCfg = backends.parseConfig(backends.RetrieverConfigSchema, backends.retrieverConfigFromFlags(flags));
    const dataset = String(flags.dataset);
    const out = String(flags.out);
    const qa = await loadQAArray(dataset, { limit });
    const seen = new Set<string>();
    for (const q of qa) {
      if (seen.has(q.id)) throw new UserError(`${dataset}: duplicate question id "${q.id}" (ids name the rollouts for resuming)`);
      seen.add(q.id);
    }
    const done = await traj.prepareResume(out, { retryErrors: Boolean(flags.retryErrors) });
    const todo = qa.length * n - qa.reduce((acc, q) => acc + Array.from({ length: n }, (_, k) => done.has(`${q.id}#${k}`)).filter(Boolean).length, 0);
    process.stderr.write(`${qa.length} questions × ${n} = ${qa.length * n} rollouts; ${qa.length * n - todo} already in ${out}, ${todo} to run\n`);
    const summary = createSummary();
    if (todo > 0) {
      const retriever = await backends.openRetrieverFromConfig(retrieverCfg);
      const backend = await backends.createBackend(backends.backendConfigFromFlags(flags));
      const bar = createProgress("rollout", todo, { fields: "{searches} searches/rollout" });
      try {
        const events = streamRollouts({
          backend,
          retriever,
          examples: qa.map((q) => ({ id: q.id, question: q.question, goldenAnswers: q.golden_answers })),
          n,
          ...rc,
          topN: retrieverCfg.topN,
          include: (id, k) => !done.has(`${id}#${k}`),
        });
        for await (const ev of events) {
          if (ev.type !== "done") continue;
          summary.add(traj.appendTrajectory(out, ev.trajectory));
          bar.increment(1, { searches: summary.searchesPerRollout().toFixed(2) });
        }
      } finally {
        bar.stop();
        await backend.close?.();
        await retriever.close?.();
      }
    }
    process.stdout.write(summary.render(out) + "\n");
  });
}

/** Counts over the rollouts of this run: finish reasons, searches per rollout, response lengths, answers found. */
function createSummary() {
  let count = 0;
  let searches = 0;
  let tokens = 0;
  let withIds = 0;
  let chars = 0;
  let answered = 0;
  let ms = 0;
  const reasons: Record<string, number> = {};
  return {
    add(t: Trajectory) {
      count++;
      searches += t.searches;
      chars += t.response.length;
      if (t.responseIds) [tokens, withIds] = [tokens + t.responseIds.length, withIds + 1];
      if (t.answer !== null && t.answer !== undefined) answered++;
      reasons[t.finishReason] = (reasons[t.finishReason] ?? 0) + 1;
      ms += t.timings.totalMs;
    },
    searchesPerRollout: () => (count ? searches / count : 0),
    render(out: string) {
      if (!count) return `nothing to do: every rollout is already in ${out}`;
      const lines = [
        `rollouts: ${count} → ${out}`,
        `finish: ${Object.entries(reasons).map(([k, v]) => `${k} ${v}`).join(", ")}`,
        `searches/rollout: ${(searches / count).toFixed(2)}`,
        `response length: ${withIds ? `${(tokens / withIds).toFixed(1)} tokens, ` : ""}${(chars / count).toFixed(0)} chars (mean)`,
        `with an answer: ${answered} (${((100 * answered) / count).toFixed(1)}%)`,
        `mean time per rollout: ${(ms / count / 1000).toFixed(2)} s`,
      ];
      return lines.join("\n");
    },
  };
}
