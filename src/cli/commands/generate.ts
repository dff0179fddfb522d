/** @module cli/commands/generate — `research generate`: sample a continuation from a model with the native engine. */
import type { Command } from "commander";
import { intOption, numberOption } from "../options.js";

export function register(program: Command): void {
  program
    .command("generate")
    .description("Generate text from a model (HF directory or llama2.c .bin) with the native KV-cache engine")
    .requiredOption("-m, --model <path>", "HF model directory, llama2.c .bin, or a directory holding a .bin and its tok*.bin")
    .option("-p, --prompt <text>", "prompt text (empty: start from BOS)", "")
    .option("-n, --max-tokens <n>", "new tokens to generate", intOption("--max-tokens", 0), 256)
    .option("-t, --temperature <t>", "sampling temperature; 0 = greedy", numberOption("--temperature", 0), 1.0)
    .option("--top-p <p>", "nucleus sampling mass (1 = off)", numberOption("--top-p", 0, 1), 0.9)
    .option("--top-k <k>", "keep only the k most likely tokens (0 = off)", intOption("--top-k", 0), 0)
    .option("-s, --seed <s>", "RNG seed", intOption("--seed"), 0)
    .option("--stop <text...>", "stop strings (the text ends with the matched one)", [])
    .option("--chat", "wrap the prompt as one user message with the model's chat template")
    .option("--stats", "print tokens/s and the finish reason to stderr")
    .action(async (o: { model: string; prompt: string; maxTokens: number; temperature: number; topP: number; topK: number; seed: number; stop: string[]; chat?: boolean; stats?: boolean }) => {
      const { loadModel } = await import("../../model/load.js");
      const { createEngine } = await import("../../model/generate.js");
      const model = await loadModel(o.model);
      let prompt = o.prompt;
      if (o.chat) {
        const { renderChat, tokenizerChatOptions } = await import("../../tokenizer/chat.js");
        prompt = renderChat([{ role: "user", content: o.prompt }], tokenizerChatOptions(model.tokenizer));
      }
      const engine = createEngine(model);
      const t0 = performance.now();
      const [r] = await engine.generate([
        { prompt, maxTokens: o.maxTokens, stop: o.stop, temperature: o.temperature, topP: o.topP, topK: o.topK, seed: o.seed },
      ]);
      const ms = performance.now() - t0;
      const { stripEos } = await import("../../tokenizer/chat.js");
      const text = r.finishReason === "eos" ? stripEos(r.text, model.tokenizer.decode([r.tokenIds![r.tokenIds!.length - 1]])) : r.text;
      process.stdout.write(text + "\n");
      if (o.stats)
        process.stderr.write(`${r.tokenIds!.length} tokens in ${ms.toFixed(0)} ms (${((1000 * r.tokenIds!.length) / ms).toFixed(1)} tok/s), finish: ${r.finishReason}\n`);
    });
}
