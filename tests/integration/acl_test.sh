#!/bin/bash
# Initiator ACL: only the listed initiator names may log in to the target (RFC 7143 11.13.5:
# the target answers the login with status class 2, "initiator error").
source "$(dirname "$0")/lib.sh"
require_tools iscsi-inq

pick_port
iqn=iqn.2026-11.io.portico:acl
cat >"$WORK/config.yaml" <<YAML
gateway:
  portals: ["127.0.0.1:$PORT"]
targets:
  - iqn: $iqn
    allowed_initiators: [iqn.2026-11.io.portico:host1, iqn.2026-11.io.portico:host2]
    luns:
      - {lun: 0, backend: memory, size: 16MiB}
YAML
start_porticod "$WORK/config.yaml"
url=iscsi://127.0.0.1:$PORT/$iqn/0

for ok in host1 host2; do
  out=$(iscsi-inq -i "iqn.2026-11.io.portico:$ok" "$url")
  expect_output "allowed initiator $ok" "^Peripheral Device Type:DIRECT_ACCESS" "$out"
  log "ok: $ok admitted"
done
for bad in iqn.2026-11.io.portico:host3 iqn.2026-11.io.portico:host1x; do
  if out=$(iscsi-inq -i "$bad" "$url" 2>&1); then
    echo "$out" >&2
    die "initiator $bad is not in the ACL but logged in"
  fi
  log "ok: $bad refused"
done
stop_porticod
