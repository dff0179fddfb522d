/** @module cli/commands/view — `research view`: the local web viewer over training and evaluation run directories. */
import type { Command } from "commander";
import { intOption } from "../options.js";

export function register(program: Command): void {
  program
    .command("view")
    .description("browse runs in a local web app: live training curves, GRPO groups of trajectories, the eval table")
    .argument("<run-dirs...>", "training runs (metrics.jsonl), evaluation runs (summary.json), or folders of them (a demo output)")
    .option("--port <n>", "port to listen on (0: any free port)", intOption("--port", 0, 65535), 7860)
    .option("--host <addr>", "interface to bind (127.0.0.1: this machine only)", "127.0.0.1")
    .addHelpText(
      "after",
      `\nServes a small front end (plain ES modules, nothing fetched from the network) that polls the directories every
2 s, so a run in progress updates live. Ctrl-C stops it.\n
Examples:
  research view runs/demo
  research view runs/a/train runs/b/train --port 8080      # two runs' curves overlaid`,
    )
    .action(async (dirs: string[], opts: { port: number; host: string }) => {
      const { port } = opts;
      const { startViewer } = await import("../../viewer/server.js");
      const { discoverRuns } = await import("../../viewer/runs.js");
      const runs = discoverRuns(dirs);
      const viewer = await startViewer({ dirs, port, host: opts.host });
      process.stderr.write(
        `${runs.length ? `${runs.length} run(s): ${runs.map((r) => `${r.id} (${r.kind})`).join(", ")}` : "no runs yet: waiting for them to appear"}\nviewer at ${viewer.url}  (Ctrl-C to stop)\n`,
      );
      await new Promise<void>((res) => {
        const stop = () => void viewer.close().then(res);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}
