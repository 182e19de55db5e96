#!/bin/bash
# Runs one script as root inside a throw-away Debian guest with a real Linux kernel (open-iscsi,
# multipath, sg3-utils, fio, Ceph) under qemu's software emulation, and returns its exit code:
#
#   tests/vm/run-in-vm.sh [--timeout S] SCRIPT [ARGS...]
#
# The guest sees the repository read-only at the same path (build output and scripts) and a
# writable job folder at /portico/job (SCRIPT, its log, its exit code; tests leave artifacts in
# /portico/job/artifacts). The script's log is streamed while it runs. No network card: all the
# guest's traffic stays on its own loopback (127.0.0.1, 127.0.0.2, 127.0.0.3 on lo).
# The disk is opened with -snapshot: nothing the guest writes survives.
#
# Environment: PORTICO_VM_CACHE (image folder, default build/vm-image; built if missing),
# PORTICO_VM_KEEP=1 keeps the job folder; every PORTICO_* variable is exported to the script.
# Exit: the script's status; 124 when the hard time limit killed the guest; 125 when the guest
# ended without writing a status (see the console log printed then).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
timeout_s=600
usage() { echo "usage: $0 [--timeout S] SCRIPT [ARGS...]" >&2; exit 2; }
while (($#)); do
  case "$1" in
    --timeout) (($# >= 2)) || usage; timeout_s=$2; shift 2 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
(($# >= 1)) || usage
script=$(realpath "$1")
shift
[[ -f "$script" ]] || { echo "run-in-vm: no such script: $script" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null ||
  { echo "run-in-vm: qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2; exit 2; }

cache=${PORTICO_VM_CACHE:-$root/build/vm-image}
bash "$here/build-image.sh" "$cache"

job=$(mktemp -d "${TMPDIR:-/var/tmp}/portico-vm-job.XXXXXX")
mkdir -p "$job/artifacts"
cp "$script" "$job/script"
if (($#)); then printf '%q ' "$@"; fi >"$job/args"
{
  echo "export PORTICO_VM_SCRIPT_NAME=$(printf '%q' "$(basename "$script")")"
  # "# portico-vm-init: systemd" in the script: the guest boots systemd and runs it as a unit.
  if grep -qx '# portico-vm-init: systemd' "$script"; then echo "export PORTICO_VM_INIT=systemd"; fi
  while IFS='=' read -r name _; do
    [[ "$name" == PORTICO_* && "$name" != PORTICO_VM_SCRIPT_NAME && "$name" != PORTICO_VM_INIT ]] &&
      echo "export $name=$(printf '%q' "${!name}")"
  done < <(env)
} >"$job/env"

log() { echo "[run-in-vm $(date +%H:%M:%S)] $*" >&2; }
qemu_pid=""
tail_pid=""
finish() {
  local rc=$?
  [[ -n "$qemu_pid" ]] && kill -KILL "$qemu_pid" 2>/dev/null || true
  [[ -n "$tail_pid" ]] && kill "$tail_pid" 2>/dev/null || true
  if ((rc == 0)) && [[ "${PORTICO_VM_KEEP:-0}" != 1 ]]; then rm -rf "$job"; else log "job folder kept: $job"; fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

started=$SECONDS
log "booting $(basename "$script") (limit ${timeout_s} s, job $job)"
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 3072 \
  -nographic -no-reboot -nic none -snapshot -monitor none -serial "file:$job/console.log" \
  -kernel "$cache/vmlinuz" -initrd "$cache/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 panic=1 loglevel=4 init=/sbin/portico-vm-init portico.repo=$root" \
  -drive "file=$cache/rootfs.ext4,format=raw,if=virtio" \
  -fsdev "local,id=repo,path=$root,security_model=none,readonly=on,multidevs=remap" \
  -device virtio-9p-pci,fsdev=repo,mount_tag=repo \
  -fsdev "local,id=job,path=$job,security_model=none,multidevs=remap" \
  -device virtio-9p-pci,fsdev=job,mount_tag=job \
  </dev/null >"$job/qemu.out" 2>&1 &
qemu_pid=$!

# Stream the script's log as it grows (the job folder is a host folder).
touch "$job/log"
tail -n +1 -F --pid="$qemu_pid" "$job/log" 2>/dev/null | sed -u 's/^/[vm] /' &
tail_pid=$!

timed_out=0
while kill -0 "$qemu_pid" 2>/dev/null; do
  if ((SECONDS - started >= timeout_s)); then
    timed_out=1
    log "hard time limit of ${timeout_s} s reached: killing qemu (pid $qemu_pid)"
    kill -TERM "$qemu_pid" 2>/dev/null || true
    sleep 2
    kill -KILL "$qemu_pid" 2>/dev/null || true
    break
  fi
  sleep 1
done
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=""
wait "$tail_pid" 2>/dev/null || true
tail_pid=""

elapsed=$((SECONDS - started))
if ((timed_out)); then
  echo "---- guest console (last 30 lines) ----" >&2
  tail -n 30 "$job/console.log" >&2 || true
  log "$(basename "$script"): TIMEOUT after ${elapsed} s"
  exit 124
fi
if [[ ! -s "$job/exit_code" ]]; then
  echo "---- qemu ----" >&2; cat "$job/qemu.out" >&2 || true
  echo "---- guest init ----" >&2; cat "$job/init.log" >&2 2>/dev/null || true
  echo "---- guest console (last 40 lines) ----" >&2
  tail -n 40 "$job/console.log" >&2 || true
  log "$(basename "$script"): the guest stopped without an exit code after ${elapsed} s"
  exit 125
fi
rc=$(cat "$job/exit_code")
log "$(basename "$script") exited $rc; guest ran ${elapsed} s"
exit "$rc"
