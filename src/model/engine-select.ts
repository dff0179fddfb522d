/**
 * @module model/engine-select — which generation engine this process runs: ggml (ggml/infer.ts, the default) on the
 * device the CLI's `--device` chose, or the TypeScript engine (model/infer.ts) when env `RESEARCH_ENGINE=ts`.
 * The CLI sets the process defaults once (`setEngineDefaults`) before any engine opens; `createEngine` and
 * `research engine` read them.
 */
import { UserError } from "../util/errors.js";
import { cpuVariantRuns, DEVICE_NAMES, openGgml, openedGgml, type DeviceName, type EngineInfo, type GgmlRuntime, type OpenOptions } from "../ggml/lib.js";

let defaults: OpenOptions = {};

/** Set the device / threads / CPU variant every later engine of this process opens ggml with. */
export function setEngineDefaults(opts: OpenOptions): void {
  if (opts.device !== undefined && !DEVICE_NAMES.includes(opts.device))
    throw new UserError(`unknown device "${opts.device}": use ${DEVICE_NAMES.join(", ")}`);
  defaults = { ...defaults, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
}

export function engineDefaults(): Readonly<OpenOptions> {
  return defaults;
}

/** Whether `RESEARCH_ENGINE=ts` selects the TypeScript engine (the escape hatch; `ggml` or unset: ggml). */
export function usesTsEngine(): boolean {
  const e = (process.env.RESEARCH_ENGINE ?? "").trim().toLowerCase();
  if (e === "" || e === "ggml") return false;
  if (e === "ts") return true;
  throw new UserError(`RESEARCH_ENGINE=${process.env.RESEARCH_ENGINE}: use "ggml" (default) or "ts"`);
}

/** The ggml runtime for this process's engines (the defaults, overridden by `opts`). */
export function engineRuntime(opts: OpenOptions = {}): GgmlRuntime {
  return openGgml({ ...defaults, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) });
}

/** What `research engine` prints and report.json's `config.engine` records. */
export type EngineReport = EngineInfo | { backend: "ts"; devices: []; threads: 1; library: { path: string; version: string } };

export function engineReport(opts: OpenOptions = {}): EngineReport {
  if (usesTsEngine()) return { backend: "ts", devices: [], threads: 1, library: { path: "src/model/infer.ts", version: "RESEARCH_ENGINE=ts" } };
  return engineRuntime(opts).info;
}

/** Threads the demo pins ggml to (with the haswell CPU variant) so its runs repeat bit for bit across machines. */
export const REPRODUCIBLE_THREADS = 2;
export const REPRODUCIBLE_CPU_VARIANT = "haswell";

/** Pin reproducible CPU kernels for this process (unless the user already chose a variant / device, or ggml is open): the haswell
 *  variant when it runs on this processor, and a fixed thread count. Returns what was pinned. */
export function pinReproducibleEngine(): OpenOptions {
  // a library caller that already opened ggml in this process (e.g. pretrained a base model first) keeps its runtime
  if (openedGgml()) return {};
  const pin: OpenOptions = { threads: REPRODUCIBLE_THREADS };
  if (!process.env.RESEARCH_GGML_CPU_VARIANT && defaults.cpuVariant === undefined && cpuVariantRuns(REPRODUCIBLE_CPU_VARIANT))
    pin.cpuVariant = REPRODUCIBLE_CPU_VARIANT;
  setEngineDefaults(pin);
  return pin;
}
