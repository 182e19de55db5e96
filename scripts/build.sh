#!/bin/bash
# Configures and builds Portico with CMake + Ninja.
#   scripts/build.sh [release|asan|all]   (default: release)
# build/release: RelWithDebInfo. build/asan: Debug with ASan+UBSan (-DPORTICO_SANITIZE=ON).
# Re-running only rebuilds what changed (Ninja); configure runs only for a new build folder.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
which=${1:-release}
jobs=${PORTICO_JOBS:-$(nproc)}

build_one() {
  local name=$1; shift
  local dir="$root/build/$name"
  if [[ ! -f "$dir/build.ninja" ]]; then
    echo "==> configuring $name in $dir"
    cmake -S "$root" -B "$dir" -G Ninja "$@"
  fi
  echo "==> building $name (-j$jobs)"
  cmake --build "$dir" -j "$jobs"
  echo "==> $name ready in $dir"
}

case "$which" in
  release) build_one release -DCMAKE_BUILD_TYPE=RelWithDebInfo ;;
  asan)    build_one asan -DCMAKE_BUILD_TYPE=Debug -DPORTICO_SANITIZE=ON ;;
  all)
    build_one release -DCMAKE_BUILD_TYPE=RelWithDebInfo
    build_one asan -DCMAKE_BUILD_TYPE=Debug -DPORTICO_SANITIZE=ON
    ;;
  *) echo "usage: $0 [release|asan|all]" >&2; exit 2 ;;
esac
