/** @module cli/commands/serve-trainer — `research serve trainer`: our engine behind the Tinker training REST API (train/tinker-server.ts). */
import type { Command } from "commander";
import { intOption } from "../options.js";
import { getOrCreateGroup } from "../group.js";

export function register(program: Command): void {
  getOrCreateGroup(program, "serve", "Serve a retriever or a model over HTTP")
    .command("trainer")
    .description("Tinker-compatible training service (POST /api/v1/create_model, forward_backward, optim_step, asample, save/load_weights, retrieve_future) over our engine: full fine-tune of base models in --models DIR")
    .requiredOption("--models <dir>", "directory of base models: a create_model's base_model names a subdirectory (HF dir or llama2.c .bin)")
    .option("--checkpoints <dir>", "where tinker://… checkpoints are written (default: <models>/.tinker); they survive restarts")
    .option("-p, --port <port>", "TCP port (0 = any free port)", intOption("--port", 0, 65535), 8001)
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .addHelpText(
      "after",
      `
Example:
  research serve trainer --models models/ --port 8001
  research train --config train.yaml --backend tinker --base-url http://127.0.0.1:8001 --base-model stories260K

LoRA is not supported (lora_config.rank > 0 is a 400); rank 0 or no lora_config trains the full model.`,
    )
    .action(async (o: { models: string; checkpoints?: string; port: number; host: string }) => {
      const { startTinkerServer } = await import("../../train/tinker-server.js");
      const server = await startTinkerServer({ models: o.models, checkpoints: o.checkpoints, port: o.port, host: o.host });
      process.stderr.write(`serving the Tinker API over ${o.models} at ${server.url}/api/v1 (Ctrl-C to stop)\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
