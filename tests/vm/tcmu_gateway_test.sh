#!/bin/bash
# Runs inside the test guest (tests/vm/run-in-vm.sh): porticod serves a file LUN through the
# kernel target (LIO) as its TCMU handler, and through its own iSCSI portal. tcm_loop gives two
# local SCSI disks, one per initiator (two SAS addresses, each with its own backstore device:
# the TCMU ring does not say which initiator sent a command):
#   - INQUIRY / VPD 83h through LIO are porticod's: the NAA designator equals the iSCSI LUN's;
#   - PERSISTENT RESERVE reaches the core: initiator A registers and takes WRITE EXCLUSIVE,
#     initiator B sees A's key and the reservation, and its write fails with RESERVATION
#     CONFLICT; the iSCSI initiator sees the key too;
#   - ext4 with metadata checksums survives a remount; UNMAP through blkdiscard reads back
#     zeroes; COMPARE AND WRITE through sg_compare_and_write (match writes, mismatch refused);
#   - fio crc32c verify at depth 32; porticod killed (SIGKILL) and restarted under fio load:
#     the restarted porticod re-attaches to its backstores, resets the rings (the commands the
#     dead one held end BUSY and the host retries them), and verify passes.
# Prints "TCMU_RESTART_GAP_MS=<n>" for run-lane.sh.
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools sg_inq sg_vpd sg_persist sg_raw sg_compare_and_write blkdiscard fio mkfs.ext4 iscsiadm

iqn=iqn.2026-11.io.portico:tcmu
portal=127.0.0.1:3260
init_a=naa.5001405000000a01 port_a=naa.5001405000000b01
init_b=naa.5001405000000a02 port_b=naa.5001405000000b02
fio_size=${PORTICO_VM_FIO_SIZE:-24M}

load_tcm_loop

cat >"$WORK/tcmu.yaml" <<EOF
log:
  level: info
gateway:
  name: tcmu-gw
  io_threads: 1
  portals: ["$portal"]
targets:
  - iqn: $iqn
    allowed_initiators: any
    luns:
      - lun: 0
        backend: file
        path: $WORK/tcmu-lun0.img
        size: 128MiB
        tcmu:
          - {name: portico-a, fabric: sas, initiator: $init_a, target_port: $port_a}
          - {name: portico-b, fabric: sas, initiator: $init_b, target_port: $port_b}
EOF
start_gateway tcmu-gw "$WORK/tcmu.yaml" 127.0.0.1 3260

tcm_loop_export portico-a "$port_a" "$init_a"
tcm_loop_export portico-b "$port_b" "$init_b"
sda=$(tcm_loop_disk "$port_a")
sdb=$(tcm_loop_disk "$port_b")
log "tcm_loop disks: initiator A /dev/$sda, initiator B /dev/$sdb"

# ---- identity: porticod's, the same through LIO and through iSCSI ----
iscsi_login "$portal" "$iqn"
sdi=$(wait_disk "$portal" "$iqn" 0)
inq=$(sg_inq "/dev/$sda")
expect "INQUIRY through LIO" 'Vendor identification: PORTICO' "$inq"
naa() { sg_vpd -p di "/dev/$1" | grep -A1 -m1 'NAA' | tail -n1 | tr -d ' '; }
naa_a=$(naa "$sda") naa_b=$(naa "$sdb") naa_i=$(naa "$sdi")
[[ -n "$naa_a" && "$naa_a" == "$naa_i" && "$naa_b" == "$naa_i" ]] ||
  die "NAA designators differ: tcm_loop A '$naa_a', B '$naa_b', iSCSI '$naa_i'"
log "VPD 83h NAA $naa_a through both tcm_loop ports and through iSCSI"

# ---- persistent reservations through LIO reach the core ----
sg_persist -n --out --register --param-sark=0xa1 "/dev/$sda" >/dev/null || die "A: PR REGISTER failed"
sg_persist -n --out --reserve --param-rk=0xa1 --prout-type=1 "/dev/$sda" >/dev/null || die "A: PR RESERVE (WE) failed"
expect "B reads A's key" '0xa1' "$(sg_persist -n --in --read-keys "/dev/$sdb")"
expect "B reads A's reservation" 'Key=0xa1' "$(sg_persist -n --in --read-reservation "/dev/$sdb")"
expect "iSCSI reads A's key" '0xa1' "$(sg_persist -n --in --read-keys "/dev/$sdi")"
head -c 512 /dev/zero >"$WORK/block.bin"
write10() { sg_raw -s 512 -i "$WORK/block.bin" "$1" 2a 00 00 00 00 10 00 00 01 00 2>&1 || true; }
out=$(write10 "$(sg_of "$sdb")")
expect "B's write under A's WRITE EXCLUSIVE" 'Reservation Conflict|RESERVATION CONFLICT' "$out"
out=$(write10 "$(sg_of "$sda")")
expect_not "A's own write" 'Reservation Conflict|RESERVATION CONFLICT' "$out"
sg_persist -n --out --release --param-rk=0xa1 --prout-type=1 "/dev/$sda" >/dev/null || die "A: PR RELEASE failed"
sg_persist -n --out --clear --param-rk=0xa1 "/dev/$sda" >/dev/null || die "A: PR CLEAR failed"
expect "keys after CLEAR" 'NO registered reservation keys' "$(sg_persist -n --in --read-keys "/dev/$sdb")"
log "PR through LIO: A's WRITE EXCLUSIVE seen by B and by iSCSI; B's write got RESERVATION CONFLICT"
iscsi_logout "$portal" "$iqn"

# ---- ext4 with metadata checksums across a remount ----
mkfs.ext4 -q -F -O metadata_csum "/dev/$sda"
mkdir -p "$WORK/mnt"
mount "/dev/$sda" "$WORK/mnt"
head -c 8M /dev/urandom >"$WORK/mnt/data.bin"
sum=$(sha256sum <"$WORK/mnt/data.bin")
umount "$WORK/mnt"
e2fsck -fn "/dev/$sda" >"$WORK/fsck.txt" 2>&1 || { cat "$WORK/fsck.txt" >&2; die "e2fsck found errors"; }
mount "/dev/$sda" "$WORK/mnt"
[[ "$(sha256sum <"$WORK/mnt/data.bin")" == "$sum" ]] || die "ext4 data changed across a remount"
umount "$WORK/mnt"
log "ext4 (metadata_csum): 8 MiB file intact across a remount, e2fsck clean"

# ---- UNMAP through blkdiscard, COMPARE AND WRITE ----
[[ "$(cat "/sys/block/$sda/queue/discard_max_bytes")" != 0 ]] || die "/dev/$sda offers no discard"
blkdiscard -f -o 0 -l 1048576 "/dev/$sda" || die "blkdiscard failed"
[[ "$(dd if="/dev/$sda" bs=1M count=1 iflag=direct 2>/dev/null | tr -d '\0' | wc -c)" == 0 ]] ||
  die "a discarded range does not read back as zeroes"
head -c 512 /dev/urandom >"$WORK/old.bin"
head -c 512 /dev/urandom >"$WORK/new.bin"
dd if="$WORK/old.bin" of="/dev/$sda" bs=512 seek=100 count=1 oflag=direct 2>/dev/null
cat "$WORK/old.bin" "$WORK/new.bin" >"$WORK/caw.bin"
sg_compare_and_write --in="$WORK/caw.bin" --lba=100 --num=1 "/dev/$sda" || die "COMPARE AND WRITE of a matching block failed"
cmp <(dd if="/dev/$sda" bs=512 skip=100 count=1 iflag=direct 2>/dev/null) "$WORK/new.bin" || die "COMPARE AND WRITE wrote nothing"
rc=0
sg_compare_and_write --in="$WORK/caw.bin" --lba=100 --num=1 "/dev/$sda" >"$WORK/caw.txt" 2>&1 || rc=$?
((rc == 14)) || { cat "$WORK/caw.txt" >&2; die "COMPARE AND WRITE of a changed block: exit $rc, expected 14 (MISCOMPARE)"; }
log "UNMAP (blkdiscard reads back zeroes) and COMPARE AND WRITE (match writes, mismatch: MISCOMPARE) checked"

# ---- fio crc32c verify, with porticod killed and restarted in the middle ----
fio --output-format=json --output="$WORK/fio-tcmu.json" \
  --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=32 --size="$fio_size" \
  --verify=crc32c --verify_fatal=1 --do_verify=1 --runtime=300 \
  --write_lat_log="$WORK/tcmu" --log_unix_epoch=1 \
  --name=tcmu --filename="/dev/$sda" >"$WORK/fio-tcmu.log" 2>&1 &
fio_pid=$!
io_base=$(io_count "$sda")
fio_writing() { ! kill -0 "$fio_pid" || (($(io_count "$sda") > io_base + 2000)); }
wait_until 60 "fio writing to /dev/$sda" fio_writing
kill -0 "$fio_pid" 2>/dev/null || { cat "$WORK/fio-tcmu.log" >&2; die "fio ended before porticod's restart"; }
killed=$(now_ms)
kill_gateway tcmu-gw
log "porticod killed under load; restarting it"
start_gateway tcmu-gw "$WORK/tcmu.yaml" 127.0.0.1 3260
wait "$fio_pid" || { cat "$WORK/fio-tcmu.log" >&2; die "fio failed across the restart"; }
expect_not "fio errors" 'verify: bad|crc32c: verify failed|error=' "$(cat "$WORK/fio-tcmu.log")"
grep -q 're-attached' "$WORK/tcmu-gw.log" || die "the restarted porticod did not re-attach to its backstores"
read -r stall _ resume gap <<<"$(failover_stall "$killed" "$WORK/tcmu_lat.1.log")"
cp "$WORK/fio-tcmu.json" "$ARTIFACTS/"
log "fio crc32c verify passed across a porticod restart: longest write wait $stall ms, completions resumed after $resume ms"
echo "TCMU_RESTART_GAP_MS=$gap TCMU_RESTART_STALL_MS=$stall"
log "PASS"
