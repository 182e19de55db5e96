#!/bin/bash
# Runs inside the test guest (tests/vm/run-in-vm.sh): one porticod with a memory LUN and a file
# LUN on 127.0.0.1:3260, driven by the Linux kernel's own iSCSI initiator (open-iscsi):
# discovery and login; the disks appear; INQUIRY, VPD 83h and REPORT TARGET PORT GROUPS through
# sg3-utils; ext4 written, remounted and checksummed on both LUNs; persistent reservations with
# sg_persist; fio random writes at depth 32 verified with crc32c; a CHAP target refuses a
# wrong secret and accepts the right one; logout; porticod exits 0 on SIGTERM.
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools iscsiadm sg_inq sg_vpd sg_rtpg sg_persist fio mkfs.ext4 sha256sum

portal=127.0.0.1:3260
iqn=iqn.2026-11.io.portico:vm-single
chap_iqn=iqn.2026-11.io.portico:vm-chap
cat >"$WORK/single.yaml" <<EOF
log:
  level: info
gateway:
  name: vm-single
  io_threads: 1
  portals: ["$portal"]
targets:
  - iqn: $iqn
    alias: vm-single
    allowed_initiators: any
    luns:
      - lun: 0
        backend: memory
        size: 512MiB
      - lun: 1
        backend: file
        path: $WORK/lun1.img
        size: 512MiB
  - iqn: $chap_iqn
    alias: vm-chap
    allowed_initiators: any
    chap:
      username: vm-initiator
      secret: right-secret-1234
    luns:
      - lun: 0
        backend: memory
        size: 64MiB
EOF
start_gateway porticod-single "$WORK/single.yaml" 127.0.0.1 3260

# ---- discovery and login ----
discovered=$(iscsiadm -m discovery -t sendtargets -p "$portal")
expect "SendTargets lists the plain target" "^$portal,[0-9]+ $iqn\$" "$discovered"
expect "SendTargets lists the CHAP target" "^$portal,[0-9]+ $chap_iqn\$" "$discovered"
iscsi_login "$portal" "$iqn"
mem=$(wait_disk "$portal" "$iqn" 0)
file=$(wait_disk "$portal" "$iqn" 1)
log "LUN 0 (memory) is /dev/$mem, LUN 1 (file) is /dev/$file"
expect "LUN 0 capacity (512-byte sectors)" '^1048576$' "$(cat "/sys/block/$mem/size")"
expect "LUN 1 capacity (512-byte sectors)" '^1048576$' "$(cat "/sys/block/$file/size")"

# ---- identity and ALUA ----
inq=$(sg_inq "/dev/$mem")
expect "sg_inq vendor" 'Vendor identification: PORTICO' "$inq"
expect "sg_inq TPGS (implicit ALUA)" 'TPGS=1' "$inq"
vpd=$(sg_vpd -p di "/dev/$mem")
expect "VPD 83h: NAA logical unit designator" 'NAA' "$vpd"
expect "VPD 83h: relative target port" 'Relative target port' "$vpd"
expect "VPD 83h: target port group" 'Target port group' "$vpd"
naa_mem=$(sg_vpd -p di "/dev/$mem" | grep -A1 -m1 'NAA' | tail -n1 | tr -d ' ')
naa_file=$(sg_vpd -p di "/dev/$file" | grep -A1 -m1 'NAA' | tail -n1 | tr -d ' ')
[[ -n "$naa_mem" && "$naa_mem" != "$naa_file" ]] || die "the two LUNs must have distinct NAA designators ($naa_mem, $naa_file)"
rtpg=$(sg_rtpg --decode "/dev/$mem")
expect "REPORT TARGET PORT GROUPS" 'target port group asymmetric access state.*active/optimized|active/optimized' "$rtpg"
log "INQUIRY, VPD 83h ($naa_mem) and REPORT TARGET PORT GROUPS (active/optimized) checked"

# ---- a filesystem on each LUN survives a remount ----
for dev in "$mem" "$file"; do
  mkfs.ext4 -q -F "/dev/$dev"
  mkdir -p "/mnt/$dev"
  mount "/dev/$dev" "/mnt/$dev"
  for i in 1 2 3 4; do head -c $((i * 3 * 1024 * 1024 + 4321)) /dev/urandom >"/mnt/$dev/file$i"; done
  mkdir -p "/mnt/$dev/dir"
  seq 1 20000 >"/mnt/$dev/dir/numbers"
  (cd "/mnt/$dev" && sha256sum file1 file2 file3 file4 dir/numbers) >"$WORK/$dev.sha256"
  umount "/mnt/$dev"
  echo 3 >/proc/sys/vm/drop_caches
  mount "/dev/$dev" "/mnt/$dev"
  (cd "/mnt/$dev" && sha256sum --quiet -c "$WORK/$dev.sha256") || die "checksums differ on /dev/$dev after remount"
  umount "/mnt/$dev"
  fsck.ext4 -n "/dev/$dev" >/dev/null 2>&1 || die "fsck finds /dev/$dev damaged"
  log "ext4 on /dev/$dev: 5 files written, remounted, checksums and fsck good"
done

# ---- persistent reservations (SPC-4 5.12) through sg_persist ----
dev=/dev/$mem
sg_persist -n --out --register --param-sark=0x1111 "$dev" >/dev/null || die "PR REGISTER failed"
keys=$(sg_persist -n --in --read-keys "$dev")
expect "READ KEYS after REGISTER" '0x1111' "$keys"
sg_persist -n --out --reserve --param-rk=0x1111 --prout-type=1 "$dev" >/dev/null || die "PR RESERVE failed"
res=$(sg_persist -n --in --read-reservation "$dev")
expect "READ RESERVATION: holder" 'Key=0x1111' "$res"
expect "READ RESERVATION: type" 'Write Exclusive' "$res"
# Another key, another reservation type: the holder's RESERVE of a different type conflicts.
if sg_persist -n --out --reserve --param-rk=0x1111 --prout-type=3 "$dev" >/dev/null 2>&1; then
  die "RESERVE with a different type while reserved must conflict"
fi
sg_persist -n --out --release --param-rk=0x1111 --prout-type=1 "$dev" >/dev/null || die "PR RELEASE failed"
res=$(sg_persist -n --in --read-reservation "$dev")
expect "READ RESERVATION after RELEASE" 'NO reservation held' "$res"
sg_persist -n --out --clear --param-rk=0x1111 "$dev" >/dev/null || die "PR CLEAR failed"
keys=$(sg_persist -n --in --read-keys "$dev")
expect "READ KEYS after CLEAR" 'NO registered reservation keys' "$keys"
log "sg_persist register / read keys / reserve / read reservation / release / clear checked"

# ---- fio: random writes at depth 32, verified with crc32c ----
# Global options first: fio applies options after a --name only to that job.
fio --output-format=json --output="$WORK/fio-single.json" \
  --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=32 --size=16M \
  --verify=crc32c --verify_fatal=1 --do_verify=1 --runtime=120 \
  --name=mem --filename="/dev/$mem" --name=file --filename="/dev/$file" >"$WORK/fio-single.err" 2>&1 ||
  { cat "$WORK/fio-single.err" "$WORK/fio-single.json" >&2; die "fio failed"; }
cp "$WORK/fio-single.json" "$ARTIFACTS/"
# Per job: error code, writes and verify reads done, write IOPS.
summary=$(python3 - "$WORK/fio-single.json" <<'PY'
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
for j in jobs:
    print(j["jobname"], j["error"], j["write"]["total_ios"], j["read"]["total_ios"], round(j["write"]["iops"]))
PY
)
while read -r job err writes reads iops; do
  ((err == 0)) || die "fio job $job: error $err"
  ((writes == 4096 && reads == 4096)) || die "fio job $job: $writes writes and $reads verify reads (expected 4096 each)"
  log "fio $job LUN: 4096 random 4 KiB writes at depth 32 ($iops IOPS), all read back and crc32c-verified"
done <<<"$summary"
expect_not "fio errors" 'verify: bad|crc32c: verify failed' "$(cat "$WORK/fio-single.err")"

# ---- CHAP: a wrong secret is refused, the right one logs in ----
iscsiadm -m node -T "$chap_iqn" -p "$portal" -o update -n node.session.auth.authmethod -v CHAP
iscsiadm -m node -T "$chap_iqn" -p "$portal" -o update -n node.session.auth.username -v vm-initiator
iscsiadm -m node -T "$chap_iqn" -p "$portal" -o update -n node.session.auth.password -v wrong-secret-9999
iscsiadm -m node -T "$chap_iqn" -p "$portal" -o update -n node.session.initial_login_retry_max -v 1
if iscsiadm -m node -T "$chap_iqn" -p "$portal" --login >"$WORK/chap-wrong.txt" 2>&1; then
  die "login to the CHAP target with a wrong secret succeeded"
fi
expect "wrong CHAP secret refused" 'authorization failure|Login failed' "$(cat "$WORK/chap-wrong.txt")"
session_of "$portal" "$chap_iqn" >/dev/null && die "a session to the CHAP target exists after a refused login"
log "CHAP target refused the wrong secret: $(grep -Eo 'iscsiadm: .*(failure|failed).*' "$WORK/chap-wrong.txt" | tail -n1)"
iscsiadm -m node -T "$chap_iqn" -p "$portal" -o update -n node.session.auth.password -v right-secret-1234
iscsiadm -m node -T "$chap_iqn" -p "$portal" --login >/dev/null || die "login to the CHAP target with the right secret failed"
chap_dev=$(wait_disk "$portal" "$chap_iqn" 0)
dd if="/dev/$chap_dev" of=/dev/null bs=1M count=4 iflag=direct status=none || die "read through the CHAP session failed"
log "CHAP target accepted the right secret: /dev/$chap_dev readable"

# ---- logout and a clean shutdown ----
iscsi_logout "$portal" "$chap_iqn"
iscsi_logout "$portal" "$iqn"
[[ -z "$(ls /sys/class/iscsi_session/ 2>/dev/null)" ]] || die "sessions remain after logout"
stop_gateway porticod-single
log "PASS single_gateway_test"
