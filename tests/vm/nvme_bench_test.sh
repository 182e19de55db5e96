#!/bin/bash
# Runs inside the test guest (tests/vm/run-in-vm.sh), for reference, not in CI: the kernel's own
# NVMe/TCP target (nvmet-tcp, configured through configfs) against porticod, with the same kernel
# host (nvme_tcp) and the same fio jobs in the same guest. Both serve a 256 MiB namespace from
# memory (nvmet: a file on tmpfs with buffered_io=1, tmpfs having no O_DIRECT; porticod: its memory
# backend). Under software emulation the absolute figures mean little; the ratio is the point.
# Prints "NVME_BENCH <job> nvmet=<iops> porticod=<iops> ratio=<x>" lines for run-lane.sh.
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools nvme fio

hostnqn=nqn.2014-08.org.nvmexpress:uuid:7d3c2a56-0f4e-4a8b-9d1c-5e0a11c0bead
hostid=7d3c2a56-0f4e-4a8b-9d1c-5e0a11c0bead
modprobe -a nvme_tcp nvmet nvmet_tcp || die "nvme_tcp, nvmet or nvmet_tcp does not load"

jobs=("randread 1" "randread 32" "randwrite 32")
declare -A iops=()

# ---- nvmet (configfs) ----
knqn=nqn.2026-11.io.portico:nvmet-bench
nvmet_export "$knqn" tcp 127.0.0.3 4420
nvme connect -t tcp -a 127.0.0.3 -s 4420 -n "$knqn" --hostnqn="$hostnqn" --hostid="$hostid" || die "connect to nvmet failed"
have_kns() { [[ -n "$(namespace_of "$knqn")" ]]; }
wait_until 30 "nvmet's namespace" have_kns
kns=/dev/$(namespace_of "$knqn")
for job in "${jobs[@]}"; do
  read -r rw depth <<<"$job"
  iops[nvmet-$rw-$depth]=$(fio_iops "nvmet-$rw-$depth" "$kns" "$rw" "$depth")
  log "nvmet $rw 4k depth $depth: ${iops[nvmet-$rw-$depth]} IOPS"
done
nvme disconnect -n "$knqn" >/dev/null
nvmet_unexport "$knqn"

# ---- porticod ----
pnqn=nqn.2026-11.io.portico:bench
cat >"$WORK/porticod.yaml" <<YAML
log:
  level: warn
gateway:
  name: bench
  io_threads: 1
  portals: ["127.0.0.1:3260"]
  nvme_listeners: ["127.0.0.1:4420"]
targets:
  - iqn: iqn.2026-11.io.portico:bench
    nvme: {nqn: $pnqn}
    luns:
      - {lun: 0, backend: memory, size: 256MiB}
YAML
start_gateway porticod "$WORK/porticod.yaml" 127.0.0.1 4420
BEFORE_LOGOUT_HOOKS+=("nvme disconnect-all")
nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$pnqn" --hostnqn="$hostnqn" --hostid="$hostid" ||
  die "connect to porticod failed"
have_pns() { [[ -n "$(namespace_of "$pnqn")" ]]; }
wait_until 30 "porticod's namespace" have_pns
pns=/dev/$(namespace_of "$pnqn")
# Written once, so that reads find data as nvmet's file has it (its blocks exist, zeros).
dd if=/dev/zero of="$pns" bs=1M count=256 oflag=direct status=none || die "preconditioning $pns failed"
for job in "${jobs[@]}"; do
  read -r rw depth <<<"$job"
  iops[porticod-$rw-$depth]=$(fio_iops "porticod-$rw-$depth" "$pns" "$rw" "$depth")
  log "porticod $rw 4k depth $depth: ${iops[porticod-$rw-$depth]} IOPS"
done
nvme disconnect -n "$pnqn" >/dev/null
stop_gateway porticod

for job in "${jobs[@]}"; do
  read -r rw depth <<<"$job"
  k=${iops[nvmet-$rw-$depth]} p=${iops[porticod-$rw-$depth]}
  echo "NVME_BENCH $rw-4k-qd$depth nvmet=$k porticod=$p ratio=$(awk -v a="$p" -v b="$k" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
done
log "PASS nvme_bench_test"
