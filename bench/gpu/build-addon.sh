#!/usr/bin/env bash
# Builds node-llama-cpp's native addon from the llama.cpp sources in <modules>/node-llama-cpp/llama/llama.cpp, without
# cmake-js or npm (the GPU machine has neither, nor internet), with the same CMake options that
# `npx node-llama-cpp source build [--gpu cuda]` passes (dist/bindings/utils/compileLLamaCpp.js of node-llama-cpp 3.22),
# and lays the result out where getLlama() looks for a local build:
#   node-llama-cpp/llama/localBuilds/linux-x64[-cuda]/Release/{llama-addon.node,*.so,_nlcBuildMetadata.json} + buildDone.status
# so getLlama({gpu: "cuda" | false, build: "never"}) picks it before any prebuilt binary.
# usage: build-addon.sh <node_modules dir> <cuda|cpu> [jobs] [cuda architectures, default: 90-real]
set -euo pipefail
MODULES=$(cd "$1" && pwd)
GPU=$2
JOBS=${3:-$(nproc)}
CUDA_ARCHS=${4:-90-real}
NLC=$MODULES/node-llama-cpp
SRC=$NLC/llama
[ -f "$SRC/llama.cpp/CMakeLists.txt" ] || { echo "no llama.cpp sources in $SRC/llama.cpp" >&2; exit 1; }
RELEASE=$(node -p "require('$SRC/binariesGithubRelease.json').release")
NODE_INC=${NODE_INC:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node}
[ -f "$NODE_INC/node_api.h" ] || { echo "no node_api.h in $NODE_INC (set NODE_INC)" >&2; exit 1; }
if [ "$GPU" = cuda ]; then FOLDER=linux-x64-cuda; VARIANT=cuda.$RELEASE; GPU_JSON='"cuda"'
  GPU_OPTS=(-DGGML_CUDA=1 "-DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCHS")
else FOLDER=linux-x64; VARIANT=$RELEASE; GPU_JSON=false; GPU_OPTS=(); fi
OUT=$SRC/localBuilds/$FOLDER
GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)
rm -rf "$OUT"; mkdir -p "$OUT"
cmake -S "$SRC" -B "$OUT" "${GEN[@]}" --no-warn-unused-cli \
  -DCMAKE_JS_VERSION=8.0.0 -DCMAKE_BUILD_TYPE=Release "-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=$OUT/Release" \
  "-DCMAKE_JS_INC=$NODE_INC" -DCMAKE_JS_SRC= -DCMAKE_JS_LIB= -DNODE_RUNTIME=node "-DNODE_RUNTIMEVERSION=${NODE_VERSION:-$(node -p 'process.versions.node')}" -DNODE_ARCH=x64 \
  -DCMAKE_CXX_FLAGS=-DBUILDING_NODE_EXTENSION \
  -DGGML_BUILD_NUMBER=1 -DCMAKE_CONFIGURATION_TYPES=Release -DNLC_CURRENT_PLATFORM=linux-x64 -DNLC_TARGET_PLATFORM=linux-x64 "-DNLC_VARIANT=$VARIANT" \
  -DGGML_METAL=OFF -DGGML_CCACHE=OFF -DLLAMA_CURL=OFF -DLLAMA_HTTPLIB=OFF -DLLAMA_BUILD_BORINGSSL=OFF -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=ON \
  "${GPU_OPTS[@]}"
cmake --build "$OUT" --config Release --parallel "$JOBS"
# what compileLLamaCpp's moveBuildFilesToResultDir does: bin/ and llama.cpp/bin/ into Release/ (no overwrite)
for d in "$OUT/bin" "$OUT/llama.cpp/bin"; do [ -d "$d" ] && cp -rn "$d"/. "$OUT/Release/"; done
[ -f "$OUT/Release/llama-addon.node" ] || { echo "no llama-addon.node in $OUT/Release" >&2; ls -la "$OUT/Release" >&2; exit 1; }
# build metadata as node-llama-cpp writes it (platformInfo from its own helper, so it matches at load time)
node --input-type=module -e "
import { getPlatformInfo } from '$NLC/dist/bindings/utils/getPlatformInfo.js';
import { writeFileSync } from 'node:fs';
const platformInfo = await getPlatformInfo();
const customCmakeOptions = $( [ "$GPU" = cuda ] && echo "{ CMAKE_CUDA_ARCHITECTURES: '$CUDA_ARCHS' }" || echo "{}" );
writeFileSync('$OUT/Release/_nlcBuildMetadata.json', JSON.stringify({ buildOptions: { customCmakeOptions, progressLogs: true, platform: 'linux', platformInfo, arch: 'x64', gpu: $GPU_JSON, llamaCpp: { repo: 'ggml-org/llama.cpp', release: '$RELEASE' } } }));
writeFileSync('$SRC/lastBuild.json', JSON.stringify({ folderName: '$FOLDER' }));
"
: > "$OUT/buildDone.status"
ls -la "$OUT/Release"
