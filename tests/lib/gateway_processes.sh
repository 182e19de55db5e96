# Stopping porticod processes started by a test, shared by tests/integration/lib.sh and
# tests/vm/lib.sh (which runs inside the test guest). Sourced, never run. The sourcing library
# provides log, die, the GATEWAY_PIDS map (name -> pid) and GATEWAY_STOP_WAIT_S.

# stop_gateway NAME: SIGTERM; the gateway must exit with status 0 within GATEWAY_STOP_WAIT_S.
stop_gateway() {
  local name=$1 pid=${GATEWAY_PIDS[$1]:?stop_gateway: $1 is not running} rc=0 deadline
  kill -TERM "$pid"
  deadline=$((SECONDS + GATEWAY_STOP_WAIT_S))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || die "gateway $name did not exit within ${GATEWAY_STOP_WAIT_S} s of SIGTERM"
    sleep 0.1
  done
  wait "$pid" || rc=$?
  unset "GATEWAY_PIDS[$name]"
  ((rc == 0)) || die "gateway $name exited with status $rc after SIGTERM (expected 0)"
  log "gateway $name exited 0 on SIGTERM"
}
