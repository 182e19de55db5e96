#!/bin/bash
# Two gateways, one RBD image, active/active: starts the private micro Ceph cluster in
# /var/tmp/portico-two-gateways (monitor on 127.0.0.1:21600), creates the 1 GiB image rbd/shared
# without exclusive-lock, and runs gw1 (127.0.0.1:3260) and gw2 (127.0.0.2:3260) until Ctrl-C,
# then stops both gateways and the cluster (only the processes it started).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
porticod=${PORTICOD:-$root/build/release/daemon/porticod}
cluster_dir=/var/tmp/portico-two-gateways
conf=$cluster_dir/ceph.conf

[[ -x "$porticod" ]] || { echo "run.sh: $porticod is missing; build first (scripts/build.sh release)" >&2; exit 1; }
bash "$root/scripts/ceph-cluster.sh" start "$cluster_dir" 21600 >/dev/null
rbd -c "$conf" info rbd/shared >/dev/null 2>&1 ||
  rbd -c "$conf" create --size 1G --image-feature layering rbd/shared

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash "$root/scripts/ceph-cluster.sh" stop "$cluster_dir"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

for n in 1 2; do
  "$porticod" --config "$here/gw$n.yaml" > "$cluster_dir/gw$n.log" 2>&1 &
  pids+=($!)
done
cat <<MSG

Two gateways serve rbd/shared as iqn.2026-11.io.portico:shared (logs: $cluster_dir/gw1.log, gw2.log):
  iscsi-inq iscsi://127.0.0.1:3260/iqn.2026-11.io.portico:shared/0
  iscsi-inq iscsi://127.0.0.2:3260/iqn.2026-11.io.portico:shared/0
  sg_rtpg (or iscsi-test-cu's REPORT TARGET PORT GROUPS) lists both groups active/optimized.
Stop with Ctrl-C.

MSG
wait -n "${pids[@]}" || true
echo "run.sh: a gateway exited; see $cluster_dir/gw*.log" >&2
