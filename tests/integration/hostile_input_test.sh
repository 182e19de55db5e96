#!/bin/bash
# Hostile input (RFC 7143): hostile_input_test.py speaks raw iSCSI over TCP to porticod --
# unknown opcodes, oversized data segments, digest errors, out-of-place logins, truncated PDUs,
# a login flood -- and checks that each gets the protocol's answer or a closed connection, that
# a session logged in beforehand keeps working, and that porticod survives and exits cleanly.
source "$(dirname "$0")/lib.sh"
require_tools python3

pick_port
iqn=iqn.2026-11.io.portico:hostile
cat >"$WORK/config.yaml" <<YAML
log:
  level: info
gateway:
  name: it-$PORT
  portals: ["127.0.0.1:$PORT"]
  # The login flood opens 200 connections from 127.0.0.1: above the default cap per address,
  # which resource_bounds_test.sh checks on its own.
  max_connections_per_address: 512
targets:
  - iqn: $iqn
    luns:
      - {lun: 0, backend: memory, size: 64MiB}
YAML
start_porticod "$WORK/config.yaml"

python3 "$(dirname "$0")/hostile_input_test.py" --port "$PORT" --pid "$PORTICOD_PID" --target "$iqn" \
  --wait "$PORTICO_WAIT_S" || die "hostile_input_test.py failed (see FAIL above)"
kill -0 "$PORTICOD_PID" 2>/dev/null || die "porticod (pid $PORTICOD_PID) is gone after the hostile input"

stop_porticod
