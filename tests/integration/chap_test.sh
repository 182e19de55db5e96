#!/bin/bash
# CHAP (RFC 7143 12.1.3, RFC 1994): the right secret logs in, a wrong secret or none is refused;
# mutual CHAP: the initiator checks the target's answer (libiscsi reads the target's credentials
# from LIBISCSI_CHAP_TARGET_USERNAME / LIBISCSI_CHAP_TARGET_PASSWORD). Per-initiator credentials:
# one host's secret does not log in under another host's name. A failed authentication is
# answered late, later with each failure from the same address.
source "$(dirname "$0")/lib.sh"
require_tools iscsi-inq

pick_port
iqn=iqn.2026-11.io.portico:chap
cat >"$WORK/config.yaml" <<YAML
gateway:
  portals: ["127.0.0.1:$PORT"]
targets:
  - iqn: $iqn
    chap:
      username: alice
      secret: alice-secret-123
    luns:
      - {lun: 0, backend: memory, size: 16MiB}
  - iqn: $iqn-mutual
    chap:
      username: bob
      secret: bob-secret-4567
      mutual_username: gateway
      mutual_secret: gateway-secret-89
    luns:
      - {lun: 0, backend: memory, size: 16MiB}
  - iqn: $iqn-hosts
    allowed_initiators:
      - {name: iqn.2026-11.io.portico:host1, chap: {username: host1, secret: host1-secret-12}}
      - {name: iqn.2026-11.io.portico:host2, chap: {username: host2, secret: host2-secret-34}}
    luns:
      - {lun: 0, backend: memory, size: 16MiB}
YAML
start_porticod "$WORK/config.yaml"

host=127.0.0.1:$PORT
LAST_LOGIN_MS=0
expect_login() {  # expect_login ok|refused DESCRIPTION URL [env...]; INITIATOR names the initiator
  local want=$1 what=$2 url=$3; shift 3
  local out rc=0 name=() start
  [[ -n "${INITIATOR:-}" ]] && name=(-i "$INITIATOR")
  start=$(date +%s%N)
  out=$(env "$@" iscsi-inq "${name[@]}" "$url" 2>&1) || rc=$?
  LAST_LOGIN_MS=$((($(date +%s%N) - start) / 1000000))
  if [[ $want == ok ]]; then
    ((rc == 0)) || { echo "$out" >&2; die "$what: login should succeed"; }
    expect_output "$what" "^Peripheral Device Type:DIRECT_ACCESS" "$out"
  else
    ((rc != 0)) || { echo "$out" >&2; die "$what: login should be refused"; }
  fi
  log "ok: $what (${LAST_LOGIN_MS} ms)"
}

expect_login ok      "one-way CHAP, right secret"  "iscsi://alice%alice-secret-123@$host/$iqn/0"
((LAST_LOGIN_MS < 900)) || die "a successful CHAP login took $LAST_LOGIN_MS ms"
expect_login refused "one-way CHAP, wrong secret"  "iscsi://alice%alice-secret-999@$host/$iqn/0"
((LAST_LOGIN_MS >= 900)) || die "the first failed CHAP login was answered after $LAST_LOGIN_MS ms, not 1 s"
expect_login refused "one-way CHAP, wrong user"    "iscsi://mallory%alice-secret-123@$host/$iqn/0"
((LAST_LOGIN_MS >= 1900)) || die "the second failed CHAP login was answered after $LAST_LOGIN_MS ms, not 2 s"
expect_login refused "no CHAP credentials"         "iscsi://$host/$iqn/0"

murl="iscsi://bob%bob-secret-4567@$host/$iqn-mutual/0"
expect_login ok      "mutual CHAP" "$murl" \
  LIBISCSI_CHAP_TARGET_USERNAME=gateway LIBISCSI_CHAP_TARGET_PASSWORD=gateway-secret-89
expect_login refused "mutual CHAP, target proves the wrong secret" "$murl" \
  LIBISCSI_CHAP_TARGET_USERNAME=gateway LIBISCSI_CHAP_TARGET_PASSWORD=not-the-gateway-secret
expect_login refused "mutual CHAP target, wrong initiator secret" \
  "iscsi://bob%bob-secret-0000@$host/$iqn-mutual/0" \
  LIBISCSI_CHAP_TARGET_USERNAME=gateway LIBISCSI_CHAP_TARGET_PASSWORD=gateway-secret-89

# Per-initiator credentials: the secret proves the initiator name.
hosts="$host/$iqn-hosts/0"
INITIATOR=iqn.2026-11.io.portico:host1 expect_login ok "host1 with its own secret" "iscsi://host1%host1-secret-12@$hosts"
INITIATOR=iqn.2026-11.io.portico:host2 expect_login ok "host2 with its own secret" "iscsi://host2%host2-secret-34@$hosts"
INITIATOR=iqn.2026-11.io.portico:host2 expect_login refused "host2's name with host1's credentials" \
  "iscsi://host1%host1-secret-12@$hosts"
INITIATOR=iqn.2026-11.io.portico:host2 expect_login refused "host2's name with host1's secret" \
  "iscsi://host2%host1-secret-12@$hosts"
INITIATOR=iqn.2026-11.io.portico:host3 expect_login refused "an initiator outside the ACL" \
  "iscsi://host1%host1-secret-12@$hosts"

stop_porticod
