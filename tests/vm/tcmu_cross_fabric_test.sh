#!/bin/bash
# Runs inside the test guest (tests/vm/run-in-vm.sh): one RBD image of a micro Ceph cluster,
# gateway 1 exports it through the kernel target (porticod as LIO's TCMU handler, tcm_loop as
# the fabric: initiator A), gateway 2 through its own iSCSI portal (open-iscsi: initiator I).
# One unit, one reservation model, across fabrics and gateways:
#   - the NAA designator is the same through both;
#   - sg_persist through each sees the other's key;
#   - WRITE EXCLUSIVE taken through TCMU makes I's write (unregistered) fail with RESERVATION
#     CONFLICT, and WRITE EXCLUSIVE taken through iSCSI does the same to A's;
#   - PREEMPT AND ABORT from I while A writes at depth 32: gateway 1 ends A's outstanding writes
#     TASK ABORTED, A's key is gone, A's writes conflict;
#   - a LUN RESET through tcm_loop (A) raises the reset unit attention on I through gateway 2.
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools rbd ceph iscsiadm sg_persist sg_vpd sg_raw sg_turs sg_reset fio

iqn=iqn.2026-11.io.portico:crossfabric
init_a=naa.5001405000000a01 port_a=naa.5001405000000b01
cluster_dir=/var/tmp/portico-vm-ceph

load_tcm_loop
start_guest_ceph "$cluster_dir"
conf=$CEPH_CONF
rbd -c "$conf" create --size 256M --image-feature layering rbd/shared

# gateway_config NAME ADDRESS [TCMU-LINE]: a gateway of the group serving rbd/shared as LUN 0.
gateway_config() {
  cluster_gateway_config "$1" "$2:3260"
  cat <<EOF
targets:
  - iqn: $iqn
    allowed_initiators: any
    luns:
      - lun: 0
        backend: rbd
        image: rbd/shared
${3:-}
EOF
}
gateway_config gw1 127.0.0.1 "        tcmu:
          - {name: shared-a, fabric: sas, initiator: $init_a, target_port: $port_a}" >"$WORK/gw1.yaml"
gateway_config gw2 127.0.0.2 >"$WORK/gw2.yaml"
start_gateway gw1 "$WORK/gw1.yaml" 127.0.0.1 3260
start_gateway gw2 "$WORK/gw2.yaml" 127.0.0.2 3260

tcm_loop_export shared-a "$port_a" "$init_a"
sda=$(tcm_loop_disk "$port_a")
iscsi_login 127.0.0.2:3260 "$iqn"
sdi=$(wait_disk 127.0.0.2:3260 "$iqn" 0)
log "initiator A: /dev/$sda (tcm_loop, gw1's TCMU handler); initiator I: /dev/$sdi (iSCSI to gw2)"

naa() { sg_vpd -p di "/dev/$1" | grep -A1 -m1 'NAA' | tail -n1 | tr -d ' '; }
naa_a=$(naa "$sda") naa_i=$(naa "$sdi")
[[ -n "$naa_a" && "$naa_a" == "$naa_i" ]] || die "NAA designators differ: TCMU '$naa_a', iSCSI '$naa_i'"
log "VPD 83h NAA $naa_a through gw1's TCMU export and gw2's iSCSI portal"

# prout DISK ARGS...: PERSISTENT RESERVE OUT, retried once past a pending unit attention.
prout() { local d=$1; shift; sg_persist -n --out "$@" "/dev/$d" >/dev/null 2>&1 || sg_persist -n --out "$@" "/dev/$d" >/dev/null; }
# keys DISK: READ KEYS, retried past a pending unit attention.
keys() { sg_persist -n --in --read-keys "/dev/$1" 2>/dev/null || sg_persist -n --in --read-keys "/dev/$1"; }
head -c 512 /dev/zero >"$WORK/block.bin"
# write10 DISK: one WRITE(10) of LBA 16 through the disk's SCSI generic node; prints sg_raw's words.
write10() { sg_raw -s 512 -i "$WORK/block.bin" "$(sg_of "$1")" 2a 00 00 00 00 10 00 00 01 00 2>&1 || true; }
conflict='Reservation Conflict|RESERVATION CONFLICT'

# ---- keys across fabrics, WRITE EXCLUSIVE from the TCMU side ----
prout "$sda" --register --param-sark=0xa1 || die "A: REGISTER through TCMU failed"
prout "$sda" --reserve --param-rk=0xa1 --prout-type=1 || die "A: RESERVE (WE) through TCMU failed"
expect "I's write under A's WRITE EXCLUSIVE (I unregistered)" "$conflict" "$(write10 "$sdi")"
expect_not "A's own write" "$conflict" "$(write10 "$sda")"
prout "$sdi" --register --param-sark=0xb1 || die "I: REGISTER through iSCSI failed"
k_a=$(keys "$sda") k_i=$(keys "$sdi")
expect "TCMU sees I's key" '0xb1' "$k_a"
expect "iSCSI sees A's key" '0xa1' "$k_i"
expect "TCMU sees its own key" '0xa1' "$k_a"
log "keys 0xa1 (TCMU, gw1) and 0xb1 (iSCSI, gw2) seen through both; A's WRITE EXCLUSIVE refused I's write"

# ---- WRITE EXCLUSIVE from the iSCSI side ----
prout "$sda" --release --param-rk=0xa1 --prout-type=1 || die "A: RELEASE failed"
prout "$sdi" --reserve --param-rk=0xb1 --prout-type=1 || die "I: RESERVE (WE) through iSCSI failed"
prout "$sda" --register --param-rk=0xa1 --param-sark=0 || die "A: unregister failed"
expect "A's write under I's WRITE EXCLUSIVE (A unregistered)" "$conflict" "$(write10 "$sda")"
expect_not "I's own write" "$conflict" "$(write10 "$sdi")"
log "I's WRITE EXCLUSIVE through gw2 refused A's write through gw1's TCMU export"

# ---- PREEMPT AND ABORT from the iSCSI side while A writes ----
# WRITE EXCLUSIVE - REGISTRANTS ONLY held by I; A registered, so A may write.
prout "$sda" --register --param-sark=0xa1 || die "A: re-register failed"
prout "$sdi" --release --param-rk=0xb1 --prout-type=1 || die "I: RELEASE failed"
prout "$sdi" --reserve --param-rk=0xb1 --prout-type=5 || die "I: RESERVE (WE-RO) failed"
expect_not "A's write as a registrant under WE-RO" "$conflict" "$(write10 "$sda")"
fio --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=32 --size=64M --time_based --runtime=120 \
  --name=preempted --filename="/dev/$sda" >"$WORK/fio-preempted.log" 2>&1 &
fio_pid=$!
io_base=$(io_count "$sda")
fio_writing() { ! kill -0 "$fio_pid" || (($(io_count "$sda") > io_base + 500)); }
wait_until 60 "fio writing to /dev/$sda" fio_writing
kill -0 "$fio_pid" 2>/dev/null || { cat "$WORK/fio-preempted.log" >&2; die "fio ended before the preemption"; }
preempted=$(now_ms)
prout "$sdi" --preempt-abort --param-rk=0xb1 --param-sark=0xa1 --prout-type=5 || die "I: PREEMPT AND ABORT failed"
fio_rc=0
timeout 60 tail --pid="$fio_pid" -f /dev/null || die "fio still runs 60 s after A was preempted"
wait "$fio_pid" || fio_rc=$?
ended=$(($(now_ms) - preempted))
((fio_rc != 0)) || die "fio on A ended without an error after A's registration was preempted"
aborted=$({ grep -oE 'tcmu shared-a: [0-9]+ command\(s\) ended TASK ABORTED' "$WORK/gw1.log" || true; } |
  awk '{ n += $3 } END { print n + 0 }')
((aborted > 0)) || die "gw1 ended none of A's outstanding writes TASK ABORTED"
k_i=$(keys "$sdi")
expect_not "A's key after PREEMPT AND ABORT" '0xa1' "$k_i"
expect "I's key after PREEMPT AND ABORT" '0xb1' "$k_i"
expect "A's write after PREEMPT AND ABORT" "$conflict" "$(write10 "$sda")"
log "PREEMPT AND ABORT through gw2: gw1 ended $aborted of A's writes TASK ABORTED, fio on A failed after $ended ms (exit $fio_rc), A's key is gone and its writes conflict"
prout "$sdi" --clear --param-rk=0xb1 || die "I: CLEAR failed"

# ---- a LUN RESET through tcm_loop raises the reset unit attention on the iSCSI side ----
# ua DISK: TEST UNIT READY's words; "ready" when no unit attention is pending.
ua() { sg_turs -v "/dev/$1" 2>&1 && echo ready; }
for _ in 1 2 3 4 5 6 7 8; do [[ "$(ua "$sdi")" == *ready ]] && break; done
[[ "$(ua "$sdi")" == *ready ]] || die "unit attentions on I do not clear"
sg_reset -d "/dev/$sda" >/dev/null 2>&1 || die "sg_reset -d (LUN RESET) through tcm_loop failed"
reset_at=$(now_ms)
grep -q 'tcmu shared-a: task management' "$WORK/gw1.log" || { sleep 1; grep -q 'tcmu shared-a: task management' "$WORK/gw1.log"; } ||
  die "gw1 got no task management notice from the ring"
reset_seen() { [[ "$(ua "$sdi")" =~ [Rr]eset ]]; }
wait_until 15 "the reset unit attention on I through gw2" reset_seen
log "LUN RESET through tcm_loop (gw1): I saw the reset unit attention through gw2 within $(($(now_ms) - reset_at)) ms"
log "PASS"
