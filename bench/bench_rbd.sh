#!/bin/bash
# bench_rbd.sh: porticod on an RBD image against raw librbd (`rbd bench`) on the same image, in one
# run, on a private micro Ceph cluster (scripts/ceph-cluster.sh); then two gateways serving the
# image together against one, and the latency of a PERSISTENT RESERVE OUT (which completes only
# after every gateway applied it) with two gateways and with one.
#
# Every workload is a fixed number of operations at a fixed depth for both sides (rbd bench has
# no time limit): 4 KiB random read and write at depth 1 and 32 (rbd bench threads = depth).
# The image (1 GiB) is written in full first, so reads hit real objects.
#
# Each comparison runs BENCH_REPEAT times (3), alternating the two sides, and the tables give
# medians, with the CPU each side used per operation (rbd bench's process; the gateway's process
# and the load generator's together). It runs twice: with every process free to use every core,
# and with the OSD alone on CPU 0 and the client side (rbd bench, or gateway and initiator) on
# the other CPUs, as when gateways and OSDs are separate machines. Then the iSCSI round trip
# alone (a memory LUN), and a memory LUN that completes as late as rbd bench's depth-1 read: the
# depth-1 ratio that a backend as fast as librbd would reach through this gateway.
#
# Environment: BENCH_SCALE (1: operation counts are multiplied by it), PORTICO_BUILD
# (build/release), BENCH_PORT (3290: gateways on 127.0.0.1 and 127.0.0.2), BENCH_CEPH_PORT (21800).
# Note: the cluster, the gateways and the initiator share this machine's cores.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${PORTICO_BUILD:-$root/build/release}
scale=${BENCH_SCALE:-1}
repeat=${BENCH_REPEAT:-3}
port=${BENCH_PORT:-3290}
ceph_port=${BENCH_CEPH_PORT:-21800}
loadgen=$build/tools/portico-loadgen
porticod=$build/daemon/porticod
work=$(mktemp -d /tmp/portico-bench-rbd.XXXXXX)
cluster=$work/ceph
conf=$cluster/ceph.conf
iqn=iqn.2026-11.io.portico:bench-rbd
results=$work/results.tsv  # section workload side iops p50 p99 cpu_us_per_op
declare -A gateway_pids=()

die() { echo "bench: $*" >&2; exit 1; }
cleanup() {
  local name
  for name in "${!gateway_pids[@]}"; do kill -KILL "${gateway_pids[$name]}" 2>/dev/null || true; done
  bash "$root/scripts/ceph-cluster.sh" stop "$cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
[[ -x "$loadgen" && -x "$porticod" ]] || die "build first: scripts/build.sh release"

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
url() { echo "iscsi://127.0.0.$1:$port/$iqn/0"; }

start_gateway() {
  local n=$1
  cat >"$work/gw$n.yaml" <<YAML
log: {level: warn}
gateway:
  name: bench-gw$n
  io_threads: 1
  portals: ["127.0.0.$n:$port"]
cluster:
  ceph_conf: $conf
  pool: rbd
targets:
  - iqn: $iqn
    luns:
      - {lun: 0, backend: rbd, image: rbd/bench}
YAML
  "$porticod" --config "$work/gw$n.yaml" >"$work/gw$n.log" 2>&1 &
  gateway_pids[gw$n]=$!
  wait_for_portal "127.0.0.$n" "${gateway_pids[gw$n]}" "$work/gw$n.log"
}

# wait_for_portal ADDRESS PID LOG: until ADDRESS:port accepts; fails when PID exits first.
wait_for_portal() {
  local deadline=$((SECONDS + 30))
  until (exec 3<>"/dev/tcp/$1/$port") 2>/dev/null; do
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; die "the gateway for $1 exited"; }
    ((SECONDS < deadline)) || die "nothing accepts on $1:$port"
    sleep 0.1
  done
}

stop_gateway() {
  local pid=${gateway_pids[gw$1]}
  kill -TERM "$pid"
  wait "$pid" || die "gateway $1 did not exit cleanly"
  unset "gateway_pids[gw$1]"
}

record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "${7:--}" >>"$results"; }

# median SECTION WORKLOAD SIDE COLUMN: the median of that column over the recorded runs.
median() {
  awk -F'\t' -v s="$1" -v w="$2" -v side="$3" -v c="$4" '$1 == s && $2 == w && $3 == side { print $c }' "$results" |
    sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
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

# cpu_ticks PID: the user and system CPU ticks PID has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))

# rbd_bench TYPE DEPTH OPS [PREFIX...] -> "iops cpu_us_per_op" (PREFIX: e.g. taskset -c 1)
rbd_bench() {
  local out
  out=$(timed_cpu "$work/rbd.cpu" "${@:4}" rbd -c "$conf" bench --io-type "$1" --io-size 4K --io-threads "$2" \
          --io-total $(($3 * 4096)) --io-pattern rand rbd/bench 2>&1 | tail -1)
  echo "$(sed -n 's/.*ops\/sec: *\([0-9.]*\).*/\1/p' <<<"$out") $(cpu_us_per_op "$work/rbd.cpu" "$3")"
}

echo "== micro cluster (1 mon, 1 OSD on a sparse file) in $cluster" >&2
bash "$root/scripts/ceph-cluster.sh" start "$cluster" "$ceph_port" >/dev/null
rbd -c "$conf" create --size 1G --image-feature layering rbd/bench
echo "== preconditioning: writing the whole image" >&2
rbd -c "$conf" bench --io-type write --io-size 4M --io-threads 4 --io-total 1G --io-pattern seq rbd/bench >/dev/null

start_gateway 1
start_gateway 2

# workload, rbd bench type, loadgen --rw, depth, operations
workloads=(
  "randread-4k-qd1 read randread 1 $((4000 * scale))"
  "randread-4k-qd32 read randread 32 $((40000 * scale))"
  "randwrite-4k-qd1 write randwrite 1 $((1500 * scale))"
  "randwrite-4k-qd32 write randwrite 32 $((15000 * scale))"
)

# compare_with_librbd PLACEMENT [CLIENT_CPUS]: every workload `repeat` times, rbd bench and
# porticod alternating; records every run (the tables show medians). With CLIENT_CPUS, rbd bench,
# the gateway and the load generator run on those CPUs and the OSD on CPU 0.
compare_with_librbd() {
  local placement=$1 cpus=${2:-} pin=() w name type rw qd ops i raw raw_cpu out before gateway_us initiator_us
  [[ -n "$cpus" ]] && pin=(taskset -c "$cpus")
  for w in "${workloads[@]}"; do
    read -r name type rw qd ops <<<"$w"
    for ((i = 1; i <= repeat; ++i)); do
      raw=$(rbd_bench "$type" "$qd" "$ops" "${pin[@]}")
      read -r raw raw_cpu <<<"$raw"
      before=$(cpu_ticks "${gateway_pids[gw1]}")
      out=$(timed_cpu "$work/loadgen.cpu" "${pin[@]}" "$loadgen" --url "$(url 1)" --rw "$rw" --qd "$qd" --ios "$ops")
      gateway_us=$((($(cpu_ticks "${gateway_pids[gw1]}") - before) * tick_us / ops))
      initiator_us=$(cpu_us_per_op "$work/loadgen.cpu" "$ops")
      echo "   [$placement] $name run $i: rbd bench $raw IOPS, ${raw_cpu} us CPU/op;" \
           "porticod $out, CPU/op gateway ${gateway_us} us + initiator ${initiator_us} us" >&2
      record "librbd:$placement" "$name" "rbd bench" "$raw" - - "$raw_cpu"
      record "librbd:$placement" "$name" porticod "$(field iops "$out")" "$(field p50_us "$out")" "$(field p99_us "$out")" \
        "$((gateway_us + initiator_us))"
    done
  done
}

# pin_all CPUS PID...: every thread of each process onto CPUS.
pin_all() {
  local cpus=$1 pid
  shift
  for pid in "$@"; do taskset -a -p -c "$cpus" "$pid" >/dev/null; done
}

echo "== porticod against rbd bench, $repeat runs each; OSD, gateways and initiator share all cores" >&2
compare_with_librbd shared
cores=$(nproc)
osd_pid=$(cat "$cluster/run/osd.0.pid")
if ((cores >= 2)); then
  clients="1-$((cores - 1))"
  echo "== the same with the OSD on CPU 0 and rbd bench, gateway and initiator on CPUs $clients" >&2
  pin_all 0 "$osd_pid"
  pin_all "$clients" "${gateway_pids[gw1]}"
  compare_with_librbd osd-own-core "$clients"
  pin_all "0-$((cores - 1))" "$osd_pid" "${gateway_pids[gw1]}"
fi

# The iSCSI hop alone: the same load generator against a memory LUN, no Ceph in the path. Then
# the hop at librbd's pace: a memory LUN whose every completion arrives rbd bench's depth-1 read
# latency late, from another thread, as a librados completion does. Its ratio to rbd bench is what
# a backend exactly as fast as librbd would give through this gateway at depth 1.
rbd_qd1_iops=$(median librbd:shared randread-4k-qd1 "rbd bench" 4)
librbd_us=$(awk -v iops="$rbd_qd1_iops" 'BEGIN { printf "%.0f", 1e6 / iops }')
cat >"$work/memory.yaml" <<YAML
log: {level: warn}
gateway:
  name: bench-memory
  io_threads: 1
  portals: ["127.0.0.3:$port"]
targets:
  - iqn: $iqn
    luns:
      - {lun: 0, backend: memory, size: 1GiB}
      - {lun: 1, backend: memory, size: 1GiB, completion_delay_us: $librbd_us}
YAML
"$porticod" --config "$work/memory.yaml" >"$work/memory.log" 2>&1 &
gateway_pids[memory]=$!
wait_for_portal 127.0.0.3 "${gateway_pids[memory]}" "$work/memory.log"
hop=$("$loadgen" --url "$(url 3)" --rw randread --qd 1 --ios $((20000 * scale)))
echo "   iSCSI round trip, memory LUN, 4 KiB read QD1: $hop" >&2
paced=$("$loadgen" --url "iscsi://127.0.0.3:$port/$iqn/1" --rw randread --qd 1 --ios $((4000 * scale)))
echo "   memory LUN completing $librbd_us us late, 4 KiB read QD1: $paced" >&2
kill -TERM "${gateway_pids[memory]}"
wait "${gateway_pids[memory]}" || die "the memory-LUN gateway did not exit cleanly"
unset "gateway_pids[memory]"

echo "== two gateways together against one (random 4 KiB, total depth 32 and 64)" >&2
for rw in randread randwrite; do
  [[ $rw == randread ]] && ops=$((40000 * scale)) || ops=$((15000 * scale))
  one=$("$loadgen" --url "$(url 1)" --rw "$rw" --qd 32 --ios "$ops")
  record gateways "$rw-4k-qd32" "one gateway" "$(field iops "$one")" "$(field p50_us "$one")" "$(field p99_us "$one")"
  for depth in 16 32; do
    "$loadgen" --url "$(url 1)" --rw "$rw" --qd "$depth" --ios $((ops / 2)) --seed 1 >"$work/a.out" &
    a=$!
    "$loadgen" --url "$(url 2)" --rw "$rw" --qd "$depth" --ios $((ops / 2)) --seed 2 >"$work/b.out" &
    b=$!
    wait "$a" && wait "$b" || die "two-gateway $rw run failed"
    sum=$(awk '{ for (i = 1; i <= NF; ++i) if ($i ~ /^iops=/) { split($i, kv, "="); s += kv[2] } } END { printf "%.0f", s }' \
            "$work/a.out" "$work/b.out")
    echo "   two gateways $rw 2x qd$depth: $sum IOPS ($(tr '\n' ' ' <"$work/a.out"))" >&2
    record gateways "$rw-4k-qd$((2 * depth))" "two gateways" "$sum" - -
  done
done

echo "== PERSISTENT RESERVE OUT latency" >&2
pr_ops=$((300 * scale))
two=$("$loadgen" --url "$(url 1)" --rw pr-register --ios "$pr_ops")
record pr "register (2 gateways ack)" porticod "$(field iops "$two")" "$(field p50_us "$two")" "$(field p99_us "$two")"
stop_gateway 2
one=$("$loadgen" --url "$(url 1)" --rw pr-register --ios "$pr_ops")
record pr "register (1 gateway)" porticod "$(field iops "$one")" "$(field p50_us "$one")" "$(field p99_us "$one")"
stop_gateway 1

echo

# librbd_table PLACEMENT TITLE: medians of each side and their ratio, per workload, with the CPU
# each side used per operation (rbd bench; gateway and initiator together).
librbd_table() {
  local w name raw ours p50 p99 raw_cpu our_cpu
  grep -q "^librbd:$1" "$results" || return 0
  echo "$2"
  printf '%-20s %10s %12s %7s %7s %7s %11s %13s\n' workload "rbd IOPS" "portico IOPS" ratio p50_us p99_us \
    "rbd CPU/op" "portico CPU/op"
  for w in "${workloads[@]}"; do
    read -r name _ <<<"$w"
    raw=$(median "librbd:$1" "$name" "rbd bench" 4)
    ours=$(median "librbd:$1" "$name" porticod 4)
    p50=$(median "librbd:$1" "$name" porticod 5)
    p99=$(median "librbd:$1" "$name" porticod 6)
    raw_cpu=$(median "librbd:$1" "$name" "rbd bench" 7)
    our_cpu=$(median "librbd:$1" "$name" porticod 7)
    awk -v w="$name" -v r="$raw" -v p="$ours" -v a="$p50" -v b="$p99" -v rc="$raw_cpu" -v pc="$our_cpu" \
      'BEGIN { printf "%-20s %10.0f %12.0f %6.2fx %7s %7s %8s us %10s us\n", w, r, p, (r > 0 ? p / r : 0), a, b, rc, pc }'
  done
  echo
}

librbd_table shared "porticod (one gateway, 1 I/O thread) on RBD against rbd bench on the same image, medians of $repeat runs; every process on every core:"
librbd_table osd-own-core "The same with the OSD alone on CPU 0, rbd bench or gateway and initiator on the other CPUs:"
echo "iSCSI round trip alone (memory LUN, 4 KiB read, depth 1; part of every depth-1 figure above): $hop"
awk -v iops="$rbd_qd1_iops" -v us="$librbd_us" -v ours="$(field iops "$paced")" -v p50="$(field p50_us "$paced")" 'BEGIN {
  printf "Depth-1 read bound: a memory LUN completing %s us late (rbd bench: %.0f IOPS) gives %.0f IOPS, p50 %s us, through porticod: %.2fx\n", us, iops, ours, p50, ours / iops
}'
echo
echo "Two gateways serving the image together against one (same total operations):"
printf '%-20s %-14s %12s\n' workload side IOPS
awk -F'\t' '$1 == "gateways" { printf "%-20s %-14s %12.0f\n", $2, $3, $4 }' "$results"
echo
echo "PERSISTENT RESERVE OUT REGISTER through gateway 1 (each completes after every gateway applied it):"
printf '%-28s %9s %9s %9s\n' case "ops/s" p50_us p99_us
awk -F'\t' '$1 == "pr" { printf "%-28s %9.0f %9s %9s\n", $2, $4, $5, $6 }' "$results"
