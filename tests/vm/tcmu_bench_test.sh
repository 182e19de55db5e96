#!/bin/bash
# Runs inside the test guest (tests/vm/run-in-vm.sh), for reference, not in CI: a tcm_loop disk
# backed by porticod (TCMU, memory LUN) against one backed by LIO's own ramdisk backstore
# (rd_mcp), the same fio jobs in the same guest, fio on guest CPU 1 and porticod on guest CPU 0,
# then on CPU 1 too (both placements).
# Both hold 256 MiB in memory. Under software emulation the absolute figures mean little; the
# ratio is the point. (Debian's tcmu-runner ships no plain file handler, only file_optical,
# file_zbc, qcow and rbd, so it is not a peer here.)
# Prints "TCMU_BENCH <job> rd_mcp=<iops> porticod=<iops> ratio=<x>" lines for run-lane.sh.
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools fio taskset

load_tcm_loop

jobs=("randread 1" "randread 32" "randwrite 1" "randwrite 32")
declare -A iops=()

# run_jobs NAME DISK: every job on /dev/DISK, written through once first (reads find data).
run_jobs() {
  local rw depth
  dd if=/dev/zero of="/dev/$2" bs=1M count=256 oflag=direct status=none || die "preconditioning /dev/$2 failed"
  for job in "${jobs[@]}"; do
    read -r rw depth <<<"$job"
    iops[$1-$rw-$depth]=$(fio_iops "$1-$rw-$depth" "/dev/$2" "$rw" "$depth" 1)
    log "$1 $rw 4k depth $depth: ${iops[$1-$rw-$depth]} IOPS"
  done
}

# ---- LIO's ramdisk backstore ----
rd=$LIO_CONFIGFS/core/rd_mcp_0/bench-rd
mkdir -p "$rd"
echo "rd_pages=65536" >"$rd/control"
echo 1 >"$rd/enable"
tpg=$LIO_CONFIGFS/loopback/naa.5001405000000c01/tpgt_1
mkdir -p "$tpg"
echo naa.5001405000000d01 >"$tpg/nexus"
mkdir -p "$tpg/lun/lun_0"
ln -s "$rd" "$tpg/lun/lun_0/bench-rd"
run_jobs rd_mcp "$(tcm_loop_disk naa.5001405000000c01)"

# ---- porticod as the TCMU handler ----
cat >"$WORK/porticod.yaml" <<YAML
log:
  level: warn
gateway:
  name: bench
  io_threads: 1
  portals: ["127.0.0.1:3260"]
targets:
  - iqn: iqn.2026-11.io.portico:bench
    luns:
      - lun: 0
        backend: memory
        size: 256MiB
        tcmu:
          - {name: bench-tcmu, fabric: sas, initiator: naa.5001405000000d02, target_port: naa.5001405000000c02}
YAML
start_gateway porticod "$WORK/porticod.yaml" 127.0.0.1 3260
tcm_loop_export bench-tcmu naa.5001405000000c02 naa.5001405000000d02
disk=$(tcm_loop_disk naa.5001405000000c02)
# Both placements: porticod on the other CPU than fio (0), then on fio's own (1).
taskset -apc 0 "${GATEWAY_PIDS[porticod]}" >/dev/null || die "cannot pin porticod to CPU 0"
run_jobs porticod-other "$disk"
taskset -apc 1 "${GATEWAY_PIDS[porticod]}" >/dev/null || die "cannot pin porticod to CPU 1"
run_jobs porticod-same "$disk"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
for job in "${jobs[@]}"; do
  read -r rw depth <<<"$job"
  k=${iops[rd_mcp-$rw-$depth]} o=${iops[porticod-other-$rw-$depth]} p=${iops[porticod-same-$rw-$depth]}
  echo "TCMU_BENCH $rw-4k-qd$depth rd_mcp=$k porticod_other_cpu=$o ratio=$(ratio "$o" "$k") porticod_same_cpu=$p ratio=$(ratio "$p" "$k")"
done
log "PASS tcmu_bench_test"
