#!/bin/bash
# portico-vm-init: systemd
# Runs inside the test guest booted with systemd as PID 1 (the marker above): two gateways as
# instances of the shipped unit template, packaging/systemd/porticod@.service, serve one RBD image
# of the guest's micro Ceph cluster to the kernel initiator through dm-multipath:
#   - porticod@gw1 and porticod@gw2 start from /etc/portico/<instance>.yaml, log to the journal;
#   - gw1 killed with SIGKILL: systemd restarts it after RestartSec (1 s) and its multipath path
#     comes back;
#   - gw1's RADOS client blocklisted (as a peer's fencing does): it exits 75, systemd restarts it
#     with a new client, and its path comes back again;
#   - an instance with an invalid configuration exits 78 and is not restarted;
#   - systemctl stop ends an instance with SIGTERM, cleanly (status 0, inactive, not failed).
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools systemctl journalctl iscsiadm multipath multipathd rbd ceph rados
[[ "$(cat /proc/1/comm)" == systemd ]] || die "PID 1 is $(cat /proc/1/comm), not systemd"

iqn=iqn.2026-11.io.portico:shared
portal1=127.0.0.1:3260
portal2=127.0.0.2:3260
unit_file=${PORTICO_BUILD:?}/packaging/porticod@.service
[[ -f "$unit_file" ]] || die "no unit file $unit_file (configured by packaging/CMakeLists.txt)"

start_guest_ceph /var/tmp/portico-vm-ceph
rbd -c "$CEPH_CONF" create --size 256M --image-feature layering rbd/shared

# ---- the unit as shipped; its ExecStart names where `cmake --install` puts porticod ----
exe=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit_file")
[[ -n "$exe" ]] || die "no ExecStart in $unit_file"
mkdir -p "$(dirname "$exe")" /etc/portico
ln -sf "$PORTICO_BUILD/daemon/porticod" "$exe"
cp "$unit_file" /etc/systemd/system/
systemctl daemon-reload
EXIT_HOOKS+=("systemctl stop 'porticod@*'" "journalctl -o short-precise -u 'porticod@*' >$ARTIFACTS/journal.txt"
            "journalctl -b -o short-precise >$ARTIFACTS/journal-all.txt")
for gw in gw1 gw2; do
  portal=$portal1
  [[ $gw == gw2 ]] && portal=$portal2
  { cluster_gateway_config "$gw" "$portal"
    cat <<EOF
targets:
  - iqn: $iqn
    luns:
      - {lun: 0, backend: rbd, image: rbd/shared}
EOF
  } >"/etc/portico/$gw.yaml"
done
systemctl start porticod@gw1 porticod@gw2 || die "systemctl start failed: $(systemctl status 'porticod@*' 2>&1 | tail -n 20)"
wait_until 60 "gw1 to accept on $portal1" port_in_use 127.0.0.1 3260
wait_until 60 "gw2 to accept on $portal2" port_in_use 127.0.0.2 3260
journal_has() { journalctl -o cat -u "porticod@$1" | grep -qF -- "$2"; }
wait_until 10 "gw1's start in the journal" journal_has gw1 "serving 1 target(s)"
log "porticod@gw1 and porticod@gw2 active; their log lines are in the journal"

# ---- both paths, found through gw1's SendTargets ----
systemctl start iscsid || die "iscsid did not start"
sendtargets_lists_both() {
  local out
  out=$(iscsiadm -m discovery -t sendtargets -p "$portal1") || return 1
  grep -qx "$portal1,[0-9]* $iqn" <<<"$out" && grep -qx "$portal2,[0-9]* $iqn" <<<"$out"
}
wait_until 30 "SendTargets through gw1 to list both gateways" sendtargets_lists_both
for portal in "$portal1" "$portal2"; do
  iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.session.timeo.replacement_timeout -v 1
  iscsiadm -m node -T "$iqn" -p "$portal" --login >/dev/null || die "login through $portal failed"
done
write_multipath_conf
systemctl restart multipathd || die "multipathd did not start"  # with the configuration above
BEFORE_LOGOUT_HOOKS+=("multipath -F")
paths_ready() { [[ "$(multipath -ll 2>/dev/null | grep -c 'active ready running')" == "$1" ]]; }
if ! (wait_until 60 "multipath map with 2 ready paths" paths_ready 2); then
  multipathd show paths >&2
  multipath -v3 >&2 2>&1 | tail -n 40 >&2
  die "no multipath map with 2 ready paths"
fi
path1=$(wait_disk "$portal1" "$iqn" 0)
log "multipath map with both paths ready (gw1 path /dev/$path1)"

restarts() { systemctl show -p NRestarts --value porticod@gw1; }
main_pid() { systemctl show -p MainPID --value porticod@gw1; }
path1_ready() { multipath -ll 2>/dev/null | grep -q "$path1 .*active ready running"; }
path1_failed() { ! path1_ready; }
# back_after WHAT START-MS: waits for gw1's restart and its path, logs how long it took.
back_after() {
  local what=$1 start=$2 want=$3
  restarted() { [[ "$(restarts)" == "$want" && "$(main_pid)" != 0 ]] && port_in_use 127.0.0.1 3260; }
  wait_until 60 "systemd to restart gw1 after $what (NRestarts $want)" restarted
  local up=$(($(now_ms) - start))
  wait_until 60 "gw1's path to be active again after $what" path1_ready
  log "$what: systemd restarted gw1 (NRestarts=$want) in $up ms; its path active again in $(($(now_ms) - start)) ms"
}

# ---- SIGKILL: systemd restarts it ----
pid=$(main_pid)
((pid > 0)) || die "porticod@gw1 has no main pid"
start=$(now_ms)
kill -KILL "$pid"
wait_until 30 "multipath to fail gw1's path" path1_failed
back_after "SIGKILL" "$start" 1

# ---- fenced (exit 75): systemd restarts it with a new RADOS client ----
rados -c "$CEPH_CONF" -p rbd getomapval portico.gateways gw1 "$WORK/gw1.member" >/dev/null || die "no membership record of gw1"
addr=$(tr ' ' '\n' <"$WORK/gw1.member" | sed -n 's/^addr=//p')
[[ -n $addr ]] || die "no addr= in gw1's membership record"
start=$(now_ms)
ceph -c "$CEPH_CONF" osd blocklist add "$addr" 3600 >/dev/null 2>&1 || die "ceph osd blocklist add $addr failed"
# The heartbeat finds the blocklist within a second or two; until then nothing touches the path.
back_after "the blocklist of its RADOS client" "$start" 2
journal_has gw1 "fenced by another gateway: stopping, exit status 75" || die "gw1's journal does not say it was fenced"
journalctl -o cat -u porticod@gw1 | grep -q 'status=75' || die "systemd did not record exit status 75 for gw1"
log "gw1 exited 75 when fenced and systemd started a new incarnation"

# ---- an invalid configuration: exit 78, not restarted ----
printf 'gateway:\n  portals: ["127.0.0.3:3260"]\n  io_threads: 0\ntargets: []\n' >/etc/portico/broken.yaml
systemctl start porticod@broken 2>/dev/null || true
broken_failed() { [[ "$(systemctl show -p ActiveState --value porticod@broken)" == failed ]]; }
wait_until 20 "porticod@broken to fail" broken_failed
sleep 3  # RestartSec is 1 s: a restart would have happened by now
status=$(systemctl show -p ExecMainStatus --value porticod@broken)
n=$(systemctl show -p NRestarts --value porticod@broken)
[[ "$status" == 78 && "$n" == 0 ]] || die "porticod@broken: exit status $status, restarts $n (expected 78, 0)"
journal_has broken "invalid configuration" || die "porticod@broken's journal does not name the invalid configuration"
log "an invalid configuration: exit status 78, no restart, the journal names the key"

# ---- clean stop and session cleanup ----
multipath -F >/dev/null 2>&1 || { sleep 2; multipath -F; } || die "multipath -F failed"
iscsiadm -m node --logoutall=all >/dev/null
systemctl stop porticod@gw2
[[ "$(systemctl show -p ExecMainStatus --value porticod@gw2)" == 0 &&
   "$(systemctl show -p ActiveState --value porticod@gw2)" == inactive ]] ||
  die "porticod@gw2 after systemctl stop: status $(systemctl show -p ExecMainStatus --value porticod@gw2), $(systemctl show -p ActiveState --value porticod@gw2)"
systemctl stop porticod@gw1
log "PASS systemd_gateway_test"
