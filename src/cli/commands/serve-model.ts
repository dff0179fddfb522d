/** @module cli/commands/serve-model — `research serve model`: an OpenAI-compatible server over the native engine. */
import type { Command } from "commander";
import { intOption } from "../options.js";
import { getOrCreateGroup } from "../group.js";

export function register(program: Command): void {
  getOrCreateGroup(program, "serve", "Serve a retriever or a model over HTTP")
    .command("model")
    .description("OpenAI-compatible server: GET /v1/models, POST /v1/completions, POST /v1/chat/completions")
    .requiredOption("-m, --model <path>", "HF model directory, llama2.c .bin, or a directory holding one")
    .option("-p, --port <port>", "TCP port (0 = any free port)", intOption("--port", 0, 65535), 8000)
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .option("--name <name>", "model id reported to clients (default: the directory name)")
    .option("--max-batch <n>", "most sequences decoded together", intOption("--max-batch", 1), 16)
    .action(async (o: { model: string; port: number; host: string; name?: string; maxBatch: number }) => {
      const { port, maxBatch } = o;
      const { startModelServer } = await import("../../model/server.js");
      const server = await startModelServer({ model: o.model, port, host: o.host, modelName: o.name, maxBatch });
      process.stderr.write(`serving ${o.model} at ${server.url}/v1 (Ctrl-C to stop)\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
