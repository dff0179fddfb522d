/** @module reward/testdata/python-ref — run the independent Python reference (reference.py) on a batch, for parity tests. */
import { execFileSync, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const hasPython = spawnSync("python3", ["--version"]).status === 0;

export interface PyRequest {
  normalize?: string[];
  metrics?: [string, string[]][];
  reward?: [string, string[], string][];
}

export interface PyResponse {
  normalize: string[];
  metrics: { em: number; f1: number; acc: number }[];
  reward: { reward: number; prediction: string | null }[];
}

export function runPythonReference(req: PyRequest): PyResponse {
  const script = join(dirname(fileURLToPath(import.meta.url)), "reference.py");
  const out = execFileSync("python3", [script], { input: JSON.stringify(req), encoding: "utf8", maxBuffer: 1 << 28 });
  return JSON.parse(out) as PyResponse;
}
