/**
 * @module tensor/openblas — the one place OpenBLAS (Debian `libopenblas0-pthread`) is opened through the koffi FFI;
 * shared by the training model's tfjs matmuls (tensor/blas) and the inference engine (model/kernels).
 *
 * Kernel choice: a DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels from CPUID at load. On virtual machines whose
 * CPUID it does not recognise it falls back to Prescott (SSE3) kernels: on the 2-core AVX-512 development VM that
 * ran sgemm at 21–32 GFLOP/s instead of 125–146 (SkylakeX kernels) and sgemv at 4.6–6.2 GB/s instead of 13–27. So
 * when OPENBLAS_CORETYPE is unset we set it, before the library loads, from the CPU flags the Linux kernel reports
 * (it lists only features it enabled): SkylakeX with AVX-512 F/BW/VL/DQ, Haswell with AVX2 + FMA, else OpenBLAS's
 * own choice. A user's OPENBLAS_CORETYPE always wins; child processes (benchmarks' PyTorch) inherit the same choice.
 * Runs that must repeat bit for bit across machines (the demo) pin Haswell's kernels instead (`pinReproducibleCoreType`).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export interface OpenblasLib {
  func(signature: string): unknown;
}

const LIBS = ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"];
let opened: { lib: OpenblasLib; core: string } | null | undefined;

/** The OpenBLAS core type for a set of CPU flags (/proc/cpuinfo names), or undefined to leave OpenBLAS's choice. */
export function coreTypeForFlags(flags: Set<string>): string | undefined {
  if (["avx512f", "avx512bw", "avx512vl", "avx512dq"].every((f) => flags.has(f))) return "SkylakeX";
  if (flags.has("avx2") && flags.has("fma")) return "Haswell";
  return undefined;
}

function cpuFlags(): Set<string> {
  try {
    const m = /^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return new Set(m ? m[1].trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/**
 * Set OPENBLAS_CORETYPE from the CPU flags when it is unset (Linux x64), before OpenBLAS loads in this process or in
 * a child (benchmarks set it before starting PyTorch, so both sides run the same kernels). `choose` maps the flags to
 * a core type (default: the fastest, `coreTypeForFlags`). Returns the value in force.
 */
export function chooseOpenblasCoreType(choose: (flags: Set<string>) => string | undefined = coreTypeForFlags): string | undefined {
  if (process.env.OPENBLAS_CORETYPE === undefined && process.platform === "linux" && process.arch === "x64") {
    const core = choose(cpuFlags());
    if (core) process.env.OPENBLAS_CORETYPE = core;
  }
  return process.env.OPENBLAS_CORETYPE;
}

/**
 * The kernel set that gives bit-identical numbers on every x86-64 machine with AVX2 and FMA: Haswell's. The SkylakeX
 * (AVX-512) kernels sum in another order, and GRPO turns a last-bit difference into a different run within a few
 * dozen steps. Undefined where the CPU lacks AVX2 or FMA (OpenBLAS's own choice then stays, as with
 * `coreTypeForFlags`).
 */
export function reproducibleCoreType(flags: Set<string>): string | undefined {
  return flags.has("avx2") && flags.has("fma") ? "Haswell" : undefined;
}

/**
 * Pin OpenBLAS to `reproducibleCoreType` when OPENBLAS_CORETYPE is unset; costs speed on AVX-512 machines only. Call
 * before OpenBLAS loads (it reads the variable once); returns the value in force.
 */
export const pinReproducibleCoreType = (): string | undefined => chooseOpenblasCoreType(reproducibleCoreType);

/** Open OpenBLAS once (null when RESEARCH_BLAS=0, koffi or the library is missing); `core` is the kernel set in use. */
export function openOpenblas(): { lib: OpenblasLib; core: string } | null {
  if (opened !== undefined) return opened;
  opened = null;
  if (process.env.RESEARCH_BLAS === "0") return null;
  let koffi: { load(path: string): OpenblasLib };
  try {
    koffi = createRequire(import.meta.url)("koffi"); // optional at run time: without it the JS/wasm kernels stay
  } catch {
    return null;
  }
  chooseOpenblasCoreType();
  for (const name of LIBS) {
    let lib: OpenblasLib;
    try {
      lib = koffi.load(name);
    } catch {
      continue; // try the next name
    }
    let core = "unknown";
    try {
      core = (lib.func("char *openblas_get_corename()") as () => string)();
    } catch {
      // an older OpenBLAS without it
    }
    opened = { lib, core };
    return opened;
  }
  return null;
}
