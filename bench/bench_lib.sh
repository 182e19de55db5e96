# shellcheck shell=bash
# bench_lib.sh: what bench_vs_tgtd.sh and bench_rbd.sh share (sourced, not run): reading the load
# generator's result line, a process's CPU time, CPU placements (taskset, checked in /proc), a
# private tgtd, and the per-workload tables.
#
# Placements: `same` puts the target and the client (load generator) on one CPU, so the target's
# own service time is measured; `other` puts the target on other CPUs than the client, so every
# request pays a cross-CPU wake-up; `free` pins nothing (the scheduler decides, as before).
# The scripts set bench_client_cpu (the client's CPU) and bench_other_cpus (the target's CPUs in
# `other`) before they use the placement functions.

# field NAME LINE: the value of NAME=value in the load generator's result line.
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# select_workloads: `workloads` becomes the entries of `all_workloads` (name first) that
# BENCH_WORKLOADS names, or all of them when it is unset.
select_workloads() {
  local w
  workloads=()
  # shellcheck disable=SC2154  # all_workloads: the script's
  for w in "${all_workloads[@]}"; do
    if [[ -z ${BENCH_WORKLOADS:-} || " $BENCH_WORKLOADS " == *" ${w%% *} "* ]]; then workloads+=("$w"); fi
  done
  ((${#workloads[@]} > 0)) || { echo "bench: BENCH_WORKLOADS names none of: ${all_workloads[*]%% *}" >&2; return 1; }
}

# cpu_ticks PID: user + system clock ticks that PID has used so far, all its threads.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# expand_cpus LIST: "0-2,5" -> "0 1 2 5", to compare CPU lists however they are spelled.
expand_cpus() {
  local part from to out=()
  for part in ${1//,/ }; do
    from=${part%-*} to=${part#*-}
    for ((; from <= to; ++from)); do out+=("$from"); done
  done
  echo "${out[*]}"
}

# target_cpus PLACEMENT / client_cpus PLACEMENT: the CPU list of each side ("" for free).
target_cpus() {
  case "$1" in
    same) echo "${bench_client_cpu:?}" ;;
    other) echo "${bench_other_cpus:?}" ;;
    free) echo "" ;;
    *) echo "bench: unknown placement $1 (same, other or free)" >&2; return 1 ;;
  esac
}
client_cpus() { [[ $1 == free ]] || echo "${bench_client_cpu:?}"; }

# placement_legend: one line that says where each side runs in each placement.
placement_legend() {
  echo "Placements: same = target and client on CPU $bench_client_cpu (the target's own service time);" \
       "other = target on CPU $bench_other_cpus, client on CPU $bench_client_cpu (with a cross-CPU wake-up);" \
       "free = no pinning"
}

# check_placements PLACEMENT...: fails on an unknown placement or one that pins a side to a CPU
# this machine lacks, before anything starts.
check_placements() {
  local p cpu online
  online=" $(expand_cpus "$(cat /sys/devices/system/cpu/online)") "
  for p in "$@"; do
    for cpu in $(expand_cpus "$(target_cpus "$p")") $(expand_cpus "$(client_cpus "$p")"); do
      [[ $online == *" $cpu "* ]] || { echo "bench: placement $p wants CPU $cpu, which is not online" >&2; return 1; }
    done
  done
}

# pin_process CPUS PID...: every thread of each PID onto CPUS ("": every online CPU), then checks
# in /proc that each thread's Cpus_allowed_list says so. io_uring's kernel workers (iou-wrk,
# iou-sqp) refuse sched_setaffinity; they take their process's CPUs when they start.
pin_process() {
  local cpus=${1:-$(cat /sys/devices/system/cpu/online)} pid task name allowed want threads io_workers note
  shift
  want=$(expand_cpus "$cpus")
  for pid in "$@"; do
    threads=0 io_workers=0
    for task in /proc/"$pid"/task/*; do
      name=$(cat "$task/comm" 2>/dev/null) || continue
      if [[ $name == iou-* ]]; then ((++io_workers)); continue; fi
      ((++threads))
      taskset -p -c "$cpus" "${task##*/}" >/dev/null 2>&1 || [[ ! -d $task ]] ||
        { echo "bench: cannot pin thread ${task##*/} ($name) of $pid to CPUs $cpus" >&2; return 1; }
    done
    for task in /proc/"$pid"/task/*; do
      name=$(cat "$task/comm" 2>/dev/null) || continue
      [[ $name == iou-* ]] && continue
      allowed=$(awk '/^Cpus_allowed_list:/ { print $2 }' "$task/status" 2>/dev/null) || continue
      [[ -z $allowed || $(expand_cpus "$allowed") == "$want" ]] ||
        { echo "bench: thread ${task##*/} ($name) of $pid runs on CPUs $allowed, not $cpus" >&2; return 1; }
    done
    note=""
    ((io_workers == 0)) || note=", $io_workers io_uring workers left as they were"
    echo "   pinned $(cat "/proc/$pid/comm") $pid: $threads threads on CPUs $cpus (checked)$note" >&2
  done
}

# on_cpus CPUS COMMAND...: COMMAND pinned to CPUS ("": unpinned).
on_cpus() {
  local cpus=$1
  shift
  if [[ -n $cpus ]]; then taskset -c "$cpus" "$@"; else "$@"; fi
}

# start_on_cpus CPUS COMMAND...: COMMAND in the background, pinned to CPUS ("": unpinned); its pid
# in started_pid (taskset execs COMMAND, so the pid is COMMAND's own).
start_on_cpus() {
  local cpus=$1
  shift
  if [[ -n $cpus ]]; then taskset -c "$cpus" "$@" & else "$@" & fi
  # shellcheck disable=SC2034  # started_pid: for the caller
  started_pid=$!
}

# wait_for_port ADDRESS PORT PID LOG: until ADDRESS:PORT accepts; fails when PID exits first.
wait_for_port() {
  local deadline=$((SECONDS + 30))
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || { cat "$4" >&2; echo "bench: the process for $1:$2 exited" >&2; return 1; }
    ((SECONDS < deadline)) || { echo "bench: nothing accepts on $1:$2" >&2; return 1; }
    sleep 0.1
  done
}

# start_tgtd ADDRESS PORT LOG: a private tgtd (its own control port, PORT) serving one target,
# iqn.2026-11.io.portico:tgtd-bench (tid 1), to every initiator. Sets tgtd_pid and tgtd_port.
start_tgtd() {
  tgtd_port=$2
  tgtd -f -C "$tgtd_port" --iscsi portal="$1:$tgtd_port" >"$3" 2>&1 &
  tgtd_pid=$!
  wait_for_port "$1" "$tgtd_port" "$tgtd_pid" "$3"
  tgtadm -C "$tgtd_port" --lld iscsi --mode target --op new --tid 1 --targetname iqn.2026-11.io.portico:tgtd-bench
  tgtadm -C "$tgtd_port" --lld iscsi --mode target --op bind --tid 1 --initiator-address ALL
}

# tgtd_add_lun LUN TGTADM_OPTIONS...: a logical unit of the private tgtd (e.g. --bstype rdwr
# --backing-store FILE, or --bstype rbd --backing-store pool/image --bsopts "conf=...").
tgtd_add_lun() {
  local lun=$1
  shift
  tgtadm -C "$tgtd_port" --lld iscsi --mode logicalunit --op new --tid 1 --lun "$lun" "$@"
}

tgtd_url() { echo "iscsi://$1:$tgtd_port/iqn.2026-11.io.portico:tgtd-bench/$2"; }

# stop_tgtd: asks the private tgtd to exit, SIGKILL after 5 s. tgtd exits on a system delete
# only once it has no target left.
stop_tgtd() {
  [[ -n ${tgtd_pid:-} ]] || return 0
  tgtadm -C "$tgtd_port" --lld iscsi --mode target --op delete --force --tid 1 >/dev/null 2>&1 || true
  tgtadm -C "$tgtd_port" --mode system --op delete >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 5))
  while kill -0 "$tgtd_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  kill -KILL "$tgtd_pid" 2>/dev/null || true
  wait "$tgtd_pid" 2>/dev/null || true
  tgtd_pid=""
}

# print_workload_table FILE WORKLOAD "COLUMN..." "RATIO..." PLACEMENT...: one table of the rows
# of FILE (workload, placement, side, then one value per COLUMN; "-" for none) for WORKLOAD,
# grouped by placement, with a row per RATIO ("a/b": each column of side a over side b's).
print_workload_table() {
  local file=$1 workload=$2 columns=$3 ratios=$4
  shift 4
  awk -F'\t' -v w="$workload" -v columns="$columns" -v ratios="$ratios" -v placements="$*" '
    $1 == w { key = $2 SUBSEP $3; for (i = 4; i <= NF; ++i) v[key, i - 3] = $i; have[key] = 1
              if (!seen[$3]++) sides[++nsides] = $3 }
    function cell(x) { return x == "-" || x == "" ? "-" : x }
    function ratio(a, b) { if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) return "-"
                           return sprintf("%.2fx", a / b) }
    END {
      ncol = split(columns, col, " "); nratio = split(ratios, rat, " "); np = split(placements, place, " ")
      printf "%-9s %-22s", "placement", "side"; for (c = 1; c <= ncol; ++c) printf " %10s", col[c]; printf "\n"
      for (p = 1; p <= np; ++p) {
        for (s = 1; s <= nsides; ++s) {
          key = place[p] SUBSEP sides[s]; if (!(key in have)) continue
          printf "%-9s %-22s", place[p], sides[s]; for (c = 1; c <= ncol; ++c) printf " %10s", cell(v[key, c]); printf "\n"
        }
        for (r = 1; r <= nratio; ++r) {
          split(rat[r], ab, "/"); ka = place[p] SUBSEP ab[1]; kb = place[p] SUBSEP ab[2]
          if (!(ka in have) || !(kb in have)) continue
          printf "%-9s %-22s", place[p], ab[1] " / " ab[2]
          for (c = 1; c <= ncol; ++c) printf " %10s", ratio(v[ka, c], v[kb, c]); printf "\n"
        }
      }
    }' "$file"
}

# record_result FILE SIDE WORKLOAD PLACEMENT RESULT_LINE TICKS SECONDS: appends one row to FILE
# (workload, placement, side, IOPS, MiB/s, p50, p99, the target's CPU µs per I/O, IOPS per target
# core) from a load generator's result line and the target's CPU ticks during the run.
record_result() {
  local file=$1 side=$2 name=$3 placement=$4 out=$5 ticks=$6 secs=$7
  awk -v t="$side" -v n="$name" -v p="$placement" -v iops="$(field iops "$out")" -v mibps="$(field mibps "$out")" \
      -v p50="$(field p50_us "$out")" -v p99="$(field p99_us "$out")" -v ios="$(field ios "$out")" \
      -v ticks="$ticks" -v hz="$(getconf CLK_TCK)" -v secs="$secs" 'BEGIN {
        cpu = ticks / hz; cores = cpu / secs
        per_io = 0; if (ios > 0) per_io = cpu * 1e6 / ios
        per_core = 0; if (cores > 0) per_core = iops / cores
        printf "%s\t%s\t%s\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\n", n, p, t, iops, mibps, p50, p99, per_io, per_core
      }' >>"$file"
}
