#!/bin/bash
# The configuration record's CHAP secrets on a cluster that enforces keys and capabilities
# (cephx, a private cluster of this test's own):
#   - `portico auth set` keeps the secret in the monitors' config-key store and only a reference
#     in the record;
#   - a client confined to the pool (mon 'profile rbd', osd 'profile rbd pool=rbd') reads the
#     record but not the secret;
#   - a gateway whose client has the capabilities the README gives (profile rbd, and
#     config-key get under portico/) serves the target with that CHAP: a login without the
#     secret is refused, one with it admitted; a new secret set live replaces the old one, whose
#     key leaves the store.
source "$(dirname "$0")/lib.sh"
require_tools ceph rados rbd iscsi-inq
: "${PORTICO_CEPH_SCRIPT:?PORTICO_CEPH_SCRIPT must name scripts/ceph-cluster.sh}"
: "${PORTICO_CEPHX_MON_PORT:?PORTICO_CEPHX_MON_PORT must give the monitor port of this test}"
: "${PORTICO_CLI:?PORTICO_CLI must name the portico binary}"

pick_port
pool=rbd
cluster_dir="$WORK/ceph"
CLEANUP_COMMANDS+=("bash '$PORTICO_CEPH_SCRIPT' stop '$cluster_dir'")
conf=$(CEPH_AUTH=cephx bash "$PORTICO_CEPH_SCRIPT" start "$cluster_dir" "$PORTICO_CEPHX_MON_PORT") ||
  die "cannot start the cephx cluster"
ceph -c "$conf" auth get-or-create client.portico-gw mon 'profile rbd, allow command "config-key get" with key prefix portico/' \
  osd "profile rbd pool=$pool" -o "$WORK/gw.keyring" >/dev/null || die "cannot create the gateway's client"
ceph -c "$conf" auth get-or-create client.pool-only mon 'profile rbd' osd "profile rbd pool=$pool" \
  -o "$WORK/pool-only.keyring" >/dev/null || die "cannot create the pool-only client"
rbd -c "$conf" create --size 64M --image-feature layering "$pool/chap-disk" || die "cannot create the image"
iqn=iqn.2026-11.io.portico:chap
initiator=iqn.2026-11.io.portico:host-a
cli() { "$PORTICO_CLI" -c "$conf" -p "$pool" "$@"; }

cli target create "$iqn" >/dev/null || die "target create"
cli lun add "$iqn" "$pool/chap-disk" >/dev/null || die "lun add"
printf 'averysecretchap1\n' >"$WORK/secret"
cli auth set "$iqn" --username host-a --secret-file "$WORK/secret" >/dev/null || die "auth set"
record=$(rados -c "$conf" --id pool-only --keyring "$WORK/pool-only.keyring" -p "$pool" get portico.config -) ||
  die "the pool-only client must read the record"
grep -q averysecretchap1 <<<"$record" && die "the secret must not be in the record"
key=$(sed -nE 's/.*config-key:(portico\/[^",} ]*).*/\1/p' <<<"$record" | head -n 1)
[[ -n $key ]] || { echo "$record" >&2; die "the record must refer to the secret's key"; }
if out=$(ceph -c "$conf" --id pool-only --keyring "$WORK/pool-only.keyring" config-key get "$key" 2>&1); then
  die "the pool-only client must not read the secret"
fi
expect_output "refused by the monitor" "EACCES|access denied" "$out"
log "ok: the record (readable by a pool-only client) refers to $key, which that client cannot read"

cat >"$WORK/gw1.yaml" <<YAML
log:
  level: info
gateway:
  name: chap-gw1
  portals: ["127.0.0.1:$PORT"]
cluster:
  ceph_conf: $conf
  client: client.portico-gw
  keyring: $WORK/gw.keyring
  pool: $pool
  shared_config: true
YAML
start_gateway gw1 "$WORK/gw1.yaml" 127.0.0.1
if iscsi-inq -i "$initiator" "iscsi://127.0.0.1:$PORT/$iqn/0" >/dev/null 2>&1; then
  die "a login without the CHAP secret must be refused"
fi
iscsi-inq -i "$initiator" "iscsi://host-a%averysecretchap1@127.0.0.1:$PORT/$iqn/0" >/dev/null 2>&1 ||
  die "a login with the CHAP secret must be admitted"
log "ok: the gateway, as client.portico-gw, read the secret and requires it"

printf 'anothersecret123\n' >"$WORK/secret2"
out=$(cli auth set "$iqn" --username host-a --secret-file "$WORK/secret2") || die "auth set (rotation): $out"
expect_output "applied live" "1 of 1 gateway\(s\) serve version 4" "$out"
if iscsi-inq -i "$initiator" "iscsi://host-a%averysecretchap1@127.0.0.1:$PORT/$iqn/0" >/dev/null 2>&1; then
  die "the old secret must be refused"
fi
iscsi-inq -i "$initiator" "iscsi://host-a%anothersecret123@127.0.0.1:$PORT/$iqn/0" >/dev/null 2>&1 ||
  die "the new secret must be admitted"
if ceph -c "$conf" config-key exists "$key" >/dev/null 2>&1; then die "the old secret's key must leave the store"; fi
log "PASS secret_protection_test (the new secret applied live, the old one refused and removed)"
