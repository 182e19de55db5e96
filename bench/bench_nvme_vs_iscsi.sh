#!/bin/bash
# bench_nvme_vs_iscsi.sh: one porticod, one 1 GiB memory LUN exported at once as iSCSI LUN 0 and
# NVMe namespace 1, driven over loopback by the project's two load generators -- portico-loadgen
# (libiscsi, one session) and portico-nvme perf (the NVMe/TCP host, one I/O queue) -- with the
# same workloads, in each placement (bench_lib.sh): `same` (target and client on one CPU: the
# target's own service time) and `other` (target on other CPUs: with the cross-CPU wake-up).
# For every workload and placement: IOPS, MiB/s, p50/p99 latency, the target's CPU per I/O and
# IOPS per target core, and the NVMe / iSCSI ratios; then the issue's acceptance lines:
# NVMe/TCP 4 KiB random read IOPS per target core >= 1.2x iSCSI, QD1 p50 on the same CPU <= iSCSI.
#
# Environment: BENCH_SECONDS (10), PORTICO_BUILD (build/release), BENCH_PORT (3290: iSCSI; +1
# NVMe/TCP, +2 discovery), BENCH_PLACEMENTS ("same other"), BENCH_CLIENT_CPU (the last CPU),
# BENCH_TARGET_CPUS (CPU 0), BENCH_WORKLOADS (all: a subset by name), BENCH_IO_THREADS (1).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
build=${PORTICO_BUILD:-$root/build/release}
seconds=${BENCH_SECONDS:-10}
port=${BENCH_PORT:-3290}
io_threads=${BENCH_IO_THREADS:-1}
read -r -a placements <<<"${BENCH_PLACEMENTS:-same other}"
bench_client_cpu=${BENCH_CLIENT_CPU:-$(($(nproc) - 1))}
bench_other_cpus=${BENCH_TARGET_CPUS:-0}
loadgen=$build/tools/portico-loadgen
nvme=$build/tools/nvme_tcp/portico-nvme
porticod=$build/daemon/porticod
work=$(mktemp -d /tmp/portico-bench-nvme.XXXXXX)
results=$work/results.tsv   # workload placement side iops mibps p50 p99 cpu_us_per_io iops_per_core
pid=""
nqn=nqn.2026-11.io.portico:bench
hostid=5f1e0c7a-0d2b-4c3e-9a41-7b2f8e6d1cbe

cleanup() {
  [[ -z $pid ]] || { kill -KILL "$pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
die() { echo "bench: $*" >&2; exit 1; }
for tool in "$loadgen" "$nvme" "$porticod"; do [[ -x $tool ]] || die "$tool is missing: run scripts/build.sh release"; done
check_placements "${placements[@]}" || exit 1

# workload name, rw, block size, depth
all_workloads=(
  "randread-4k-qd1 randread 4K 1"
  "randread-4k-qd32 randread 4K 32"
  "randwrite-4k-qd32 randwrite 4K 32"
  "seqread-128k-qd32 read 128K 32"
)
select_workloads || exit 1

cat >"$work/porticod.yaml" <<YAML
log: {level: warn}
gateway:
  io_threads: $io_threads
  portals: ["127.0.0.1:$port"]
  nvme_listeners: ["127.0.0.1:$((port + 1))"]
  nvme_discovery_listeners: ["127.0.0.1:$((port + 2))"]
targets:
  - iqn: iqn.2026-11.io.portico:bench
    nvme: {nqn: $nqn}
    luns:
      - {lun: 0, backend: memory, size: 1GiB}
YAML
start_on_cpus "$(target_cpus "${placements[0]}")" "$porticod" --config "$work/porticod.yaml" >"$work/porticod.log" 2>&1
pid=$started_pid
wait_for_port 127.0.0.1 "$port" "$pid" "$work/porticod.log" || exit 1
wait_for_port 127.0.0.1 "$((port + 1))" "$pid" "$work/porticod.log" || exit 1
url=iscsi://127.0.0.1:$port/iqn.2026-11.io.portico:bench/0

# client_command SIDE RW BS QD: `client` becomes the command line of one run of SIDE's load
# generator (it prints one result line).
client_command() {
  local side=$1 rw=$2 bs=$3 qd=$4
  case $side in
    iscsi) client=("$loadgen" --url "$url" --rw "$rw" --bs "$bs" --qd "$qd" --seconds "$seconds") ;;
    nvme) client=("$nvme" perf --port "$((port + 1))" --nqn "$nqn" --hostid "$hostid" --rw "$rw" \
                  --bs "$(numfmt --from=iec "$bs")" --qd "$qd" --queues 1 --seconds "$seconds") ;;
  esac
}

echo "== preconditioning (writing the whole LUN through iSCSI)" >&2
"$loadgen" --url "$url" --rw write --bs 128K --qd 32 --ios 8192 >/dev/null
for w in "${workloads[@]}"; do
  read -r name rw bs qd <<<"$w"
  for placement in "${placements[@]}"; do
    for side in iscsi nvme; do
      pin_process "$(target_cpus "$placement")" "$pid" || die "pinning porticod failed"
      c0=$(cpu_ticks "$pid")
      client_command "$side" "$rw" "$bs" "$qd"
      out=$(on_cpus "$(client_cpus "$placement")" "${client[@]}")
      c1=$(cpu_ticks "$pid")
      echo "   $side $name [$placement]: $out" >&2
      [[ $(field errors "$out") == 0 || -z $(field errors "$out") ]] || die "$side $name: errors in $out"
      record_result "$results" "$side" "$name" "$placement" "$out" $((c1 - c0)) "$seconds"
    done
  done
done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
((rc == 0)) || echo "bench: porticod exited $rc on SIGTERM" >&2

echo
echo "Results (${seconds}s per workload, placement and protocol; porticod with $io_threads I/O thread(s), one memory"
echo "LUN = namespace; clients: portico-loadgen over iSCSI, portico-nvme perf over NVMe/TCP, one queue each)."
placement_legend
echo "cpu_us/io: porticod's CPU time (all threads) per I/O; iops/core: IOPS per CPU core porticod used."
for w in "${workloads[@]}"; do
  read -r name rw bs qd <<<"$w"
  echo
  echo "$name ($rw, $bs, depth $qd):"
  print_workload_table "$results" "$name" "IOPS MiB/s p50_us p99_us cpu_us/io iops/core" "nvme/iscsi" "${placements[@]}"
done
echo
awk -F'\t' -v placements="${placements[*]}" '
  { v[$1, $2, $3, "iops"] = $4; v[$1, $2, $3, "p50"] = $6; v[$1, $2, $3, "core"] = $9 }
  function ratio(w, p, what) {
    if (!((w, p, "nvme", what) in v) || !((w, p, "iscsi", what) in v) || v[w, p, "iscsi", what] == 0) return -1
    return v[w, p, "nvme", what] / v[w, p, "iscsi", what]
  }
  END {
    np = split(placements, ps, " ")
    for (j = 1; j <= np; ++j) {
      p = ps[j]
      x = ratio("randread-4k-qd32", p, "core")
      if (x >= 0) printf "%s [%s]: QD32 4 KiB randread IOPS per target core, NVMe/TCP >= 1.2x iSCSI: %.2fx\n", (x >= 1.2 ? "PASS" : "FAIL"), p, x
      if (p == "same") {
        x = ratio("randread-4k-qd1", p, "p50")
        if (x > 0) printf "%s [%s]: QD1 4 KiB randread p50, NVMe/TCP <= iSCSI: %.2fx\n", (x <= 1 ? "PASS" : "FAIL"), p, x
      }
    }
  }' "$results"
