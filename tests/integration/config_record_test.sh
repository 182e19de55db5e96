#!/bin/bash
# The group's configuration record in RADOS (cluster.shared_config), with the portico command on
# the test cluster:
#   - an invalid record file is refused by `portico config import`, naming the key; nothing stored;
#   - a gateway whose record does not exist refuses to start, naming it;
#   - imported, the record is what `config export` prints; `porticod --check-config` validates it
#     with the gateway's file; two gateways start from it and serve the LUN with one identity;
#   - two imports racing from the same version: exactly one is stored, the other refused with
#     a clear message, and the record is one of the two files whole (never torn);
#   - a record written by hand (`rados put`) that is invalid: a gateway refuses to start and
#     says why, `config show` says why, the running gateway keeps serving; once a valid version
#     is imported, the running gateway applies it live and a gateway started then serves it
#     (catches up). Live changes of every kind: config_live_test.sh.
source "$(dirname "$0")/lib.sh"
require_tools rbd rados iscsi-inq
: "${PORTICO_CEPH_CONF:?needs the test cluster (PORTICO_CEPH_CONF)}"
: "${PORTICO_CLI:?PORTICO_CLI must name the portico binary}"

pick_port
pool=${PORTICO_CEPH_POOL:-rbd}
image="cfg-$$"
for name in "$image" "$image-b"; do
  rbd -c "$PORTICO_CEPH_CONF" create --size 64M --image-feature layering "$pool/$name" || die "cannot create $pool/$name"
  CLEANUP_COMMANDS+=("rbd -c '$PORTICO_CEPH_CONF' rm '$pool/$name'")
done
shared_config_group cfg
iqn=iqn.2026-11.io.portico:cfg

record() {  # record FILE LUN-IMAGE...: a record with one target and these images as LUNs 0, 1, ...
  local file=$1 lun=0 img
  shift
  { echo "targets:"; echo "  - iqn: $iqn"; echo "    luns:"
    for img in "$@"; do echo "      - {lun: $lun, backend: rbd, image: $pool/$img}"; lun=$((lun + 1)); done; } >"$file"
}
record "$WORK/one.yaml" "$image"
record "$WORK/a.yaml" "$image" "$image-b"
record "$WORK/b.yaml" "$image-b" "$image"
printf 'targets:\n  - iqn: %s\n    luns: [{lun: 0, backend: memory, size: 1MiB}]\n' "$iqn" >"$WORK/bad.yaml"

# ---- an invalid file is refused; nothing is stored ----
if out=$(cli config import "$WORK/bad.yaml" 2>&1); then die "an invalid record must be refused: $out"; fi
expect_output "import names the key" "targets\[0\]\.luns\[0\]\.backend.*nothing stored" "$out"
expect_output "nothing stored" "no configuration record yet" "$(cli config show)"
# ---- no record: a gateway refuses to start, naming it ----
rc=0
"$PORTICOD" --config "$WORK/gw1.yaml" >"$WORK/norecord.log" 2>&1 || rc=$?
((rc == 1)) || die "porticod without its record exited $rc (expected 1)"
grep -q "configuration record $pool/$record_object does not exist yet" "$WORK/norecord.log" ||
  { cat "$WORK/norecord.log" >&2; die "porticod must name the missing record"; }
log "ok: an invalid file is refused naming its key, and a gateway without its record does not start"

# ---- import, export, check, two gateways serving it ----
expect_output "import" "is now version 1 \(1 target\(s\), 1 LUN\(s\)\)" "$(cli config import "$WORK/one.yaml")"
cli config export | cmp - "$WORK/one.yaml" || die "config export differs from the imported file"
expect_output "check-config reads the record" "configuration is valid \(1 target" "$("$PORTICOD" --check-config "$WORK/gw1.yaml")"
start_gateway gw1 "$WORK/gw1.yaml" 127.0.0.1
start_gateway gw2 "$WORK/gw2.yaml" 127.0.0.2
# naa HOST: the NAA designator line of LUN 0 through HOST (VPD page 83h) in hex, "" when none.
naa() {
  iscsi-inq -e 1 -c 131 "iscsi://$1:$PORT/$iqn/0" 2>/dev/null |
    awk '/Designator Type:\(3\) NAA/ { getline; print; exit }' | od -An -tx1 | tr -d ' \n' || true
}
naa1=$(naa 127.0.0.1)
[[ -n $naa1 && $naa1 == "$(naa 127.0.0.2)" ]] || die "both gateways must serve the record's LUN with one NAA ($naa1)"
grep -q "configuration record $pool/$record_object version 1: 1 target" "$WORK/gw2.log" || die "gw2 does not log the version it serves"
serves cfg-gw1 1 && serves cfg-gw2 1 || die "gateway list must show both gateways serving version 1"
log "ok: imported as version 1, exported unchanged, served by both gateways with NAA $naa1 (gateway list: both at v1)"

# ---- racing imports from version 1: exactly one stored, never torn ----
cli config import --expect-version 1 "$WORK/a.yaml" >"$WORK/race-a.txt" 2>&1 &
race_a=$!
cli config import --expect-version 1 "$WORK/b.yaml" >"$WORK/race-b.txt" 2>&1 &
race_b=$!
ok=0
wait "$race_a" && ok=$((ok + 1))
wait "$race_b" && ok=$((ok + 1))
((ok == 1)) || die "of two imports from version 1, $ok were stored: $(cat "$WORK"/race-*.txt)"
expect_output "the loser is told why" "is no longer version 1: someone else changed it meanwhile; nothing stored" \
  "$(cat "$WORK"/race-*.txt)"
cli config export >"$WORK/now.yaml"
cmp -s "$WORK/now.yaml" "$WORK/a.yaml" || cmp -s "$WORK/now.yaml" "$WORK/b.yaml" || die "the record is neither file whole"
expect_output "version 2" "version 2: 1 target" "$(cli config show)"
serves cfg-gw1 2 && serves cfg-gw2 2 || die "both gateways must apply version 2 live"
naa2=$(naa 127.0.0.1)  # LUN 0 of whichever file won
[[ -n $naa2 && $naa2 == "$(naa 127.0.0.2)" ]] || die "both gateways must serve version 2's LUN 0 with one NAA"
log "ok: two imports raced from version 1, one stored whole and applied live by both, the other refused"

# ---- a hand-written invalid record ----
printf 'targets:\n  - iqn: not-an-iqn\n' | rados -c "$PORTICO_CEPH_CONF" -p "$pool" put "$record_object" - ||
  die "rados put failed"
if out=$(cli config show 2>&1); then die "config show must refuse an invalid record: $out"; fi
expect_output "config show says why" "version 2 is invalid: targets\[0\]" "$out"
stop_gateway gw2
rc=0
"$PORTICOD" --config "$WORK/gw2.yaml" >"$WORK/badrecord.log" 2>&1 || rc=$?
((rc == 1)) || die "porticod with an invalid record exited $rc (expected 1)"
grep -q "configuration record $pool/$record_object version 2: targets\[0\]" "$WORK/badrecord.log" ||
  { cat "$WORK/badrecord.log" >&2; die "porticod must say why the record is refused"; }
[[ $(naa 127.0.0.1) == "$naa2" ]] || die "gw1 must keep serving what it has (version 2)"
expect_output "import on top" "is now version 3" "$(cli config import --expect-version 2 "$WORK/one.yaml")"
start_gateway gw2 "$WORK/gw2.yaml" 127.0.0.2
grep -q "version 3: 1 target" "$WORK/gw2.log" || die "gw2 started later must serve version 3"
serves cfg-gw2 3 && serves cfg-gw1 3 || die "gateway list must show both gateways at version 3 (gw1 applied it live)"
expect_output "config show names who serves which version" "served by: cfg-gw1 v3, cfg-gw2 v3" "$(cli config show)"
[[ $(naa 127.0.0.2) == "$naa1" ]] || die "gw2 serves the LUN again"
log "ok: an invalid hand-written record is refused with the reason; gw1 keeps serving, then applies version 3 live; gw2 catches up to version 3"
log "PASS config_record_test"
