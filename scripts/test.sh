#!/bin/bash
# Installs what is missing, builds both configurations and runs every test: first under
# ASan+UBSan (build/asan), then the release build. Exits non-zero if either run fails; the last
# lines printed are ctest's own summary.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh" || exit 1
bash "$root/scripts/build.sh" all || exit 1

jobs=${PORTICO_TEST_JOBS:-2}

echo "==> ctest (ASan+UBSan) in build/asan"
# Ceph's client libraries keep process-lifetime allocations; only those are suppressed.
ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
LSAN_OPTIONS=suppressions=$root/tests/ceph/lsan_ceph.supp:print_suppressions=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir "$root/build/asan" --output-on-failure -j "$jobs"
asan_rc=$?

if ((asan_rc != 0)); then
  echo "==> ASan/UBSan ctest FAILED (rc=$asan_rc, see above); running the release tests anyway"
fi
echo "==> ctest (release) in build/release"
ctest --test-dir "$root/build/release" --output-on-failure -j "$jobs"
release_rc=$?

# Nothing is printed after this point: ctest's summary stays the last lines of the log.
((asan_rc == 0 && release_rc == 0))
