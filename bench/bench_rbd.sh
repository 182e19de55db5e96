#!/bin/bash
# bench_rbd.sh: porticod on an RBD image -- over iSCSI, and over NVMe/TCP as namespace 1 of the
# same gateway (`porticod-nvme`, driven by portico-nvme perf with one queue) -- against the peer
# users would pick (tgtd with its RBD backing store, Debian's tgt-rbd) and against raw librbd
# (`rbd bench`), on the same image, same placement, in one run, on a private micro Ceph cluster
# (scripts/ceph-cluster.sh); then two gateways serving the image together against one, and the
# latency of a PERSISTENT RESERVE OUT (which completes only after every gateway applied it) with
# two gateways and with one.
#
# Every workload is a fixed number of operations at a fixed depth for every side (rbd bench has
# no time limit): 4 KiB random read and write at depth 1 and 32 (rbd bench threads = depth).
# The image (1 GiB) is written in full first, so reads hit real objects.
#
# Placements (bench_lib.sh): the OSD and the monitor stay on BENCH_OSD_CPUS; `same` puts the
# target (porticod or tgtd) and the load generator on one CPU, `other` puts the target on other
# CPUs than the load generator; rbd bench, which is both, runs on the load generator's CPU in
# both. On two CPUs: OSD on CPU 0; same = target and client on CPU 1; other = target on CPU 0
# (beside the OSD), client on CPU 1. `free` pins nothing (every process on every core).
#
# Each comparison runs BENCH_REPEAT times (3), alternating the sides, and the tables give medians:
# IOPS, p50/p99 latency, the CPU per operation of the target process (all threads, librbd's
# included; for rbd bench its whole process) and of the load generator. Per placement then the
# iSCSI round trip alone (a memory LUN), and a memory LUN that completes as late as rbd bench's
# depth-1 read: the depth-1 ratio that a backend as fast as librbd would reach through porticod.
#
# Environment: BENCH_SCALE (1: operation counts are multiplied by it), PORTICO_BUILD
# (build/release), BENCH_REPEAT (3), BENCH_PORT (3290: gateways on 127.0.0.1, .2 and .3),
# BENCH_TGTD_PORT (3291, on 127.0.0.4; also tgtd's control port), BENCH_CEPH_PORT (21800),
# BENCH_TARGETS ("porticod porticod-nvme tgtd": the targets compared; porticod-nvme is gateway 1's
# NVMe/TCP listener on BENCH_PORT + 5), BENCH_PLACEMENTS ("same other"; also
# "free"), BENCH_CLIENT_CPU (the last CPU), BENCH_TARGET_CPUS (the target in `other`: CPU 0 on two
# CPUs, else the last but one), BENCH_OSD_CPUS (CPU 0, or 0 to the last but two on 4+ CPUs),
# BENCH_WORKLOADS (all: a subset by name).
# Note: the cluster, the targets and the initiator share this machine's cores.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
build=${PORTICO_BUILD:-$root/build/release}
scale=${BENCH_SCALE:-1}
repeat=${BENCH_REPEAT:-3}
port=${BENCH_PORT:-3290}
ceph_port=${BENCH_CEPH_PORT:-21800}
targets=${BENCH_TARGETS:-porticod porticod-nvme tgtd}
read -r -a placements <<<"${BENCH_PLACEMENTS:-same other}"
cores=$(nproc)
bench_client_cpu=${BENCH_CLIENT_CPU:-$((cores - 1))}
bench_other_cpus=${BENCH_TARGET_CPUS:-$((cores >= 3 ? cores - 2 : 0))}
if [[ -n ${BENCH_OSD_CPUS:-} ]]; then
  osd_cpus=$BENCH_OSD_CPUS
elif ((cores >= 4)); then
  osd_cpus="0-$((cores - 3))"
else
  osd_cpus=0
fi
loadgen=$build/tools/portico-loadgen
nvme=$build/tools/nvme_tcp/portico-nvme
porticod=$build/daemon/porticod
nvme_port=$((port + 5))
nqn=nqn.2026-11.io.portico:bench-rbd
work=$(mktemp -d /tmp/portico-bench-rbd.XXXXXX)
cluster=$work/ceph
conf=$cluster/ceph.conf
iqn=iqn.2026-11.io.portico:bench-rbd
results=$work/results.tsv  # workload placement side iops p50 p99 cpu_us_per_op initiator_cpu_us_per_op
others=$work/others.tsv    # section case side iops p50 p99
declare -A gateway_pids=()
tgtd_pid=""

die() { echo "bench: $*" >&2; exit 1; }
cleanup() {
  local name
  for name in "${!gateway_pids[@]}"; do kill -KILL "${gateway_pids[$name]}" 2>/dev/null || true; done
  stop_tgtd
  bash "$root/scripts/ceph-cluster.sh" stop "$cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
[[ -x "$loadgen" && -x "$porticod" && -x "$nvme" ]] || die "build first: scripts/build.sh release"
check_placements "${placements[@]}" || exit 1
if [[ " $targets " == *" tgtd "* ]] && [[ ! -e /usr/lib/tgt/backing-store/bs_rbd.so ]]; then
  die "tgtd's RBD backing store is missing: apt-get install tgt-rbd (or BENCH_TARGETS=porticod)"
fi

url() { echo "iscsi://127.0.0.$1:$port/$iqn/0"; }

# start_gateway N [LUN YAML]: porticod N on 127.0.0.N with the RBD image, in the cluster; or
# with the given (memory) LUNs, alone.
start_gateway() {
  local n=$1 luns=${2:-"      - {lun: 0, backend: rbd, image: rbd/bench}"} cluster_yaml="cluster:
  ceph_conf: $conf
  pool: rbd"
  [[ -z ${2:-} ]] || cluster_yaml=""
  cat >"$work/gw$n.yaml" <<YAML
log: {level: warn}
gateway:
  name: bench-gw$n
  io_threads: 1
  portals: ["127.0.0.$n:$port"]
  nvme_listeners: ["127.0.0.$n:$nvme_port"]
  nvme_discovery_listeners: ["127.0.0.$n:$((nvme_port + 1))"]
$cluster_yaml
targets:
  - iqn: $iqn
    nvme: {nqn: $nqn}
    luns:
$luns
YAML
  "$porticod" --config "$work/gw$n.yaml" >"$work/gw$n.log" 2>&1 &
  gateway_pids[gw$n]=$!
  wait_for_port "127.0.0.$n" "$port" "${gateway_pids[gw$n]}" "$work/gw$n.log" || exit 1
}

stop_gateway() {
  local pid=${gateway_pids[gw$1]}
  kill -TERM "$pid"
  wait "$pid" || die "gateway $1 did not exit cleanly"
  unset "gateway_pids[gw$1]"
}

# timed_cpu FILE COMMAND...: runs COMMAND (its output unchanged) and writes the CPU seconds it used
# (user and system, start-up included) to FILE.
timed_cpu() {
  local file=$1 TIMEFORMAT='%3U %3S'
  shift
  { time "$@" 2>&3; } 3>&2 2>"$file"
}

# cpu_us_per_op FILE OPS: the CPU of a timed_cpu FILE in microseconds per operation.
cpu_us_per_op() { awk -v ops="$2" '{ printf "%.0f", ($1 + $2) * 1e6 / ops }' "$1"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))

# rbd_bench TYPE DEPTH OPS CPUS -> "iops cpu_us_per_op"
rbd_bench() {
  local out
  out=$(timed_cpu "$work/rbd.cpu" on_cpus "$4" rbd -c "$conf" bench --io-type "$1" --io-size 4K --io-threads "$2" \
          --io-total $(($3 * 4096)) --io-pattern rand rbd/bench 2>&1 | tail -1)
  echo "$(sed -n 's/.*ops\/sec: *\([0-9.]*\).*/\1/p' <<<"$out" | awk '{ printf "%.0f", $1 }') $(cpu_us_per_op "$work/rbd.cpu" "$3")"
}

# iscsi_run PID URL CPUS LOADGEN_OPTIONS... -> the load generator's line plus target_us=
# (the target process's CPU per operation) and initiator_us= (the load generator's).
iscsi_run() {
  local pid=$1 url=$2 cpus=$3 before out ops
  shift 3
  before=$(cpu_ticks "$pid")
  out=$(timed_cpu "$work/loadgen.cpu" on_cpus "$cpus" "$loadgen" --url "$url" "$@")
  ops=$(field ios "$out")
  ((ops > 0)) || die "no operation completed through $url: $out"
  echo "$out target_us=$((($(cpu_ticks "$pid") - before) * tick_us / ops)) initiator_us=$(cpu_us_per_op "$work/loadgen.cpu" "$ops")"
}

# nvme_run PID CPUS PERF_OPTIONS... -> portico-nvme perf's line (through gateway 1's NVMe/TCP
# listener, one queue) plus target_us= and initiator_us=, as iscsi_run.
nvme_run() {
  local pid=$1 cpus=$2 before out ops
  shift 2
  before=$(cpu_ticks "$pid")
  out=$(timed_cpu "$work/nvme.cpu" on_cpus "$cpus" "$nvme" perf --addr 127.0.0.1 --port "$nvme_port" --nqn "$nqn" \
          --hostid 5f1e0c7a-0d2b-4c3e-9a41-7b2f8e6d1cbb --bs 4096 --queues 1 "$@")
  ops=$(field ios "$out")
  ((ops > 0)) || die "no operation completed through NVMe/TCP: $out"
  echo "$out target_us=$((($(cpu_ticks "$pid") - before) * tick_us / ops)) initiator_us=$(cpu_us_per_op "$work/nvme.cpu" "$ops")"
}

echo "== micro cluster (1 mon, 1 OSD on a sparse file) in $cluster" >&2
bash "$root/scripts/ceph-cluster.sh" start "$cluster" "$ceph_port" >/dev/null
rbd -c "$conf" create --size 1G --image-feature layering rbd/bench
echo "== preconditioning: writing the whole image" >&2
rbd -c "$conf" bench --io-type write --io-size 4M --io-threads 4 --io-total 1G --io-pattern seq rbd/bench >/dev/null
ceph_pids=("$(cat "$cluster/run/osd.0.pid")" "$(cat "$cluster/run/mon.a.pid")")

start_gateway 1
start_gateway 2
declare -A target_pid=() target_url=()
if [[ " $targets " == *" porticod "* ]]; then
  target_pid[porticod]=${gateway_pids[gw1]} target_url[porticod]=$(url 1)
fi
if [[ " $targets " == *" porticod-nvme "* ]]; then
  target_pid[porticod-nvme]=${gateway_pids[gw1]} target_url[porticod-nvme]=nvme
fi
if [[ " $targets " == *" tgtd "* ]]; then
  # tgt's bs_rbd reads its Ceph settings from --bsopts: conf= (ceph.conf), id= (client name,
  # default admin), cluster=; the image as pool/image.
  start_tgtd 127.0.0.4 "${BENCH_TGTD_PORT:-3291}" "$work/tgtd.log" || exit 1
  tgtd_add_lun 1 --bstype rbd --backing-store rbd/bench --bsopts "conf=$conf"
  lu=$(tgtadm -C "$tgtd_port" --lld iscsi --mode target --op show | sed -n '/LUN: 1$/,$p')
  grep -q 'Backing store type: rbd' <<<"$lu" || die "tgtd did not create its RBD LU: $lu"
  echo "   tgtd LUN 1: $(grep -E 'Size|Backing store (type|path)' <<<"$lu" | sed 's/^ *//' | paste -sd ';')" >&2
  target_pid[tgtd]=$tgtd_pid target_url[tgtd]=$(tgtd_url 127.0.0.4 1)
fi

# workload, rbd bench type, loadgen --rw, depth, operations
all_workloads=(
  "randread-4k-qd1 read randread 1 $((4000 * scale))"
  "randread-4k-qd32 read randread 32 $((40000 * scale))"
  "randwrite-4k-qd1 write randwrite 1 $((1500 * scale))"
  "randwrite-4k-qd32 write randwrite 32 $((15000 * scale))"
)
select_workloads || exit 1

# place PLACEMENT: the cluster (and the idle second gateway) on the OSD's CPUs, the targets on
# theirs; `free` undoes every pin.
place() {
  local cluster_cpus=$osd_cpus name
  [[ $1 == free ]] && cluster_cpus=""
  pin_process "$cluster_cpus" "${ceph_pids[@]}" "${gateway_pids[gw2]}" || die "pinning the cluster failed"
  for name in "${!target_pid[@]}"; do
    pin_process "$(target_cpus "$1")" "${target_pid[$name]}" || die "pinning $name failed"
  done
}

# compare PLACEMENT: every workload `repeat` times, rbd bench and each target alternating;
# records every run (the tables show medians).
compare() {
  local placement=$1 client w name type rw qd ops i raw raw_cpu side out
  client=$(client_cpus "$placement")
  place "$placement"
  for w in "${workloads[@]}"; do
    read -r name type rw qd ops <<<"$w"
    for ((i = 1; i <= repeat; ++i)); do
      raw=$(rbd_bench "$type" "$qd" "$ops" "$client")
      read -r raw raw_cpu <<<"$raw"
      echo "   [$placement] $name run $i: rbd bench $raw IOPS, $raw_cpu us CPU/op" >&2
      printf '%s\t%s\trbd-bench\t%s\t-\t-\t%s\t-\n' "$name" "$placement" "$raw" "$raw_cpu" >>"$results"
      for side in $targets; do
        if [[ $side == porticod-nvme ]]; then
          out=$(nvme_run "${target_pid[$side]}" "$client" --rw "$rw" --qd "$qd" --ios "$ops")
        else
          out=$(iscsi_run "${target_pid[$side]}" "${target_url[$side]}" "$client" --rw "$rw" --qd "$qd" --ios "$ops")
        fi
        echo "   [$placement] $name run $i: $side $out" >&2
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$placement" "$side" "$(field iops "$out")" \
          "$(field p50_us "$out")" "$(field p99_us "$out")" "$(field target_us "$out")" "$(field initiator_us "$out")" >>"$results"
      done
    done
  done
}

# median_of PLACEMENT WORKLOAD SIDE COLUMN: the median of that column (4: IOPS) over the runs.
median_of() {
  awk -F'\t' -v w="$2" -v p="$1" -v side="$3" -v c="$4" '$1 == w && $2 == p && $3 == side { print $c }' "$results" |
    sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# memory_hop PLACEMENT: the iSCSI hop alone (a memory LUN, no Ceph in the path), then the hop at
# librbd's pace: a memory LUN whose every completion arrives rbd bench's depth-1 read latency late,
# from another thread, as a librados completion does. Its ratio to rbd bench is what a backend
# exactly as fast as librbd would give through this gateway at depth 1.
memory_hop() {
  local placement=$1 client rbd_iops librbd_us hop paced
  rbd_iops=$(median_of "$placement" randread-4k-qd1 rbd-bench 4)
  [[ -n $rbd_iops ]] || return 0
  librbd_us=$(awk -v iops="$rbd_iops" 'BEGIN { printf "%.0f", 1e6 / iops }')
  client=$(client_cpus "$placement")
  start_gateway 3 "      - {lun: 0, backend: memory, size: 1GiB}
      - {lun: 1, backend: memory, size: 1GiB, completion_delay_us: $librbd_us}"
  pin_process "$(target_cpus "$placement")" "${gateway_pids[gw3]}" || die "pinning the memory gateway failed"
  hop=$(iscsi_run "${gateway_pids[gw3]}" "$(url 3)" "$client" --rw randread --qd 1 --ios $((20000 * scale)))
  echo "   [$placement] iSCSI round trip, memory LUN, 4 KiB read QD1: $hop" >&2
  paced=$(iscsi_run "${gateway_pids[gw3]}" "iscsi://127.0.0.3:$port/$iqn/1" "$client" --rw randread --qd 1 \
            --ios $((4000 * scale)))
  echo "   [$placement] memory LUN completing $librbd_us us late, 4 KiB read QD1: $paced" >&2
  stop_gateway 3
  printf 'hop\t%s\tiSCSI round trip alone\t%s\t%s\t%s\t%s\n' "$placement" "$(field iops "$hop")" \
    "$(field p50_us "$hop")" "$(field p99_us "$hop")" "$(field target_us "$hop")" >>"$others"
  printf 'hop\t%s\tcompleting %s us late\t%s\t%s\t%s\t%s\t%s\n' "$placement" "$librbd_us" "$(field iops "$paced")" \
    "$(field p50_us "$paced")" "$(field p99_us "$paced")" "$(field target_us "$paced")" \
    "$(awk -v a="$(field iops "$paced")" -v b="$rbd_iops" 'BEGIN { printf "%.2fx", a / b }')" >>"$others"
}

for placement in "${placements[@]}"; do
  echo "== [$placement] $targets against rbd bench, $repeat runs each" >&2
  compare "$placement"
  if [[ " $targets " == *" porticod "* ]]; then memory_hop "$placement"; fi
done
place free

echo "== two gateways together against one (random 4 KiB, total depth 32 and 64)" >&2
for rw in randread randwrite; do
  [[ $rw == randread ]] && ops=$((40000 * scale)) || ops=$((15000 * scale))
  one=$("$loadgen" --url "$(url 1)" --rw "$rw" --qd 32 --ios "$ops")
  printf 'gateways\t%s\tone gateway\t%s\n' "$rw-4k-qd32" "$(field iops "$one")" >>"$others"
  for depth in 16 32; do
    "$loadgen" --url "$(url 1)" --rw "$rw" --qd "$depth" --ios $((ops / 2)) --seed 1 >"$work/a.out" &
    a=$!
    "$loadgen" --url "$(url 2)" --rw "$rw" --qd "$depth" --ios $((ops / 2)) --seed 2 >"$work/b.out" &
    b=$!
    wait "$a" && wait "$b" || die "two-gateway $rw run failed"
    sum=$(awk '{ for (i = 1; i <= NF; ++i) if ($i ~ /^iops=/) { split($i, kv, "="); s += kv[2] } } END { printf "%.0f", s }' \
            "$work/a.out" "$work/b.out")
    echo "   two gateways $rw 2x qd$depth: $sum IOPS ($(tr '\n' ' ' <"$work/a.out"))" >&2
    printf 'gateways\t%s\ttwo gateways\t%s\n' "$rw-4k-qd$((2 * depth))" "$sum" >>"$others"
  done
done

echo "== PERSISTENT RESERVE OUT latency" >&2
pr_ops=$((300 * scale))
two=$("$loadgen" --url "$(url 1)" --rw pr-register --ios "$pr_ops")
printf 'pr\tregister (2 gateways ack)\tporticod\t%s\t%s\t%s\n' "$(field iops "$two")" "$(field p50_us "$two")" \
  "$(field p99_us "$two")" >>"$others"
stop_gateway 2
one=$("$loadgen" --url "$(url 1)" --rw pr-register --ios "$pr_ops")
printf 'pr\tregister (1 gateway)\tporticod\t%s\t%s\t%s\n' "$(field iops "$one")" "$(field p50_us "$one")" \
  "$(field p99_us "$one")" >>"$others"
stop_gateway 1
stop_tgtd

# The medians of every (workload, placement, side), in print_workload_table's layout.
awk -F'\t' '
  { key = $1 "\t" $2 "\t" $3; if (!(key in n)) order[++keys] = key
    n[key]++; for (c = 4; c <= 8; ++c) val[key, c, n[key]] = $c }
  function median(key, c,    i, j, k, t, a) {
    k = n[key]; for (i = 1; i <= k; ++i) a[i] = val[key, c, i]
    if (a[1] == "-") return "-"
    for (i = 2; i <= k; ++i) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; --j) a[j + 1] = a[j]; a[j + 1] = t }
    return a[int((k + 1) / 2)]
  }
  END { for (i = 1; i <= keys; ++i) { k = order[i]; printf "%s", k
        for (c = 4; c <= 8; ++c) printf "\t%s", median(k, c); printf "\n" } }' "$results" >"$work/medians.tsv"

ratios="porticod/rbd-bench porticod-nvme/rbd-bench tgtd/rbd-bench porticod/tgtd porticod-nvme/porticod"
echo
echo "porticod (one gateway, 1 I/O thread; iSCSI, and NVMe/TCP as porticod-nvme) and tgtd (--bstype rbd) on RBD"
echo "against rbd bench on the same image,"
echo "medians of $repeat runs. The OSD and the monitor on CPU $osd_cpus (free: anywhere)."
placement_legend
echo "target_us/op: CPU per operation of the target process, all threads (rbd bench: its whole process);"
echo "init_us/op: of the load generator."
for w in "${workloads[@]}"; do
  read -r name type rw qd ops <<<"$w"
  echo
  echo "$name (4 KiB random $type, depth $qd, $ops operations):"
  print_workload_table "$work/medians.tsv" "$name" "IOPS p50_us p99_us target_us/op init_us/op" "$ratios" "${placements[@]}"
done
if grep -q '^hop' "$others"; then
  echo
  echo "The iSCSI hop through porticod (4 KiB read, depth 1, memory LUN): alone, and completing as late as rbd"
  echo "bench's depth-1 read (the depth-1 bound for a backend as fast as librbd; last column: its ratio to rbd bench):"
  printf '%-9s %-28s %9s %9s %9s %12s %7s\n' placement case IOPS p50_us p99_us target_us/op ratio
  awk -F'\t' '$1 == "hop" { printf "%-9s %-28s %9.0f %9s %9s %12s %7s\n", $2, $3, $4, $5, $6, $7, ($8 == "" ? "" : $8) }' "$others"
fi
echo
echo "Two gateways serving the image together against one (same total operations; nothing pinned):"
printf '%-20s %-14s %12s\n' workload side IOPS
awk -F'\t' '$1 == "gateways" { printf "%-20s %-14s %12.0f\n", $2, $3, $4 }' "$others"
echo
echo "PERSISTENT RESERVE OUT REGISTER through gateway 1 (each completes after every gateway applied it):"
printf '%-28s %9s %9s %9s\n' case "ops/s" p50_us p99_us
awk -F'\t' '$1 == "pr" { printf "%-28s %9.0f %9s %9s\n", $2, $4, $5, $6 }' "$others"
