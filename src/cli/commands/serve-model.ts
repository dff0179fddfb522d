/** @module cli/commands/serve-model — `research serve model`: an OpenAI-compatible server over the native engine. */
import type { Command } from "commander";
import { intOption } from "../options.js";
import { getOrCreateGroup } from "../group.js";

export function register(program: Command): void {
  getOrCreateGroup(program, "serve", "Serve a retriever or a model over HTTP")
    .command("model")
    .description("OpenAI-compatible server: GET /v1/models, POST /v1/completions, POST /v1/chat/completions (stream: true for SSE)")
    .requiredOption("-m, --model <path>", "HF model directory, llama2.c .bin, or a directory holding one")
    .option("-p, --port <port>", "TCP port (0 = any free port)", intOption("--port", 0, 65535), 8000)
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .option("--name <name>", "model id reported to clients (default: the directory name)")
    .option("--max-batch <n>", "most sequences decoded together", intOption("--max-batch", 1), 16)
    .option("--max-queue <n>", "requests that may wait beyond --max-batch; more get 503 + Retry-After", intOption("--max-queue", 0, 1_000_000), 1024)
    .action(async (o: { model: string; port: number; host: string; name?: string; maxBatch: number; maxQueue: number }) => {
      const { port, maxBatch, maxQueue } = o;
      const { startModelServer } = await import("../../model/server.js");
      const server = await startModelServer({ model: o.model, port, host: o.host, modelName: o.name, maxBatch, maxQueue });
      process.stderr.write(`serving ${o.model} at ${server.url}/v1 (Ctrl-C to stop)\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
