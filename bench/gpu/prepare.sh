#!/usr/bin/env bash
# Builds the .gpu/ folder that bench/gpu/run.sh needs on a GPU machine with no internet and no npm (see README.md):
#   node.xz              this machine's node binary (x86-64 Linux)
#   llama.cpp-src.tar.xz the llama.cpp sources node-llama-cpp ships (llama/gitRelease.bundle) with its patches, trimmed
#                        to what its CMake build needs
#   modules.tar.xz       node_modules/node-llama-cpp (no bundle, no prebuilt binaries) and its runtime dependencies,
#                        node-addon-api, @node-llama-cpp/linux-x64 (CPU prebuilt), node's N-API headers (node-headers/)
#   stories260K.gguf, qwen2-22M.gguf.xz, reference.json   test models exported by our engine + its greedy tokens/logits
#   run.sh, check.mjs, build-addon.sh                     copied from bench/gpu/
# usage (repo root): bash bench/gpu/prepare.sh        (CPU: ~4 min niced; .gpu/ ~ 40 MB)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
G=.gpu
NLC=node_modules/node-llama-cpp
NICE="nice -n 19"
mkdir -p "$G"
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
log() { echo "[$(date +%T)] $*"; }

log "node $(node --version) -> $G/node.xz"
NODE_BIN=$(readlink -f "$(command -v node)")
[ -s "$G/node.xz" ] && [ "$G/node.xz" -nt "$NODE_BIN" ] || $NICE xz -T1 -6 -c "$NODE_BIN" > "$G/node.xz"

log "llama.cpp sources from $NLC/llama/gitRelease.bundle ($(cat $NLC/llama/llama.cpp.info.json | tr -d ' \n'))"
git clone -q "$NLC/llama/gitRelease.bundle" "$TMP/llama.cpp" 2>/dev/null
for p in "$PWD/$NLC"/llama/patches/*.diff; do
  if git -C "$TMP/llama.cpp" apply --check "$p" 2>/dev/null; then git -C "$TMP/llama.cpp" apply "$p"; log "applied $(basename "$p")";
  else log "patch $(basename "$p") does not apply (already in the sources?)"; fi
done
mkdir -p "$TMP/src/llama.cpp"
(cd "$TMP/llama.cpp" && cp -a CMakeLists.txt LICENSE cmake common ggml include src vendor licenses grammars "$TMP/src/llama.cpp/")
find "$TMP/src/llama.cpp" -name '*.md' -delete
tar -C "$TMP/src" -cf - llama.cpp | $NICE xz -T1 -6 > "$G/llama.cpp-src.tar.xz"

log "node_modules subset -> $G/modules.tar.xz"
node -e '
const fs = require("fs"), path = require("path");
const seen = new Set();
function find(name, from) { for (let d = from; ; d = path.dirname(d)) { const c = path.join(d, "node_modules", name);
  if (fs.existsSync(path.join(c, "package.json"))) return c; if (path.dirname(d) === d) return null; } }
function walk(dir) { if (seen.has(dir)) return; seen.add(dir);
  const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json")));
  for (const dep of Object.keys(pj.dependencies || {})) { const r = find(dep, dir); if (r) walk(r); else console.error("missing " + dep); } }
walk(path.resolve("node_modules/node-llama-cpp"));
walk(path.resolve("node_modules/node-addon-api"));
for (const d of seen) if (!d.endsWith("/node_modules/node-llama-cpp")) console.log(path.relative(".", d));
' > "$TMP/deps.txt"
{ cat "$TMP/deps.txt"
  for f in package.json LICENSE dist bins templates node_modules; do [ -e "$NLC/$f" ] && echo "$NLC/$f"; done
  # the CPU prebuilt binaries (same version): check.mjs cpu, and what gpu "auto" falls back to
  echo node_modules/@node-llama-cpp/linux-x64
  for f in CMakeLists.txt addon cmake grammars llama.cpp.info.json package.json binariesGithubRelease.json patches profiles toolchains xpack/package.json; do echo "$NLC/llama/$f"; done
} | sort -u > "$TMP/files.txt"
NODE_INC=$(dirname "$(dirname "$NODE_BIN")")/include/node
mkdir -p "$TMP/node-headers"; cp "$NODE_INC"/*.h "$TMP/node-headers/"
tar -cf "$TMP/modules.tar" -T "$TMP/files.txt"
tar -rf "$TMP/modules.tar" -C "$TMP" node-headers
$NICE xz -T1 -6 -c "$TMP/modules.tar" > "$G/modules.tar.xz"

log "GGUFs + reference (our engine)"
$NICE node --import tsx bench/gpu/reference.ts "$G"
$NICE xz -T1 -6 -f "$G/qwen2-22M.gguf"
cp bench/gpu/run.sh bench/gpu/check.mjs bench/gpu/build-addon.sh "$G/"
du -ah "$G" | sort -h
log "total $(du -sh "$G" | cut -f1) (the run tool carries at most 64 MiB)"
