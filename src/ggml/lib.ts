/**
 * @module ggml/lib — the ggml C library (the tensor library under llama.cpp) through the `koffi` FFI, from the
 * prebuilt binaries npm installs with node-llama-cpp (`@node-llama-cpp/<platform>[-cuda|-vulkan|-metal]`): nothing is
 * compiled, fetched or installed from outside the registry.
 *
 * `openGgml({ device })` picks one package directory and one compute backend for the process:
 *   - `cpu`: of the per-processor `libggml-cpu-*.so` variants, the one whose `ggml_backend_score()` is highest on this
 *     processor (as ggml's own `ggml_backend_load_best`), with `threads` worker threads (default: all cores);
 *   - `cuda` / `vulkan` / `metal`: that package's GPU backend and its first device (a clear error when the package,
 *     its driver or a device is missing);
 *   - `auto`: CUDA when its package is installed and the CUDA driver loads, Metal on Apple silicon, else CPU (Vulkan
 *     is used only when asked: Mesa's CPU driver would otherwise be picked on machines with no GPU).
 *
 * Only the functions the engine uses are bound (see `FUNCTIONS`); signatures follow ggml.h / ggml-backend.h /
 * ggml-alloc.h / ggml-cpu.h of the llama.cpp release node-llama-cpp ships (`node-llama-cpp/llama/llama.cpp.info.json`).
 * Tensors, contexts and graphs are opaque pointers; data moves with `ggml_backend_tensor_set/get`.
 */
import koffi from "koffi";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { UserError } from "../util/errors.js";

export type DeviceName = "auto" | "cpu" | "cuda" | "vulkan" | "metal";
export const DEVICE_NAMES: readonly DeviceName[] = ["auto", "cpu", "cuda", "vulkan", "metal"];

/** ggml enums used here (ggml.h). */
export const GGML_TYPE_F32 = 0;
export const GGML_TYPE_F16 = 1;
export const GGML_TYPE_I32 = 26;
export const GGML_TYPE_I64 = 27;
export const GGML_ROPE_TYPE_NEOX = 2;
/** ggml_backend_dev_type */
const DEV_TYPE_NAMES = ["cpu", "gpu", "igpu", "accel", "meta"] as const;

/** Opaque C pointers (koffi external objects). */
export type Ptr = object & { readonly __ptr?: unique symbol };
export type Tensor = Ptr;
export type Context = Ptr;
export type Graph = Ptr;

koffi.opaque("ggml_context");
koffi.opaque("ggml_tensor");
koffi.opaque("ggml_cgraph");
koffi.opaque("ggml_backend");
koffi.opaque("ggml_backend_buffer");
koffi.opaque("ggml_backend_buffer_type");
koffi.opaque("ggml_backend_device");
koffi.opaque("ggml_backend_reg");
koffi.opaque("ggml_gallocr");
koffi.struct("ggml_init_params", { mem_size: "size_t", mem_buffer: "void *", no_alloc: "bool" });

/** The bound functions of libggml-base (ops, graphs, allocation) and libggml (the backend registry). */
const FUNCTIONS = {
  base: [
    "const char * ggml_version()",
    "const char * ggml_commit()",
    "ggml_context * ggml_init(ggml_init_params params)",
    "void ggml_free(ggml_context * ctx)",
    "size_t ggml_tensor_overhead()",
    "size_t ggml_graph_overhead_custom(size_t size, bool grads)",
    "size_t ggml_nbytes(const ggml_tensor * t)",
    "int64_t ggml_nelements(const ggml_tensor * t)",
    "ggml_tensor * ggml_new_tensor_1d(ggml_context * ctx, int type, int64_t ne0)",
    "ggml_tensor * ggml_new_tensor_2d(ggml_context * ctx, int type, int64_t ne0, int64_t ne1)",
    "ggml_tensor * ggml_new_tensor_3d(ggml_context * ctx, int type, int64_t ne0, int64_t ne1, int64_t ne2)",
    "ggml_tensor * ggml_new_tensor_4d(ggml_context * ctx, int type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)",
    "ggml_tensor * ggml_set_name(ggml_tensor * t, const char * name)",
    "void ggml_set_input(ggml_tensor * t)",
    "void ggml_set_output(ggml_tensor * t)",
    "void ggml_set_param(ggml_tensor * t)",
    "void ggml_set_loss(ggml_tensor * t)",
    // ops (all differentiable ones have a backward in ggml.c ggml_compute_backward)
    "ggml_tensor * ggml_add(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b)",
    "ggml_tensor * ggml_sub(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b)",
    "ggml_tensor * ggml_mul(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b)",
    "ggml_tensor * ggml_div(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b)",
    "ggml_tensor * ggml_scale(ggml_context * ctx, ggml_tensor * a, float s)",
    "ggml_tensor * ggml_log(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_exp(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_neg(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_sqr(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_sqrt(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_silu(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_sum(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_sum_rows(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_mean(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_argmax(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_repeat(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b)",
    "ggml_tensor * ggml_repeat_4d(ggml_context * ctx, ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)",
    "ggml_tensor * ggml_rms_norm(ggml_context * ctx, ggml_tensor * a, float eps)",
    "ggml_tensor * ggml_mul_mat(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b)",
    "ggml_tensor * ggml_out_prod(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b)",
    "ggml_tensor * ggml_cpy(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b)",
    "ggml_tensor * ggml_cont(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_reshape_1d(ggml_context * ctx, ggml_tensor * a, int64_t ne0)",
    "ggml_tensor * ggml_reshape_2d(ggml_context * ctx, ggml_tensor * a, int64_t ne0, int64_t ne1)",
    "ggml_tensor * ggml_reshape_3d(ggml_context * ctx, ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2)",
    "ggml_tensor * ggml_reshape_4d(ggml_context * ctx, ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)",
    "ggml_tensor * ggml_view_1d(ggml_context * ctx, ggml_tensor * a, int64_t ne0, size_t offset)",
    "ggml_tensor * ggml_view_2d(ggml_context * ctx, ggml_tensor * a, int64_t ne0, int64_t ne1, size_t nb1, size_t offset)",
    "ggml_tensor * ggml_view_3d(ggml_context * ctx, ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, size_t nb1, size_t nb2, size_t offset)",
    "ggml_tensor * ggml_view_4d(ggml_context * ctx, ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, size_t nb1, size_t nb2, size_t nb3, size_t offset)",
    "ggml_tensor * ggml_permute(ggml_context * ctx, ggml_tensor * a, int axis0, int axis1, int axis2, int axis3)",
    "ggml_tensor * ggml_transpose(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_get_rows(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b)",
    "ggml_tensor * ggml_set_rows(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b, ggml_tensor * c)",
    "ggml_tensor * ggml_diag_mask_inf(ggml_context * ctx, ggml_tensor * a, int n_past)",
    "ggml_tensor * ggml_soft_max(ggml_context * ctx, ggml_tensor * a)",
    "ggml_tensor * ggml_soft_max_ext(ggml_context * ctx, ggml_tensor * a, ggml_tensor * mask, float scale, float max_bias)",
    "ggml_tensor * ggml_rope_ext(ggml_context * ctx, ggml_tensor * a, ggml_tensor * b, ggml_tensor * c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow)",
    "ggml_tensor * ggml_opt_step_adamw(ggml_context * ctx, ggml_tensor * a, ggml_tensor * grad, ggml_tensor * m, ggml_tensor * v, ggml_tensor * adamw_params)",
    // graphs
    "ggml_cgraph * ggml_new_graph_custom(ggml_context * ctx, size_t size, bool grads)",
    "void ggml_build_forward_expand(ggml_cgraph * g, ggml_tensor * t)",
    "void ggml_build_backward_expand(ggml_context * ctx, ggml_cgraph * g, ggml_tensor ** grad_accs)",
    "int ggml_graph_n_nodes(ggml_cgraph * g)",
    "const char * ggml_op_desc(const ggml_tensor * t)",
    "ggml_tensor * ggml_graph_node(ggml_cgraph * g, int i)",
    "ggml_tensor * ggml_graph_get_grad(const ggml_cgraph * g, const ggml_tensor * t)",
    "ggml_tensor * ggml_graph_get_grad_acc(const ggml_cgraph * g, const ggml_tensor * t)",
    "void ggml_graph_reset(ggml_cgraph * g)",
    // allocation and backends
    "ggml_gallocr * ggml_gallocr_new(ggml_backend_buffer_type * buft)",
    "void ggml_gallocr_free(ggml_gallocr * galloc)",
    "bool ggml_gallocr_alloc_graph(ggml_gallocr * galloc, ggml_cgraph * graph)",
    "size_t ggml_gallocr_get_buffer_size(ggml_gallocr * galloc, int buffer_id)",
    "ggml_backend_buffer * ggml_backend_alloc_ctx_tensors(ggml_context * ctx, ggml_backend * backend)",
    "void ggml_backend_buffer_free(ggml_backend_buffer * buffer)",
    "void ggml_backend_buffer_clear(ggml_backend_buffer * buffer, uint8_t value)",
    "size_t ggml_backend_buffer_get_size(ggml_backend_buffer * buffer)",
    "bool ggml_backend_buffer_is_host(ggml_backend_buffer * buffer)",
    "void ggml_backend_tensor_set(ggml_tensor * t, const void * data, size_t offset, size_t size)",
    "void ggml_backend_tensor_get(const ggml_tensor * t, _Out_ void * data, size_t offset, size_t size)",
    "void ggml_backend_tensor_memset(ggml_tensor * t, uint8_t value, size_t offset, size_t size)",
    "void ggml_backend_tensor_copy(ggml_tensor * src, ggml_tensor * dst)",
    "ggml_backend_buffer_type * ggml_backend_get_default_buffer_type(ggml_backend * backend)",
    "int ggml_backend_graph_compute(ggml_backend * backend, ggml_cgraph * g)",
    "void ggml_backend_synchronize(ggml_backend * backend)",
    "bool ggml_backend_supports_op(ggml_backend * backend, const ggml_tensor * op)",
    "const char * ggml_backend_name(ggml_backend * backend)",
    "void ggml_backend_free(ggml_backend * backend)",
    "const char * ggml_backend_dev_name(ggml_backend_device * dev)",
    "const char * ggml_backend_dev_description(ggml_backend_device * dev)",
    "void ggml_backend_dev_memory(ggml_backend_device * dev, _Out_ size_t * free, _Out_ size_t * total)",
    "int ggml_backend_dev_type(ggml_backend_device * dev)",
    "ggml_backend * ggml_backend_dev_init(ggml_backend_device * dev, const char * params)",
    "size_t ggml_backend_reg_dev_count(ggml_backend_reg * reg)",
    "ggml_backend_device * ggml_backend_reg_dev_get(ggml_backend_reg * reg, size_t index)",
    "const char * ggml_backend_reg_name(ggml_backend_reg * reg)",
  ],
  registry: ["ggml_backend_reg * ggml_backend_load(const char * path)"],
} as const;

type Fn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The raw C API: `api.ggml_mul_mat(ctx, a, b)` as in C. */
export type GgmlApi = Record<string, Fn>;

export interface DeviceInfo {
  name: string;
  description: string;
  type: (typeof DEV_TYPE_NAMES)[number];
  memoryTotal: number;
  memoryFree: number;
}

/** What `research engine` prints and report.json's `config.engine` records. */
export interface EngineInfo {
  backend: "ggml-cpu" | "ggml-cuda" | "ggml-vulkan" | "ggml-metal";
  devices: DeviceInfo[];
  threads: number;
  library: { path: string; variant?: string; version: string; commit: string; llamaCpp?: string };
}

export interface GgmlRuntime {
  readonly api: GgmlApi;
  /** The compute backend (ggml_backend_t) every graph of this process runs on. */
  readonly backend: Ptr;
  readonly bufferType: Ptr;
  readonly info: EngineInfo;
  /** Whether tensors of this backend live in host memory (CPU). */
  readonly host: boolean;
}

export interface OpenOptions {
  device?: DeviceName;
  /** CPU worker threads; default: every core (os.availableParallelism()). */
  threads?: number;
  /** Pin a `libggml-cpu-<variant>` (e.g. "haswell") instead of the best one, for runs that must repeat bit for bit
   *  on other processors; default: env RESEARCH_GGML_CPU_VARIANT, else the best-scoring variant. */
  cpuVariant?: string;
}

const PACKAGES: Record<Exclude<DeviceName, "auto">, string[]> = {
  cpu: [`@node-llama-cpp/${process.platform}-${process.arch}`, `@node-llama-cpp/${process.platform}-${process.arch}-metal`],
  cuda: [`@node-llama-cpp/${process.platform}-${process.arch}-cuda`],
  vulkan: [`@node-llama-cpp/${process.platform}-${process.arch}-vulkan`],
  metal: [`@node-llama-cpp/${process.platform}-${process.arch}-metal`, `@node-llama-cpp/${process.platform}-${process.arch}`],
};
const GPU_LIB: Record<"cuda" | "vulkan" | "metal", string> = { cuda: "ggml-cuda", vulkan: "ggml-vulkan", metal: "ggml-metal" };
const soExt = process.platform === "darwin" ? ".dylib" : process.platform === "win32" ? ".dll" : ".so";
const soName = (base: string) => (process.platform === "win32" ? `${base}${soExt}` : `lib${base}${soExt}`);

/** The `bins/<name>` directory of an installed node-llama-cpp binary package, or undefined. */
export function packageBinDir(pkg: string): string | undefined {
  const require = createRequire(import.meta.url);
  // the packages' `exports` hide package.json from require.resolve: look in the node_modules folders Node would search
  const root = (require.resolve.paths(pkg) ?? []).map((p) => join(p, pkg)).find((p) => existsSync(join(p, "package.json")));
  if (!root) return undefined;
  const bins = join(root, "bins");
  if (!existsSync(bins)) return undefined;
  for (const d of readdirSync(bins)) if (existsSync(join(bins, d, soName("ggml-base")))) return join(bins, d);
  return undefined;
}

function firstDir(device: Exclude<DeviceName, "auto">): string | undefined {
  for (const p of PACKAGES[device]) {
    const d = packageBinDir(p);
    if (d && (device === "cpu" || existsSync(join(d, soName(GPU_LIB[device]))))) return d;
  }
  return undefined;
}

/**
 * Every library this module opens stays open for the life of the process. A koffi handle that is garbage-collected
 * closes its library; were libggml-base (pulled in by a CPU variant probed for its score) closed and opened again,
 * its static initialiser would find its own terminate handler still installed and abort the process
 * (ggml.cpp: `GGML_ASSERT(prev != ggml_uncaught_exception)`), at a moment that depends on the GC.
 */
const keptLibraries = new Map<string, ReturnType<typeof koffi.load>>();
function loadKept(path: string): ReturnType<typeof koffi.load> {
  // and, should a library still be loaded twice, ggml's load-time terminate-handler check would abort: skip it
  // (it only installs a backtrace printer for uncaught C++ exceptions); a user's own setting wins
  process.env.GGML_NO_BACKTRACE ??= "1";
  let lib = keptLibraries.get(path);
  if (!lib) {
    lib = koffi.load(path);
    keptLibraries.set(path, lib);
  }
  return lib;
}

function cudaDriverLoads(): boolean {
  try {
    loadKept(process.platform === "win32" ? "nvcuda.dll" : "libcuda.so.1");
    return true;
  } catch {
    return false;
  }
}

/** The device `auto` resolves to on this machine. */
export function resolveDevice(device: DeviceName): Exclude<DeviceName, "auto"> {
  if (device !== "auto") return device;
  if (firstDir("cuda") && cudaDriverLoads()) return "cuda";
  if (process.platform === "darwin" && process.arch === "arm64" && firstDir("metal")) return "metal";
  return "cpu";
}

/** Throw a clear UserError (exit code 2) when a requested device's ggml binaries or driver are missing here;
 *  a driver present but with no device still fails when ggml opens. */
export function checkDevice(device: DeviceName): void {
  if (!DEVICE_NAMES.includes(device)) throw new UserError(`unknown device "${device}": use ${DEVICE_NAMES.join(", ")}`, 2);
  if (device === "auto") return;
  if (!firstDir(device))
    throw new UserError(`device ${device} is not available here: the ggml binaries for it are not installed (npm package ${PACKAGES[device].join(" or ")})`, 2);
  if (device === "cuda" && !cudaDriverLoads()) throw new UserError("device cuda is not available here: the CUDA driver (libcuda) does not load", 2);
}

let opened: { key: string; rt: GgmlRuntime } | undefined;

/** Open ggml once per process (later calls with the same options return the same runtime; other options throw). */
export function openGgml(opts: OpenOptions = {}): GgmlRuntime {
  const requested = opts.device ?? "auto";
  if (!DEVICE_NAMES.includes(requested)) throw new UserError(`unknown device "${requested}": use ${DEVICE_NAMES.join(", ")}`);
  const device = resolveDevice(requested);
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new UserError(`threads must be a positive integer, got ${threads}`);
  const cpuVariant = device === "cpu" ? (opts.cpuVariant ?? process.env.RESEARCH_GGML_CPU_VARIANT ?? undefined) : undefined;
  const key = `${device}/${threads}${cpuVariant ? `/${cpuVariant}` : ""}`;
  if (opened) {
    // the same device and threads is the same runtime; a request that names no CPU variant takes the one opened
    const o = opened.rt.info;
    if (`ggml-${device}` === o.backend && (device !== "cpu" || threads === o.threads) && (cpuVariant === undefined || cpuVariant === o.library.variant)) return opened.rt;
    throw new UserError(`ggml is already open on ${opened.key} in this process; cannot also open ${key}`);
  }
  const rt = open(device, threads, cpuVariant);
  opened = { key: `${device}/${threads}${rt.info.library.variant ? `/${rt.info.library.variant}` : ""}`, rt };
  return rt;
}

/** The runtime opened by this process, if any. */
export function openedGgml(): GgmlRuntime | undefined {
  return opened?.rt;
}

function open(device: Exclude<DeviceName, "auto">, threads: number, cpuVariant?: string): GgmlRuntime {
  const dir = firstDir(device);
  if (!dir) {
    const pkgs = PACKAGES[device].join(" or ");
    throw new UserError(`device ${device}: the ggml binaries for it are not installed (npm package ${pkgs}; node-llama-cpp installs it on platforms that have it)`, 2);
  }
  const baseLib = loadKept(join(dir, soName("ggml-base")));
  quietLogs(baseLib);
  const api: GgmlApi = {};
  for (const sig of FUNCTIONS.base) {
    const name = /([a-z0-9_]+)\(/.exec(sig)![1];
    api[name] = baseLib.func(sig) as Fn;
  }
  const registryPath = readdirSync(dir).find((f) => /^(lib)?ggml(\.[a-z]+)?\.v[\d.]+\.(so|dylib|dll)$/.test(f) || f === soName("ggml"));
  if (!registryPath) throw new UserError(`device ${device}: no ggml registry library (libggml.*.so) in ${dir}`, 2);
  const regLib = loadKept(join(dir, registryPath));
  const load = regLib.func(FUNCTIONS.registry[0]) as Fn;

  let libPath: string;
  let variant: string | undefined;
  let setThreads: Fn | undefined;
  if (device === "cpu") {
    const best = bestCpuVariant(dir, cpuVariant);
    libPath = best.path;
    variant = best.variant;
    setThreads = loadKept(libPath).func("void ggml_backend_cpu_set_n_threads(ggml_backend * backend, int n)") as Fn;
  } else {
    libPath = join(dir, soName(GPU_LIB[device]));
  }
  const reg = load(libPath);
  if (!reg) throw new UserError(`device ${device}: ggml could not load ${libPath} (is the ${device} driver installed?)`, 2);
  const nDev = Number(api.ggml_backend_reg_dev_count(reg));
  if (nDev === 0) {
    const hint = device === "vulkan" && !process.env.GGML_VK_VISIBLE_DEVICES ? "; ggml skips CPU Vulkan drivers such as Mesa's lavapipe unless GGML_VK_VISIBLE_DEVICES=0 is set" : "";
    throw new UserError(`device ${device}: no ${device} device found (${api.ggml_backend_reg_name(reg)} backend loaded, 0 devices${hint})`, 2);
  }
  const devices: DeviceInfo[] = [];
  for (let i = 0; i < nDev; i++) {
    const dev = api.ggml_backend_reg_dev_get(reg, i);
    const free = [0];
    const total = [0];
    api.ggml_backend_dev_memory(dev, free, total);
    devices.push({
      name: api.ggml_backend_dev_name(dev),
      description: api.ggml_backend_dev_description(dev),
      type: DEV_TYPE_NAMES[api.ggml_backend_dev_type(dev)] ?? "gpu",
      memoryTotal: Number(total[0]),
      memoryFree: Number(free[0]),
    });
  }
  const backend = api.ggml_backend_dev_init(api.ggml_backend_reg_dev_get(reg, 0), null);
  if (!backend) throw new UserError(`device ${device}: ggml could not initialise ${devices[0].name}`, 2);
  if (setThreads) setThreads(backend, threads);
  const info: EngineInfo = {
    backend: `ggml-${device}`,
    devices,
    threads: device === "cpu" ? threads : 1,
    library: { path: libPath, variant, version: api.ggml_version(), commit: api.ggml_commit(), llamaCpp: llamaCppRelease() },
  };
  return { api, backend, bufferType: api.ggml_backend_get_default_buffer_type(backend), info, host: device === "cpu" };
}

/** Whether `libggml-cpu-<variant>` is installed and runs on this processor (ggml_backend_score > 0). */
export function cpuVariantRuns(variant: string): boolean {
  const dir = firstDir("cpu");
  if (!dir) return false;
  const path = join(dir, process.platform === "win32" ? `ggml-cpu-${variant}.dll` : `libggml-cpu-${variant}${soExt}`);
  if (!existsSync(path)) return false;
  try {
    loadKept(join(dir, soName("ggml-base")));
    return Number((loadKept(path).func("int ggml_backend_score()") as Fn)()) > 0;
  } catch {
    return false;
  }
}

/** The `libggml-cpu-<variant>` this processor runs best (highest `ggml_backend_score`, 0 = cannot run). */
export function bestCpuVariant(dir: string, pin?: string): { path: string; variant: string; score: number } {
  loadKept(join(dir, soName("ggml-base")));
  const re = process.platform === "win32" ? /^ggml-cpu-(.+)\.dll$/ : /^libggml-cpu-(.+)\.(so|dylib)$/;
  let best: { path: string; variant: string; score: number } | undefined;
  for (const f of readdirSync(dir).sort()) {
    const m = re.exec(f);
    if (!m) continue;
    const path = join(dir, f);
    let score = 0;
    try {
      score = Number((loadKept(path).func("int ggml_backend_score()") as Fn)());
    } catch {
      continue; // a variant that does not load here
    }
    if (pin !== undefined && m[1] === pin) {
      if (score > 0) return { path, variant: m[1], score };
      throw new UserError(`device cpu: libggml-cpu-${pin} cannot run on this processor (RESEARCH_GGML_CPU_VARIANT / cpuVariant)`);
    }
    if (score > 0 && (!best || score > best.score)) best = { path, variant: m[1], score };
  }
  if (pin !== undefined) throw new UserError(`device cpu: no libggml-cpu-${pin} in ${dir} (RESEARCH_GGML_CPU_VARIANT / cpuVariant)`);
  if (!best) {
    const plain = join(dir, soName("ggml-cpu"));
    if (existsSync(plain)) return { path: plain, variant: "default", score: 1 };
    throw new UserError(`device cpu: no libggml-cpu variant in ${dir} runs on this processor`);
  }
  return best;
}

/** ggml logs through a callback: its info lines ("load_backend: loaded CPU backend …") are dropped, warnings and
 *  errors go to stderr. The callback stays registered for the life of the process. */
let logCallback: unknown;
function quietLogs(baseLib: { func(sig: string): unknown }): void {
  const proto = koffi.proto("void ggml_log_callback_t(int level, const char * text, void * user)");
  let last = 0;
  logCallback = koffi.register((level: number, text: string) => {
    const lvl = level === 5 ? last : level; // CONT continues the previous line's level
    last = lvl;
    if (lvl >= 3 || process.env.RESEARCH_GGML_VERBOSE) process.stderr.write(`ggml: ${text}`);
  }, koffi.pointer(proto));
  (baseLib.func("void ggml_log_set(ggml_log_callback_t * cb, void * user)") as Fn)(logCallback, null);
}

function llamaCppRelease(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const root = (require.resolve.paths("node-llama-cpp") ?? []).map((p) => join(p, "node-llama-cpp")).find((p) => existsSync(join(p, "package.json")));
    if (!root) return undefined;
    const info = join(root, "llama", "llama.cpp.info.json");
    const j = JSON.parse(readFileSync(info, "utf8")) as { tag?: string; llamaCppGithubRepo?: string };
    return j.tag ? `${j.llamaCppGithubRepo ?? "llama.cpp"}@${j.tag}` : undefined;
  } catch {
    return undefined;
  }
}

/** Create a ggml context for tensor/graph metadata only (no_alloc: data lives in backend buffers). */
export function metaContext(rt: GgmlRuntime, maxTensors: number, graphSize = 0): Context {
  const mem = maxTensors * rt.api.ggml_tensor_overhead() + (graphSize ? rt.api.ggml_graph_overhead_custom(graphSize, true) : 0) + 1024;
  const ctx = rt.api.ggml_init({ mem_size: mem, mem_buffer: null, no_alloc: true });
  if (!ctx) throw new Error(`ggml_init failed (${mem} bytes)`);
  return ctx;
}

/** Copy a typed array into a tensor (sizes checked). */
export function setData(rt: GgmlRuntime, t: Tensor, data: Float32Array | Int32Array | BigInt64Array, offsetBytes = 0): void {
  const n = Number(rt.api.ggml_nbytes(t));
  if (offsetBytes + data.byteLength > n) throw new Error(`setData: ${data.byteLength} bytes at ${offsetBytes} exceed the tensor's ${n}`);
  rt.api.ggml_backend_tensor_set(t, data, offsetBytes, data.byteLength);
}

/** Read a float tensor out (a new Float32Array of its nelements, or into `out`). */
export function getF32(rt: GgmlRuntime, t: Tensor, out?: Float32Array): Float32Array {
  const n = Number(rt.api.ggml_nelements(t));
  const dst = out ?? new Float32Array(n);
  if (dst.length !== n) throw new Error(`getF32: buffer of ${dst.length} for a tensor of ${n}`);
  rt.api.ggml_backend_tensor_get(t, dst, 0, n * 4);
  return dst;
}

/** Run a graph on the runtime's backend; throws on a failed status. */
export function compute(rt: GgmlRuntime, g: Graph): void {
  if (PROFILE) return profiledCompute(rt, g);
  const status = rt.api.ggml_backend_graph_compute(rt.backend, g);
  if (status !== 0) throw new Error(`ggml_backend_graph_compute failed (status ${status}) on ${rt.info.backend}`);
}

/** RESEARCH_GGML_PROFILE=1: every graph runs node by node and the time per op (and per op with its shapes) adds up
 *  in `graphProfile()`; a developer's tool to see where a step's time goes (slower than a normal run). */
const PROFILE = !!process.env.RESEARCH_GGML_PROFILE;
const profile = new Map<string, { ms: number; calls: number }>();
function profiledCompute(rt: GgmlRuntime, g: Graph): void {
  // struct ggml_cgraph (ggml-impl.h) starts { int size; int n_nodes; int n_leafs; ggml_tensor ** nodes; … }: run node
  // i alone by pointing the graph at nodes + i with n_nodes = 1, then restore it
  const a = rt.api;
  const n = a.ggml_graph_n_nodes(g);
  const nodes = BigInt(koffi.decode(g, 16, "uint64_t") as number | bigint);
  const all = Array.from({ length: n }, (_, i) => a.ggml_graph_node(g, i));
  try {
    for (let i = 0; i < n; i++) {
      const node = all[i];
      koffi.encode(g, 4, "int", 1);
      koffi.encode(g, 16, "uint64_t", nodes + BigInt(8 * i));
      const t0 = performance.now();
      const status = a.ggml_backend_graph_compute(rt.backend, g);
      const ms = performance.now() - t0;
      if (status !== 0) throw new Error(`ggml_backend_graph_compute failed (status ${status}) on ${rt.info.backend}`);
      const key = String(a.ggml_op_desc(node));
      const e = profile.get(key) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls++;
      profile.set(key, e);
    }
  } finally {
    koffi.encode(g, 4, "int", n);
    koffi.encode(g, 16, "uint64_t", nodes);
  }
}
/** Time per ggml op since the start (or the last reset), largest first; empty unless RESEARCH_GGML_PROFILE is set. */
export function graphProfile(reset = false): Array<{ op: string; ms: number; calls: number }> {
  const out = [...profile].map(([op, e]) => ({ op, ...e })).sort((x, y) => y.ms - x.ms);
  if (reset) profile.clear();
  return out;
}
