#!/bin/bash
# SendTargets discovery (RFC 7143 12.3) with iscsi-ls: the target is listed with every portal,
# IPv4 and IPv6, and iscsi-ls -s sees the LUN and its size.
source "$(dirname "$0")/lib.sh"
require_tools iscsi-ls

pick_port
iqn=iqn.2026-11.io.portico:discovery
portals="\"127.0.0.1:$PORT\""
if have_ipv6_loopback; then portals+=", \"[::1]:$PORT\""; else log "no IPv6 loopback here: IPv4 portal only"; fi
cat >"$WORK/config.yaml" <<YAML
gateway:
  portals: [$portals]
targets:
  - iqn: $iqn
    luns:
      - {lun: 0, backend: memory, size: 64MiB}
YAML
start_porticod "$WORK/config.yaml"

out=$(iscsi-ls iscsi://127.0.0.1:$PORT)
echo "$out"
expect_output "iscsi-ls" "^Target:$iqn Portal:127\.0\.0\.1:$PORT,[0-9]+" "$out"
if have_ipv6_loopback; then
  expect_output "iscsi-ls (IPv6 portal)" "^Target:$iqn Portal:\[::1\]:$PORT,[0-9]+" "$out"
  out6=$(iscsi-ls "iscsi://[::1]:$PORT")
  echo "$out6"
  expect_output "iscsi-ls over IPv6" "^Target:$iqn " "$out6"
fi

out=$(iscsi-ls -s iscsi://127.0.0.1:$PORT)
echo "$out"
# iscsi-ls computes last LBA x block size: 64 MiB shows as 63M (tgtd 1 GiB shows 1023M).
expect_output "iscsi-ls -s" "Lun:0 +Type:DIRECT_ACCESS \(Size:6[34]M\)" "$out"

stop_porticod
