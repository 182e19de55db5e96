#!/bin/bash
# A libFuzzer campaign per fuzz target, longer than CI's minute: builds the targets in build/fuzz
# (clang, libFuzzer, ASan+UBSan; scripts/build.sh fuzz) and fuzzes one target after another.
#   scripts/fuzz-campaign.sh [target...]         (default: every tests/fuzz/corpus/<target>)
#   FUZZ_SECONDS  fuzzing seconds per target, summed over its processes (default 1800: 30
#                 CPU-minutes when each process has a core to itself)
#   FUZZ_WORKERS  fuzzing processes per target (default 1); the wall time per target is
#                 FUZZ_SECONDS / FUZZ_WORKERS
# Each target fuzzes from its seed corpus plus the campaign's own corpus, kept between campaigns
# in build/fuzz/campaign/<target>/. At the end, the inputs that add coverage are merged into
# tests/fuzz/corpus/<target>/ (libFuzzer -merge=1), and every finding (crash, leak, timeout,
# out-of-memory) is copied there as a regression input and printed with its report: commit them
# with the fix. Prints per target: runs, exec/s, cov, ft, corpus size, findings. Exits non-zero
# if any target had a finding.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-1800}
workers=${FUZZ_WORKERS:-1}
tree="$root/build/fuzz"

if (($# > 0)); then
  targets=("$@")
else
  targets=()
  for dir in "$root"/tests/fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi
PORTICO_TARGETS="${targets[*]}" bash "$root/scripts/build.sh" fuzz

# From the last fork-mode status line ("#<runs>: cov: <n> ft: <n> corp: <n> exec/s <n>
# oom/timeout/crash: <n>/<n>/<n> time: <n>s ..."): runs, cov, ft, seconds.
status_fields() { sed -n 's/^#\([0-9]*\): cov: \([0-9]*\) ft: \([0-9]*\) .* time: \([0-9]*\)s.*/\1 \2 \3 \4/p' "$1" | tail -1; }

summary=()
total_findings=0
for target in "${targets[@]}"; do
  fuzzer="$tree/tests/fuzz/$target"
  seeds="$root/tests/fuzz/corpus/$target"
  work="$tree/campaign/$target"
  mkdir -p "$work/corpus" "$work/findings"
  rm -f "$work/findings"/*
  echo "==> $target: $seconds s on $workers process(es), log in $work/log"
  # Fork mode: the workers share the corpus, and a finding does not end the campaign.
  "$fuzzer" -fork="$workers" -max_total_time=$((seconds / workers)) -timeout=10 \
    -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="$work/findings/" "$work/corpus" "$seeds" >"$work/log" 2>&1 || true
  runs='' cov='' ft='' elapsed='' execs='?'
  read -r runs cov ft elapsed < <(status_fields "$work/log") || true
  ((${elapsed:-0} > 0)) && execs=$((runs / elapsed))

  before=$(find "$seeds" -type f | wc -l)
  "$fuzzer" -merge=1 "$seeds" "$work/corpus" >"$work/merge.log" 2>&1 ||
    echo "==> $target: merge failed, see $work/merge.log"
  after=$(find "$seeds" -type f | wc -l)

  findings=0
  for input in "$work/findings"/{crash,leak,timeout,oom}-*; do
    [[ -f "$input" ]] || continue
    findings=$((findings + 1))
    cp "$input" "$seeds/"
    echo "==> $target: FINDING $(basename "$input"), kept as tests/fuzz/corpus/$target/$(basename "$input")"
    echo "    reproduce: $fuzzer $seeds/$(basename "$input")"
  done
  if ((findings > 0)); then
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$work/log" | sort | uniq -c | sed 's/^/    /' | head -20
  fi
  total_findings=$((total_findings + findings))
  summary+=("$(printf '%-26s runs %-11s exec/s %-7s cov %-6s ft %-7s corpus %4d (+%d)  findings %d' \
    "$target" "${runs:-?}" "$execs" "${cov:-?}" "${ft:-?}" "$after" $((after - before)) "$findings")")
done

echo "==> campaign: $seconds fuzzing seconds per target on $workers process(es)"
printf '%s\n' "${summary[@]}"
((total_findings == 0))
