#!/bin/bash
# Scale: one gateway group of 3 porticod gateways serving N LUNs (thin RBD images) on the micro
# Ceph cluster, from the group's configuration record. Prints start-up time per gateway,
# resident memory and threads (per gateway and per LUN), the RADOS objects and watches each LUN
# costs, PERSISTENT RESERVE OUT latency with the N LUNs loaded, and how long a LUN added with
# `portico lun add` takes to be served by all 3.
#
#   bench/scale_luns.sh [N]        # default 4096; PORTICO_BUILD (default build/release)
#
# With PORTICO_CEPH_CONF set it uses that cluster (ctest's fixture: ceph.scale_256_luns, which
# also sets SCALE_MAX_THREADS), else it
# starts a private one (scripts/ceph-cluster.sh) and stops it at the end. Images are created and
# removed through librbd's Python binding (python3-rbd), thousands per minute.
set -euo pipefail
n=${1:-4096}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${PORTICO_BUILD:-$root/build/release}")
porticod=${PORTICOD:-$build/daemon/porticod}
loadgen=${PORTICO_LOADGEN:-$build/tools/portico-loadgen}
portico=${PORTICO_CLI:-$build/cli/portico}
base_port=${PORTICO_SCALE_PORT:-24000}
work=$(mktemp -d "${TMPDIR:-/tmp}/portico-scale.XXXXXX")
prefix=portico-scale-
iqn=iqn.2026-11.io.portico:scale
py=/usr/bin/python3  # Debian's, with python3-rbd
t0=$(date +%s.%N)
log() { printf '[scale %6.1f s] %s\n' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b - a}')" "$*"; }
die() { log "FAIL: $*" >&2; exit 1; }
for tool in "$porticod" "$loadgen" "$portico"; do [[ -x $tool ]] || die "$tool is missing (build first)"; done
"$py" -c 'import rados, rbd' 2>/dev/null || die "python3-rbd is missing (apt-get install python3-rbd)"

pids=()
own_cluster=""
cleanup() {
  local rc=$? pid
  set +e
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  if [[ -n ${conf:-} ]]; then
    images remove >/dev/null 2>&1
    rbd -c "$conf" rm "rbd/${prefix}added" >/dev/null 2>&1
    rados -c "$conf" -p rbd rm portico.scale.config >/dev/null 2>&1
  fi
  [[ -n $own_cluster ]] && bash "$root/scripts/ceph-cluster.sh" stop "$own_cluster" >/dev/null 2>&1
  if ((rc == 0)); then rm -rf "$work"; else log "logs kept in $work"; fi
  exit "$rc"
}
trap cleanup EXIT

if [[ -n ${PORTICO_CEPH_CONF:-} ]]; then
  conf=$PORTICO_CEPH_CONF
else
  own_cluster=$work/ceph
  conf=$(bash "$root/scripts/ceph-cluster.sh" start "$own_cluster" 21700)
  log "private micro cluster: $conf"
fi

# images create|remove|first-id: N thin 64 MiB images named $prefix00000...; first-id prints the
# first one's RBD image id.
images() {
  "$py" - "$conf" "$n" "$prefix" "$1" <<'PY'
import sys, rados, rbd
conf, n, prefix, action = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with rados.Rados(conffile=conf) as cluster, cluster.open_ioctx("rbd") as io:
    r = rbd.RBD()
    existing = set(r.list(io))
    for i in range(n):
        name = f"{prefix}{i:05d}"
        if action == "create" and name not in existing:
            r.create(io, name, 64 << 20, old_format=False, features=rbd.RBD_FEATURE_LAYERING)
        elif action == "remove" and name in existing:
            r.remove(io, name)
        elif action == "first-id":
            with rbd.Image(io, name, read_only=True) as image:
                print(image.id())
            break
        if (i + 1) % 1024 == 0:
            print(f"  {action}: {i + 1}/{n} images", file=sys.stderr, flush=True)
PY
}
started=$(date +%s.%N)
images create
log "$n thin images created in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}') s"
objects_before=$(rados -c "$conf" -p rbd ls 2>/dev/null | grep -c '^portico\.' || true)

# targets_yaml LUNS: the target with LUNs 0..LUNS-1.
targets_yaml() {
  local luns=$1 i
  printf 'targets:\n  - iqn: %s\n    luns:\n' "$iqn"
  for ((i = 0; i < luns; ++i)); do printf '      - {lun: %d, backend: rbd, image: rbd/%s%05d}\n' "$i" "$prefix" "$i"; done
}
# gateway_yaml NAME INDEX LUNS: a clustered gateway on 127.0.0.INDEX serving LUNs 0..LUNS-1 from
# its own file, or (LUNS = record) from the configuration record.
gateway_yaml() {
  local name=$1 index=$2 luns=$3
  printf 'log:\n  level: warn\ngateway:\n  name: %s\n  portals: ["127.0.0.%d:%d"]\n' "$name" "$index" "$base_port"
  printf 'cluster:\n  ceph_conf: %s\n  pool: rbd\n  gateways_object: portico.scale.gateways\n' "$conf"
  if [[ $luns == record ]]; then
    printf '  shared_config: true\n  config_object: portico.scale.config\n'
  else
    targets_yaml "$luns"
  fi
}
cli() { "$portico" -c "$conf" -p rbd --gateways-object portico.scale.gateways --config-object portico.scale.config "$@"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
threads() { awk '/^Threads/ {print $2}' "/proc/$1/status"; }
# start NAME INDEX LUNS: starts a gateway, waits until it serves; sets started_pid and
# started_seconds.
start() {
  local name=$1 index=$2 luns=$3 pid begin
  gateway_yaml "$name" "$index" "$luns" >"$work/$name.yaml"
  begin=$(date +%s.%N)
  "$porticod" --config "$work/$name.yaml" --log-level info >"$work/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  until grep -q "serving 1 target" "$work/$name.log"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$work/$name.log" >&2; die "$name exited during start-up"; }
    sleep 0.1
  done
  started_pid=$pid
  started_seconds=$(awk -v a="$begin" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')
}

# A one-LUN gateway first: the memory a gateway costs before its LUNs.
start ref 1 1
ref_pid=$started_pid ref_s=$started_seconds
ref_rss=$(rss_kib "$ref_pid")
ref_threads=$(threads "$ref_pid")
kill -TERM "$ref_pid"; wait "$ref_pid" || true
pids=()
log "reference: 1 LUN, started in $ref_s s, RSS $((ref_rss / 1024)) MiB, $ref_threads threads"

targets_yaml "$n" >"$work/record.yaml"
rados -c "$conf" -p rbd rm portico.scale.config >/dev/null 2>&1 || true
cli config import "$work/record.yaml" | head -n 1 || die "cannot import the configuration record"
declare -A pid_of secs_of
for i in 1 2 3; do
  start "gw$i" "$i" record
  pid_of[gw$i]=$started_pid
  secs_of[gw$i]=$started_seconds
  log "gw$i serves $n LUNs ${secs_of[gw$i]} s after its start"
done

printf '\n%-6s %10s %10s %9s %12s\n' gateway "start (s)" "RSS (MiB)" threads "KiB per LUN"
for gw in gw1 gw2 gw3; do
  rss=$(rss_kib "${pid_of[$gw]}")
  printf '%-6s %10s %10d %9d %12d\n' "$gw" "${secs_of[$gw]}" $((rss / 1024)) "$(threads "${pid_of[$gw]}")" \
    $(((rss - ref_rss) / (n > 1 ? n - 1 : 1)))
done

# RADOS objects and watches per LUN (ours; librbd's header watch besides).
objects_after=$(rados -c "$conf" -p rbd ls 2>/dev/null | grep -c '^portico\.' || true)
first_id=$(images first-id)
lun_object=$(rados -c "$conf" -p rbd ls 2>/dev/null | grep -m1 "^portico\.lun\..*$first_id" || true)
ours=0; header=0
[[ -n $lun_object ]] && ours=$(rados -c "$conf" -p rbd listwatchers "$lun_object" 2>/dev/null | grep -c watcher= || true)
header=$(rados -c "$conf" -p rbd listwatchers "rbd_header.$first_id" 2>/dev/null | grep -c watcher= || true)
printf '\nRADOS objects per LUN (portico.*): %s   watches on one LUN: %s on its portico object, %s on its image header (3 gateways)\n' \
  "$(awk -v a="$objects_after" -v b="$objects_before" -v n="$n" 'BEGIN{printf "%.2f", (a - b) / n}')" "$ours" "$header"

# PERSISTENT RESERVE OUT with every LUN loaded, through gw1, on the first and the last LUN.
for lun in 0 $((n - 1)); do
  out=$("$loadgen" --url "iscsi://127.0.0.1:$base_port/$iqn/$lun" --rw pr-register --ios 200 2>&1 | tail -n 1)
  [[ $out == *errors=0* ]] || die "PR OUT on LUN $lun: $out"
  printf 'PR OUT (REGISTER / unregister, 3 gateways, %d LUNs) on LUN %d: %s\n' "$n" "$lun" "$out"
done
# A LUN added through the portico command with N LUNs served: the command returns once every
# gateway has answered the notify with the version applied (its LUN attached, its image open).
rbd -c "$conf" create --size 64M --image-feature layering "rbd/${prefix}added" >/dev/null
begin=$(date +%s.%N)
out=$(cli lun add "$iqn" "rbd/${prefix}added") || { echo "$out" >&2; die "lun add failed"; }
command_ms=$(awk -v a="$begin" -v b="$(date +%s.%N)" 'BEGIN{printf "%d", (b - a) * 1000}')
grep -q "3 of 3 gateway(s) serve version 2" <<<"$out" || { echo "$out" >&2; die "not every gateway applied the new LUN"; }
answers_ms=$(sed -nE 's/.*answers in ([0-9]+) ms.*/\1/p' <<<"$out")
for i in 1 2 3; do
  "$loadgen" --url "iscsi://127.0.0.$i:$base_port/$iqn/$n" --rw read --ios 10 >/dev/null 2>&1 ||
    die "gw$i does not serve the added LUN $n"
done
printf 'LUN %d added with portico lun add: served by all 3 gateways %d ms after the write (command %d ms)\n' \
  "$n" "$answers_ms" "$command_ms"
for gw in gw1 gw2 gw3; do
  kill -0 "${pid_of[$gw]}" 2>/dev/null || die "$gw died during the run"
done
SCALE_THREADS=$(threads "${pid_of[gw1]}")
# How long a gateway of N LUNs takes to stop on SIGTERM (systemd waits 90 s by default).
begin=$(date +%s.%N)
kill -TERM "${pid_of[gw1]}"
rc=0
wait "${pid_of[gw1]}" || rc=$?
printf 'gw1 stopped %.1f s after SIGTERM, exit status %d\n' "$(awk -v a="$begin" -v b="$(date +%s.%N)" 'BEGIN{print b - a}')" "$rc"
((rc == 0)) || die "gw1 exited $rc on SIGTERM"
echo "SCALE_LUNS=$n SCALE_THREADS=$SCALE_THREADS"
# As a test (ctest sets it): a gateway's threads must not grow with its LUNs (counted before gw1 stopped).
if [[ -n ${SCALE_MAX_THREADS:-} ]] && ((SCALE_THREADS > SCALE_MAX_THREADS)); then
  die "gw1 runs $SCALE_THREADS threads for $n LUNs (at most $SCALE_MAX_THREADS expected)"
fi
