#!/bin/bash
# READ CAPACITY(16) (SBC-3 5.16) reports exactly the configured size and block length, for
# 512- and 4096-byte blocks.
source "$(dirname "$0")/lib.sh"
require_tools iscsi-readcapacity16

pick_port
cat >"$WORK/config.yaml" <<YAML
gateway:
  portals: ["127.0.0.1:$PORT"]
targets:
  - iqn: iqn.2026-11.io.portico:capacity
    luns:
      - {lun: 0, backend: memory, size: 96MiB}
      - {lun: 1, backend: memory, size: 256MiB, block_size: 4096}
YAML
start_porticod "$WORK/config.yaml"

out=$(iscsi-readcapacity16 iscsi://127.0.0.1:$PORT/iqn.2026-11.io.portico:capacity/0); echo "$out"
expect_output "LUN 0 size" "^Total size:$((96 << 20))$" "$out"
expect_output "LUN 0 block" "^LOGICAL BLOCK LENGTH IN BYTES:512$" "$out"
expect_output "LUN 0 last LBA" "^RETURNED LOGICAL BLOCK ADDRESS:$(((96 << 20) / 512 - 1))$" "$out"

out=$(iscsi-readcapacity16 iscsi://127.0.0.1:$PORT/iqn.2026-11.io.portico:capacity/1); echo "$out"
expect_output "LUN 1 size" "^Total size:$((256 << 20))$" "$out"
expect_output "LUN 1 block" "^LOGICAL BLOCK LENGTH IN BYTES:4096$" "$out"

stop_porticod
