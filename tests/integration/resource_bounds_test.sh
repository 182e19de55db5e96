#!/bin/bash
# Resource bounds (issue: hardening): resource_bounds_test.py attacks a porticod with small
# limits -- a bad-digest Data-Out for a running write, immediate-command and unread-READ floods,
# silent and stalled logins, too many connections from one address, too many discovery sessions
# -- and checks the protocol's answers, bounded memory, and that porticod survives.
source "$(dirname "$0")/lib.sh"
require_tools python3

pick_port
iqn=iqn.2026-11.io.portico:bounds
cat >"$WORK/config.yaml" <<YAML
log:
  level: info
gateway:
  name: it-$PORT
  portals: ["127.0.0.1:$PORT"]
  nop_in_interval_s: 0
  login_timeout_s: 5
  max_connections_per_address: 16
  max_discovery_sessions: 2
  max_session_buffer: 8MiB
  max_buffer: 64MiB
targets:
  - iqn: $iqn
    luns:
      - {lun: 0, backend: memory, size: 64MiB}
      - {lun: 1, backend: memory, size: 16MiB, completion_delay_us: 300000}
YAML
start_porticod "$WORK/config.yaml"

PYTHONPATH="$(dirname "$0")" python3 "$(dirname "$0")/resource_bounds_test.py" --port "$PORT" \
  --pid "$PORTICOD_PID" --target "$iqn" --wait "$PORTICO_WAIT_S" || die "resource_bounds_test.py failed (see FAIL above)"
kill -0 "$PORTICOD_PID" 2>/dev/null || die "porticod (pid $PORTICOD_PID) is gone after the attacks"

stop_porticod
