#!/bin/bash
# SIGTERM while commands are in flight: porticod stops accepting, lets the commands finish,
# closes the sessions and exits 0 (README "Stop it with Ctrl-C or SIGTERM").
source "$(dirname "$0")/lib.sh"
: "${PORTICO_LOADGEN:?}"

pick_port
iqn=iqn.2026-11.io.portico:sigterm
memory_config "$WORK/config.yaml" "$iqn" 128MiB
start_porticod "$WORK/config.yaml"
url=iscsi://127.0.0.1:$PORT/$iqn/0

"$PORTICO_LOADGEN" --url "$url" --rw randwrite --bs 16K --qd 16 --seconds 30 >"$WORK/w.out" 2>&1 &
writer=$!
"$PORTICO_LOADGEN" --url "$url" --rw randread --bs 64K --qd 16 --seconds 30 >"$WORK/r.out" 2>&1 &
reader=$!
sleep 2
kill -0 "$writer" && kill -0 "$reader" || { cat "$WORK"/*.out >&2; die "the load stopped before SIGTERM"; }
stop_porticod
# The initiators see their connection closed: they must end promptly (they may report errors).
deadline=$((SECONDS + PORTICO_WAIT_S))
while kill -0 "$writer" 2>/dev/null || kill -0 "$reader" 2>/dev/null; do
  ((SECONDS < deadline)) || { kill -KILL "$writer" "$reader" 2>/dev/null; die "initiators still running after shutdown"; }
  sleep 0.1
done
wait "$writer" || true
wait "$reader" || true
cat "$WORK/w.out" "$WORK/r.out"
