#!/bin/bash
# bench_vs_tgtd.sh: porticod against tgtd (the peer to beat) on loopback, same load generator,
# same workloads, 1 GiB LUN each (porticod: memory; tgtd: rdwr file on /dev/shm).
# For every workload it reports IOPS, MiB/s, p50/p99 latency and the target's CPU cost, read
# from /proc/<pid>/stat (utime+stime covers all of the process's threads).
#
# Environment: BENCH_SECONDS (10), PORTICO_BUILD (build/release), BENCH_IO_THREADS ("1 2": one
# porticod run per value), BENCH_TARGETS ("porticod tgtd"), BENCH_PORT_A (3270), BENCH_PORT_B (3280).
# Note: the initiator runs on the same machine and competes with the target for the cores.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${PORTICO_BUILD:-$root/build/release}
seconds=${BENCH_SECONDS:-10}
io_threads_list=${BENCH_IO_THREADS:-1 2}
targets=${BENCH_TARGETS:-porticod tgtd}
port_a=${BENCH_PORT_A:-3270}
port_b=${BENCH_PORT_B:-3280}
loadgen=$build/tools/portico-loadgen
porticod=$build/daemon/porticod
hz=$(getconf CLK_TCK)
work=$(mktemp -d /tmp/portico-bench.XXXXXX)
results=$work/results.tsv   # target workload iops mibps p50 p99 cpu_us_per_io iops_per_core
started_pids=()
tgtd_pid=""

cleanup() {
  if [[ -n "$tgtd_pid" ]]; then stop_tgtd; fi
  local pid
  for pid in "${started_pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
  rm -f /dev/shm/portico-bench-tgtd.img
}
trap cleanup EXIT

die() { echo "bench: $*" >&2; exit 1; }
[[ -x "$loadgen" ]] || die "$loadgen is missing: run scripts/build.sh release"

# workload name, --rw, --bs, --qd
workloads=(
  "randread-4k-qd1 randread 4K 1"
  "randread-4k-qd32 randread 4K 32"
  "randwrite-4k-qd1 randwrite 4K 1"
  "randwrite-4k-qd32 randwrite 4K 32"
  "seqread-128k-qd32 read 128K 32"
)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # utime + stime, all threads

wait_port() {
  local deadline=$((SECONDS + 20))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    ((SECONDS < deadline)) || die "nothing accepts on 127.0.0.1:$1"
    sleep 0.1
  done
}

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# run_workloads LABEL PID URL
run_workloads() {
  local label=$1 pid=$2 url=$3 w name rw bs qd c0 c1 out
  echo "== $label: preconditioning (writing the whole LUN)" >&2
  "$loadgen" --url "$url" --rw write --bs 128K --qd 32 --ios 8192 >/dev/null
  for w in "${workloads[@]}"; do
    read -r name rw bs qd <<<"$w"
    c0=$(cpu_ticks "$pid")
    out=$("$loadgen" --url "$url" --rw "$rw" --bs "$bs" --qd "$qd" --seconds "$seconds")
    c1=$(cpu_ticks "$pid")
    echo "   $label $name: $out" >&2
    awk -v t="$label" -v n="$name" -v iops="$(field iops "$out")" -v mibps="$(field mibps "$out")" \
        -v p50="$(field p50_us "$out")" -v p99="$(field p99_us "$out")" -v ios="$(field ios "$out")" \
        -v ticks=$((c1 - c0)) -v hz="$hz" -v secs="$seconds" 'BEGIN {
          cpu = ticks / hz; cores = cpu / secs
          per_io = 0; if (ios > 0) per_io = cpu * 1e6 / ios
          per_core = 0; if (cores > 0) per_core = iops / cores
          printf "%s\t%s\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\n", t, n, iops, mibps, p50, p99, per_io, per_core
        }' >>"$results"
  done
}

bench_porticod() {
  local threads=$1
  [[ -x "$porticod" ]] || { echo "bench: $porticod not built: skipping porticod" >&2; return; }
  cat >"$work/porticod.yaml" <<YAML
log: {level: warn}
gateway:
  io_threads: $threads
  portals: ["127.0.0.1:$port_a"]
targets:
  - iqn: iqn.2026-11.io.portico:bench
    luns:
      - {lun: 0, backend: memory, size: 1GiB}
YAML
  "$porticod" --config "$work/porticod.yaml" >"$work/porticod.log" 2>&1 &
  local pid=$!
  started_pids+=("$pid")
  wait_port "$port_a"
  run_workloads "porticod-t$threads" "$pid" "iscsi://127.0.0.1:$port_a/iqn.2026-11.io.portico:bench/0"
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  ((rc == 0)) || echo "bench: porticod exited $rc on SIGTERM" >&2
}

stop_tgtd() {
  tgtadm -C "$port_b" --mode system --op delete --force >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 5))
  while kill -0 "$tgtd_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  kill -KILL "$tgtd_pid" 2>/dev/null || true
  wait "$tgtd_pid" 2>/dev/null || true
  tgtd_pid=""
}

bench_tgtd() {
  command -v tgtd >/dev/null || { echo "bench: tgtd not installed: skipping" >&2; return; }
  truncate -s 1G /dev/shm/portico-bench-tgtd.img
  # -C: a control port of its own so that it does not clash with a system tgtd.
  tgtd -f -C "$port_b" --iscsi portal=127.0.0.1:"$port_b" >"$work/tgtd.log" 2>&1 &
  tgtd_pid=$!
  started_pids+=("$tgtd_pid")
  wait_port "$port_b"
  local adm=(tgtadm -C "$port_b" --lld iscsi)
  "${adm[@]}" --mode target --op new --tid 1 --targetname iqn.2026-11.io.portico:tgtd-bench
  "${adm[@]}" --mode logicalunit --op new --tid 1 --lun 1 --bstype rdwr \
    --backing-store /dev/shm/portico-bench-tgtd.img
  "${adm[@]}" --mode target --op bind --tid 1 --initiator-address ALL
  run_workloads tgtd "$tgtd_pid" "iscsi://127.0.0.1:$port_b/iqn.2026-11.io.portico:tgtd-bench/1"
  stop_tgtd
}

for target in $targets; do
  case "$target" in
    porticod) for t in $io_threads_list; do bench_porticod "$t"; done ;;
    tgtd) bench_tgtd ;;
    *) die "unknown target $target" ;;
  esac
done
[[ -s "$results" ]] || die "no results"

echo
echo "Results (${seconds}s per workload, initiator portico-loadgen on the same host):"
printf '%-18s %-14s %9s %9s %9s %9s %12s %12s\n' workload target IOPS MiB/s p50_us p99_us cpu_us/io iops/core
sort -t$'\t' -k2,2 -s "$results" | awk -F'\t' '{ printf "%-18s %-14s %9s %9s %9s %9s %12s %12s\n", $2, $1, $3, $4, $5, $6, $7, $8 }'

grep -q '^tgtd' "$results" || exit 0
# Ratios porticod/tgtd and the acceptance checks, for each porticod variant.
awk -F'\t' '
  { key = $1 SUBSEP $2; for (i = 3; i <= 8; ++i) v[key, i] = $i; if ($1 != "tgtd") variants[$1] = 1
    names[$2] = 1; order[++n] = $2 }
  function ratio(a, b) { if (b > 0) return a / b; return 0 }
  function verdict(ok, p, what, x) { printf "%s %s: %s: %.2fx\n", (ok ? "PASS" : "FAIL"), p, what, x }
  END {
    for (p in variants) {
      printf "\nRatio %s / tgtd:\n", p
      printf "%-18s %9s %9s %9s %9s %12s %12s\n", "workload", "IOPS", "MiB/s", "p50", "p99", "cpu/io", "iops/core"
      for (k = 1; k <= n; ++k) {
        w = order[k]; if (seen[p, w]++ || !((p, w, 3) in v) || !(("tgtd", w, 3) in v)) continue
        printf "%-18s", w
        for (i = 3; i <= 6; ++i) printf " %9.2f", ratio(v[p, w, i], v["tgtd", w, i])
        for (i = 7; i <= 8; ++i) printf " %12.2f", ratio(v[p, w, i], v["tgtd", w, i])
        printf "\n"
      }
      c1 = ratio(v[p, "randread-4k-qd32", 8], v["tgtd", "randread-4k-qd32", 8])
      c2 = ratio(v[p, "randread-4k-qd32", 3], v["tgtd", "randread-4k-qd32", 3])
      c3 = ratio(v[p, "randread-4k-qd1", 5], v["tgtd", "randread-4k-qd1", 5])
      verdict(c1 >= 3, p, "QD32 randread IOPS/core >= 3x tgtd", c1)
      verdict(c2 >= 1.5, p, "QD32 randread IOPS >= 1.5x tgtd", c2)
      verdict(c3 > 0 && c3 <= 0.8, p, "QD1 randread p50 latency <= 0.8x tgtd", c3)
    }
  }' "$results"
