#!/bin/bash
# Runs inside the test guest (tests/vm/run-in-vm.sh): porticod serves one namespace over NVMe/RDMA
# (soft-RoCE on a dummy device, 192.0.2.1) and NVMe/TCP (127.0.0.1) at once, and the Linux
# kernel's hosts (nvme_rdma, nvme_tcp, nvme-cli, native multipath) use it:
#   - `nvme discover -t rdma` through the RDMA listener lists both transports' listeners;
#   - `nvme connect -t rdma`; ext4 with checksums across a remount; fio crc32c verify at depth 32
#     (with I/O larger than one registered chunk, so reads and writes span several);
#   - `nvme resv-register / resv-acquire / resv-report / resv-release` round trip over RDMA;
#   - the same host connects over TCP too: one subsystem, two live optimized paths; Identify
#     Controller and Identify Namespace are the same through both (but the controller id and
#     SGLS, whose Keyed SGL bit only an RDMA controller sets);
#   - hostile hosts (tools/rdma_probe): malformed CM requests get the specified reject statuses,
#     a queue that never sends its Connect is disconnected after login_timeout_s;
#   - SIGTERM with an RDMA host connected: the queues drain, porticod exits 0.
# Prints "RDMA_FIO <job> iops=<n>" lines.
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools nvme fio mkfs.ext4 rdma ibv_devices

nqn=nqn.2026-11.io.portico:rdma
hostnqn=nqn.2014-08.org.nvmexpress:uuid:5b1e7c20-3f4a-4d6e-8a2b-9c0d1e2f3a4b
hostid=5b1e7c20-3f4a-4d6e-8a2b-9c0d1e2f3a4b
modprobe -a nvme_rdma nvme_tcp || die "nvme_rdma or nvme_tcp does not load"
[[ "$(cat /sys/module/nvme_core/parameters/multipath)" == Y ]] || die "native NVMe multipath is off"
setup_soft_roce

cat >"$WORK/rdma.yaml" <<EOF
log:
  level: info
gateway:
  name: vm-rdma
  io_threads: 2
  login_timeout_s: 5
  portals: ["127.0.0.1:3260"]
  nvme_listeners: ["127.0.0.1:4420"]
  nvme_rdma_listeners: ["$RDMA_ADDRESS:4420"]
targets:
  - iqn: iqn.2026-11.io.portico:rdma
    allowed_initiators: any
    nvme:
      nqn: $nqn
    luns:
      - lun: 0
        backend: memory
        size: 256MiB
EOF
start_gateway gw1 "$WORK/rdma.yaml" 127.0.0.1 4420
grep -q "nvme-rdma: listening on $RDMA_ADDRESS:4420" "$WORK/gw1.log" || die "porticod does not listen on $RDMA_ADDRESS:4420 over RDMA"
BEFORE_LOGOUT_HOOKS+=("nvme disconnect-all")

# ---- discovery over RDMA lists both transports ----
disc=$(nvme discover -t rdma -a "$RDMA_ADDRESS" -s 4420 --hostnqn="$hostnqn") || die "nvme discover -t rdma failed"
echo "$disc" | tee "$ARTIFACTS/discover-rdma.txt" | grep -E 'trtype|traddr|subnqn|rdma_'
expect "discovery: the RDMA listener" "traddr: *$RDMA_ADDRESS" "$disc"
expect "discovery: an rdma entry" 'trtype: *rdma' "$disc"
expect "discovery: the TCP listener" 'traddr: *127.0.0.1' "$disc"
expect "discovery: a connected QP" 'rdma_prtype: *not specified|rdma_qptype: *connected' "$disc"

# ---- connect over RDMA ----
nvme connect -t rdma -a "$RDMA_ADDRESS" -s 4420 -n "$nqn" --hostnqn="$hostnqn" --hostid="$hostid" \
  --ctrl-loss-tmo=30 --reconnect-delay=1 --keep-alive-tmo=5 || die "nvme connect -t rdma failed"
ns_head() { ls -d /sys/class/nvme-subsystem/nvme-subsys*/nvme*n1 2>/dev/null | head -n1 | xargs -r basename; }
have_ns_head() { [[ -n "$(ns_head)" && -b "/dev/$(ns_head)" ]]; }
wait_until 60 "the namespace over RDMA" have_ns_head
ns=/dev/$(ns_head)
subsys=$(nvme list-subsys "$ns")
echo "$subsys"
ctrl_rdma=$(grep -oE "nvme[0-9]+ rdma traddr=$RDMA_ADDRESS," <<<"$subsys" | cut -d' ' -f1)
[[ -c /dev/$ctrl_rdma ]] || die "no RDMA controller node in: $subsys"
log "connected over RDMA: controller $ctrl_rdma, namespace $ns"
grep -E 'nvme-rdma: .* connected' "$WORK/gw1.log" | head -n 3

# ---- ext4 with checksums across a remount ----
ext4_checksums "$ns"
log "ext4 over RDMA: checksums equal after a remount"

# ---- fio crc32c verify at depth 32: 4 KiB, and 64 KiB + 256 KiB (several chunks per command) ----
for job in "4k 32" "64k 16" "256k 8"; do
  read -r bs depth <<<"$job"
  out=$(fio --name="verify-$bs" --filename="$ns" --ioengine=libaio --direct=1 --rw=randwrite --bs="$bs" \
    --iodepth="$depth" --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 --output-format=normal 2>&1) ||
    { echo "$out" >&2; die "fio verify ($bs, depth $depth) failed"; }
  expect "fio $bs: no errors" 'err= *0' "$out"
  expect_not "fio $bs: verify errors" 'verify: bad|crc32c: verify failed' "$out"
  log "fio randwrite $bs depth $depth with crc32c verify over RDMA: 0 errors"
done
iops=$(PORTICO_VM_BENCH_SECONDS=5 fio_iops rdma-randread-32 "$ns" randread 32)
echo "RDMA_FIO randread-4k-32 iops=$iops"

# ---- reservations over RDMA ----
nvme resv-register "/dev/$ctrl_rdma" -n 1 --nrkey=0xa1 --rrega=0 || die "nvme resv-register failed"
nvme resv-acquire "/dev/$ctrl_rdma" -n 1 --crkey=0xa1 --rtype=1 --racqa=0 || die "nvme resv-acquire failed"
report=$(nvme resv-report "/dev/$ctrl_rdma" -n 1 --eds)
echo "$report" | tee "$ARTIFACTS/resv-report.txt"
expect "resv-report: the key" 'rkey *: *a1$' "$report"
expect "resv-report: Write Exclusive" 'rtype *: *1' "$report"
nvme resv-release "/dev/$ctrl_rdma" -n 1 --crkey=0xa1 --rtype=1 --rrela=0 || die "nvme resv-release failed"
nvme resv-register "/dev/$ctrl_rdma" -n 1 --crkey=0xa1 --rrega=1 || die "nvme resv-register (unregister) failed"
report=$(nvme resv-report "/dev/$ctrl_rdma" -n 1 --eds)
expect_not "resv-report: no key left" 'rkey *: *a1$' "$report"
log "reservations over RDMA: register, acquire, report, release, unregister"

# ---- the same host over TCP too: two paths, one identity ----
nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$nqn" --hostnqn="$hostnqn" --hostid="$hostid" \
  --ctrl-loss-tmo=30 --reconnect-delay=1 --keep-alive-tmo=5 || die "nvme connect -t tcp failed"
paths_optimized() { [[ "$(nvme list-subsys "$ns" 2>/dev/null | grep -c 'live optimized')" == "$1" ]]; }
wait_until 60 "two live optimized paths" paths_optimized 2
subsys=$(nvme list-subsys "$ns")
echo "$subsys" | tee "$ARTIFACTS/list-subsys.txt"
expect "rdma path live optimized" "rdma traddr=$RDMA_ADDRESS,trsvcid=4420.* live optimized" "$subsys"
expect "tcp path live optimized" 'tcp traddr=127.0.0.1,trsvcid=4420.* live optimized' "$subsys"
ctrl_tcp=$(grep -oE 'nvme[0-9]+ tcp traddr=127.0.0.1,' <<<"$subsys" | cut -d' ' -f1)
# Identify through each: the same but the controller id and SGLS (an RDMA controller takes
# Keyed SGL Data Blocks: bit 2, which Linux's RDMA host requires).
nvme id-ctrl "/dev/$ctrl_rdma" >"$WORK/id-ctrl-rdma-full.txt"
nvme id-ctrl "/dev/$ctrl_tcp" >"$WORK/id-ctrl-tcp-full.txt"
expect "SGLS over RDMA: keyed" 'sgls *: *0x100005' "$(cat "$WORK/id-ctrl-rdma-full.txt")"
expect "SGLS over TCP: not keyed" 'sgls *: *0x100001' "$(cat "$WORK/id-ctrl-tcp-full.txt")"
grep -vE '^(cntlid|sgls) ' "$WORK/id-ctrl-rdma-full.txt" >"$WORK/id-ctrl-rdma.txt"
grep -vE '^(cntlid|sgls) ' "$WORK/id-ctrl-tcp-full.txt" >"$WORK/id-ctrl-tcp.txt"
nvme id-ns "/dev/$ctrl_rdma" -n 1 >"$WORK/id-ns-rdma.txt"
nvme id-ns "/dev/$ctrl_tcp" -n 1 >"$WORK/id-ns-tcp.txt"
cp "$WORK"/id-*.txt "$ARTIFACTS/"
diff "$WORK/id-ctrl-rdma.txt" "$WORK/id-ctrl-tcp.txt" || die "Identify Controller differs between RDMA and TCP"
diff "$WORK/id-ns-rdma.txt" "$WORK/id-ns-tcp.txt" || die "Identify Namespace differs between RDMA and TCP"
log "Identify Controller and Namespace: the same over RDMA and TCP (but CNTLID and SGLS)"
out=$(fio --name=both-paths --filename="$ns" --ioengine=libaio --direct=1 --rw=randrw --bs=16k --iodepth=32 \
  --size=16M --verify=crc32c --do_verify=1 --verify_fatal=1 2>&1) || { echo "$out" >&2; die "fio over both paths failed"; }
expect "fio over both paths: no errors" 'err= *0' "$out"

nvme disconnect -n "$nqn" >/dev/null || die "nvme disconnect failed"

# ---- hostile hosts: malformed connect requests get the specified reject status; an accepted
# queue that never sends its Connect is disconnected after login_timeout_s ----
probe=$PORTICO_BUILD/tools/portico-rdma-cm-probe
# probe_reject LENGTH RECFMT QID HRQSIZE HSQSIZE STATUS WHAT
probe_reject() {
  local out
  out=$(timeout 30 "$probe" connect "$RDMA_ADDRESS" 4420 "$1" "$2" "$3" "$4" "$5" 2>&1) || true
  [[ "$out" == "connect: rejected sts $6" ]] || die "$7: expected reject status $6, got: $out"
  log "$7: rejected with NVMe/RDMA status $6"
}
# (A short request cannot be sent: the CM pads a RoCE request's private data to 56 bytes.)
probe_reject 32 1 0 32 31 2 "record format 1"
probe_reject 32 0 200 32 31 3 "queue id 200"
probe_reject 32 0 0 32 32 4 "an admin queue of 33 entries"
probe_reject 32 0 0 0 31 5 "HRQSIZE 0"
out=$(timeout 30 "$probe" connect "$RDMA_ADDRESS" 4420 32 0 0 32 31 12 2>&1) || true
echo "$out"
expect "an idle queue is accepted" 'connect: established' "$out"
expect "an idle queue is disconnected" 'RDMA_CM_EVENT_DISCONNECTED within' "$out"
grep -qE 'closed before Connect: no Connect within 5 s' "$WORK/gw1.log" || die "porticod did not log the idle queue's end"
grep -E 'rejected \(' "$WORK/gw1.log" | tail -n 5
log "hostile hosts: four malformed requests rejected, an idle queue ended after 5 s"

# ---- SIGTERM with an RDMA host connected: the queues drain, porticod exits 0 ----
nvme connect -t rdma -a "$RDMA_ADDRESS" -s 4420 -n "$nqn" --hostnqn="$hostnqn" --hostid="$hostid" \
  --ctrl-loss-tmo=5 --reconnect-delay=1 || die "nvme connect -t rdma (again) failed"
wait_until 30 "the namespace over RDMA again" have_ns_head
stop_gateway gw1
grep -qE 'nvme-rdma: .* closed: gateway shutting down' "$WORK/gw1.log" || die "the RDMA queues did not drain on SIGTERM"
nvme disconnect -n "$nqn" >/dev/null 2>&1 || true
log "PASS rdma_gateway_test"
