#!/bin/bash
# PID 1 of the test guest (exec'd by the image's /sbin/portico-vm-init once the shares are
# mounted): prepares what open-iscsi, multipath and Ceph need without systemd, runs the job's
# script as root with its log in the job folder, writes its exit code and powers off. For a
# script marked to run under systemd it execs systemd instead, whose job unit calls this file
# again with --job to run the script the same way.
#
# Job folder (/portico/job, the writable 9p share run-in-vm.sh fills):
#   script    the test script        args      its arguments (bash words, quoted)
#   env       exported PORTICO_* variables     log, exit_code   written here
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
job=/portico/job
repo=$1

power_off() {
  sync
  umount /portico/job 2>/dev/null
  echo o >/proc/sysrq-trigger
  sleep 30
}

# A script that says "# portico-vm-init: systemd" (run-in-vm.sh passes it on as
# PORTICO_VM_INIT=systemd) runs as a unit of systemd booted as PID 1, for tests of the service
# units themselves; systemd then mounts /run and friends, runs udev and the enabled services.
if [[ "${2:-}" != --job ]] && grep -qx 'export PORTICO_VM_INIT=systemd' "$job/env" 2>/dev/null; then
  cat >/etc/systemd/system/portico-vm-job.service <<EOF
[Unit]
Description=Portico VM test job
After=multi-user.target
[Service]
Type=oneshot
TimeoutStartSec=infinity
ExecStart=/bin/bash $repo/tests/vm/guest-init.sh $repo --job
EOF
  mkdir -p /etc/systemd/system/multi-user.target.wants
  ln -sf ../portico-vm-job.service /etc/systemd/system/multi-user.target.wants/portico-vm-job.service
  # Only the services a test starts itself: none of the packages' own (ceph, iscsid, multipathd).
  rm -f /etc/systemd/system/*.wants/{ceph,iscsid,open-iscsi,multipathd,rbdmap,nvmf,nvmefc,rtslib,apt-daily}*
  exec /lib/systemd/systemd
fi
if [[ "${2:-}" != --job ]]; then
  trap power_off EXIT
fi

if [[ "${2:-}" == --job ]]; then
  # The job unit under systemd: the same set-up of the iSCSI initiator side, on systemd's mounts.
  trap power_off EXIT
  {
    modprobe -a sd_mod sg scsi_dh_alua dm_mod dm_multipath iscsi_tcp
    ip addr add 127.0.0.2/8 dev lo
    ip addr add 127.0.0.3/8 dev lo
    mkdir -p /run/lock/iscsi /run/multipathd
  } >"$job/init.log" 2>&1
else {
  modprobe configfs
  mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
  mount -t tmpfs -o mode=755 tmpfs /run
  # /tmp stays the root file system's (writable: the guest runs on a snapshot): a tmpfs there
  # would hide the repository when it is checked out below /tmp.
  mkdir -p /dev/pts /dev/shm /run/lock/iscsi /run/multipathd
  mount -t devpts devpts /dev/pts
  mount -t tmpfs tmpfs /dev/shm
  hostname portico-vm
  # No udev at boot: load what makes a logged-in iSCSI LUN appear as /dev/sdX and /dev/sgN,
  # ALUA's device handler before any path is scanned, and device-mapper multipath.
  modprobe -a sd_mod sg scsi_dh_alua dm_mod dm_multipath iscsi_tcp
  ip link set lo up
  ip addr add 127.0.0.2/8 dev lo
  ip addr add 127.0.0.3/8 dev lo
  iscsid
} >"$job/init.log" 2>&1
fi

# shellcheck disable=SC1091
[[ -f "$job/env" ]] && source "$job/env"
export PORTICO_ROOT=$repo PORTICO_JOB=$job
args=()
[[ -f "$job/args" ]] && eval "args=($(cat "$job/args"))"

rc=0
{
  read -r uptime _ </proc/uptime
  echo "[guest] booted in ${uptime} s (kernel $(uname -r)); running ${PORTICO_VM_SCRIPT_NAME:-script} ${args[*]}"
  cd /root && bash "$job/script" "${args[@]}"
} >"$job/log" 2>&1 || rc=$?
echo "$rc" >"$job/exit_code"
