#!/bin/bash
# Hostile NVMe/TCP input: nvme_hostile_input_test.py speaks raw NVMe/TCP to porticod -- PDUs out
# of sequence, unknown types, wrong header lengths, digest errors, data beyond an R2T, Connects
# to what does not exist -- and checks that each gets the C2HTermReq or status the transport
# specifies, that a controller connected beforehand keeps working, and that porticod survives
# and exits cleanly.
source "$(dirname "$0")/lib.sh"
require_tools python3

pick_port
((PORT < PORTICO_PORT_BASE + 7)) || die "no room for the NVMe port after $PORT"
nvme_port=$((PORTICO_PORT_BASE + 7))
nqn=nqn.2026-11.io.portico:hostile
cat >"$WORK/config.yaml" <<YAML
log:
  level: info
gateway:
  portals: ["127.0.0.1:$PORT"]
  nvme_listeners: ["127.0.0.1:$nvme_port"]
  nvme_discovery_listeners: ["127.0.0.1:$((nvme_port + 1))"]
targets:
  - iqn: iqn.2026-11.io.portico:hostile
    nvme:
      nqn: $nqn
    luns:
      - {lun: 0, backend: memory, size: 16MiB}
YAML
start_porticod "$WORK/config.yaml"
python3 "$(dirname "$0")/nvme_hostile_input_test.py" --port "$nvme_port" --pid "$PORTICOD_PID" --nqn "$nqn" \
  --wait "$PORTICO_WAIT_S" || die "nvme_hostile_input_test.py failed (see FAIL above)"
kill -0 "$PORTICOD_PID" 2>/dev/null || die "porticod (pid $PORTICOD_PID) is gone after the hostile input"
stop_porticod
