/** @module cli/commands/engine — `research engine`: which generation engine (ggml backend, devices, threads, library) this machine runs. */
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("engine")
    .description("Show the generation engine this machine runs: ggml backend, devices, threads, library (what report.json's config.engine records)")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  research engine\n  research engine --json --device cpu\n  RESEARCH_GGML_CPU_VARIANT=haswell research engine\n")
    .action(async (o: { json?: boolean }) => {
      const { engineReport } = await import("../../model/engine-select.js");
      const info = engineReport();
      if (o.json) {
        process.stdout.write(JSON.stringify(info, null, 2) + "\n");
        return;
      }
      const gb = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
      const lib = info.library as Record<string, unknown>;
      const lines = [
        `backend   ${info.backend}`,
        `threads   ${info.threads}`,
        ...info.devices.map((d, i) => `device ${i}  ${d.name} (${d.type}) ${d.description}${d.memoryTotal ? `, ${gb(d.memoryFree)} free of ${gb(d.memoryTotal)}` : ""}`),
        ...Object.entries(lib).filter(([, v]) => v !== undefined).map(([k, v]) => `${k.padEnd(9)} ${String(v)}`),
      ];
      process.stdout.write(lines.join("\n") + "\n");
    });
}
