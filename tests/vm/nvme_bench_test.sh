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

# namespace_of NQN: the namespace node of the connected subsystem NQN, once the scan made it.
namespace_of() {
  local s
  for s in /sys/class/nvme-subsystem/nvme-subsys*; do
    [[ "$(cat "$s/subsysnqn")" == "$1" ]] || continue
    ls -d "$s"/nvme*n1 2>/dev/null | head -n1 | xargs -r basename
  done
}

jobs=("randread 1" "randread 32" "randwrite 32")
declare -A iops=()

# ---- nvmet (configfs) ----
cfg=/sys/kernel/config/nvmet
knqn=nqn.2026-11.io.portico:nvmet-bench
mount | grep -q /dev/shm || mount -t tmpfs tmpfs /dev/shm
truncate -s 256M /dev/shm/nvmet-bench.img
mkdir "$cfg/subsystems/$knqn"
echo 1 >"$cfg/subsystems/$knqn/attr_allow_any_host"
mkdir "$cfg/subsystems/$knqn/namespaces/1"
echo /dev/shm/nvmet-bench.img >"$cfg/subsystems/$knqn/namespaces/1/device_path"
echo 1 >"$cfg/subsystems/$knqn/namespaces/1/buffered_io"
echo 1 >"$cfg/subsystems/$knqn/namespaces/1/enable"
mkdir "$cfg/ports/1"
echo tcp >"$cfg/ports/1/addr_trtype"
echo ipv4 >"$cfg/ports/1/addr_adrfam"
echo 127.0.0.3 >"$cfg/ports/1/addr_traddr"
echo 4420 >"$cfg/ports/1/addr_trsvcid"
ln -s "$cfg/subsystems/$knqn" "$cfg/ports/1/subsystems/$knqn"
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
rm "$cfg/ports/1/subsystems/$knqn"
rmdir "$cfg/ports/1"
echo 0 >"$cfg/subsystems/$knqn/namespaces/1/enable"
rmdir "$cfg/subsystems/$knqn/namespaces/1" "$cfg/subsystems/$knqn"

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
