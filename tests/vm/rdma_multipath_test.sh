#!/bin/bash
# Runs inside the test guest (tests/vm/run-in-vm.sh): two porticod gateways serve one RBD image of
# a micro Ceph cluster as NVMe namespace 1, gw1 over NVMe/RDMA (soft-RoCE, 192.0.2.1) and gw2 over
# NVMe/TCP (127.0.0.2). One Linux host connects to both (nvme_rdma and nvme_tcp, native
# multipath): one subsystem, two live optimized paths, one EUI-64. fio crc32c verify at depth 32
# across both; gw1 killed (SIGKILL) in the middle: I/O continues over TCP with 0 verify errors
# and no write waits more than 2 s.
# Prints "RDMA_FAILOVER_STALL_MS=<n> RDMA_FAILOVER_RESUME_MS=<n> RDMA_FAILOVER_GAP_MS=<n>".
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools nvme fio rbd ceph rdma ibv_devices

nqn=nqn.2026-11.io.portico:rdma-shared
hostnqn=nqn.2014-08.org.nvmexpress:uuid:0c4d7e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6
hostid=0c4d7e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6
cluster_dir=/var/tmp/portico-vm-ceph
fio_size=${PORTICO_VM_FIO_SIZE:-24M}

modprobe -a nvme_rdma nvme_tcp || die "nvme_rdma or nvme_tcp does not load"
[[ "$(cat /sys/module/nvme_core/parameters/multipath)" == Y ]] || die "native NVMe multipath is off"
setup_soft_roce
start_guest_ceph "$cluster_dir"
rbd -c "$CEPH_CONF" create --size 256M --image-feature layering rbd/shared

targets() {
  cat <<EOF
targets:
  - iqn: iqn.2026-11.io.portico:rdma-shared
    allowed_initiators: any
    nvme:
      nqn: $nqn
    luns:
      - lun: 0
        backend: rbd
        image: rbd/shared
EOF
}
{ cluster_gateway_config gw1 127.0.0.1:3260 "nvme_rdma_listeners: [\"$RDMA_ADDRESS:4420\"]"; targets; } >"$WORK/gw1.yaml"
{ cluster_gateway_config gw2 127.0.0.2:3260 'nvme_listeners: ["127.0.0.2:4420"]'; targets; } >"$WORK/gw2.yaml"
start_gateway gw1 "$WORK/gw1.yaml" 127.0.0.1 3260
start_gateway gw2 "$WORK/gw2.yaml" 127.0.0.2 4420
BEFORE_LOGOUT_HOOKS+=("nvme disconnect-all")

# ---- discovery through gw1 over RDMA lists gw2's TCP listener too ----
both_listed() { nvme discover -t rdma -a "$RDMA_ADDRESS" -s 4420 --hostnqn="$hostnqn" 2>/dev/null | grep -q 'traddr: *127.0.0.2'; }
wait_until 30 "gw2's TCP listener in gw1's discovery log over RDMA" both_listed
nvme discover -t rdma -a "$RDMA_ADDRESS" -s 4420 --hostnqn="$hostnqn" | tee "$ARTIFACTS/discover.txt" |
  grep -E 'trtype|traddr'

common=(-n "$nqn" --hostnqn="$hostnqn" --hostid="$hostid" --ctrl-loss-tmo=60 --reconnect-delay=1 --keep-alive-tmo=5)
nvme connect -t rdma -a "$RDMA_ADDRESS" -s 4420 "${common[@]}" || die "nvme connect -t rdma to gw1 failed"
nvme connect -t tcp -a 127.0.0.2 -s 4420 "${common[@]}" || die "nvme connect -t tcp to gw2 failed"
ns_head() { ls -d /sys/class/nvme-subsystem/nvme-subsys*/nvme*n1 2>/dev/null | head -n1 | xargs -r basename; }
have_ns_head() { [[ -n "$(ns_head)" && -b "/dev/$(ns_head)" ]]; }
wait_until 60 "the namespace's multipath node" have_ns_head
ns=/dev/$(ns_head)
paths_optimized() { [[ "$(nvme list-subsys "$ns" 2>/dev/null | grep -c 'live optimized')" == "$1" ]]; }
wait_until 60 "two live optimized paths" paths_optimized 2
subsys=$(nvme list-subsys "$ns")
echo "$subsys" | tee "$ARTIFACTS/list-subsys.txt"
expect "gw1 over RDMA live optimized" "rdma traddr=$RDMA_ADDRESS,trsvcid=4420.* live optimized" "$subsys"
expect "gw2 over TCP live optimized" 'tcp traddr=127.0.0.2,trsvcid=4420.* live optimized' "$subsys"
ctrl_rdma=$(grep -oE "nvme[0-9]+ rdma traddr=" <<<"$subsys" | cut -d' ' -f1)
ctrl_tcp=$(grep -oE 'nvme[0-9]+ tcp traddr=' <<<"$subsys" | cut -d' ' -f1)
eui_rdma=$(nvme id-ns "/dev/$ctrl_rdma" -n 1 | sed -n 's/^eui64 *: *//p')
eui_tcp=$(nvme id-ns "/dev/$ctrl_tcp" -n 1 | sed -n 's/^eui64 *: *//p')
[[ -n "$eui_rdma" && "$eui_rdma" == "$eui_tcp" ]] || die "EUI-64 differs: RDMA $eui_rdma, TCP $eui_tcp"
log "one subsystem over RDMA ($ctrl_rdma, gw1) and TCP ($ctrl_tcp, gw2), EUI-64 $eui_rdma"

# ---- fio over both paths; gw1 (RDMA) killed in the middle ----
failover_fio_start "$ns" "$fio_size"
failover_fio_wait "$fio_size"
rdma_w=$(nvme_path_writes "$ctrl_rdma")
log "writes through the RDMA path before the kill: $rdma_w"
((rdma_w > 0)) || die "no write went through the RDMA path before the kill"
kill_ms=$(( ${EPOCHREALTIME/./} / 1000 ))
kill_uptime=$(cut -d' ' -f1 /proc/uptime)
kill_gateway gw1
log "gw1 (RDMA) killed with SIGKILL"
failover_fio_finish "$kill_ms" "$kill_uptime"
stall_ms=$STALL_MS
log "fio: 0 errors, verify passed across the kill of the RDMA gateway; no write waited more than ${stall_ms} ms" \
  "($INFLIGHT in flight at the kill; completions resumed after ${RESUME_MS} ms, longest gap ${GAP_MS} ms)"
echo "RDMA_FAILOVER_STALL_MS=$stall_ms RDMA_FAILOVER_RESUME_MS=$RESUME_MS RDMA_FAILOVER_GAP_MS=$GAP_MS"

nvme disconnect -n "$nqn" >/dev/null || die "nvme disconnect failed"
stop_gateway gw2
log "PASS rdma_multipath_test (stall ${stall_ms} ms)"
