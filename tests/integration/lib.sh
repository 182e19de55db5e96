#!/bin/bash
# Shared helpers for Portico's integration tests: each test is a bash script that sources this
# file, writes a YAML config, starts one porticod on a free loopback port, talks to it with
# libiscsi's tools and stops it. Environment (set by CMakeLists.txt):
#   PORTICOD          path of the porticod binary
#   PORTICO_LOADGEN   path of tools/portico-loadgen
#   PORTICO_PORT_BASE first of 10 ports reserved for this test (tests run in parallel)
set -euo pipefail

: "${PORTICOD:?PORTICOD must name the porticod binary}"
PORTICO_PORT_BASE=${PORTICO_PORT_BASE:-23000}
# Sanitizer builds start and serve more slowly: bounded waits scale with this.
PORTICO_WAIT_S=${PORTICO_WAIT_S:-20}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/portico-it.XXXXXX")
PORTICOD_PID=""
PORT=""

log() { echo "[$(date +%H:%M:%S)] $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }

# Missing tools are a failure, never a skip: a green run must mean the checks really ran.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "required tool '$tool' is missing (apt-get install libiscsi-bin)"
  done
}

# port_in_use PORT [HOST]: something accepts on HOST:PORT (default 127.0.0.1).
port_in_use() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# Sets PORT to the first port of this test's range that nothing listens on.
pick_port() {
  local p
  for ((p = PORTICO_PORT_BASE; p < PORTICO_PORT_BASE + 10; ++p)); do
    if ! port_in_use "$p"; then PORT=$p; return 0; fi
  done
  die "no free port in $PORTICO_PORT_BASE..$((PORTICO_PORT_BASE + 9))"
}

have_ipv6_loopback() { grep -q '^0\{31\}1 .* lo$' /proc/net/if_inet6 2>/dev/null; }

# memory_config FILE IQN SIZE [read-only]: one memory LUN 0 on 127.0.0.1:$PORT, any initiator,
# no CHAP; write protected with a fourth argument "read-only".
memory_config() {
  local extra=()
  [[ "${4:-}" == read-only ]] && extra+=("read_only: true")
  lun_config "$1" "$2" "$3" "127.0.0.1:$PORT" "backend: memory" "${extra[@]}"
}

# lun_config FILE IQN SIZE PORTALS LUN-KEY...: one LUN 0 of SIZE with the given "key: value"
# lines (backend, path, read_only, ...), served on the comma-separated PORTALS to any initiator.
lun_config() {
  local file=$1 iqn=$2 size=$3 portals=$4
  shift 4
  {
    echo "log:"
    echo "  level: warn"
    echo "gateway:"
    echo "  name: it-$PORT"
    echo "  portals: [\"${portals//,/\", \"}\"]"
    echo "targets:"
    echo "  - iqn: $iqn"
    echo "    luns:"
    echo "      - lun: 0"
    [[ "$size" == - ]] || echo "        size: $size"
    local line
    for line in "$@"; do echo "        $line"; done
    if [[ -n "${CLUSTER_POOL:-}" ]]; then
      echo "cluster:"
      echo "  ceph_conf: $PORTICO_CEPH_CONF"
      echo "  pool: $CLUSTER_POOL"
      # A membership of this test's own: no records of earlier tests' gateways.
      echo "  gateways_object: portico.gateways.${CLUSTER_MEMBERSHIP:-it-$PORT}"
      echo "  heartbeat_interval_ms: 500"
      echo "  lease_ms: 6000"
      echo "  notify_timeout_ms: 3000"
    fi
  } >"$file"
}

# Extra gateway processes (several gateways sharing one image), by name; on_exit kills them.
declare -A GATEWAY_PIDS=()
# Commands on_exit runs after the gateways are gone (e.g. removing a test's RBD image).
CLEANUP_COMMANDS=()

# start_gateway NAME CONFIG HOST: starts porticod for CONFIG, logging to $WORK/NAME.log, and waits
# until HOST:$PORT accepts.
start_gateway() {
  local name=$1 config=$2 host=$3
  "$PORTICOD" --config "$config" >"$WORK/$name.log" 2>&1 &
  GATEWAY_PIDS[$name]=$!
  local deadline=$((SECONDS + PORTICO_WAIT_S))
  until port_in_use "$PORT" "$host"; do
    kill -0 "${GATEWAY_PIDS[$name]}" 2>/dev/null || {
      tail -n 20 "$WORK/$name.log" >&2; die "gateway $name exited during start-up"; }
    ((SECONDS < deadline)) || die "gateway $name did not accept on $host:$PORT within ${PORTICO_WAIT_S}s"
    sleep 0.1
  done
  log "gateway $name pid ${GATEWAY_PIDS[$name]} listening on $host:$PORT"
}

GATEWAY_STOP_WAIT_S=$PORTICO_WAIT_S
# shellcheck source=../lib/gateway_processes.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/gateway_processes.sh"

on_exit() {
  local rc=$? name
  for name in "${!GATEWAY_PIDS[@]}"; do
    kill -KILL "${GATEWAY_PIDS[$name]}" 2>/dev/null || true
    wait "${GATEWAY_PIDS[$name]}" 2>/dev/null || true
    if ((rc != 0)) && [[ -s "$WORK/$name.log" ]]; then
      echo "---- gateway $name log (last 40 lines) ----" >&2
      tail -n 40 "$WORK/$name.log" >&2
    fi
  done
  local command
  for command in "${CLEANUP_COMMANDS[@]}"; do eval "$command" >/dev/null 2>&1 || true; done
  if [[ -n "$PORTICOD_PID" ]] && kill -0 "$PORTICOD_PID" 2>/dev/null; then
    kill -KILL "$PORTICOD_PID" 2>/dev/null || true
    wait "$PORTICOD_PID" 2>/dev/null || true
  fi
  if ((rc != 0)) && [[ -s "$WORK/porticod.log" ]]; then
    echo "---- porticod log (last 40 lines) ----" >&2
    tail -n 40 "$WORK/porticod.log" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap on_exit EXIT

# start_porticod CONFIG: starts porticod in the background and waits until $PORT accepts.
start_porticod() {
  "$PORTICOD" --config "$1" >"$WORK/porticod.log" 2>&1 &
  PORTICOD_PID=$!
  local deadline=$((SECONDS + PORTICO_WAIT_S))
  until port_in_use "$PORT"; do
    kill -0 "$PORTICOD_PID" 2>/dev/null || { wait "$PORTICOD_PID" || true; die "porticod exited during start-up"; }
    ((SECONDS < deadline)) || die "porticod did not accept on 127.0.0.1:$PORT within ${PORTICO_WAIT_S}s"
    sleep 0.1
  done
  log "porticod pid $PORTICOD_PID listening on 127.0.0.1:$PORT"
}

# stop_porticod: SIGTERM, then requires a clean exit (status 0) within the bounded wait.
stop_porticod() {
  [[ -n "$PORTICOD_PID" ]] || die "stop_porticod: porticod is not running"
  kill -TERM "$PORTICOD_PID"
  local deadline=$((SECONDS + PORTICO_WAIT_S))
  while kill -0 "$PORTICOD_PID" 2>/dev/null; do
    ((SECONDS < deadline)) || die "porticod did not exit within ${PORTICO_WAIT_S}s of SIGTERM"
    sleep 0.1
  done
  local rc=0
  wait "$PORTICOD_PID" || rc=$?
  PORTICOD_PID=""
  ((rc == 0)) || die "porticod exited with status $rc after SIGTERM (expected 0)"
  log "porticod exited 0 on SIGTERM"
}

# expect_output NAME REGEX TEXT: TEXT must match the extended REGEX.
expect_output() {
  grep -Eq -- "$2" <<<"$3" || { echo "$3" >&2; die "$1: output does not match /$2/"; }
}

# shared_config_group PREFIX [NVME_PORT]: a gateway group that takes its targets from a
# configuration record of its own on the test cluster. Sets record_object and members (removed
# at exit), defines cli (the portico command on them) and serves, and writes $WORK/gw1.yaml and
# gw2.yaml (PREFIX-gw1 on 127.0.0.1:$PORT, PREFIX-gw2 on 127.0.0.2:$PORT; with NVME_PORT, NVMe/TCP
# listeners on the same addresses).
shared_config_group() {
  local prefix=$1 nvme_port=${2:-} n nvme=""
  record_object="portico.config.$prefix-$$"
  members="portico.gateways.$prefix-$$"
  CLEANUP_COMMANDS+=("rados -c '$PORTICO_CEPH_CONF' -p '$pool' rm '$record_object'"
                     "rados -c '$PORTICO_CEPH_CONF' -p '$pool' rm '$members'")
  cli() { "$PORTICO_CLI" -c "$PORTICO_CEPH_CONF" -p "$pool" --config-object "$record_object" --gateways-object "$members" "$@"; }
  # serves GATEWAY VERSION: the gateway's membership record says it serves VERSION, within 5 s
  # (a gateway answers the notify once it applied a version; its record follows with its next
  # heartbeat).
  serves() {
    local deadline=$((SECONDS + 5))
    until cli --json gateway list | python3 -c "import json, sys
g = {x['name']: x for x in json.load(sys.stdin)['gateways']}
sys.exit(g['$1']['config_version'] != $2)"; do
      ((SECONDS < deadline)) || return 1
      sleep 0.2
    done
  }
  for n in 1 2; do
    [[ -z $nvme_port ]] || nvme="  nvme_listeners: [\"127.0.0.$n:$nvme_port\"]"
    cat >"$WORK/gw$n.yaml" <<YAML
log:
  level: info
gateway:
  name: $prefix-gw$n
  portals: ["127.0.0.$n:$PORT"]
$nvme
cluster:
  ceph_conf: $PORTICO_CEPH_CONF
  pool: $pool
  gateways_object: $members
  config_object: $record_object
  shared_config: true
  heartbeat_interval_ms: 500
  lease_ms: 6000
YAML
  done
}
