#!/bin/bash
# Runs inside the test guest (tests/vm/run-in-vm.sh): two porticod gateways serve one RBD image of
# a micro Ceph cluster as an iSCSI LUN and as NVMe namespace 1 at once, and the Linux kernel's
# NVMe/TCP host uses them (nvme-cli, native NVMe multipath):
#   - `nvme discover` through gw1's discovery controller lists both gateways' listeners;
#     `nvme connect-all` through it gives one subsystem with two paths, both live optimized;
#   - the namespace's EUI-64 is the iSCSI LUN's NAA designator (one identity, both protocols);
#   - ext4 with checksums on the namespace survives a remount;
#   - reservations across the two paths (nvme resv-register / resv-report per controller), and
#     across protocols: the keys of an NVMe host and an iSCSI initiator are both seen by each;
#     a Write Exclusive taken through NVMe makes an iSCSI write of a non-holder fail with
#     RESERVATION CONFLICT; a PREEMPT from the SCSI side removes the host's registration, its
#     writes conflict, and the host finds the notice in log page 80h;
#   - fio crc32c verify at depth 32 on the multipath namespace; gw1 killed (SIGKILL) in the
#     middle: no error, verify passes, no write waits more than 2 s; gw2's ANA log then reports
#     gw1's group inaccessible.
# Prints "NVME_STALL_MS=<n> NVME_RESUME_MS=<n> NVME_GAP_MS=<n>" for run-lane.sh.
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools nvme fio rbd ceph iscsiadm sg_persist sg_vpd mkfs.ext4 dd

iqn=iqn.2026-11.io.portico:shared
nqn=nqn.2026-11.io.portico:shared
hostnqn=nqn.2014-08.org.nvmexpress:uuid:7d3c2a56-0f4e-4a8b-9d1c-5e0a11c0ffee
hostid=7d3c2a56-0f4e-4a8b-9d1c-5e0a11c0ffee
cluster_dir=/var/tmp/portico-vm-ceph
fio_size=${PORTICO_VM_FIO_SIZE:-24M}

modprobe -a nvme_tcp || die "nvme_tcp does not load"
[[ "$(cat /sys/module/nvme_core/parameters/multipath)" == Y ]] || die "native NVMe multipath is off"

start_guest_ceph "$cluster_dir"
conf=$CEPH_CONF
rbd -c "$conf" create --size 256M --image-feature layering rbd/shared

gateway_config() {
  cluster_gateway_config "$1" "$2:3260" "nvme_listeners: [\"$2:4420\"]"
  cat <<EOF
targets:
  - iqn: $iqn
    allowed_initiators: any
    nvme:
      nqn: $nqn
    luns:
      - lun: 0
        backend: rbd
        image: rbd/shared
EOF
}
gateway_config gw1 127.0.0.1 >"$WORK/gw1.yaml"
gateway_config gw2 127.0.0.2 >"$WORK/gw2.yaml"
start_gateway gw1 "$WORK/gw1.yaml" 127.0.0.1 4420
start_gateway gw2 "$WORK/gw2.yaml" 127.0.0.2 4420
BEFORE_LOGOUT_HOOKS+=("nvme disconnect-all")

# ---- discovery through gw1 lists both gateways; connect-all makes one subsystem, two paths ----
both_listed() { nvme discover -t tcp -a 127.0.0.1 -s 8009 --hostnqn="$hostnqn" 2>/dev/null | grep -q 'traddr: *127.0.0.2'; }
wait_until 30 "gw2 in gw1's discovery log" both_listed
disc=$(nvme discover -t tcp -a 127.0.0.1 -s 8009 --hostnqn="$hostnqn")
echo "$disc" | tee "$ARTIFACTS/discover.txt" | grep -E 'trsvcid|traddr|subnqn'
(( $(grep -c "subnqn: *$nqn" <<<"$disc") == 2 )) || die "discovery must list the subsystem once per gateway"
expect "discovery: gw1's listener" 'traddr: *127.0.0.1' "$disc"
expect "discovery: gw2's listener" 'traddr: *127.0.0.2' "$disc"
nvme connect-all -t tcp -a 127.0.0.1 -s 8009 --hostnqn="$hostnqn" --hostid="$hostid" --ctrl-loss-tmo=60 --reconnect-delay=1 \
  --keep-alive-tmo=5 || die "nvme connect-all failed"
# The namespace's multipath node (nvmeXnY of the subsystem) once the scan made it.
ns_head() { ls -d /sys/class/nvme-subsystem/nvme-subsys*/nvme*n1 2>/dev/null | head -n1 | xargs -r basename; }
have_ns_head() { [[ -n "$(ns_head)" && -b "/dev/$(ns_head)" ]]; }
wait_until 60 "the namespace's multipath node" have_ns_head
head=$(ns_head)
ns=/dev/$head
# With a namespace, nvme list-subsys shows each path's ANA state (from the ANA log page).
paths_optimized() { [[ "$(nvme list-subsys "$ns" 2>/dev/null | grep -c 'live optimized')" == "$1" ]]; }
wait_until 60 "two live optimized paths in nvme list-subsys $ns" paths_optimized 2
subsys=$(nvme list-subsys "$ns")
echo "$subsys" | tee "$ARTIFACTS/list-subsys.txt"
expect "one subsystem" "NQN=$nqn" "$subsys"
expect "gw1 path live optimized" 'traddr=127.0.0.1,trsvcid=4420.* live optimized' "$subsys"
expect "gw2 path live optimized" 'traddr=127.0.0.2,trsvcid=4420.* live optimized' "$subsys"
ctrl1=$(grep -oE 'nvme[0-9]+ tcp traddr=127.0.0.1,' <<<"$subsys" | cut -d' ' -f1)
ctrl2=$(grep -oE 'nvme[0-9]+ tcp traddr=127.0.0.2,' <<<"$subsys" | cut -d' ' -f1)
[[ -c /dev/$ctrl1 && -c /dev/$ctrl2 ]] || die "no controller nodes /dev/$ctrl1 /dev/$ctrl2"
log "subsystem $nqn: controllers $ctrl1 (gw1) and $ctrl2 (gw2), namespace $ns, both paths live optimized"

# ---- one identity: the NVMe EUI-64 is the iSCSI NAA designator ----
iscsi_login 127.0.0.2:3260 "$iqn"
sd=$(wait_disk 127.0.0.2:3260 "$iqn" 0)
naa=$(sg_vpd -p di "/dev/$sd" | grep -A1 -m1 NAA | tail -n1 | tr -d ' ')
eui=$(nvme id-ns "$ns" | sed -n 's/^eui64 *: *//p')
log "iSCSI NAA $naa, NVMe EUI-64 $eui"
[[ -n "$eui" && "${naa,,}" == *"${eui,,}"* ]] || die "the namespace's EUI-64 ($eui) must be the LUN's NAA ($naa)"

# ---- ext4 with checksums across a remount ----
ext4_checksums "$ns"
log "ext4 on $ns: checksums equal after a remount"

# ---- reservations: across the two paths, then across protocols ----
# pr_keys sdX: READ KEYS through iSCSI, retried past a pending unit attention.
pr_keys() { sg_persist -n -k "/dev/$1" 2>/dev/null || sg_persist -n -k "/dev/$1"; }
nvme resv-register "/dev/$ctrl1" -n 1 --nrkey=0xaa --rrega=0 || die "nvme resv-register through gw1 failed"
report=$(nvme resv-report "/dev/$ctrl2" -n 1 --eds)
echo "$report" | tee "$ARTIFACTS/resv-report-1.txt"
expect "resv-report through gw2: the host's key" 'rkey *: *aa$' "$report"
expect "sg_persist -k through iSCSI shows the NVMe host's key" '0xaa' "$(pr_keys "$sd")"
sg_persist -n --out --register --param-sark=0xbb "/dev/$sd" >/dev/null || die "sg_persist REGISTER failed"
report=$(nvme resv-report "/dev/$ctrl1" -n 1 --eds)
expect "resv-report shows the iSCSI initiator's key" 'rkey *: *bb$' "$report"
nvme resv-acquire "/dev/$ctrl1" -n 1 --crkey=0xaa --rtype=1 --racqa=0 || die "nvme resv-acquire (Write Exclusive) failed"
if dd if=/dev/zero of="/dev/$sd" bs=4096 count=1 oflag=direct 2>"$WORK/dd.txt"; then
  die "an iSCSI write of a non-holder went through a Write Exclusive reservation taken through NVMe"
fi
log "NVMe Write Exclusive: the iSCSI write failed ($(tail -n1 "$WORK/dd.txt"))"
sg_persist -n --out --preempt --param-rk=0xbb --param-sark=0xaa --prout-type=1 "/dev/$sd" >/dev/null ||
  die "sg_persist PREEMPT of the NVMe host failed"
report=$(nvme resv-report "/dev/$ctrl2" -n 1 --eds)
echo "$report" | tee "$ARTIFACTS/resv-report-2.txt"
expect_not "the NVMe host's key is gone" 'rkey *: *aa$' "$report"
expect "the iSCSI initiator's key holds" 'rkey *: *bb$' "$report"
notice=$(nvme get-log "/dev/$ctrl1" --log-id=0x80 --log-len=64 --raw-binary | od -An -tx1 -v | tr -d ' \n')
log "log page 80h: $notice"
[[ "${notice:16:2}" == 01 ]] || die "log page 80h must report Registration Preempted (type 01h), got ${notice:16:2}"
if dd if=/dev/zero of="$ns" bs=4096 count=1 oflag=direct 2>/dev/null; then
  die "an NVMe write of the preempted host went through the iSCSI initiator's Write Exclusive"
fi
sg_persist -n --out --clear --param-rk=0xbb "/dev/$sd" >/dev/null || die "sg_persist CLEAR failed"
iscsi_logout 127.0.0.2:3260 "$iqn"
log "reservations: one state through both paths and both protocols; the preempt notice in log page 80h"

# ---- fio over both paths; gw1 killed in the middle ----
failover_fio_start "$ns" "$fio_size"
failover_fio_wait "$fio_size"
kill_ms=$(( ${EPOCHREALTIME/./} / 1000 ))
kill_uptime=$(cut -d' ' -f1 /proc/uptime)
kill_gateway gw1
log "gw1 killed with SIGKILL"
failover_fio_finish "$kill_ms" "$kill_uptime"
stall_ms=$STALL_MS
log "fio finished with 0 errors and verify passed across the kill; no write waited more than ${stall_ms} ms" \
  "($INFLIGHT in flight at the kill; completions resumed after ${RESUME_MS} ms, longest gap ${GAP_MS} ms)"
echo "NVME_STALL_MS=$stall_ms NVME_RESUME_MS=$RESUME_MS NVME_GAP_MS=$GAP_MS"

# ---- gw2 reports gw1's ANA group inaccessible once gw1's lease ran out ----
gw1_inaccessible() { nvme ana-log "/dev/$ctrl2" 2>/dev/null | grep -qi 'inaccessible'; }
wait_until 30 "gw2's ANA log reports gw1's group inaccessible" gw1_inaccessible
nvme ana-log "/dev/$ctrl2" | tee "$ARTIFACTS/ana-log-after-kill.txt"

nvme disconnect -n "$nqn" >/dev/null || die "nvme disconnect failed"
stop_gateway gw2
log "PASS nvme_gateways_test (stall ${stall_ms} ms)"
