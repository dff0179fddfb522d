/**
 * @module retrieval/worker-url — start a worker thread from a TypeScript module, whether we run from source
 * (through tsx: the worker registers the tsx loader first) or from compiled JavaScript.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/** `moduleUrl`: the worker's URL relative to the caller, e.g. new URL("./search-worker.js", import.meta.url). */
export function startWorker(moduleUrl: URL, opts: WorkerOptions = {}): Worker {
  const href = moduleUrl.href;
  const fromSource = import.meta.url.endsWith(".ts");
  if (!fromSource) return new Worker(moduleUrl, opts);
  const tsUrl = href.replace(/\.js$/, ".ts");
  // The ESM build of tsx's API (resolve() gives the CommonJS one; they sit side by side).
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  const code =
    `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(tsUrl)}); })` +
    `.catch((e) => { console.error(e); process.exit(1); });`;
  return new Worker(code, { ...opts, eval: true });
}
