#!/bin/bash
# Live changes of the group's configuration record through the portico command, two gateways on
# the test cluster, no restart:
#   - target create, then lun add: both gateways answer the notify, serve the LUN with one
#     identity, and the command says so (and how long the answers took);
#   - a second LUN, then lun remove of the first: LUN 0 is gone on both, LUN 1 still served, and
#     the removed image is closed by both (no watcher left on its header);
#   - host add from two shells at once: both land (one retries on the other's version);
#     the ACL then admits those initiators only;
#   - auth set: an initiator's CHAP secret kept in the monitors' config-key store, not in the
#     record, required by both gateways;
#     auth clear removes it;
#   - lun resize: both gateways report the new size; status lists a session through gw2;
#   - target create --nvme and lun add: both gateways serve the new NVMe subsystem and its
#     namespace (same identity through either); target delete ends it on both;
#   - a version the gateways cannot apply (an image that does not exist, imported as a file) is
#     refused by both with the reason, shown by `portico status`, and the previous version keeps
#     serving;
#   - a hand-written invalid version (rados put + a new version number) is refused the same way;
#   - a gateway stopped during a change catches up when it starts again;
#   - target delete: the target is gone from both.
source "$(dirname "$0")/lib.sh"
require_tools rbd rados ceph iscsi-inq iscsi-ls iscsi-readcapacity16
: "${PORTICO_CEPH_CONF:?needs the test cluster (PORTICO_CEPH_CONF)}"
: "${PORTICO_CLI:?PORTICO_CLI must name the portico binary}"
: "${PORTICO_NVME:?PORTICO_NVME must name the portico-nvme binary}"
: "${PORTICO_LOADGEN:?PORTICO_LOADGEN must name the portico-loadgen binary}"

pick_port
((PORT < PORTICO_PORT_BASE + 7)) || die "no room for the NVMe port after $PORT"
nvme_port=$((PORTICO_PORT_BASE + 7))
pool=${PORTICO_CEPH_POOL:-rbd}
image="live-$$"
for name in "$image-0" "$image-1" "$image-2"; do
  rbd -c "$PORTICO_CEPH_CONF" create --size 64M --image-feature layering "$pool/$name" || die "cannot create $pool/$name"
  CLEANUP_COMMANDS+=("rbd -c '$PORTICO_CEPH_CONF' rm '$pool/$name'")
done
shared_config_group live "$nvme_port"
iqn=iqn.2026-11.io.portico:live

initiator=iqn.2026-11.io.portico:host-a  # admitted before and after the ACL below
# naa HOST LUN: the NAA designator of LUN through HOST (VPD page 83h) in hex, "" when none.
naa() {
  iscsi-inq -i "$initiator" -e 1 -c 131 "iscsi://$1:$PORT/$iqn/$2" 2>/dev/null |
    awk '/Designator Type:\(3\) NAA/ { getline; print; exit }' | od -An -tx1 | tr -d ' \n' || true
}
# luns HOST: the LUNs iscsi-ls reports for the target through HOST, one line.
luns() { iscsi-ls -i "$initiator" -s "iscsi://$1:$PORT" 2>/dev/null | awk '/Lun:/ { sub(/^.*Lun:/, ""); print $1 }' | sort -nu | xargs || true; }

# ---- a target with no LUN yet, two gateways ----
expect_output "target create" "is now version 1" "$(cli target create "$iqn")"
start_gateway gw1 "$WORK/gw1.yaml" 127.0.0.1
start_gateway gw2 "$WORK/gw2.yaml" 127.0.0.2

# ---- lun add: both gateways serve it, with one identity ----
out=$(cli lun add "$iqn" "$pool/$image-0") || die "lun add failed: $out"
expect_output "lun add names the LUN" "is LUN 0 of $iqn" "$out"
expect_output "both gateways answer" "2 of 2 gateway\(s\) serve version 2 \(answers in [0-9]+ ms\)" "$out"
add_ms=$(sed -nE 's/.*answers in ([0-9]+) ms.*/\1/p' <<<"$out")
naa0=$(naa 127.0.0.1 0)
[[ -n $naa0 && $naa0 == "$(naa 127.0.0.2 0)" ]] || die "both gateways must serve LUN 0 with one NAA ($naa0)"
grep -q "applying version 2 of the configuration record: 1 LUN added" "$WORK/gw1.log" || die "gw1 must log what it applied"
log "ok: lun add served by both gateways within $add_ms ms of the write, NAA $naa0"

# ---- a second LUN, then the first removed ----
out=$(cli lun add "$iqn" "$pool/$image-1") || die "second lun add failed: $out"
expect_output "second LUN" "is LUN 1 of $iqn" "$out"
[[ $(luns 127.0.0.1) == "0 1" && $(luns 127.0.0.2) == "0 1" ]] || die "both gateways must report LUNs 0 1 ($(luns 127.0.0.1) / $(luns 127.0.0.2))"
out=$(cli lun remove "$iqn" 0) || die "lun remove failed: $out"
expect_output "both apply the removal" "2 of 2 gateway\(s\) serve version 4" "$out"
[[ $(luns 127.0.0.1) == "1" && $(luns 127.0.0.2) == "1" ]] || die "LUN 0 must be gone from both ($(luns 127.0.0.1) / $(luns 127.0.0.2))"
[[ -z $(naa 127.0.0.1 0) && -n $(naa 127.0.0.2 1) ]] || die "LUN 0 must not answer, LUN 1 must"
watchers=$(rbd -c "$PORTICO_CEPH_CONF" status "$pool/$image-0" 2>&1)
grep -q "Watchers: none" <<<"$watchers" || { echo "$watchers" >&2; die "the removed image must be closed by both gateways"; }
log "ok: LUN 1 added, LUN 0 removed on both; its image has no watcher left"

# ---- two shells change the record at once: both land ----
cli host add "$iqn" iqn.2026-11.io.portico:host-a >"$WORK/host-a.txt" 2>&1 &
a=$!
cli host add "$iqn" iqn.2026-11.io.portico:host-b >"$WORK/host-b.txt" 2>&1 &
b=$!
wait "$a" || die "host add a: $(cat "$WORK/host-a.txt")"
wait "$b" || die "host add b: $(cat "$WORK/host-b.txt")"
exported=$(cli config export)
grep -q "host-a" <<<"$exported" && grep -q "host-b" <<<"$exported" || { echo "$exported" >&2; die "both host adds must land"; }
expect_output "version 6" "version 6: 1 target" "$(cli config show)"
iscsi-inq -i iqn.2026-11.io.portico:host-a "iscsi://127.0.0.2:$PORT/$iqn/1" >/dev/null 2>&1 || die "host-a must be admitted"
if iscsi-inq -i iqn.2026-11.io.portico:host-c "iscsi://127.0.0.2:$PORT/$iqn/1" >/dev/null 2>&1; then
  die "host-c is not in the ACL any more"
fi
log "ok: two concurrent host adds both landed (version 6); the ACL admits host-a, refuses host-c"

# ---- CHAP, its secret in the monitors' config-key store ----
printf 'averysecretchap1\n' >"$WORK/secret"
out=$(cli auth set "$iqn" --initiator iqn.2026-11.io.portico:host-a --username host-a --secret-file "$WORK/secret") ||
  die "auth set: $out"
expect_output "both apply it" "2 of 2 gateway\(s\) serve version 7" "$out"
if cli config export | grep -q averysecretchap1 ||
   rados -c "$PORTICO_CEPH_CONF" -p "$pool" get "$record_object" - | grep -q averysecretchap1; then
  die "the secret must not be in the record"
fi
expect_output "the record refers to the store" "config-key:portico/$pool/$record_object/$iqn/iqn.2026-11.io.portico:host-a/secret" \
  "$(cli config export)"
expect_output "show names the CHAP user" "initiator iqn.2026-11.io.portico:host-a  CHAP host-a" "$(cli show)"
if iscsi-inq -i iqn.2026-11.io.portico:host-a "iscsi://127.0.0.2:$PORT/$iqn/1" >/dev/null 2>&1; then
  die "host-a without its CHAP secret must be refused"
fi
# The test cluster enforces no capabilities: what a pool-only client can read is
# secret_protection_test.sh's, on a cluster with cephx.
secret_key=$(cli config export | sed -nE 's/.*config-key:([^",}]*host-a\/secret[^",} ]*).*/\1/p' | head -n 1)
[[ -n $secret_key ]] || die "no secret reference in the record"
[[ $(ceph -c "$PORTICO_CEPH_CONF" config-key get "$secret_key" 2>/dev/null) == averysecretchap1 ]] ||
  die "the secret must be in the config-key store"
for host in 127.0.0.1 127.0.0.2; do
  iscsi-inq -i iqn.2026-11.io.portico:host-a "iscsi://host-a%averysecretchap1@$host:$PORT/$iqn/1" >/dev/null 2>&1 ||
    die "host-a with its CHAP secret must log in through $host"
done
out=$(cli auth clear "$iqn" --initiator iqn.2026-11.io.portico:host-a) || die "auth clear: $out"
expect_output "both apply it" "2 of 2 gateway\(s\) serve version 8" "$out"
keys=$(ceph -c "$PORTICO_CEPH_CONF" config-key ls 2>/dev/null || true)
if grep -q "portico/$pool/$record_object/" <<<"$keys"; then die "auth clear must remove the secret from the store"; fi
[[ -n $(naa 127.0.0.2 1) ]] || die "host-a logs in without CHAP again"
log "ok: CHAP of host-a set (version 7): its secret only in the config-key store, logins need it on both gateways; cleared (version 8)"

# ---- lun resize, and who is connected ----
out=$(cli lun resize "$pool/$image-1" 128MiB) || die "lun resize: $out"
for host in 127.0.0.1 127.0.0.2; do
  deadline=$((SECONDS + 10))
  until [[ $(iscsi-readcapacity16 -s -i "$initiator" "iscsi://$host:$PORT/$iqn/1" 2>/dev/null) == 134217728 ]]; do
    ((SECONDS < deadline)) || die "$host must report the new size of LUN 1 (128 MiB)"
    sleep 0.5
  done
done
"$PORTICO_LOADGEN" --url "iscsi://127.0.0.2:$PORT/$iqn/1" --initiator-name "$initiator" --rw read --seconds 8 \
  >"$WORK/loadgen.txt" 2>&1 &
loadgen=$!
deadline=$((SECONDS + 8))
until cli status | grep -A3 "^live-gw2:" | grep -q "iscsi  $iqn  <- $initiator"; do
  ((SECONDS < deadline)) || { cli status >&2; die "status must show the session through gw2"; }
  sleep 0.5
done
status_out=$(cli status)
wait "$loadgen" || die "loadgen: $(cat "$WORK/loadgen.txt")"
log "ok: LUN 1 resized to 128 MiB, seen through both gateways; status lists the session through gw2:"
grep -A3 "^live-gw2:" <<<"$status_out"

# ---- an NVMe subsystem comes and goes live ----
nqn=nqn.2026-11.io.portico:live-nvme
out=$(cli target create "$iqn-nvme" --nvme "$nqn") || die "target create --nvme: $out"
expect_output "both serve the subsystem" "2 of 2 gateway\(s\) serve version 9" "$out"
out=$(cli lun add "$iqn-nvme" "$pool/$image-2") || die "lun add to the NVMe target: $out"
expect_output "both serve its namespace" "2 of 2 gateway\(s\) serve version 10" "$out"
# nsid HOST: Identify Namespace 1 of the subsystem through HOST (size and identity lines).
nsid() {
  "$PORTICO_NVME" identify --addr "$1" --port "$nvme_port" --nqn "$nqn" --nsid 1 \
    --hostid 5f1e0c7a-0d2b-4c3e-9a41-7b2f8e6d1c0a 2>/dev/null | grep -E "^ *(size|nguid|eui64):" || true
}
ns1=$(nsid 127.0.0.1)
expect_output "namespace 1 through gw1" "size: 131072 blocks" "$ns1"
[[ $ns1 == "$(nsid 127.0.0.2)" ]] || die "namespace 1 must have one identity through both gateways"
out=$(cli target delete "$iqn-nvme") || die "target delete of the NVMe target: $out"
expect_output "both end it" "2 of 2 gateway\(s\) serve version 11" "$out"
[[ -z $(nsid 127.0.0.1) && -z $(nsid 127.0.0.2) ]] || die "the deleted subsystem must not be served"
log "ok: NVMe subsystem $nqn added (version 9), namespace 1 served through both with one identity (version 10), deleted (version 11)"

# ---- a version the gateways cannot apply ----
cat >"$WORK/missing-image.yaml" <<YAML
targets:
  - iqn: $iqn
    allowed_initiators: [iqn.2026-11.io.portico:host-a, iqn.2026-11.io.portico:host-b]
    luns:
      - {lun: 1, backend: rbd, image: $pool/$image-1}
      - {lun: 2, backend: rbd, image: $pool/$image-missing}
YAML
rc=0
out=$(cli config import "$WORK/missing-image.yaml" 2>&1) || rc=$?
((rc == 3)) || die "a version no gateway applies must exit 3 (got $rc): $out"
expect_output "each gateway says why" "live-gw1: refused version 12: .*$image-missing" "$out"
expect_output "each gateway says why" "live-gw2: refused version 12: .*$image-missing" "$out"
deadline=$((SECONDS + 5))  # the membership records follow with the gateways' next heartbeat
until [[ $(cli status | grep -c "refused version 12: .*$image-missing") == 2 ]]; do
  ((SECONDS < deadline)) || { cli status >&2; die "status must show both refusals"; }
  sleep 0.2
done
serves live-gw1 11 && serves live-gw2 11 || die "both gateways must still serve version 11"
[[ $(naa 127.0.0.1 1) == "$(naa 127.0.0.2 1)" && -n $(naa 127.0.0.1 1) && -z $(naa 127.0.0.1 2) ]] ||
  die "LUN 1 (and no LUN 2) must still be served"
log "ok: version 12 (a missing image) refused by both with the reason (status shows it), version 11 kept serving"

# ---- a hand-written invalid version ----
printf 'targets:\n  - iqn: not-an-iqn\n' | rados -c "$PORTICO_CEPH_CONF" -p "$pool" put "$record_object" - || die "rados put failed"
rados -c "$PORTICO_CEPH_CONF" -p "$pool" setxattr "$record_object" portico.version 13 || die "setxattr failed"
deadline=$((SECONDS + 20))
until grep -q "version 13 of the configuration record refused: targets\[0\]" "$WORK/gw1.log" &&
      grep -q "version 13 of the configuration record refused: targets\[0\]" "$WORK/gw2.log"; do
  ((SECONDS < deadline)) || die "both gateways must refuse version 13 (read at their next poll) and say why"
  sleep 0.5
done
[[ -n $(naa 127.0.0.1 1) && -n $(naa 127.0.0.2 1) ]] || die "LUN 1 must still be served after an invalid version"
log "ok: a hand-written invalid version 13 refused by both, with the reason logged; LUN 1 still served"

# ---- a gateway stopped during a change catches up ----
stop_gateway gw2
printf 'targets:\n  - iqn: %s\n    allowed_initiators: [iqn.2026-11.io.portico:host-a, iqn.2026-11.io.portico:host-b]\n    luns:\n      - {lun: 1, backend: rbd, image: %s}\n      - {lun: 2, backend: rbd, image: %s}\n' \
  "$iqn" "$pool/$image-1" "$pool/$image-0" >"$WORK/repair.yaml"
out=$(cli config import "$WORK/repair.yaml") || die "import while gw2 is down: $out"
expect_output "gw1 applies it" "1 of 1 gateway\(s\) serve version 14" "$out"
start_gateway gw2 "$WORK/gw2.yaml" 127.0.0.2
serves live-gw2 14 || die "gw2 started later must serve version 14"
[[ $(luns 127.0.0.2) == "1 2" && $(naa 127.0.0.2 2) == "$naa0" ]] || die "gw2 must serve LUNs 1 2, LUN 2 being image-0 ($naa0)"
log "ok: gw2, down during version 14, serves it once started"

# ---- target delete ----
out=$(cli target delete "$iqn") || die "target delete: $out"
expect_output "both apply it" "2 of 2 gateway\(s\) serve version 15" "$out"
[[ -z $(naa 127.0.0.1 1) && -z $(naa 127.0.0.2 1) ]] || die "the deleted target must not be served"
log "PASS config_live_test (lun add answered in $add_ms ms)"
