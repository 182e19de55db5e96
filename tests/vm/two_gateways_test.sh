#!/bin/bash
# Runs inside the test guest (tests/vm/run-in-vm.sh): two porticod gateways serve one RBD image
# of a micro Ceph cluster (scripts/ceph-cluster.sh, in the guest) as one LUN, and the Linux
# kernel's initiator uses both through dm-multipath:
#   - both portals logged in; multipath -ll shows one map, both paths active/ready in one
#     priority group (ALUA: each gateway its own target port group, all active/optimized);
#   - mpathpersist registers on every path and reserves; sg_persist -k / -r agree on each path;
#   - fio random writes verified with crc32c over both paths; gw1 is killed with SIGKILL in the
#     middle: fio must finish without an error and its verify must pass, and no write may wait
#     more than 2 s (measured from fio's per-completion log, see failover_stall; multipath's
#     fast_io_fail_tmo 1 bounds how long a dead path holds commands);
#   - gw1 restarted: its path comes back (active/ready) and carries I/O again;
#   - gw1's RADOS client blocklisted (as a peer's fencing does) under fio over both paths: gw1
#     answers what it still receives with a path-failing status (NOT READY 08h/00h) and exits
#     75; fio must finish without an error and its verify must pass (dm-multipath moved the
#     writes to gw2); gw1 started again (a new RADOS client) serves on its path again.
# Prints "STALL_MS=<n> RESUME_MS=<n> GAP_MS=<n>" for run-lane.sh.
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools iscsiadm multipath multipathd mpathpersist sg_persist sg_vpd sg_rtpg fio rbd ceph

iqn=iqn.2026-11.io.portico:shared
portal1=127.0.0.1:3260
portal2=127.0.0.2:3260
cluster_dir=/var/tmp/portico-vm-ceph
fio_size=${PORTICO_VM_FIO_SIZE:-12M}

# ---- udev (multipathd learns paths and their WWIDs from it), the cluster, the image ----
/lib/systemd/systemd-udevd --daemon
udevadm trigger --subsystem-match=block --action=add
udevadm settle -t 60 || true
start_guest_ceph "$cluster_dir"
conf=$CEPH_CONF
rbd -c "$conf" create --size 256M --image-feature layering rbd/shared
# Baseline for the figures below: raw librbd 4 KiB random writes on this emulated cluster.
rbd -c "$conf" create --size 64M --image-feature layering rbd/bench
bench=$(rbd -c "$conf" bench --io-type write --io-size 4K --io-threads 16 --io-total 2M --io-pattern rand rbd/bench 2>&1 | tail -n1)
rbd -c "$conf" rm rbd/bench >/dev/null 2>&1 || true
log "rbd bench 4 KiB random write, 16 threads, 2 MiB: $bench"

gateway_config() {
  cluster_gateway_config "$1" "$2"
  cat <<EOF
targets:
  - iqn: $iqn
    alias: shared
    allowed_initiators: any
    luns:
      - lun: 0
        backend: rbd
        image: rbd/shared
EOF
}
gateway_config gw1 "$portal1" >"$WORK/gw1.yaml"
gateway_config gw2 "$portal2" >"$WORK/gw2.yaml"
start_gateway gw1 "$WORK/gw1.yaml" 127.0.0.1 3260
start_gateway gw2 "$WORK/gw2.yaml" 127.0.0.2 3260

# ---- open-iscsi: SendTargets through either gateway names both portals (each with its own
# portal group tag); a dead path hands its commands to multipath after 1 s ----
sendtargets_lists_both() {
  local through=$1 out
  out=$(iscsiadm -m discovery -t sendtargets -p "$through") || return 1
  grep -qx "$portal1,[0-9]* $iqn" <<<"$out" && grep -qx "$portal2,[0-9]* $iqn" <<<"$out"
}
# gw1 learns of gw2 at its next membership heartbeat.
wait_until 30 "SendTargets through gw1 to list both gateways' portals" sendtargets_lists_both "$portal1"
sendtargets_lists_both "$portal2" || die "SendTargets through gw2 must list both gateways' portals"
iscsiadm -m discovery -t sendtargets -p "$portal1" >"$ARTIFACTS/sendtargets.txt"
log "SendTargets through either gateway lists both: $(tr '\n' ' ' <"$ARTIFACTS/sendtargets.txt")"
for portal in "$portal1" "$portal2"; do
  # The node records came from the discovery above (through gw1 and gw2 alike).
  iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.session.timeo.replacement_timeout -v 1
  iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.conn[0].timeo.noop_out_interval -v 2
  iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.conn[0].timeo.noop_out_timeout -v 4
  iscsiadm -m node -T "$iqn" -p "$portal" --login >/dev/null || die "login through $portal failed"
done
path1=$(wait_disk "$portal1" "$iqn" 0)
path2=$(wait_disk "$portal2" "$iqn" 0)
log "gw1 path /dev/$path1, gw2 path /dev/$path2"
naa1=$(sg_vpd -p di "/dev/$path1" | grep -A1 -m1 NAA | tail -n1 | tr -d ' ')
naa2=$(sg_vpd -p di "/dev/$path2" | grep -A1 -m1 NAA | tail -n1 | tr -d ' ')
[[ -n "$naa1" && "$naa1" == "$naa2" ]] || die "both gateways must report the LUN's NAA ($naa1 vs $naa2)"
rtpg=$(sg_rtpg --decode "/dev/$path1")
echo "$rtpg" >"$ARTIFACTS/rtpg.txt"
groups=$(grep -c 'target port group id' <<<"$rtpg" || true)
optimized=$(grep -c 'active/optimized' <<<"$rtpg" || true)
((groups == 2 && optimized == 2)) || { echo "$rtpg" >&2; die "RTPG must list 2 groups, both active/optimized"; }
log "same NAA on both paths ($naa1); RTPG: 2 target port groups, both active/optimized"

# ---- dm-multipath ----
write_multipath_conf
multipathd
BEFORE_LOGOUT_HOOKS+=("multipath -F")
map_paths_ready() { [[ "$(multipath -ll 2>/dev/null | grep -c 'active ready running')" == "$1" ]]; }
wait_until 60 "multipath map with 2 ready paths" map_paths_ready 2
map=$(dmsetup ls --target multipath | awk 'NR==1{print $1}')
# Without udev rules for /dev/mapper, the kernel's own node is the reliable name.
dm=dm-$(dmsetup info -c --noheadings -o minor "$map" | tr -d ' ')
mpath=/dev/$dm
[[ -b "$mpath" ]] || die "no block device $mpath for the multipath map $map"
ll=$(multipath -ll "$map")
echo "$ll"
((  $(grep -c 'policy=' <<<"$ll") == 1 )) || die "multipath: both paths must be in one priority group"
expect "multipath: the group has ALUA's active/optimized priority (50)" "policy='round-robin 0' prio=50 status=active" "$ll"
expect "multipath: gw1 path active" "$path1 .*active ready running" "$ll"
expect "multipath: gw2 path active" "$path2 .*active ready running" "$ll"
expect "multipath: ALUA handler" "hwhandler='1 alua'" "$ll"
log "multipath map $map ($mpath): both paths active/ready in one active/optimized group"

# pr_in -k|-r sdX: PERSISTENT RESERVE IN through one path; a pending unit attention (e.g.
# RESERVATIONS PREEMPTED, or a power-on after a gateway restart) is consumed and the command retried.
pr_in() {
  local out
  for _ in 1 2 3; do
    out=$(sg_persist -n "$1" "/dev/$2" 2>&1) && { echo "$out"; return 0; }
    grep -q 'Unit attention' <<<"$out" || break
  done
  echo "$out" >&2
  die "sg_persist $1 /dev/$2 failed"
}

# ---- persistent reservations through mpathpersist, seen the same on each path ----
mpathpersist --out --register --param-sark=0xabc1 "$mpath" >/dev/null || die "mpathpersist REGISTER failed"
mpathpersist --out --reserve --param-rk=0xabc1 --prout-type=5 "$mpath" >/dev/null ||
  die "mpathpersist RESERVE (Write Exclusive, registrants only) failed"
keys1=$(pr_in -k "$path1"); keys2=$(pr_in -k "$path2")
res1=$(pr_in -r "$path1"); res2=$(pr_in -r "$path2")
echo "$keys1"; echo "$res1"
(( $(grep -c 0xabc1 <<<"$keys1") == 2 )) || die "sg_persist -k must list the key once per path (I_T nexus)"
[[ "$keys1" == "$keys2" ]] || { echo "$keys2" >&2; die "sg_persist -k differs between the paths"; }
expect "sg_persist -r: holder key" 'Key=0xabc1' "$res1"
expect "sg_persist -r: type" 'Write Exclusive, registrants only' "$res1"
[[ "$res1" == "$res2" ]] || { echo "$res2" >&2; die "sg_persist -r differs between the paths"; }
log "mpathpersist: key 0xabc1 registered on both paths, reservation WE-RO; sg_persist agrees on both paths"

# ---- fio over both paths; gw1 killed in the middle ----
before1=$(io_count "$path1"); before2=$(io_count "$path2")
# Every completion is logged with its Unix time (ms) and latency (ns): the stall is computed
# from these (see failover_stall).
fio --name=failover --filename="$mpath" --ioengine=libaio --direct=1 --rw=randwrite --bs=4k \
  --iodepth=16 --size="$fio_size" --verify=crc32c --do_verify=1 --verify_fatal=1 --runtime=300 \
  --write_lat_log="$WORK/fio" --log_avg_msec=0 --log_unix_epoch=1 --output="$WORK/fio-failover.txt" &
fio_pid=$!
BEFORE_LOGOUT_HOOKS+=("kill $fio_pid")
# Kill when a third of the writes are done (and never before 5 s of I/O).
target=$(( $(numfmt --from=iec "$fio_size") / 4096 / 3 ))
start_w=$(awk '{print $5}' "/sys/block/$dm/stat")
deadline=$(($(date +%s) + 240))
fio_started=$(date +%s)
while (( $(awk '{print $5}' "/sys/block/$dm/stat") - start_w < target || $(date +%s) - fio_started < 5 )); do
  kill -0 "$fio_pid" 2>/dev/null || die "fio ended before gw1 could be killed (size $fio_size too small?)"
  (($(date +%s) < deadline)) || die "fio made too little progress to kill gw1 in the middle"
  sleep 0.2
done
mid1=$(io_count "$path1"); mid2=$(io_count "$path2")
((mid1 > before1 + 50 && mid2 > before2 + 50)) ||
  die "fio's I/O must use both paths (gw1 path +$((mid1 - before1)), gw2 path +$((mid2 - before2)))"
kill_ms=$(( ${EPOCHREALTIME/./} / 1000 ))
kill_uptime=$(cut -d' ' -f1 /proc/uptime)
kill_gateway gw1
log "gw1 killed with SIGKILL after $((mid1 - before1)) I/Os on its path and $((mid2 - before2)) on gw2's"
sleep 3
multipath -ll "$map" >"$ARTIFACTS/multipath-gw1-dead.txt" 2>&1 || true
sed -n "s/^[ |\`-]*\(.*$path1 .*\)/  3 s after the kill: \1/p" "$ARTIFACTS/multipath-gw1-dead.txt"
fio_rc=0
wait "$fio_pid" || fio_rc=$?
cp "$WORK"/fio* "$ARTIFACTS/" 2>/dev/null || true
fio_out=$(cat "$WORK/fio-failover.txt")
echo "$fio_out" | grep -E 'err=|write:|read:|clat \(' | head -n 6
((fio_rc == 0)) || { echo "$fio_out" >&2; die "fio exited $fio_rc across the gw1 failure"; }
expect "fio: no errors" 'err= *0' "$fio_out"
expect_not "fio: errors" 'err= *[1-9]|verify: bad|crc32c: verify failed' "$fio_out"
expect "fio: every write done" "write: IOPS=.*\\(${fio_size%M}\\.0MiB/" "$fio_out"
expect "fio: the verify phase read every block back" "read: IOPS=.*\\(${fio_size%M}\\.0MiB/" "$fio_out"

read -r stall_ms inflight resume_ms gap_ms < <(failover_stall "$kill_ms" "$WORK/fio_clat.1.log")
((inflight > 0)) || die "no write was in flight at the kill (see fio_clat.1.log)"
# The failover budget: the 1 s session recovery timeout plus the retry on the other path.
((stall_ms <= 2000)) || die "failover stall ${stall_ms} ms is over 2 s (see failover-kernel.txt)"
log "fio finished with 0 errors and verify passed across the kill"
log "stall: no write waited more than ${stall_ms} ms after the kill ($inflight were in flight at it); completions resumed ${resume_ms} ms after the kill (longest gap ${gap_ms} ms)"
echo "STALL_MS=$stall_ms RESUME_MS=$resume_ms GAP_MS=$gap_ms"
# The kernel's view of the failover (iSCSI connection error, session recovery, multipath path
# failure), in ms after the kill: where the stall goes.
kernel_timeline "$kill_uptime" "$ARTIFACTS/failover-kernel.txt"

# ---- gw1 comes back and carries I/O again ----
start_gateway gw1 "$WORK/gw1.yaml" 127.0.0.1 3260
restart_s=$(date +%s)
wait_until 90 "gw1's path active/ready again in multipath -ll" map_paths_ready 2
log "gw1's path /dev/$path1 active/ready again $(($(date +%s) - restart_s)) s after the restart"
multipath -ll "$map" | grep -E "active ready running|policy="
again1=$(io_count "$path1"); again2=$(io_count "$path2")
fio --name=after --filename="$mpath" --ioengine=libaio --direct=1 --rw=randwrite --bs=4k \
  --iodepth=8 --size=2M --verify=crc32c --do_verify=1 --verify_fatal=1 --output="$WORK/fio-after.txt" ||
  { cat "$WORK/fio-after.txt" >&2; die "fio after gw1's restart failed"; }
after1=$(io_count "$path1"); after2=$(io_count "$path2")
((after1 > again1 + 50)) || die "gw1's path carried no I/O after its restart (+$((after1 - again1)))"
log "after the restart: gw1 path +$((after1 - again1)) I/Os, gw2 path +$((after2 - again2)) I/Os"
res1=$(pr_in -r "$path1")
expect "the reservation survives gw1's restart" 'Key=0xabc1' "$res1"

# ---- gw1's RADOS client blocklisted under I/O: the writes move to gw2 without an error ----
# Its address as it registered itself in the membership omap ("... addr=<ip:port/nonce> ...").
rados -c "$conf" -p rbd getomapval portico.gateways gw1 "$WORK/gw1.member" >/dev/null ||
  die "no membership record of gw1"
gw1_addr=$(tr ' ' '\n' <"$WORK/gw1.member" | sed -n 's/^addr=//p')
[[ -n $gw1_addr ]] || die "no addr= in gw1's membership record: $(cat "$WORK/gw1.member")"
dmesg -C
blk1=$(io_count "$path1"); blk2=$(io_count "$path2")
fio --name=blocklist --filename="$mpath" --ioengine=libaio --direct=1 --rw=randwrite --bs=4k \
  --iodepth=16 --size="$fio_size" --verify=crc32c --do_verify=1 --verify_fatal=1 --runtime=300 \
  --output="$WORK/fio-blocklist.txt" &
fio_pid=$!
BEFORE_LOGOUT_HOOKS+=("kill $fio_pid")
start_w=$(awk '{print $5}' "/sys/block/$dm/stat")
deadline=$(($(date +%s) + 240))
while (( $(awk '{print $5}' "/sys/block/$dm/stat") - start_w < target )); do
  kill -0 "$fio_pid" 2>/dev/null || die "fio ended before gw1 could be blocklisted"
  (($(date +%s) < deadline)) || die "fio made too little progress to blocklist gw1 in the middle"
  sleep 0.2
done
mid1=$(io_count "$path1")
((mid1 > blk1 + 50)) || die "fio's I/O must use gw1's path before the blocklist (+$((mid1 - blk1)))"
ceph -c "$conf" osd blocklist add "$gw1_addr" 3600 >/dev/null 2>&1 || die "ceph osd blocklist add $gw1_addr failed"
log "gw1's RADOS client $gw1_addr blocklisted after $((mid1 - blk1)) I/Os on its path"
gw1_pid=${GATEWAY_PIDS[gw1]}
gw1_rc=0
timeout 30 tail --pid="$gw1_pid" -f /dev/null || die "gw1 still runs 30 s after its blocklist"
wait "$gw1_pid" || gw1_rc=$?
unset "GATEWAY_PIDS[gw1]"
((gw1_rc == 75)) || { tail -n 20 "$WORK/gw1.log" >&2; die "gw1 exited $gw1_rc after its blocklist, not 75"; }
fio_rc=0
wait "$fio_pid" || fio_rc=$?
fio_out=$(cat "$WORK/fio-blocklist.txt")
echo "$fio_out" | grep -E 'err=|write:|read:' | head -n 4
((fio_rc == 0)) || { echo "$fio_out" >&2; die "fio exited $fio_rc across gw1's blocklist"; }
expect "fio: no errors across the blocklist" 'err= *0' "$fio_out"
expect_not "fio: errors across the blocklist" 'err= *[1-9]|verify: bad|crc32c: verify failed' "$fio_out"
end2=$(io_count "$path2")
((end2 > blk2 + 50)) || die "gw2's path carried no I/O across the blocklist (+$((end2 - blk2)))"
dmesg >"$ARTIFACTS/blocklist-kernel.txt"
# Which answer the host saw is a race (the writes inside librbd fail with EBLOCKLISTED and are
# answered 08h/00h; gw1 closes its sessions as soon as it learns it is fenced): report it.
sense=$(grep -c 'Logical unit communication failure' "$ARTIFACTS/blocklist-kernel.txt" || true)
failed=$(grep -c 'Failing path' "$ARTIFACTS/blocklist-kernel.txt" || true)
expect_not "no host I/O error on the multipath device" "$dm.*I/O error|Buffer I/O error on dev $dm" \
  "$(cat "$ARTIFACTS/blocklist-kernel.txt")"
log "gw1 exited 75 after its blocklist; fio finished with 0 errors and verify passed; the kernel logged" \
  "$sense 'Logical unit communication failure' sense(s) and $failed 'Failing path' line(s); gw2 path +$((end2 - blk2)) I/Os"
echo "BLOCKLIST_SENSE=$sense BLOCKLIST_FAILED_PATHS=$failed"
start_gateway gw1 "$WORK/gw1.yaml" 127.0.0.1 3260
wait_until 90 "gw1's path active/ready again after its new start" map_paths_ready 2
log "gw1 (a new RADOS client) serves its path again"

# ---- clean up: reservation, map, sessions, gateways (SIGTERM exits 0), cluster ----
mpathpersist --out --clear --param-rk=0xabc1 "$mpath" >/dev/null || die "mpathpersist CLEAR failed"
# SPC-4 5.12.11.2.6: CLEAR raises RESERVATIONS PREEMPTED on the other nexus; pr_in consumes it.
expect "no keys after CLEAR" 'NO registered reservation keys' "$(pr_in -k "$path2")"
# A path reinstated moments ago makes multipathd reload the map and udev probe it; while either
# holds it open, a flush answers "map in use". Wait for udev, then retry for a while.
flush_maps() { udevadm settle --timeout=5; multipath -F; }
wait_until 30 "multipath -F to flush the map" flush_maps
iscsi_logout "$portal1" "$iqn"
iscsi_logout "$portal2" "$iqn"
stop_gateway gw1
stop_gateway gw2
log "PASS two_gateways_test (stall ${stall_ms} ms)"
