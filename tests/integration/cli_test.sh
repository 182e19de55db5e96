#!/bin/bash
# The `portico` command against a live gateway group on the test cluster: `gateway list` shows
# both gateways live with their ids and portals (text and --json), and one killed as expired once
# its lease ran out; `reservations IMAGE` shows the registrant and holder an initiator made through
# one gateway, from the RADOS record; bad arguments get one clear line and a non-zero status.
source "$(dirname "$0")/lib.sh"
require_tools rbd rados
: "${PORTICO_CEPH_CONF:?needs the test cluster (PORTICO_CEPH_CONF)}"
: "${PORTICO_CLI:?PORTICO_CLI must name the portico binary}"
: "${PORTICO_LOADGEN:?PORTICO_LOADGEN must name the portico-loadgen binary}"

pick_port
pool=${PORTICO_CEPH_POOL:-rbd}
image="cli-$$"
rbd -c "$PORTICO_CEPH_CONF" create --size 64M --image-feature layering "$pool/$image" || die "cannot create $pool/$image"
CLEANUP_COMMANDS+=("rbd -c '$PORTICO_CEPH_CONF' rm '$pool/$image'")
CLUSTER_POOL=$pool
CLUSTER_MEMBERSHIP=$image
CLEANUP_COMMANDS+=("rados -c '$PORTICO_CEPH_CONF' -p '$pool' rm 'portico.gateways.$image'")
iqn=iqn.2026-11.io.portico:cli
for n in 1 2; do
  lun_config "$WORK/gw$n.yaml" "$iqn" - "127.0.0.$n:$PORT" "backend: rbd" "image: $pool/$image"
  sed -i "s/^  name: .*/  name: cli-gw$n/" "$WORK/gw$n.yaml"
  start_gateway "gw$n" "$WORK/gw$n.yaml" "127.0.0.$n"
done
cli() { "$PORTICO_CLI" -c "$PORTICO_CEPH_CONF" -p "$pool" --gateways-object "portico.gateways.$image" "$@"; }
# json_get EXPRESSION: evaluates EXPRESSION on the JSON document read from stdin as `j`.
json_get() { python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"; }

# ---- gateway list ----
both_live() { [[ "$(cli --json gateway list | json_get 'sum(g["live"] for g in j["gateways"])')" == 2 ]]; }
deadline=$((SECONDS + 10))
until both_live; do ((SECONDS < deadline)) || die "gateway list never showed both gateways live"; sleep 0.2; done
text=$(cli gateway list)
echo "$text"
expect_output "gateway list: gw1 live with its portal" "^cli-gw1 +[0-9]+ +[0-9]+ +live .*iscsi 127\.0\.0\.1:$PORT" "$text"
expect_output "gateway list: gw2 live with its portal" "^cli-gw2 +[0-9]+ +[0-9]+ +live .*iscsi 127\.0\.0\.2:$PORT" "$text"
json=$(cli --json gateway list)
[[ "$(json_get 'len({g["target_port_group"] for g in j["gateways"]})' <<<"$json")" == 2 ]] ||
  die "each gateway has its own target port group: $json"
[[ "$(json_get 'j["gateways"][0]["lease_ms"]' <<<"$json")" == 6000 ]] || die "the lease the gateways recorded: $json"
log "ok: gateway list shows both gateways live, their groups and portals (text and JSON)"

# ---- reservations, through either gateway, read from RADOS ----
text=$(cli reservations "$pool/$image")
echo "$text"
expect_output "no registrant yet" "registrants: 0" "$text"
expect_output "no reservation yet" "reservation: none" "$text"
"$PORTICO_LOADGEN" --url "iscsi://127.0.0.2:$PORT/$iqn/0" --rw randread --seconds 4 --size 1MiB \
  --register-key 0xbeef --reserve-type 1 >"$WORK/loadgen.txt" 2>&1 &
loadgen=$!
held() { cli --json reservations "$pool/$image" | json_get 'j.get("reservation") is not None' | grep -qx True; }
deadline=$((SECONDS + 10))
until held; do ((SECONDS < deadline)) || die "the reservation never showed"; sleep 0.2; done
text=$(cli reservations "$image")  # NAME alone: in --pool
echo "$text"
expect_output "the registrant, its protocol and initiator port" "key 0xbeef +scsi +iqn\.2026-11\.io\.portico:loadgen,i,0x" "$text"
expect_output "it holds the reservation" "\[holder\]" "$text"
expect_output "the type" "reservation: Write Exclusive, held by iqn\.2026-11\.io\.portico:loadgen" "$text"
json=$(cli --json reservations "$pool/$image")
[[ "$(json_get 'j["registrants"][0]["key"], j["registrants"][0]["holder"], j["reservation"]["type_code"]' <<<"$json")" == "0xbeef True 1" ]] ||
  die "reservations --json: $json"
wait "$loadgen" || { cat "$WORK/loadgen.txt" >&2; die "portico-loadgen failed"; }
expect_output "the key is gone after the run" "registrants: 0" "$(cli reservations "$pool/$image")"
log "ok: reservations shows the registrant and holder made through gw2, then their removal"

# ---- bad arguments: one line, non-zero ----
if out=$(cli reservations "$pool/no-such-image-$$" 2>&1); then die "a missing image must fail: $out"; fi
expect_output "a missing image is named" "no-such-image-$$.*No such file" "$out"
if out=$(cli gateway list --lease-ms 0 2>&1); then die "--lease-ms 0 must be refused: $out"; fi
expect_output "the bad option is named" "lease-ms" "$out"
if out=$("$PORTICO_CLI" -c /nonexistent/ceph.conf gateway list 2>&1); then die "a missing ceph.conf must fail"; fi
expect_output "the missing ceph.conf is named" "/nonexistent/ceph.conf" "$out"
log "ok: bad arguments get one clear line and a non-zero status"

# ---- a gateway that died shows as expired once its lease ran out ----
kill -KILL "${GATEWAY_PIDS[gw1]}"
wait "${GATEWAY_PIDS[gw1]}" 2>/dev/null || true
unset 'GATEWAY_PIDS[gw1]'
gw1_expired() { cli gateway list | grep -Eq '^cli-gw1 +[0-9]+ +[0-9]+ +expired'; }
deadline=$((SECONDS + 20))
until gw1_expired; do ((SECONDS < deadline)) || die "gw1 never showed as expired"; sleep 0.5; done
expect_output "gw2 still live" "^cli-gw2 +[0-9]+ +[0-9]+ +live" "$(cli gateway list)"
log "ok: a killed gateway shows as expired after its lease, the other live"
log "PASS cli_test"
