#!/bin/bash
# A real, private Ceph cluster for tests, the demo and benchmarks: one monitor and one OSD
# (bluestore on a sparse file), everything on 127.0.0.1 in a private port range, pid files in the
# cluster's folder. `stop` kills only the pids this script started.
#
#   scripts/ceph-cluster.sh start DIR [MON_PORT]   # prints the ceph.conf path when the pool works
#   scripts/ceph-cluster.sh stop DIR
#   scripts/ceph-cluster.sh status DIR
#   scripts/ceph-cluster.sh kill-osd DIR     # SIGKILL the OSD, as a crash (fault-injection tests)
#   scripts/ceph-cluster.sh start-osd DIR    # start it again; returns when its PGs are active
#   scripts/ceph-cluster.sh freeze-osd DIR   # SIGSTOP the OSD: connections stay open, nothing answers
#   scripts/ceph-cluster.sh thaw-osd DIR     # SIGCONT it
#
# Several clusters coexist when their folders and MON_PORTs differ (MON_PORT and MON_PORT+1 are
# the monitor's v2 and v1 ports; daemons bind in MON_PORT+10 .. MON_PORT+99).
# Environment: CEPH_POOL (default "rbd"), CEPH_OSD_SIZE (default 20G, sparse), CEPH_AUTH
# ("none", the default: no authentication, as most tests want; "cephx": keys and capabilities
# enforced, client.admin's key in DIR/keyring, for tests of what a client may do).
set -euo pipefail

usage() { echo "usage: $0 start|stop|status|kill-osd|start-osd|freeze-osd|thaw-osd DIR [MON_PORT]" >&2; exit 2; }
(($# >= 2)) || usage
action=$1
dir=$(realpath -m "$2")
mon_port=${3:-6789}
pool=${CEPH_POOL:-rbd}
osd_size=${CEPH_OSD_SIZE:-20G}
auth=${CEPH_AUTH:-none}
[[ $auth == none || $auth == cephx ]] || { echo "ceph-cluster: CEPH_AUTH must be none or cephx" >&2; exit 2; }
conf="$dir/ceph.conf"

log() { echo "ceph-cluster: $*" >&2; }

stop_pid_file() {
  local pid_file=$1 pid
  [[ -f "$pid_file" ]] || return 0
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
}

ceph_cmd() { timeout 30 ceph -c "$conf" "$@"; }

write_conf() {
  local fsid=$1
  cat > "$conf" <<EOF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$mon_port,v1:127.0.0.1:$((mon_port + 1))]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
public_network = 127.0.0.1/32
ms_bind_ipv6 = false
ms_bind_port_min = $((mon_port + 10))
ms_bind_port_max = $((mon_port + 99))
auth_cluster_required = $auth
auth_service_required = $auth
auth_client_required = $auth
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_autoscale_mode = off
mon_warn_on_pool_no_redundancy = false
mon_allow_pool_delete = true
run_dir = $dir/run
log_file = $dir/log/\$name.log
admin_socket = $dir/run/\$name.asok
pid_file = $dir/run/\$name.pid
keyring = $dir/keyring
# Several gateways write one image: no client may cache data.
rbd_cache = false
rbd_default_features = layering

[mon]
mon_data = $dir/mon/\$cluster-\$id

[osd]
osd_data = $dir/osd/\$cluster-\$id
osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = $osd_size
bluestore_block_path = $dir/osd/\$cluster-\$id.block
bluestore_cache_size = 268435456
bluestore_cache_autotune = false
osd_memory_target = 1073741824
EOF
}

start() {
  if [[ -f "$dir/run/mon.a.pid" ]] && kill -0 "$(cat "$dir/run/mon.a.pid")" 2>/dev/null; then
    log "already running in $dir"
    echo "$conf"
    return 0
  fi
  for tool in ceph-mon ceph-osd ceph monmaptool rbd; do
    command -v "$tool" >/dev/null || { log "$tool is missing: run scripts/install-deps.sh"; exit 1; }
  done
  local started=$SECONDS fsid uuid
  # Another cluster on this port would answer our commands: refuse instead of mixing them up.
  if (exec 3<>"/dev/tcp/127.0.0.1/$mon_port") 2>/dev/null; then
    log "port $mon_port is already in use (another cluster?); choose another MON_PORT"
    exit 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"/{run,log,mon,osd}
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"

  log "monitor on 127.0.0.1:$mon_port"
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port,v1:127.0.0.1:$((mon_port + 1))]" \
    "$dir/monmap" >/dev/null
  local osd_key=""
  if [[ $auth == cephx ]]; then
    ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool "$dir/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
      --cap mgr 'allow *' >/dev/null
    osd_key=$(ceph-authtool --gen-print-key)
  fi
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" ${osd_key:+--keyring "$dir/keyring"} >/dev/null 2>&1 || {
    log "ceph-mon --mkfs failed"; exit 1; }
  ceph-mon -c "$conf" -i a 2>>"$dir/log/daemons.stderr"
  for _ in $(seq 1 100); do ceph_cmd -s >/dev/null 2>&1 && break; sleep 0.2; done
  ceph_cmd -s >/dev/null || { log "monitor did not answer; see $dir/log/mon.a.log"; exit 1; }

  log "OSD (bluestore on a sparse $osd_size file)"
  uuid=$(cat /proc/sys/kernel/random/uuid)
  if [[ -n $osd_key ]]; then
    # The OSD's key: registered with the monitor, then in the keyring the OSD reads.
    echo "{\"cephx_secret\": \"$osd_key\"}" | ceph_cmd osd new "$uuid" 0 -i - >/dev/null
    ceph-authtool "$dir/keyring" --add-key "$osd_key" -n osd.0 >/dev/null
  else
    ceph_cmd osd new "$uuid" 0 >/dev/null
  fi
  mkdir -p "$dir/osd/ceph-0"
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$uuid" >/dev/null 2>&1 || {
    log "ceph-osd --mkfs failed; see $dir/log/osd.0.log"; exit 1; }
  ceph-osd -c "$conf" -i 0 2>>"$dir/log/daemons.stderr"
  for _ in $(seq 1 150); do
    ceph_cmd osd dump 2>/dev/null | grep -q '^osd.0 up' && break
    sleep 0.2
  done
  ceph_cmd osd dump | grep -q '^osd.0 up' || { log "OSD did not come up; see $dir/log/osd.0.log"; exit 1; }

  log "pool $pool"
  ceph_cmd osd pool create "$pool" 8 8 replicated >/dev/null 2>&1
  timeout 60 rbd -c "$conf" pool init "$pool"
  log "ready in $((SECONDS - started)) s: $conf"
  echo "$conf"
}

stop() {
  [[ -f "$dir/run/osd.0.pid" ]] && kill -CONT "$(cat "$dir/run/osd.0.pid")" 2>/dev/null || true
  stop_pid_file "$dir/run/osd.0.pid"
  stop_pid_file "$dir/run/mon.a.pid"
  log "stopped $dir"
}

status() {
  [[ -f "$conf" ]] || { echo "no cluster in $dir"; exit 1; }
  ceph_cmd -s
}

kill_osd() {
  local pid_file="$dir/run/osd.0.pid" pid
  [[ -f "$pid_file" ]] || { log "no OSD pid file in $dir/run"; exit 1; }
  pid=$(cat "$pid_file")
  kill -0 "$pid" 2>/dev/null || { log "the OSD (pid $pid) is not running"; exit 1; }
  kill -9 "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$pid_file"
  log "OSD (pid $pid) killed"
}

# signal_osd SIGNAL: sends SIGNAL to the running OSD (by its pid file).
signal_osd() {
  local pid_file="$dir/run/osd.0.pid" pid
  [[ -f "$pid_file" ]] || { log "no OSD pid file in $dir/run"; exit 1; }
  pid=$(cat "$pid_file")
  kill "-$1" "$pid" || { log "the OSD (pid $pid) is not running"; exit 1; }
  log "OSD (pid $pid) sent SIG$1"
}

# Starts the OSD of an existing cluster and waits until every PG of the pool is active again.
start_osd() {
  [[ -f "$conf" ]] || { log "no cluster in $dir"; exit 1; }
  if [[ -f "$dir/run/osd.0.pid" ]] && kill -0 "$(cat "$dir/run/osd.0.pid")" 2>/dev/null; then
    log "the OSD is already running"
    return 0
  fi
  local started=$SECONDS
  ceph-osd -c "$conf" -i 0 2>>"$dir/log/daemons.stderr"
  # No manager runs here (pg commands need one): the pool serves again when a read of an absent
  # object answers ENOENT instead of blocking on an inactive PG.
  local probe=""
  for _ in $(seq 1 120); do
    if ceph_cmd osd dump 2>/dev/null | grep -q '^osd.0 up'; then
      probe=$(timeout 2 rados -c "$conf" -p "$pool" stat portico.osd-probe 2>&1 || true)
      if [[ "$probe" == *"No such file"* ]]; then
        log "OSD up and pool $pool serving in $((SECONDS - started)) s"
        return 0
      fi
    fi
    sleep 0.25
  done
  log "the OSD did not come back (last probe: ${probe:-none}); see $dir/log/osd.0.log"
  exit 1
}

case "$action" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill-osd) kill_osd ;;
  start-osd) start_osd ;;
  freeze-osd) signal_osd STOP ;;
  thaw-osd) signal_osd CONT ;;
  *) usage ;;
esac
