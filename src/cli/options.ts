/**
 * @module cli/options — numeric command-line options, parsed and checked in one place. Every command uses these so a
 * bad value reads the same everywhere: `--port: expected an integer in 0..65535, got "x"` (a UserError: exit 1, no
 * stack trace).
 */
import { UserError } from "../util/errors.js";

export interface NumberRange {
  /** Whole numbers only. */
  int?: boolean;
  min?: number;
  max?: number;
}

/** `value` as a number within `r`, or a UserError naming `flag` and the value given. */
export function parseNumberOption(flag: string, value: unknown, r: NumberRange = {}): number {
  const n = typeof value === "string" && value.trim() === "" ? NaN : Number(value);
  const ok = Number.isFinite(n) && (!r.int || Number.isInteger(n)) && (r.min === undefined || n >= r.min) && (r.max === undefined || n <= r.max);
  if (ok) return n;
  const range = r.min !== undefined && r.max !== undefined ? ` in ${r.min}..${r.max}` : r.min !== undefined ? ` ≥ ${r.min}` : r.max !== undefined ? ` ≤ ${r.max}` : "";
  throw new UserError(`${flag}: expected ${r.int ? "an integer" : "a number"}${range}, got "${String(value)}"`);
}

/** A commander argument parser for an integer option (`min`/`max` inclusive). */
export const intOption = (flag: string, min?: number, max?: number) => (v: string) => parseNumberOption(flag, v, { int: true, min, max });

/** A commander argument parser for a number option (`min`/`max` inclusive). */
export const numberOption = (flag: string, min?: number, max?: number) => (v: string) => parseNumberOption(flag, v, { min, max });

/** `--device`: the ggml device a model runs on (ggml/lib.ts DEVICE_NAMES; listed here so --help stays fast). */
export const DEVICE_CHOICES = ["auto", "cpu", "cuda", "vulkan", "metal"] as const;
export const DEVICE_HELP = "ggml device the model runs on: auto (cuda, else metal on Apple silicon, else cpu), cpu, cuda, vulkan, metal; env RESEARCH_ENGINE=ts: the TypeScript engine";
/** Commands that run a model: each gets `--device` (cli/main.ts). */
export const MODEL_COMMANDS = ["generate", "ask", "rollout", "train", "eval", "serve model", "demo", "world pretrain", "engine"] as const;
