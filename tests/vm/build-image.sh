#!/bin/bash
# Builds the Debian 12 guest the VM lane boots (real Linux kernel initiators: open-iscsi,
# multipath-tools, sg3-utils, fio; a micro Ceph cluster; porticod's runtime libraries):
#
#   tests/vm/build-image.sh CACHE_DIR
#
# Leaves CACHE_DIR/{rootfs.ext4,vmlinuz,initrd.img,recipe}. Built once and reused while the
# recipe (a hash of the package list and of this script) is unchanged; a changed recipe rebuilds.
# Needs root, debootstrap, e2fsprogs and the Debian mirror named in the host's apt sources.
# The guest's /sbin/portico-vm-init is a small stub: it mounts the shared repository and execs
# tests/vm/guest-init.sh from it, so the guest's boot logic changes without a rebuild.
set -euo pipefail

(($# == 1)) || { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
cache=$(realpath -m "$1")
suite=bookworm
image_size=${PORTICO_VM_IMAGE_SIZE:-8G}   # sparse; the OSD's block file lives in it

# What the tests run in the guest, then the libraries porticod and portico-loadgen link
# (`ldd porticod` + `dpkg -S`), then soft-RoCE's user-space side (the rxe verbs provider, rping,
# ibv_devices, libfabric's fi_info). Keep it one package per word: the recipe hashes this list.
packages=(
  linux-image-amd64 initramfs-tools kmod udev dbus procps iproute2 util-linux
  open-iscsi multipath-tools sg3-utils nvme-cli fio libiscsi-bin e2fsprogs
  targetcli-fb python3-dbus
  ceph-mon ceph-osd ceph-common uuid-runtime
  liburing2 libspdlog1.10 libfmt9 libyaml-cpp0.7 libisal2 libssl3 librbd1 librados2 libiscsi7
  libnl-3-200 libnl-genl-3-200 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcivetweb1
  systemd
  libibverbs1 librdmacm1 ibverbs-providers rdmacm-utils ibverbs-utils libfabric1 libfabric-bin
)

log() { echo "[build-image $(date +%H:%M:%S)] $*" >&2; }
die() { echo "build-image: $*" >&2; exit 1; }

recipe=$( { printf '%s\n' "$suite" "$image_size" "${packages[@]}"; cat "$0"; } | sha256sum | cut -c1-16)
if [[ -f "$cache/recipe" && "$(cat "$cache/recipe")" == "$recipe" && -f "$cache/rootfs.ext4" &&
      -f "$cache/vmlinuz" && -f "$cache/initrd.img" ]]; then
  log "image $recipe is cached in $cache"
  exit 0
fi

((EUID == 0)) || die "needs root (debootstrap, chroot)"
for tool in debootstrap mke2fs chroot; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install debootstrap e2fsprogs)"
done

# The mirror the host itself uses (deb822 or one-line sources).
mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources \
           /etc/apt/sources.list 2>/dev/null | head -n1 | grep -oE 'https?://[^ ]+' || true)
mirror=${mirror%/}
[[ -n "$mirror" ]] || die "no Debian mirror found in /etc/apt/sources.list{,.d}"

started=$SECONDS
root="$cache/root.tmp"
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; --i)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT

mkdir -p "$cache"
rm -rf "$root" "$cache/recipe"
log "debootstrap $suite (minbase) from $mirror into $root"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
  { tail -n 20 "$cache/debootstrap.log" >&2; die "debootstrap failed (log: $cache/debootstrap.log)"; }
log "debootstrap done in $((SECONDS - started)) s"

cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror}-security $suite-security main
EOF
# No service may start inside the chroot (ceph-mon, iscsid, multipathd ...).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
for fs in proc sys dev; do
  mount --bind "/$fs" "$root/$fs"
  mounted+=("$root/$fs")
done

log "apt-get install ${#packages[@]} packages in the chroot"
if ! chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive bash -c \
    "apt-get update -q && apt-get install -y -q --no-install-recommends ${packages[*]} && apt-get clean" \
    >"$cache/apt.log" 2>&1; then
  tail -n 30 "$cache/apt.log" >&2
  die "apt-get install failed (log: $cache/apt.log)"
fi
log "packages installed ($((SECONDS - started)) s so far)"
# A small initrd (only what mounts the virtio root) boots noticeably faster under emulation.
printf 'MODULES=list\n' >"$root/etc/initramfs-tools/conf.d/portico-vm"
printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic >"$root/etc/initramfs-tools/modules"
chroot "$root" update-initramfs -u -k all >>"$cache/apt.log" 2>&1 || die "update-initramfs failed"
cleanup
mounted=()

# Guest configuration: no login, no udev rules that would rename things, a hostname for ceph.
echo portico-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost portico-vm\n' >"$root/etc/hosts"
rm -f "$root/usr/sbin/policy-rc.d"
# An initiator name of its own (open-iscsi generates one at first start otherwise).
echo "InitiatorName=iqn.2026-11.io.portico:vm-initiator" >"$root/etc/iscsi/initiatorname.iscsi"
mkdir -p "$root/portico/job"
cat >"$root/sbin/portico-vm-init" <<'EOF'
#!/bin/bash
# PID 1 of the test guest: mounts the two 9p shares and hands over to the repository's
# tests/vm/guest-init.sh (the repository path is passed on the kernel command line).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
modprobe -a 9p 9pnet_virtio virtio_pci
repo=$(sed -n 's/.*portico.repo=\([^ ]*\).*/\1/p' /proc/cmdline)
mkdir -p "$repo" /portico/job
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 repo "$repo"
mount -t 9p -o trans=virtio,version=9p2000.L,rw,msize=262144 job /portico/job
if [[ -x "$repo/tests/vm/guest-init.sh" || -f "$repo/tests/vm/guest-init.sh" ]]; then
  exec bash "$repo/tests/vm/guest-init.sh" "$repo"
fi
echo "portico-vm-init: $repo/tests/vm/guest-init.sh not found" >/dev/console
echo 125 >/portico/job/exit_code
sync
echo o >/proc/sysrq-trigger
EOF
chmod +x "$root/sbin/portico-vm-init"

kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n1)
initrd=$(ls "$root"/boot/initrd.img-* | sort -V | tail -n1)
[[ -f "$kernel" && -f "$initrd" ]] || die "no kernel or initrd in $root/boot"
cp "$kernel" "$cache/vmlinuz"
cp "$initrd" "$cache/initrd.img"
log "kernel $(basename "$kernel")"

log "ext4 image ($image_size, sparse) from $(du -sh "$root" | cut -f1) of files"
rm -f "$cache/rootfs.ext4"
mke2fs -q -t ext4 -L portico-vm -E root_owner=0:0 -d "$root" "$cache/rootfs.ext4" "$image_size" ||
  die "mke2fs failed"
rm -rf "$root"
echo "$recipe" >"$cache/recipe"
log "image $recipe ready in $((SECONDS - started)) s: $cache"
