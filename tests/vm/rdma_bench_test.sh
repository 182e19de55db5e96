#!/bin/bash
# Runs inside the test guest (tests/vm/run-in-vm.sh), for reference, not in CI: the same fio jobs
# from the same kernel host over soft-RoCE to the kernel's own NVMe/RDMA target (nvmet-rdma) and
# to porticod's NVMe/RDMA transport, and to porticod over NVMe/TCP, each serving a 256 MiB
# namespace from memory (nvmet: a file on tmpfs with buffered_io=1; porticod: its memory
# backend). porticod runs one loop; it and fio are pinned (taskset), on the same CPU and on the
# other one (nvmet's work runs in the kernel wherever it is scheduled: fio alone is pinned).
# Under software emulation absolute figures mean little: the ratios are the point.
# Prints "RDMA_BENCH <job> <placement> nvmet_rdma=<iops> porticod_rdma=<iops> porticod_tcp=<iops>
# rdma_vs_nvmet=<x> rdma_vs_tcp=<x>" lines.
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools nvme fio taskset rdma ibv_devices

hostnqn=nqn.2014-08.org.nvmexpress:uuid:2e9f6a3b-8c1d-4e7f-a0b2-c3d4e5f60718
hostid=2e9f6a3b-8c1d-4e7f-a0b2-c3d4e5f60718
modprobe -a nvme_rdma nvme_tcp nvmet nvmet_rdma || die "nvme_rdma, nvme_tcp, nvmet or nvmet_rdma does not load"
setup_soft_roce
export PORTICO_VM_BENCH_SECONDS=${PORTICO_VM_BENCH_SECONDS:-15}

# bench_jobs LABEL DEVICE CPU: the jobs with fio pinned to CPU; IOPS into iops[LABEL-job].
jobs=("randread 1 4k" "randread 32 4k" "randwrite 32 4k" "read 8 128k")
declare -A iops=()
bench_jobs() {
  local label=$1 device=$2 cpu=$3 job rw depth bs out
  for job in "${jobs[@]}"; do
    read -r rw depth bs <<<"$job"
    out="$WORK/$label-$rw-$depth-$bs.json"
    taskset -c "$cpu" fio --name="$label" --filename="$device" --ioengine=libaio --direct=1 --rw="$rw" --bs="$bs" \
      --iodepth="$depth" --time_based --runtime="$PORTICO_VM_BENCH_SECONDS" --ramp_time=2 --output-format=json \
      --output="$out" >/dev/null || die "fio $label $rw $depth $bs failed"
    iops[$label-$rw-$depth-$bs]=$(python3 -c "import json,sys; j=json.load(open(sys.argv[1]))['jobs'][0]; print(int(j['read']['iops'] + j['write']['iops']))" "$out")
    log "$label $rw $bs depth $depth: ${iops[$label-$rw-$depth-$bs]} IOPS"
  done
}

# ---- nvmet-rdma (configfs) ----
knqn=nqn.2026-11.io.portico:nvmet-rdma-bench
nvmet_export "$knqn" rdma "$RDMA_ADDRESS" 4420
nvme connect -t rdma -a "$RDMA_ADDRESS" -s 4420 -n "$knqn" --hostnqn="$hostnqn" --hostid="$hostid" ||
  die "connect to nvmet-rdma failed"
have_kns() { [[ -n "$(namespace_of "$knqn")" ]]; }
wait_until 30 "nvmet-rdma's namespace" have_kns
bench_jobs nvmet-rdma "/dev/$(namespace_of "$knqn")" 1
nvme disconnect -n "$knqn" >/dev/null
nvmet_unexport "$knqn"

# ---- porticod: RDMA and TCP, pinned to CPU 0, fio on CPU 0 (same) and CPU 1 (split) ----
pnqn=nqn.2026-11.io.portico:rdma-bench
cat >"$WORK/porticod.yaml" <<YAML
log:
  level: warn
gateway:
  name: bench
  io_threads: 1
  portals: ["127.0.0.1:3260"]
  nvme_listeners: ["127.0.0.1:4420"]
  nvme_rdma_listeners: ["$RDMA_ADDRESS:4420"]
targets:
  - iqn: iqn.2026-11.io.portico:rdma-bench
    nvme: {nqn: $pnqn}
    luns:
      - {lun: 0, backend: memory, size: 256MiB}
YAML
start_gateway porticod "$WORK/porticod.yaml" 127.0.0.1 4420
taskset -apc 0 "${GATEWAY_PIDS[porticod]}" >/dev/null || die "cannot pin porticod"
BEFORE_LOGOUT_HOOKS+=("nvme disconnect-all")
have_pns() { [[ -n "$(namespace_of "$pnqn")" ]]; }
for transport in rdma tcp; do
  address=$RDMA_ADDRESS
  [[ $transport == tcp ]] && address=127.0.0.1
  nvme connect -t "$transport" -a "$address" -s 4420 -n "$pnqn" --hostnqn="$hostnqn" --hostid="$hostid" ||
    die "connect to porticod over $transport failed"
  wait_until 30 "porticod's namespace over $transport" have_pns
  pns=/dev/$(namespace_of "$pnqn")
  # Written once, so that reads find data as nvmet's file has it (its blocks exist, zeros).
  [[ $transport == rdma ]] && { dd if=/dev/zero of="$pns" bs=1M count=256 oflag=direct status=none || die "preconditioning failed"; }
  bench_jobs "porticod-$transport-same" "$pns" 0
  bench_jobs "porticod-$transport-split" "$pns" 1
  nvme disconnect -n "$pnqn" >/dev/null
  wait_until 20 "the subsystem gone after the disconnect" bash -c "! grep -qs '$pnqn' /sys/class/nvme-subsystem/*/subsysnqn"
done
stop_gateway porticod

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
for job in "${jobs[@]}"; do
  read -r rw depth bs <<<"$job"
  key="$rw-$depth-$bs"
  k=${iops[nvmet-rdma-$key]}
  for placement in same split; do
    r=${iops[porticod-rdma-$placement-$key]} t=${iops[porticod-tcp-$placement-$key]}
    echo "RDMA_BENCH $rw-$bs-qd$depth $placement nvmet_rdma=$k porticod_rdma=$r porticod_tcp=$t" \
      "rdma_vs_nvmet=$(ratio "$r" "$k") rdma_vs_tcp=$(ratio "$r" "$t")"
  done
done
log "PASS rdma_bench_test"
