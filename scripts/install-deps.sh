#!/bin/bash
# Installs the Debian 12 packages Portico needs to build, test and benchmark. Idempotent: asks
# dpkg which are missing and only then runs apt-get (update once, install once).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config python3 procps
  liburing-dev libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev libisal-dev libssl-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  libiscsi-dev libiscsi-bin   # initiator library + iscsi-ls/inq/test-cu (integration tests)
  tgt                         # the peer target for bench/bench_vs_tgtd.sh
  tgt-rbd                     # its RBD backing store, the peer in bench/bench_rbd.sh
  clang libclang-rt-14-dev    # libFuzzer targets (libFuzzer and the sanitizer runtimes)
  llvm                        # llvm-symbolizer: sanitizer reports with file:line
  librbd-dev librados-dev     # RBD backend and RADOS cluster state
  ceph-mon ceph-osd ceph-common  # the private micro cluster (scripts/ceph-cluster.sh)
  python3-rbd                 # bench/scale_luns.sh creates thousands of images through librbd
  libfabric-dev               # the RDMA connection-request probe (tools/rdma_probe)
  librdmacm-dev libibverbs-dev  # NVMe/RDMA: connection management and the data path
  libnl-genl-3-dev            # TCMU: the kernel target's TCM-USER generic netlink family
  prometheus-cpp-dev          # the metrics endpoint
  nlohmann-json3-dev          # the portico command's --json output
  prometheus                  # promtool: the tests check the endpoint's text with Prometheus' own parser
  qemu-system-x86 debootstrap # tests/vm: Debian guest with real kernel initiators
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
