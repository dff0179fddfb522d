/** @module cli/commands/ask — `research ask "QUESTION"`: one rollout streamed to the terminal (tags coloured), then the answer. */
import type { Command } from "commander";
import { addBackendOptions, addRetrieverOptions, addRolloutOptions } from "../../rollout/backends/index.js";

export function register(program: Command): void {
  const cmd = program
    .command("ask")
    .description("Answer one question with search: the model thinks, searches, reads results, answers")
    .argument("<question>", "the question")
    .option("--json", "print the whole trajectory as one JSON object (with an `answer` field) instead of streaming");
  addBackendOptions(cmd);
  addRetrieverOptions(cmd);
  addRolloutOptions(cmd, { temperature: "0" });
  cmd.addHelpText(
    "after",
    `
Examples:
  research ask "Who directed the film that won Best Picture in 1998?" --model runs/r1/final --index data/wiki-index
  research ask "…" --base-url http://localhost:8000/v1 --model-name ReSearch-Qwen-7B --retriever-url http://localhost:8001
  research ask "…" --model research-qwen-7b.Q4_K_M.gguf --index data/wiki-index --json`,
  );
  cmd.action(async (question: string, flags: Record<string, unknown>) => {
    const [{ default: pc }, backends, { streamRollouts }, { withAnswer }, { colourSegment }] = await Promise.all([
      import("picocolors"),
      import("../../rollout/backends/index.js"),
      import("../../rollout/loop.js"),
      import("../../rollout/trajectory.js"),
      import("../../rollout/render.js"),
    ]);
    const rc = backends.rolloutConfigFromFlags(flags);
    const retrieverCfg = backends.retrieverConfigFromFlags(flags);
    const retriever = await backends.openRetrieverFromConfig(retrieverCfg);
    const backend = await backends.createBackend(backends.backendConfigFromFlags(flags));
    try {
      const events = streamRollouts({
        backend,
        retriever,
        examples: [{ id: "ask", question }],
        ...rc,
        topN: backends.parseConfig(backends.RetrieverConfigSchema, retrieverCfg).topN,
      });
      for await (const ev of events) {
        if (flags.json) {
          if (ev.type === "done") process.stdout.write(JSON.stringify(withAnswer(ev.trajectory), null, 2) + "\n");
          if (ev.type === "done" && ev.trajectory.finishReason === "error") process.exitCode = 1;
          continue;
        }
        if (ev.type === "start") process.stdout.write(pc.dim(ev.prompt));
        else if (ev.type === "segment") process.stdout.write(colourSegment(ev.segment));
        else if (ev.type === "done") {
          const t = withAnswer(ev.trajectory);
          process.stdout.write("\n\n");
          if (t.error) {
            process.stdout.write(pc.red(`error: ${t.error}\n`));
            process.exitCode = 1;
          }
          process.stdout.write(`${pc.bold("answer:")} ${t.answer === null || t.answer === undefined ? pc.red("(none)") : pc.bold(pc.green(t.answer))}\n`);
          const secs = (t.timings.totalMs / 1000).toFixed(1);
          process.stdout.write(pc.dim(`${t.searches} search${t.searches === 1 ? "" : "es"}, finish: ${t.finishReason}, ${secs} s\n`));
        }
      }
    } finally {
      await backend.close?.();
      await retriever.close?.();
    }
  });
}
