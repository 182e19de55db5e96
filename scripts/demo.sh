#!/bin/bash
# Installs what is missing, builds the release binary and serves examples/quickstart.yaml in the
# foreground. Ctrl-C (or SIGTERM) stops porticod; the script exits with porticod's exit code.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh" release

porticod="$root/build/release/daemon/porticod"
config="$root/examples/quickstart.yaml"
url="iscsi://127.0.0.1:3260/iqn.2026-11.io.portico:quickstart/0"

cat <<MSG

porticod is starting with $config
Connect from another terminal:
  iscsi-ls -s iscsi://127.0.0.1:3260
  iscsi-inq $url
  iscsi-readcapacity16 $url
  iscsiadm -m discovery -t st -p 127.0.0.1 && iscsiadm -m node --login   # Linux kernel initiator
The same LUN is NVMe namespace 1 of nqn.2026-11.io.portico:quickstart over NVMe/TCP:
  $root/build/release/tools/nvme_tcp/portico-nvme identify --nqn nqn.2026-11.io.portico:quickstart --nsid 1
  nvme discover -t tcp -a 127.0.0.1 -s 8009                              # Linux kernel host
  nvme connect -t tcp -a 127.0.0.1 -s 4420 -n nqn.2026-11.io.portico:quickstart
Stop with Ctrl-C.

MSG
# exec: porticod gets Ctrl-C directly and its exit code is the script's.
exec "$porticod" --config "$config"
