#!/usr/bin/env bash
# On the GPU machine (no internet, no npm, maybe no node): unpack what bench/gpu/prepare.sh put in .gpu/, build
# node-llama-cpp's addon with CUDA from source, and run check.mjs (cuda, auto, cpu). Logs and JSON results go to $OUT.
# usage (repo root, .gpu/ present): bash .gpu/run.sh        env: JOBS (default nproc), CUDA_ARCHS (default 90-real),
#   BUILD_TIMEOUT (s, default 420), CHECK_TIMEOUT (s per mode, default 120), W (work dir, default /tmp/nlc);
#   for a dry run of this script on a machine without a GPU: GPU_KIND=cpu (CPU build, modes cpu + auto), SKIP_BUILD=1
#   (keep a finished build in $W).
set -uo pipefail
G=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-/tmp/gpu-out}
W=${W:-/tmp/nlc}
mkdir -p "$OUT" "$W/bin" "$W/models"
exec > >(tee -a "$OUT/run.log") 2>&1
step() { echo "[$(date +%T) +${SECONDS}s] $*"; }

step "environment -> $OUT/env.txt"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,compute_cap --format=csv || true
  nvidia-smi | head -15 || true
  nvcc --version | tail -2 || true
  cmake --version | head -1; ninja --version || true; c++ --version | head -1
  echo "nproc $(nproc)"; free -g | head -2; uname -a
  echo "node on PATH: $(command -v node || echo none)"
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"; echo "CUDA_PATH=${CUDA_PATH:-}"
  ls -d /usr/local/cuda* /usr/local/nvidia/lib* 2>/dev/null
  ldconfig -p | grep -E 'libcuda\.so|libcudart\.so|libcublas\.so|libcublasLt\.so|libnvidia-ml\.so' || true
} > "$OUT/env.txt" 2>&1
head -3 "$OUT/env.txt"

step "unpack node, modules, llama.cpp sources, models"
unxz_() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }
unxz_ "$G/node.xz" > "$W/bin/node" && chmod +x "$W/bin/node"
export PATH="$W/bin:$PATH"
node --version || { step "carried node does not run"; exit 1; }
unxz_ "$G/modules.tar.xz" | tar -C "$W" -xf - || exit 1
unxz_ "$G/llama.cpp-src.tar.xz" | tar -C "$W/node_modules/node-llama-cpp/llama" -xf - || exit 1
cp "$G/check.mjs" "$W/" # next to node_modules, so `import "node-llama-cpp"` resolves there
cp "$G/reference.json" "$G/stories260K.gguf" "$W/models/" && unxz_ "$G/qwen2-22M.gguf.xz" > "$W/models/qwen2-22M.gguf" || exit 1
step "unpacked: $(du -sh "$W" | cut -f1)"

KIND=${GPU_KIND:-cuda}
BUILT="$W/node_modules/node-llama-cpp/llama/localBuilds/linux-x64$([ "$KIND" = cuda ] && echo -cuda)"
if [ -n "${SKIP_BUILD:-}" ] && [ -f "$BUILT/buildDone.status" ]; then step "SKIP_BUILD: keeping $BUILT"; else
  step "build llama.cpp + addon ($KIND, archs ${CUDA_ARCHS:-90-real}, -j${JOBS:-$(nproc)}) -> $OUT/build.log"
  B0=$SECONDS
  NODE_INC="$W/node-headers" timeout "${BUILD_TIMEOUT:-420}" bash "$G/build-addon.sh" "$W/node_modules" "$KIND" "${JOBS:-$(nproc)}" "${CUDA_ARCHS:-90-real}" > "$OUT/build.log" 2>&1
  rc=$?
  step "build rc=$rc in $((SECONDS - B0)) s"; tail -25 "$OUT/build.log"
  [ $rc -eq 0 ] || exit 1
fi
REL="$BUILT/Release"
ldd "$REL"/libggml-*.so "$REL"/llama-addon.node | grep -E 'cuda|cublas|not found'
if ldd "$REL"/libggml-*.so | grep -q 'not found'; then
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64; do [ -d "$d" ] && LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"; done
  export LD_LIBRARY_PATH; step "libraries missing: LD_LIBRARY_PATH set to $LD_LIBRARY_PATH"
fi

cd "$W"
MODES="cuda auto cpu"; [ "$KIND" = cuda ] || MODES="cpu auto"
MODES=${CHECK_MODES:-$MODES}
for mode in $MODES; do
  step "check.mjs $mode"
  SMI=
  if [ "$mode" = cuda ] && command -v nvidia-smi >/dev/null; then # GPU memory and utilization while it runs
    nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv -lms 250 > "$OUT/smi-cuda.csv" 2>&1 & SMI=$!
  fi
  timeout "${CHECK_TIMEOUT:-120}" node check.mjs "$mode" "$W/models" "$OUT/gpu-check-$mode.json"
  step "check $mode rc=$?"
  if [ -n "$SMI" ]; then kill "$SMI"; step "GPU during the cuda check: max memory.used $(awk -F', ' 'NR>1{gsub(/ MiB/,"",$2); if($2>m)m=$2} END{print m}' "$OUT/smi-cuda.csv") MiB, max utilization $(awk -F', ' 'NR>1{gsub(/ %/,"",$3); if($3>m)m=$3} END{print m}' "$OUT/smi-cuda.csv") %"; fi
  if [ "$mode" = cuda ] && [ "${CHECK_TF32_INPROC:-}" != 1 ]; then
    # ggml-cuda sets CUBLAS_TF32_TENSOR_OP_MATH on its cuBLAS handle: batched F32 matmuls (prompt evaluation) run in
    # TF32 (logits off by ~0.02-0.04 on the test models). NVIDIA_TF32_OVERRIDE=0 turns that off: full F32.
    step "check.mjs cuda with NVIDIA_TF32_OVERRIDE=0"
    NVIDIA_TF32_OVERRIDE=0 CHECK_ROUNDS=1 CHECK_BATCHES=1 timeout "${CHECK_TIMEOUT:-120}" node check.mjs cuda "$W/models" "$OUT/gpu-check-cuda-tf32off.json"
    step "check cuda (TF32 off) rc=$?"
  fi
done

step "summary"
node -e '
const fs = require("fs");
for (const m of ["cuda", "cuda-tf32off", "auto", "cpu"]) {
  const f = process.argv[1] + "/gpu-check-" + m + ".json";
  if (!fs.existsSync(f)) { console.log(m, "no result"); continue; }
  const r = JSON.parse(fs.readFileSync(f));
  console.log(`${m}: ok=${r.ok} gpu=${r.llama?.gpu} build=${r.llama?.buildType} devices=${JSON.stringify(r.llama?.gpuDeviceNames)} problems=${JSON.stringify(r.problems)}`);
  for (const x of r.models) console.log(`  ${x.name}: layers ${x.gpuLayers}/${x.totalLayers} vram+${x.vramUsedByModelMiB}MiB maxLogitDiff=${x.logits?.maxAbsDiff} argmax=${x.logits?.argmaxAgree} greedy(f32kv)=${x.greedy?.f32KvNoFa.identical} greedy(default)=${x.greedy?.defaultContext.identical} tok/s=${JSON.stringify(x.speed?.map((s) => [s.batch, s.tokPerS]))}`);
}' "$OUT"
step "done"
