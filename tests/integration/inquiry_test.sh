#!/bin/bash
# INQUIRY (SPC-4 6.6): the standard data and the VPD pages every SBC disk needs, through
# iscsi-inq. Note iscsi-inq takes the page code in decimal (0x80 is parsed as 0).
source "$(dirname "$0")/lib.sh"
require_tools iscsi-inq

pick_port
iqn=iqn.2026-11.io.portico:inquiry
memory_config "$WORK/config.yaml" "$iqn" 64MiB
start_porticod "$WORK/config.yaml"
url=iscsi://127.0.0.1:$PORT/$iqn/0

out=$(iscsi-inq "$url"); echo "$out"
expect_output "standard INQUIRY" "^Peripheral Device Type:DIRECT_ACCESS" "$out"
expect_output "standard INQUIRY" "^Peripheral Qualifier:CONNECTED" "$out"

out=$(iscsi-inq -e 1 -c 0 "$url"); echo "$out"   # SPC-4 7.8.18 Supported VPD pages
for page in "0x80 UNIT_SERIAL_NUMBER" "0x83 DEVICE_IDENTIFICATION" "0xb0 BLOCK_LIMITS"; do
  expect_output "supported VPD pages" "^Page:$page" "$out"
done

out=$(iscsi-inq -e 1 -c 128 "$url"); echo "$out"  # 0x80 Unit Serial Number
expect_output "VPD 0x80" "^Unit Serial Number:\[ *[^] ]+\]" "$out"

out=$(iscsi-inq -e 1 -c 131 "$url"); echo "$out"  # 0x83 Device Identification
expect_output "VPD 0x83" "Page Code:\(0x83\) DEVICE_IDENTIFICATION" "$out"
expect_output "VPD 0x83" "Association:\(0\) LOGICAL_UNIT" "$out"
expect_output "VPD 0x83 (SPC-4 7.8.6: the target port designators)" "Association:\(1\) TARGET_PORT" "$out"

out=$(iscsi-inq -e 1 -c 176 "$url"); echo "$out"  # 0xb0 Block Limits (SBC-3 6.5.3)
expect_output "VPD 0xb0" "^maximum transfer length:[0-9]+" "$out"

stop_porticod
