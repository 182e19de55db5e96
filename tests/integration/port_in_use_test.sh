#!/bin/bash
# A second porticod on a portal that is already taken must exit promptly with a non-zero status
# and a message naming the portal -- not hang half-started -- and the first must keep serving.
source "$(dirname "$0")/lib.sh"
require_tools iscsi-inq

pick_port
iqn=iqn.2026-11.io.portico:portinuse
memory_config "$WORK/config.yaml" "$iqn" 16MiB
start_porticod "$WORK/config.yaml"

rc=0
out=$(timeout "$PORTICO_WAIT_S" "$PORTICOD" --config "$WORK/config.yaml" 2>&1) || rc=$?
echo "$out"
((rc != 124)) || die "the second porticod did not exit within ${PORTICO_WAIT_S}s"
((rc != 0)) || die "the second porticod exited 0 although its portal is taken"
expect_output "second porticod" "127\.0\.0\.1:$PORT" "$out"

expect_output "first porticod" "Vendor:PORTICO" \
  "$(iscsi-inq "iscsi://127.0.0.1:$PORT/$iqn/0" 2>&1)"
stop_porticod
