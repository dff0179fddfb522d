/**
 * @module tensor/backend — picks the TensorFlow.js backend once per process: `tfjs-node` when it is installed (native
 * TensorFlow), else WebAssembly with SIMD (single thread; the .wasm files are read from node_modules, nothing is
 * fetched). Then installs our faster gradients and kernels (see tensor/grads.ts) so every model runs the same code.
 */
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { installCustomGradients, installWasmKernels, setTransposeIsFree } from "./grads.js";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface TensorBackendInfo {
  /** tfjs backend name: "tensorflow" (tfjs-node), "wasm" or "cpu". */
  name: BackendName;
  /** Extra facts printed at start-up, e.g. "simd" or "blas=openblas". */
  details: string[];
}

export interface TensorBackendOptions {
  /** Force one backend; default: env RESEARCH_TF_BACKEND, else tfjs-node when installed, else wasm. */
  prefer?: BackendName;
  /** Do not print the choice to stderr. */
  quiet?: boolean;
}

let ready: Promise<TensorBackendInfo> | undefined;

/** Initialise the tensor backend (idempotent: later calls return the first result). */
export function initTensorBackend(opts: TensorBackendOptions = {}): Promise<TensorBackendInfo> {
  ready ??= pickBackend(opts).then((info) => {
    if (!opts.quiet && !process.env.RESEARCH_QUIET_BACKEND) {
      process.stderr.write(`tensor backend: ${info.name}${info.details.length ? ` (${info.details.join(", ")})` : ""}\n`);
    }
    return info;
  });
  return ready;
}

async function pickBackend(opts: TensorBackendOptions): Promise<TensorBackendInfo> {
  const prefer = opts.prefer ?? (process.env.RESEARCH_TF_BACKEND as BackendName | undefined);
  if (prefer !== undefined && !["tensorflow", "wasm", "cpu"].includes(prefer))
    throw new Error(`unknown tensor backend "${prefer}" (RESEARCH_TF_BACKEND): use tensorflow, wasm or cpu`);
  if (prefer === undefined || prefer === "tensorflow") {
    if (await tryTfjsNode()) {
      installCustomGradients();
      setTransposeIsFree(true);
      return { name: "tensorflow", details: ["native TensorFlow"] };
    }
    if (prefer === "tensorflow") throw new Error("RESEARCH_TF_BACKEND=tensorflow but @tensorflow/tfjs-node is not installed");
  }
  if (prefer === "cpu") {
    await tf.setBackend("cpu"); // registered by @tensorflow/tfjs
    await tf.ready();
    installCustomGradients();
    return { name: "cpu", details: ["pure JavaScript, slow"] };
  }
  const details = await initWasm();
  installCustomGradients();
  details.push(...(await installWasmKernels()));
  return { name: "wasm", details };
}

async function tryTfjsNode(): Promise<boolean> {
  const pkg = "@tensorflow/tfjs-node"; // a variable, so TypeScript does not require the optional package
  try {
    await import(pkg);
  } catch {
    return false;
  }
  await tf.setBackend("tensorflow");
  await tf.ready();
  return tf.getBackend() === "tensorflow";
}

async function initWasm(): Promise<string[]> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const require = createRequire(import.meta.url);
  const dist = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist");
  const simd = join(dist, "tfjs-backend-wasm-simd.wasm");
  // Threads need web workers; in Node we run the single-threaded SIMD build and leave the other core to the caller.
  wasm.setWasmPaths({
    "tfjs-backend-wasm.wasm": join(dist, "tfjs-backend-wasm.wasm"),
    "tfjs-backend-wasm-simd.wasm": simd,
    "tfjs-backend-wasm-threaded-simd.wasm": simd,
  });
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  const hasSimd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) as boolean;
  if (!(await tf.setBackend("wasm"))) throw new Error("could not initialise the tfjs wasm backend");
  await tf.ready();
  return [hasSimd ? "simd" : "no simd"];
}
