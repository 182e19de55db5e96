#!/bin/bash
# Configures and builds Portico with CMake + Ninja.
#   scripts/build.sh [release|asan|rel|fuzz|all]...   (default: release; all: the four trees)
# build/release: RelWithDebInfo. build/asan: Debug with ASan+UBSan (-DPORTICO_SANITIZE=ON).
# build/rel: Release (-O3), the build type packagers pick. build/fuzz: clang, libFuzzer and
# ASan+UBSan (-DPORTICO_FUZZ=ON -DPORTICO_SANITIZE=ON), the fuzz targets and their ctest runs.
# PORTICO_WERROR=ON|OFF sets -DPORTICO_WERROR (warnings as errors; scripts/test.sh sets ON);
# unset, a tree keeps what it was configured with. PORTICO_TARGETS="a b" builds only those
# targets. Re-running only rebuilds what changed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${PORTICO_JOBS:-$(nproc)}
options=()
[[ -n "${PORTICO_WERROR:-}" ]] && options+=("-DPORTICO_WERROR=$PORTICO_WERROR")
targets=()
[[ -n "${PORTICO_TARGETS:-}" ]] && read -ra targets <<<"--target $PORTICO_TARGETS"

# Configuring an existing tree again is cheap and applies the options given here.
build_one() {
  local name=$1; shift
  local dir="$root/build/$name"
  echo "==> configuring $name in $dir"
  cmake -S "$root" -B "$dir" -G Ninja "$@" "${options[@]}" >/dev/null
  echo "==> building $name (-j$jobs)"
  cmake --build "$dir" -j "$jobs" "${targets[@]}"
  echo "==> $name ready in $dir"
}

build() {
  case "$1" in
    release) build_one release -DCMAKE_BUILD_TYPE=RelWithDebInfo ;;
    asan)    build_one asan -DCMAKE_BUILD_TYPE=Debug -DPORTICO_SANITIZE=ON ;;
    rel)     build_one rel -DCMAKE_BUILD_TYPE=Release ;;
    # CC/CXX only count when the tree is first configured.
    fuzz)    CC=clang CXX=clang++ build_one fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTICO_FUZZ=ON \
                                                 -DPORTICO_SANITIZE=ON ;;
    all)     for tree in release asan rel fuzz; do build "$tree"; done ;;
    *) echo "usage: $0 [release|asan|rel|fuzz|all]..." >&2; exit 2 ;;
  esac
}

(($# > 0)) || set -- release
for tree in "$@"; do build "$tree"; done
