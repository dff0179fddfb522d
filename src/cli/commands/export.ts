/** @module cli/commands/export — `research export gguf|hf`: write a model as F32 GGUF (llama.cpp) or a Hugging Face directory. */
import type { Command } from "commander";
import { getOrCreateGroup } from "../group.js";

export function register(program: Command): void {
  const group = getOrCreateGroup(program, "export", "Export a model to other formats (GGUF for llama.cpp, Hugging Face directory)");
  group
    .command("gguf")
    .description("Write an F32 GGUF file (architecture llama or qwen2) that llama.cpp / node-llama-cpp can run")
    .requiredOption("-m, --model <path>", "HF model directory, llama2.c .bin, or a directory holding one")
    .requiredOption("-o, --out <file>", "output .gguf path")
    .option("--name <name>", "general.name stored in the file", "research-ts")
    .action(async (o: { model: string; out: string; name: string }) => {
      const { loadModel } = await import("../../model/load.js");
      const { exportGguf } = await import("../../model/gguf.js");
      const m = await loadModel(o.model);
      exportGguf(o.out, m, o.name);
      process.stdout.write(`wrote ${o.out} (${m.config.model_type === "qwen2" ? "qwen2" : "llama"}, F32)\n`);
    });
  group
    .command("hf")
    .description("Write a Hugging Face directory (config.json, model.safetensors F32, tokenizer files)")
    .requiredOption("-m, --model <path>", "HF model directory, llama2.c .bin, or a directory holding one")
    .requiredOption("-o, --out <dir>", "output directory")
    .action(async (o: { model: string; out: string }) => {
      const { loadModel, saveModel } = await import("../../model/load.js");
      saveModel(o.out, await loadModel(o.model));
      process.stdout.write(`wrote ${o.out}\n`);
    });
}
