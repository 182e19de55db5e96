#!/bin/bash
# What is written is what is read back: portico-loadgen --rw verify writes a pattern derived
# from (lba, seed) over the LUN and reads all of it back; --rw check re-reads it from a new
# session; a file LUN keeps the data across a porticod restart (sha256 of the file compared).
source "$(dirname "$0")/lib.sh"
: "${PORTICO_LOADGEN:?}"
require_tools sha256sum

pick_port
iqn=iqn.2026-11.io.portico:integrity
cat >"$WORK/config.yaml" <<YAML
gateway:
  portals: ["127.0.0.1:$PORT"]
targets:
  - iqn: $iqn
    luns:
      - {lun: 0, backend: memory, size: 64MiB}
      - {lun: 1, backend: file, path: $WORK/lun1.img, size: 32MiB}
YAML
start_porticod "$WORK/config.yaml"
base=iscsi://127.0.0.1:$PORT/$iqn

# Large I/Os exercise R2T and multi-PDU Data-In; small ones at depth the CmdSN window.
"$PORTICO_LOADGEN" --url "$base/0" --rw verify --bs 256K --qd 4 --seed 11
"$PORTICO_LOADGEN" --url "$base/0" --rw verify --bs 4K --qd 32 --size 16M --seed 12
"$PORTICO_LOADGEN" --url "$base/0" --rw check --bs 64K --qd 8 --size 16M --seed 12
# The first 16 MiB now hold seed 12's pattern: checking them against seed 11 must fail, which
# proves the checker is not vacuous.
if "$PORTICO_LOADGEN" --url "$base/0" --rw check --bs 64K --qd 8 --size 16M --seed 11 2>/dev/null; then
  die "check with the overwritten seed should have found mismatches"
fi
"$PORTICO_LOADGEN" --url "$base/1" --rw verify --bs 128K --qd 8 --seed 21

stop_porticod
before=$(sha256sum <"$WORK/lun1.img")
start_porticod "$WORK/config.yaml"
"$PORTICO_LOADGEN" --url "$base/1" --rw check --bs 128K --qd 8 --seed 21
stop_porticod
after=$(sha256sum <"$WORK/lun1.img")
[[ "$before" == "$after" ]] || die "file LUN changed while only being read ($before vs $after)"
log "file LUN sha256 ${after%% *} unchanged across restart"
