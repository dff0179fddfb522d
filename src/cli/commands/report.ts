/** @module cli/commands/report — `research report`: a self-contained HTML report of runs, with SVG plots beside it. */
import type { Command } from "commander";
import { intOption } from "../options.js";

export function register(program: Command): void {
  program
    .command("report")
    .description("write one self-contained HTML file (inline SVG charts, eval table, selected trajectories) plus SVG plots")
    .argument("<run-dirs...>", "training runs, evaluation runs, or folders of them (a demo output)")
    .requiredOption("-o, --out <file.html>", "HTML file to write; plots go to <file>-plots/<metric>.svg beside it")
    .option("--trajectories <n>", "GRPO groups per training run (first to last step) and items per evaluation run", intOption("--trajectories", 0), 2)
    .option("--title <text>", "page title")
    .addHelpText(
      "after",
      `\nCharts are Vega-Lite rendered to SVG in Node (headless, no network); the file has no script and loads nothing.\n
Example:
  research report runs/demo --out runs/demo/report.html`,
    )
    .action(async (dirs: string[], opts: { out: string; trajectories: number; title?: string }) => {
      const { writeReport } = await import("../../viewer/report.js");
      const r = await writeReport({ dirs, out: opts.out, trajectories: opts.trajectories, title: opts.title });
      process.stderr.write(`wrote ${r.html} and ${r.plots.length} plot(s) in ${r.plots.length ? r.plots[0].replace(/[^/\\]+$/, "") : "-"}\n`);
    });
}
