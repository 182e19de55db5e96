#!/bin/bash
# Installs what is missing, builds every tree with warnings as errors (scripts/build.sh all),
# then runs ctest: every test under ASan+UBSan (build/asan), each fuzz target under libFuzzer
# for PORTICO_FUZZ_SECONDS (build/fuzz, clang), then every test of the release build.
# build/rel (Release) is built only. Exits non-zero if any stage fails; the last lines printed
# are ctest's own summary.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh" || exit 1
PORTICO_WERROR=ON bash "$root/scripts/build.sh" all || exit 1

jobs=${PORTICO_TEST_JOBS:-2}
failed=()

# ctest_stage <name> <tree> [ctest args...]
ctest_stage() {
  local name=$1 tree=$2; shift 2
  ((${#failed[@]} == 0)) || echo "==> failed so far: ${failed[*]} (see above); running the next stage anyway"
  echo "==> ctest ($name) in build/$tree"
  # Ceph's client libraries keep process-lifetime allocations; only those are suppressed.
  ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
  LSAN_OPTIONS=suppressions=$root/tests/ceph/lsan_ceph.supp:print_suppressions=0 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir "$root/build/$tree" --output-on-failure -j "$jobs" "$@"
  (($? == 0)) || failed+=("$name")
}

ctest_stage "ASan+UBSan" asan
# libFuzzer saves a failing input as build/fuzz/tests/fuzz/fuzz-findings/<target>-crash-<sha1>.
ctest_stage "libFuzzer" fuzz -L fuzz
ctest_stage "release" release

# Nothing is printed after this point: ctest's summary stays the last lines of the log.
((${#failed[@]} == 0))
