#!/bin/bash
# bench_vs_tgtd.sh: porticod against tgtd (the peer to beat) on loopback, same load generator,
# same workloads, 1 GiB LUN each (porticod: memory; tgtd: rdwr file on /dev/shm).
#
# Where the scheduler puts the processes decides a depth-1 figure on a virtual machine (a
# cross-CPU wake-up costs tens of µs), so every workload runs in each placement (bench_lib.sh):
# `same` (target and load generator pinned to one CPU: the target's own service time) and `other`
# (target on other CPUs than the load generator: with the wake-up). For every workload and
# placement it reports IOPS, MiB/s, p50/p99 latency, the target's CPU per I/O (utime + stime of
# all its threads, /proc/<pid>/stat) and IOPS per target core, and the porticod / tgtd ratios.
# The workload randread-4k-qd32-registered runs with one persistent reservation registered on
# the load generator's session (portico-loadgen --register-key): IOPS per target core at depth 32
# with a registration present; randread-4k-qd32-reserved with that registration holding a
# reservation (write exclusive, registrants only), so that every command meets the reservation
# rules.
#
# Environment: BENCH_SECONDS (10), PORTICO_BUILD (build/release), BENCH_IO_THREADS ("1 2": one
# porticod run per value), BENCH_TARGETS ("porticod tgtd"), BENCH_PORT_A (3270), BENCH_PORT_B (3280),
# BENCH_PLACEMENTS ("same other"; also "free": nothing pinned), BENCH_CLIENT_CPU (the last CPU),
# BENCH_TARGET_CPUS (CPU 0: the target's CPUs in `other`), BENCH_WORKLOADS (all: a subset by name),
# BENCH_BASELINE (another porticod binary, e.g. an earlier commit's: run first as the target
# `baseline`, with porticod/baseline ratios: a before/after comparison in one run).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
build=${PORTICO_BUILD:-$root/build/release}
seconds=${BENCH_SECONDS:-10}
io_threads_list=${BENCH_IO_THREADS:-1 2}
baseline=${BENCH_BASELINE:-}
[[ -z $baseline ]] || [[ -x $baseline ]] || { echo "bench: BENCH_BASELINE=$baseline is not an executable" >&2; exit 1; }
targets=${BENCH_TARGETS:-${baseline:+baseline }porticod tgtd}
port_a=${BENCH_PORT_A:-3270}
port_b=${BENCH_PORT_B:-3280}
read -r -a placements <<<"${BENCH_PLACEMENTS:-same other}"
bench_client_cpu=${BENCH_CLIENT_CPU:-$(($(nproc) - 1))}
bench_other_cpus=${BENCH_TARGET_CPUS:-0}
register_key=0x42454e4348  # "BENCH"
loadgen=$build/tools/portico-loadgen
porticod=$build/daemon/porticod
work=$(mktemp -d /tmp/portico-bench.XXXXXX)
results=$work/results.tsv   # workload placement target iops mibps p50 p99 cpu_us_per_io iops_per_core
started_pids=()
tgtd_pid=""

cleanup() {
  stop_tgtd
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
check_placements "${placements[@]}" || exit 1

# workload name, --rw, --bs, --qd, extra load generator options
all_workloads=(
  "randread-4k-qd1 randread 4K 1"
  "randread-4k-qd32 randread 4K 32"
  "randread-4k-qd32-registered randread 4K 32 --register-key $register_key"
  "randread-4k-qd32-reserved randread 4K 32 --register-key $register_key --reserve-type 5"
  "randwrite-4k-qd1 randwrite 4K 1"
  "randwrite-4k-qd32 randwrite 4K 32"
  "seqread-128k-qd32 read 128K 32"
)
select_workloads || exit 1

# run_workloads LABEL PID URL: every workload in every placement, the target re-pinned before each.
run_workloads() {
  local label=$1 pid=$2 url=$3 w name rw bs qd extra placement c0 c1 out
  echo "== $label: preconditioning (writing the whole LUN)" >&2
  "$loadgen" --url "$url" --rw write --bs 128K --qd 32 --ios 8192 >/dev/null
  for w in "${workloads[@]}"; do
    read -r name rw bs qd extra <<<"$w"
    for placement in "${placements[@]}"; do
      pin_process "$(target_cpus "$placement")" "$pid" || die "pinning $label failed"
      c0=$(cpu_ticks "$pid")
      # shellcheck disable=SC2086  # extra: options, split on purpose
      out=$(on_cpus "$(client_cpus "$placement")" "$loadgen" --url "$url" --rw "$rw" --bs "$bs" --qd "$qd" \
              --seconds "$seconds" $extra)
      c1=$(cpu_ticks "$pid")
      echo "   $label $name [$placement]: $out" >&2
      if [[ -n $extra ]] && [[ $(field registrations "$out") != 1 ]]; then
        die "$label $name: READ KEYS listed $(field registrations "$out") registrations, not 1"
      fi
      record_result "$results" "$label" "$name" "$placement" "$out" $((c1 - c0)) "$seconds"
    done
  done
}

# bench_porticod THREADS [BINARY LABEL]
bench_porticod() {
  local threads=$1 porticod=${2:-$porticod} label=${3:-porticod}
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
  # Started on the first placement's CPUs: threads it starts later inherit them.
  start_on_cpus "$(target_cpus "${placements[0]}")" "$porticod" --config "$work/porticod.yaml" >"$work/porticod.log" 2>&1
  local pid=$started_pid
  started_pids+=("$pid")
  wait_for_port 127.0.0.1 "$port_a" "$pid" "$work/porticod.log" || exit 1
  run_workloads "$label-t$threads" "$pid" "iscsi://127.0.0.1:$port_a/iqn.2026-11.io.portico:bench/0"
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  ((rc == 0)) || echo "bench: porticod exited $rc on SIGTERM" >&2
}

bench_tgtd() {
  command -v tgtd >/dev/null || { echo "bench: tgtd not installed: skipping" >&2; return; }
  truncate -s 1G /dev/shm/portico-bench-tgtd.img
  # A control port of its own (-C, the iSCSI port) so that it does not clash with a system tgtd.
  start_tgtd 127.0.0.1 "$port_b" "$work/tgtd.log" || exit 1
  started_pids+=("$tgtd_pid")
  tgtd_add_lun 1 --bstype rdwr --backing-store /dev/shm/portico-bench-tgtd.img
  run_workloads tgtd "$tgtd_pid" "$(tgtd_url 127.0.0.1 1)"
  stop_tgtd
}

for target in $targets; do
  case "$target" in
    porticod) for t in $io_threads_list; do bench_porticod "$t"; done ;;
    baseline)
      [[ -n $baseline ]] || die "the target baseline needs BENCH_BASELINE"
      for t in $io_threads_list; do bench_porticod "$t" "$baseline" baseline; done ;;
    tgtd) bench_tgtd ;;
    *) die "unknown target $target" ;;
  esac
done
[[ -s "$results" ]] || die "no results"

variants=$(awk -F'\t' '$3 != "tgtd" && !seen[$3]++ { printf "%s ", $3 }' "$results")
ratios=""
for v in $variants; do
  grep -q $'\ttgtd\t' "$results" && ratios+="$v/tgtd "
  [[ $v == porticod-* ]] && grep -q $'\tbaseline'"${v#porticod}"$'\t' "$results" && ratios+="$v/baseline${v#porticod} "
done
echo
echo "Results (${seconds}s per workload and placement, initiator portico-loadgen on the same host)."
placement_legend
echo "cpu_us/io: the target's CPU time (all threads) per I/O; iops/core: IOPS per CPU core the target used."
for w in "${workloads[@]}"; do
  read -r name rw bs qd extra <<<"$w"
  echo
  held=""
  [[ $extra == *--register-key* ]] && held=", one PR registration present"
  [[ $extra == *--reserve-type* ]] && held=", one PR registration holding a reservation"
  echo "$name ($rw, $bs, depth $qd$held):"
  print_workload_table "$results" "$name" "IOPS MiB/s p50_us p99_us cpu_us/io iops/core" "$ratios" "${placements[@]}"
done

grep -q $'\ttgtd\t' "$results" || exit 0
# The acceptance checks, for each porticod variant in each placement.
echo
awk -F'\t' -v variants="$variants" -v placements="${placements[*]}" '
  { v[$1, $2, $3, "iops"] = $4; v[$1, $2, $3, "p50"] = $6; v[$1, $2, $3, "core"] = $9 }
  function ratio(w, p, side, what) {
    if (!((w, p, side, what) in v) || !((w, p, "tgtd", what) in v) || v[w, p, "tgtd", what] == 0) return -1
    return v[w, p, side, what] / v[w, p, "tgtd", what]
  }
  function verdict(ok, x, what) {
    if (x < 0) return
    printf "%s %s [%s]: %s: %.2fx\n", (ok ? "PASS" : "FAIL"), side, p, what, x
  }
  END {
    nv = split(variants, vs, " "); np = split(placements, ps, " ")
    for (i = 1; i <= nv; ++i) for (j = 1; j <= np; ++j) {
      side = vs[i]; p = ps[j]
      x = ratio("randread-4k-qd32", p, side, "core"); verdict(x >= 3, x, "QD32 randread IOPS/core >= 3x tgtd")
      x = ratio("randread-4k-qd32", p, side, "iops"); verdict(x >= 1.5, x, "QD32 randread IOPS >= 1.5x tgtd")
      x = ratio("randread-4k-qd1", p, side, "p50"); verdict(x > 0 && x <= 0.8, x, "QD1 randread p50 latency <= 0.8x tgtd")
      w = "randread-4k-qd32-registered"; x = ratio(w, p, side, "core")
      plain = (("randread-4k-qd32", p, side, "core") in v) ? v["randread-4k-qd32", p, side, "core"] : "-"
      if (x >= 0) printf "INFO %s [%s]: QD32 randread, one registration present: %.0f IOPS per target core" \
                         " (tgtd %.0f: %.2fx; %s without it)\n", side, p, v[w, p, side, "core"], v[w, p, "tgtd", "core"], x, plain
      w = "randread-4k-qd32-reserved"; x = ratio(w, p, side, "core")
      if (x >= 0) printf "INFO %s [%s]: QD32 randread, one registration holding a reservation: %.0f IOPS per" \
                         " target core (tgtd %.0f: %.2fx)\n", side, p, v[w, p, side, "core"], v[w, p, "tgtd", "core"], x
    }
  }' "$results"
