/**
 * @module tokenizer/load — find and load the tokenizer of a model directory: `tokenizer.json` (HF) or a llama2.c
 * `tokenizer.bin` / `tok*.bin`; the name `qwen3` gives the bundled Qwen3 tokenizer.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { UserError } from "../util/errors.js";
import { loadHfTokenizer, loadQwen3Tokenizer, type HfTokenizer } from "./hf.js";
import { loadLlama2cTokenizer, type Llama2cTokenizer } from "./llama2c.js";

export type LoadedTokenizer = HfTokenizer | Llama2cTokenizer;

/** The llama2.c tokenizer file in a directory (`tokenizer.bin`, else the single `tok*.bin`), or null. */
export function findLlama2cTokenizerFile(dir: string): string | null {
  if (existsSync(join(dir, "tokenizer.bin"))) return join(dir, "tokenizer.bin");
  const toks = readdirSync(dir).filter((f) => /^tok.*\.bin$/.test(f)).sort();
  return toks.length ? join(dir, toks[0]) : null;
}

/** Load a tokenizer from a directory (or the directory of a file path), or `qwen3`. */
export async function loadTokenizer(pathOrName: string, vocabSize?: number): Promise<LoadedTokenizer> {
  if (pathOrName === "qwen3") return loadQwen3Tokenizer();
  if (!existsSync(pathOrName)) throw new UserError(`tokenizer path not found: ${pathOrName}`);
  const dir = statSync(pathOrName).isDirectory() ? pathOrName : dirname(pathOrName);
  if (!statSync(pathOrName).isDirectory() && /\.bin$/.test(pathOrName) && /tok/.test(pathOrName))
    return loadLlama2cTokenizer(pathOrName, vocabSize);
  if (existsSync(join(dir, "tokenizer.json"))) return loadHfTokenizer(dir);
  const bin = findLlama2cTokenizerFile(dir);
  if (bin) return loadLlama2cTokenizer(bin, vocabSize);
  throw new UserError(`${dir}: no tokenizer found (tokenizer.json, tokenizer.bin or tok*.bin)`);
}
