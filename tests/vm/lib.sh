#!/bin/bash
# Helpers for the scripts that run inside the test guest (tests/vm/run-in-vm.sh): gateways,
# open-iscsi sessions, the SCSI disks they bring, and bounded waits. Sourced, never run.
# Environment (exported by run-in-vm.sh / guest-init.sh):
#   PORTICO_ROOT   the repository, read-only        PORTICO_JOB  the writable job folder
#   PORTICO_BUILD  the build tree holding daemon/porticod (default $PORTICO_ROOT/build/release)
set -euo pipefail

PORTICO_BUILD=${PORTICO_BUILD:-$PORTICO_ROOT/build/release}
PORTICOD=${PORTICOD:-$PORTICO_BUILD/daemon/porticod}
WORK=/var/tmp/portico-vm
ARTIFACTS=${PORTICO_JOB:-/tmp}/artifacts
mkdir -p "$WORK" "$ARTIFACTS"
T0=$(date +%s.%N)

log() { printf '[%7.1f s] %s\n' "$(awk -v t0="$T0" -v now="$(date +%s.%N)" 'BEGIN{print now - t0}')" "$*"; }
die() { log "FAIL: $*" >&2; exit 1; }
# now_ms: wall clock in milliseconds.
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

require_tools() {
  local tool
  for tool in "$@"; do command -v "$tool" >/dev/null || die "required tool '$tool' is missing in the guest"; done
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_until() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || die "timed out after ${limit} s waiting for: $what"
    sleep 0.2
  done
}

# expect NAME REGEX TEXT: TEXT must match the extended REGEX (shown when it does not).
expect() {
  grep -Eq -- "$2" <<<"$3" || { echo "$3" >&2; die "$1: output does not match /$2/"; }
}
expect_not() {
  ! grep -Eq -- "$2" <<<"$3" || { echo "$3" >&2; die "$1: output unexpectedly matches /$2/"; }
}

port_in_use() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Gateways by name; on_exit kills what is left and keeps their logs as artifacts.
declare -A GATEWAY_PIDS=()
# Commands on_exit runs: BEFORE_LOGOUT_HOOKS while sessions and gateways still exist (e.g.
# flushing a multipath map), EXIT_HOOKS once the gateways are gone (e.g. stopping Ceph).
BEFORE_LOGOUT_HOOKS=()
EXIT_HOOKS=()

# start_gateway NAME CONFIG HOST PORT: porticod for CONFIG, logging to $WORK/NAME.log (appended:
# a restarted gateway keeps one log), waits until HOST:PORT accepts.
start_gateway() {
  local name=$1 config=$2 host=$3 port=$4 deadline
  "$PORTICOD" --check-config "$config" >/dev/null || die "gateway $name: invalid $config"
  echo "==== start $(date +%T.%N) ====" >>"$WORK/$name.log"
  "$PORTICOD" --config "$config" >>"$WORK/$name.log" 2>&1 &
  GATEWAY_PIDS[$name]=$!
  deadline=$(($(date +%s) + 60))
  until port_in_use "$host" "$port"; do
    kill -0 "${GATEWAY_PIDS[$name]}" 2>/dev/null || { tail -n 20 "$WORK/$name.log" >&2; die "gateway $name exited during start-up"; }
    (($(date +%s) < deadline)) || die "gateway $name did not accept on $host:$port within 60 s"
    sleep 0.2
  done
  log "gateway $name (pid ${GATEWAY_PIDS[$name]}) accepts on $host:$port"
}

GATEWAY_STOP_WAIT_S=30
# shellcheck source=../lib/gateway_processes.sh
source "$PORTICO_ROOT/tests/lib/gateway_processes.sh"

# kill_gateway NAME: SIGKILL, as a crash.
kill_gateway() {
  local name=$1 pid=${GATEWAY_PIDS[$1]:?kill_gateway: $1 is not running}
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  unset "GATEWAY_PIDS[$name]"
}

on_exit() {
  local rc=$? name hook
  set +e
  for hook in "${BEFORE_LOGOUT_HOOKS[@]}"; do eval "timeout 30 $hook" >/dev/null 2>&1; done
  timeout 60 iscsiadm -m node --logoutall=all >/dev/null 2>&1
  for name in "${!GATEWAY_PIDS[@]}"; do
    kill -KILL "${GATEWAY_PIDS[$name]}" 2>/dev/null
    wait "${GATEWAY_PIDS[$name]}" 2>/dev/null
  done
  for hook in "${EXIT_HOOKS[@]}"; do eval "$hook" >/dev/null 2>&1; done
  cp "$WORK"/*.log "$ARTIFACTS/" 2>/dev/null
  dmesg >"$ARTIFACTS/dmesg.txt" 2>/dev/null
  if ((rc != 0)); then
    for name in "$WORK"/gw*.log "$WORK"/porticod*.log; do
      [[ -s "$name" ]] || continue
      echo "---- $(basename "$name") (last 30 lines) ----" >&2
      tail -n 30 "$name" >&2
    done
    echo "---- dmesg (last 30 lines) ----" >&2
    dmesg | tail -n 30 >&2
  fi
  exit "$rc"
}
trap on_exit EXIT

# iscsi_login PORTAL IQN: a session to IQN through PORTAL (discovery first).
iscsi_login() {
  local portal=$1 iqn=$2
  iscsiadm -m discovery -t sendtargets -p "$portal" >/dev/null || die "discovery on $portal failed"
  iscsiadm -m node -T "$iqn" -p "$portal" --login >/dev/null || die "login to $iqn through $portal failed"
  log "logged in to $iqn through $portal"
}

iscsi_logout() {
  iscsiadm -m node -T "$2" -p "$1" --logout >/dev/null || die "logout from $2 through $1 failed"
  log "logged out of $2 through $1"
}

# session_of PORTAL IQN: prints the sysfs session folder of the session to IQN through
# PORTAL (host:port).
session_of() {
  local portal=$1 iqn=$2 s conn
  for s in /sys/class/iscsi_session/session*; do
    [[ -e "$s/targetname" && "$(cat "$s/targetname")" == "$iqn" ]] || continue
    for conn in /sys/class/iscsi_connection/connection"${s##*session}":*; do
      [[ "$(cat "$conn/persistent_address"):$(cat "$conn/persistent_port")" == "$portal" ]] && {
        echo "$s"; return 0; }
    done
  done
  return 1
}

# disk_of PORTAL IQN LUN: prints the sdX of LUN in the session to IQN through PORTAL.
disk_of() {
  local s blk
  s=$(session_of "$1" "$2") || return 1
  for blk in "$s"/device/target*/*:*:*:"$3"/block/*; do
    [[ -e "$blk" ]] && { basename "$blk"; return 0; }
  done
  return 1
}

# wait_disk PORTAL IQN LUN: waits (60 s) until the LUN's disk exists with its capacity known
# and /dev/sdX is there; prints sdX.
wait_disk() {
  local deadline=$(($(date +%s) + 60)) dev
  while :; do
    if dev=$(disk_of "$@") && [[ -b /dev/$dev && "$(cat "/sys/block/$dev/size")" != 0 ]]; then
      echo "$dev"; return 0
    fi
    (($(date +%s) < deadline)) || die "no disk for LUN $3 of $2 through $1 within 60 s"
    sleep 0.2
  done
}

# sg_of sdX: the SCSI generic node of a disk.
sg_of() { echo "/dev/$(ls "/sys/block/$1/device/scsi_generic/")"; }

# io_count sdX: reads + writes completed by the disk (/sys/block/sdX/stat fields 1 and 5).
io_count() { awk '{print $1 + $5}' "/sys/block/$1/stat"; }

# failover_stall KILL_MS LOG: from fio's write completion log LOG (Unix ms, latency ns, direction
# 1 = write) and the moment of a gateway's kill (Unix ms), prints
# "<stall ms> <in flight at the kill> <resume ms> <gap ms>":
#   stall  - the longest a write waited after the kill: over the writes in flight at the kill
#            and those issued in the 3 s after it (which may land on the dead path until
#            multipath fails it), completion minus the later of the kill and their issue;
#   resume - from the kill until write completions resumed after the longest gap without any
#            completion that ends after the kill (gap: its length).
failover_stall() {
  awk -F', *' -v k="$1" '
    $3 != 1 { next }
    { t[++m] = $1 + 0; issued = $1 - $2 / 1e6 }
    $1 >= k && issued <= k { n++ }
    $1 >= k && issued <= k + 3000 { w = $1 - (issued > k ? issued : k); if (w > stall) stall = w }
    END {
      # Only gaps inside the failover window: ending after the kill, at most 1 s after the stall.
      for (i = 2; i <= m; ++i)
        if (t[i] > k && t[i] <= k + stall + 1000 && t[i - 1] >= k - 2000 && t[i] - t[i - 1] > gap) {
          gap = t[i] - t[i - 1]; resume = t[i] - k
        }
      printf "%d %d %d %d\n", stall, n, resume, gap
    }' "$2"
}

# write_multipath_conf: /etc/multipath.conf for Portico's paths: one priority group by ALUA
# (every gateway active/optimized), round robin per request, a dead path failed after 1 s.
write_multipath_conf() {
  cat >/etc/multipath.conf <<'EOF'
defaults {
    user_friendly_names yes
    find_multipaths off
    polling_interval 1
    reservation_key file
}
blacklist {
    devnode "^vd[a-z]"
}
devices {
    device {
        vendor "PORTICO"
        product ".*"
        path_grouping_policy group_by_prio
        prio alua
        path_checker tur
        hardware_handler "1 alua"
        path_selector "round-robin 0"
        rr_min_io_rq 1
        failback immediate
        no_path_retry 60
        # multipathd writes this into the iSCSI session's recovery_tmo, overriding open-iscsi's
        # replacement_timeout (its default, 5 s, is the whole failover stall otherwise).
        fast_io_fail_tmo 1
    }
}
EOF
  mkdir -p /etc/multipath
}

# start_guest_ceph DIR: a micro Ceph cluster in the guest (scripts/ceph-cluster.sh), stopped and
# its logs kept as artifacts on exit; sets CEPH_CONF to its configuration file.
start_guest_ceph() {
  local dir=$1 started
  started=$(date +%s)
  CEPH_CONF=$(CEPH_OSD_SIZE=4G bash "$PORTICO_ROOT/scripts/ceph-cluster.sh" start "$dir" 21600)
  EXIT_HOOKS+=("bash '$PORTICO_ROOT/scripts/ceph-cluster.sh' stop '$dir'")
  EXIT_HOOKS=("cp $dir/log/*.log $ARTIFACTS/" "${EXIT_HOOKS[@]}")
  log "micro Ceph cluster up in $(($(date +%s) - started)) s: $CEPH_CONF"
}

# cluster_gateway_config NAME PORTAL [GATEWAY-KEY-LINE...]: the log, gateway and cluster sections
# of a gateway on the guest's Ceph cluster (CEPH_CONF; heartbeat, lease and notify timeout short
# enough for a failover to show within seconds); extra lines go into the gateway section as they
# are (e.g. 'nvme_listeners: [...]'). The test appends its targets section.
cluster_gateway_config() {
  local name=$1 portal=$2 line
  shift 2
  printf 'log:\n  level: info\ngateway:\n  name: %s\n  io_threads: 1\n  portals: ["%s"]\n' "$name" "$portal"
  for line in "$@"; do printf '  %s\n' "$line"; done
  cat <<EOF
cluster:
  ceph_conf: ${CEPH_CONF:?start_guest_ceph first}
  client: client.admin
  pool: rbd
  heartbeat_interval_ms: 500
  lease_ms: 3000
  notify_timeout_ms: 2000
EOF
}

# kernel_timeline UPTIME OUT: the kernel's log lines of the 15 s after UPTIME (from
# /proc/uptime), in ms after it, printed and written to OUT: where a failover's stall goes.
kernel_timeline() {
  dmesg | awk -v k="$1" '{
      t = substr($0, 2, index($0, "]") - 2) + 0
      if (t >= k && t <= k + 15) printf "  kernel +%5d ms:%s\n", (t - k) * 1000, substr($0, index($0, "]") + 1)
    }' | tee "$2"
}

# fio_iops NAME DEVICE RW DEPTH [CPU]: IOPS of a time-based 4 KiB job on DEVICE
# (PORTICO_VM_BENCH_SECONDS, default 20, after a 2 s ramp), fio pinned to CPU when given.
fio_iops() {
  local pin=()
  [[ -n "${5:-}" ]] && pin=(taskset -c "$5")
  "${pin[@]}" fio --name="$1" --filename="$2" --ioengine=libaio --direct=1 --rw="$3" --bs=4k --iodepth="$4" \
    --time_based --runtime="${PORTICO_VM_BENCH_SECONDS:-20}" --ramp_time=2 --output-format=json \
    --output="$WORK/$1.json" >/dev/null || die "fio $1 on $2 failed"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1]))['jobs'][0]; print(int(j['read']['iops'] + j['write']['iops']))" \
    "$WORK/$1.json"
}

# ---- the kernel target (LIO) with tcm_loop, for porticod's TCMU exports ----
LIO_CONFIGFS=/sys/kernel/config/target
load_tcm_loop() {
  modprobe -a target_core_user tcm_loop || die "target_core_user / tcm_loop do not load"
  [[ -d $LIO_CONFIGFS/core ]] || die "no LIO configfs tree at $LIO_CONFIGFS"
}

# backstore NAME: the configfs folder porticod created for export NAME, once porticod has
# enabled it (porticod's iSCSI portal, which start_gateway waits for, may open first); 30 s.
backstore() {
  local d deadline=$(($(date +%s) + 30))
  while (($(date +%s) < deadline)); do
    for d in "$LIO_CONFIGFS"/core/user_*/"$1"; do
      [[ "$(cat "$d/enable" 2>/dev/null)" == 1 ]] && { echo "$d"; return 0; }
    done
    sleep 0.2
  done
  return 1
}
# tcm_loop_export NAME TARGET_WWN INITIATOR_WWN: a tcm_loop target port whose LUN 0 is backstore
# NAME and whose nexus is INITIATOR_WWN (a local SCSI host appears).
tcm_loop_export() {
  local name=$1 tpg=$LIO_CONFIGFS/loopback/$2/tpgt_1 bs
  bs=$(backstore "$name") || die "porticod did not enable a backstore $name within 30 s"
  # porticod's contract with LIO: PERSISTENT RESERVE and REPORT TARGET PORT GROUPS pass through.
  [[ "$(cat "$bs/attrib/pgr_support")" == 0 ]] || die "$bs: pgr_support is not 0 (LIO would keep reservations itself)"
  [[ "$(cat "$bs/attrib/alua_support")" == 0 ]] || die "$bs: alua_support is not 0 (LIO would answer ALUA itself)"
  # The nexus first: linking the LUN makes tcm_loop scan it, and a scan without a nexus finds
  # nothing and is not repeated.
  mkdir -p "$tpg"
  echo "$3" >"$tpg/nexus"
  mkdir -p "$tpg/lun/lun_0"
  ln -s "$bs" "$tpg/lun/lun_0/$name"
}
# tcm_loop_disk TARGET_WWN: the sdX of LUN 0 behind the tcm_loop port (waits 60 s).
tcm_loop_disk() {
  local address deadline=$(($(date +%s) + 60)) blk
  while :; do
    address=$(cat "$LIO_CONFIGFS/loopback/$1/tpgt_1/address" 2>/dev/null || true)
    for blk in /sys/class/scsi_device/"$address":0/device/block/*; do
      [[ -e "$blk" && -b /dev/$(basename "$blk") && "$(cat "$blk/size")" != 0 ]] && { basename "$blk"; return 0; }
    done
    (($(date +%s) < deadline)) || die "no disk behind tcm_loop port $1 (address '$address') within 60 s"
    sleep 0.2
  done
}

# setup_soft_roce: soft-RoCE (rdma_rxe) on a dummy device holding 192.0.2.1/32 (RFC 5737, never
# routed; the guest has no network card). The RDMA CM refuses loopback addresses, and rxe treats
# packets to its own MAC as loopback, so host and target meet on 192.0.2.1.
RDMA_ADDRESS=192.0.2.1
setup_soft_roce() {
  modprobe -a rdma_rxe rdma_ucm ib_uverbs || die "rdma_rxe, rdma_ucm or ib_uverbs does not load"
  ip link add dummy0 type dummy 2>/dev/null || true
  ip addr add "$RDMA_ADDRESS/32" dev dummy0 2>/dev/null || true
  ip link set dummy0 up
  rdma link show rxe_dummy0 >/dev/null 2>&1 || rdma link add rxe_dummy0 type rxe netdev dummy0 ||
    die "rdma link add rxe_dummy0 failed"
  wait_until 10 "the rxe device in ibv_devices" bash -c 'ibv_devices | grep -q rxe_dummy0'
  log "soft-RoCE: rxe_dummy0 on dummy0 ($RDMA_ADDRESS)"
}

# ext4_checksums DEVICE: ext4 with two files of random data, unmounted, caches dropped, mounted
# again: the checksums must be equal.
ext4_checksums() {
  local device=$1 sum
  mkfs.ext4 -q -F "$device" || die "mkfs.ext4 on $device failed"
  mkdir -p /mnt/portico-ext4
  mount "$device" /mnt/portico-ext4 || die "mount $device failed"
  head -c 8M /dev/urandom >/mnt/portico-ext4/a && head -c 1M /dev/urandom >/mnt/portico-ext4/b
  sum=$(cd /mnt/portico-ext4 && md5sum a b)
  umount /mnt/portico-ext4 && echo 3 >/proc/sys/vm/drop_caches && mount "$device" /mnt/portico-ext4 ||
    die "remount of $device failed"
  [[ "$(cd /mnt/portico-ext4 && md5sum a b)" == "$sum" ]] || die "ext4 checksums on $device differ after the remount"
  umount /mnt/portico-ext4
}

# ---- the kernel's own NVMe-oF target (nvmet, configfs), a peer for benchmarks ----
NVMET_CONFIGFS=/sys/kernel/config/nvmet
# nvmet_export NQN TRTYPE ADDRESS PORT: a 256 MiB file on tmpfs (buffered I/O: tmpfs has no
# O_DIRECT) as namespace 1 of subsystem NQN, any host, on port 1 (tcp or rdma).
nvmet_export() {
  local nqn=$1 trtype=$2 address=$3 port=$4 cfg=$NVMET_CONFIGFS
  mount | grep -q /dev/shm || mount -t tmpfs tmpfs /dev/shm
  truncate -s 256M /dev/shm/nvmet-bench.img
  mkdir "$cfg/subsystems/$nqn"
  echo 1 >"$cfg/subsystems/$nqn/attr_allow_any_host"
  mkdir "$cfg/subsystems/$nqn/namespaces/1"
  echo /dev/shm/nvmet-bench.img >"$cfg/subsystems/$nqn/namespaces/1/device_path"
  echo 1 >"$cfg/subsystems/$nqn/namespaces/1/buffered_io"
  echo 1 >"$cfg/subsystems/$nqn/namespaces/1/enable"
  mkdir "$cfg/ports/1"
  echo "$trtype" >"$cfg/ports/1/addr_trtype"
  echo ipv4 >"$cfg/ports/1/addr_adrfam"
  echo "$address" >"$cfg/ports/1/addr_traddr"
  echo "$port" >"$cfg/ports/1/addr_trsvcid"
  ln -s "$cfg/subsystems/$nqn" "$cfg/ports/1/subsystems/$nqn"
}
# nvmet_unexport NQN: undoes nvmet_export.
nvmet_unexport() {
  local nqn=$1 cfg=$NVMET_CONFIGFS
  rm "$cfg/ports/1/subsystems/$nqn"
  rmdir "$cfg/ports/1"
  echo 0 >"$cfg/subsystems/$nqn/namespaces/1/enable"
  rmdir "$cfg/subsystems/$nqn/namespaces/1" "$cfg/subsystems/$nqn"
}
# namespace_of NQN: the namespace node of the connected subsystem NQN, once the scan made it.
namespace_of() {
  local s
  for s in /sys/class/nvme-subsystem/nvme-subsys*; do
    [[ "$(cat "$s/subsysnqn")" == "$1" ]] || continue
    ls -d "$s"/nvme*n1 2>/dev/null | head -n1 | xargs -r basename
  done
}

# ---- fio across a gateway's death, with the kernel's native NVMe multipath ----
# nvme_path_writes [CONTROLLER]: writes completed through every path of the namespaces (6.1 keeps
# no I/O statistics on the multipath node itself), or through CONTROLLER's (nvmeX) path alone:
# a path's node is nvme<subsystem>c<controller>n<namespace>.
nvme_path_writes() {
  local glob=/sys/block/nvme*c*n1/stat
  [[ -n "${1:-}" ]] && glob="/sys/block/nvme*c${1#nvme}n1/stat"
  # shellcheck disable=SC2086
  cat $glob 2>/dev/null | awk '{w += $5} END {print w + 0}'
}
# failover_fio_start DEVICE SIZE: random 4 KiB writes at depth 32 with crc32c verify over SIZE of
# DEVICE, every write's completion time and latency in $WORK/fio_clat.1.log; sets FIO_PID.
failover_fio_start() {
  fio --name=failover --filename="$1" --ioengine=libaio --direct=1 --rw=randwrite --bs=4k \
    --iodepth=32 --size="$2" --verify=crc32c --do_verify=1 --verify_fatal=1 --runtime=300 \
    --write_lat_log="$WORK/fio" --log_avg_msec=0 --log_unix_epoch=1 --output="$WORK/fio-failover.txt" &
  FIO_PID=$!
  BEFORE_LOGOUT_HOOKS+=("kill $FIO_PID")
}
# failover_fio_wait SIZE: until a third of SIZE was written through the paths and fio ran 5 s, so
# that a kill lands in the middle (at most 240 s).
failover_fio_wait() {
  local target start deadline started
  target=$(( $(numfmt --from=iec "$1") / 4096 / 3 ))
  start=$(nvme_path_writes)
  deadline=$(($(date +%s) + 240))
  started=$(date +%s)
  while (( $(nvme_path_writes) - start < target || $(date +%s) - started < 5 )); do
    kill -0 "$FIO_PID" 2>/dev/null || die "fio ended before gw1 could be killed (size $1 too small?)"
    (($(date +%s) < deadline)) || die "fio made too little progress to kill gw1 in the middle"
    sleep 0.2
  done
}
# failover_fio_finish KILL_MS KILL_UPTIME: waits for fio and requires no error, a passed verify,
# a write in flight at the kill and none waiting more than 2 s after it; sets STALL_MS,
# INFLIGHT, RESUME_MS and GAP_MS (failover_stall) and keeps the kernel's log of the failover.
failover_fio_finish() {
  local rc=0 out
  wait "$FIO_PID" || rc=$?
  cp "$WORK"/fio* "$ARTIFACTS/" 2>/dev/null || true
  out=$(cat "$WORK/fio-failover.txt")
  echo "$out" | grep -E 'err=|write:|read:|clat \(' | head -n 6
  ((rc == 0)) || { echo "$out" >&2; die "fio exited $rc across the gw1 failure"; }
  expect "fio: no errors" 'err= *0' "$out"
  expect_not "fio: errors" 'err= *[1-9]|verify: bad|crc32c: verify failed' "$out"
  read -r STALL_MS INFLIGHT RESUME_MS GAP_MS < <(failover_stall "$1" "$WORK/fio_clat.1.log")
  ((INFLIGHT > 0)) || die "no write was in flight at the kill (see fio_clat.1.log)"
  kernel_timeline "$2" "$ARTIFACTS/failover-kernel.txt"
  ((STALL_MS <= 2000)) || die "failover stall ${STALL_MS} ms is over 2 s (see failover-kernel.txt)"
}
