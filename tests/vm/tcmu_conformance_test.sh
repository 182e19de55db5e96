#!/bin/bash
# Runs inside the test guest (tests/vm/run-in-vm.sh): libiscsi's conformance suite (iscsi-test-cu,
# the ALL family, one process per suite) against three targets in the same guest, each a 128 MiB
# LUN in memory:
#   lio+porticod  LIO's iSCSI fabric in front, porticod behind it as the TCMU handler: each of the
#                 suite's two initiator names has its node ACL, whose LUN 0 is a backstore device
#                 of its own (the ring names no initiator), all of them one unit in porticod;
#   porticod      porticod's own iSCSI front-end;
#   lio-fileio    LIO alone, a fileio backstore on tmpfs, demo-mode ACLs.
# The three run at once (each its own suites in order). Prints each target's counts and the
# tests that pass through porticod's own front-end but not with LIO in front of the same core:
# what LIO still decides itself. Checks that every suite ran against every target, and that
# LIO in front of porticod passes at least as many tests as LIO alone.
# Prints "CU_COUNTS <target> pass=<n> fail=<n> skip=<n>" lines for run-lane.sh.
# shellcheck source=lib.sh
source "$PORTICO_ROOT/tests/vm/lib.sh"
require_tools iscsi-test-cu

init1=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test
init2=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test-2
lio_tcmu=iqn.2026-11.io.portico:lio-tcmu
lio_fileio=iqn.2026-11.io.portico:lio-fileio
own=iqn.2026-11.io.portico:own-iscsi

# LIO keeps emulated PR / ALUA metadata under its dbroot; give it one before any device exists.
mkdir -p /etc/target/pr /etc/target/alua
load_tcm_loop
modprobe iscsi_target_mod || die "iscsi_target_mod does not load"
echo /etc/target >"$LIO_CONFIGFS/dbroot" 2>/dev/null || true

cat >"$WORK/cu.yaml" <<EOF
log:
  level: warn
gateway:
  name: cu-gw
  io_threads: 1
  portals: ["127.0.0.1:3260"]
targets:
  - iqn: $lio_tcmu
    allowed_initiators: any
    luns:
      - lun: 0
        backend: memory
        size: 128MiB
        tcmu:
          - {name: cu-1, fabric: iscsi, initiator: $init1, target_port: "$lio_tcmu,t,0x1", relative_port_id: 300}
          - {name: cu-2, fabric: iscsi, initiator: $init2, target_port: "$lio_tcmu,t,0x1", relative_port_id: 300}
  - iqn: $own
    allowed_initiators: any
    luns:
      - lun: 0
        backend: memory
        size: 128MiB
EOF
start_gateway cu-gw "$WORK/cu.yaml" 127.0.0.1 3260

# lio_iscsi_tpg IQN PORT: an enabled iSCSI target portal group 1 of LIO on 127.0.0.1:PORT without
# authentication; prints its folder.
lio_iscsi_tpg() {
  local tpg=$LIO_CONFIGFS/iscsi/$1/tpgt_1
  mkdir -p "$tpg/np/127.0.0.1:$2"
  echo 0 >"$tpg/attrib/authentication"
  echo "$tpg"
}

# LIO's iSCSI fabric over porticod's backstores: TPG LUN n is backstore cu-n, and initiator n's
# ACL maps its LUN 0 to it.
tpg=$(lio_iscsi_tpg "$lio_tcmu" 3261)
n=0
for init in "$init1" "$init2"; do
  n=$((n + 1))
  bs=$(backstore "cu-$n") || die "porticod did not enable a backstore cu-$n within 30 s"
  mkdir -p "$tpg/lun/lun_$n"
  ln -s "$bs" "$tpg/lun/lun_$n/cu-$n"
  mkdir -p "$tpg/acls/$init/lun_0"
  ln -s "$tpg/lun/lun_$n" "$tpg/acls/$init/lun_0/map"
done
echo 1 >"$tpg/enable"

# LIO alone: a fileio backstore on tmpfs, any initiator (demo mode), writable.
fileio=$LIO_CONFIGFS/core/fileio_0/cu-file
mkdir -p "$fileio"
echo "fd_dev_name=/dev/shm/cu-file.img,fd_dev_size=134217728" >"$fileio/control"
echo 1 >"$fileio/enable"
tpg=$(lio_iscsi_tpg "$lio_fileio" 3262)
mkdir -p "$tpg/lun/lun_0"
ln -s "$fileio" "$tpg/lun/lun_0/cu-file"
for attribute in generate_node_acls=1 cache_dynamic_acls=1 demo_mode_write_protect=0; do
  echo "${attribute#*=}" >"$tpg/attrib/${attribute%=*}"
done
echo 1 >"$tpg/enable"
log "LIO iSCSI targets: $lio_tcmu on 127.0.0.1:3261 (porticod's TCMU backstores), $lio_fileio on 127.0.0.1:3262 (fileio)"

mapfile -t suites < <(iscsi-test-cu --list | grep -E '^ALL\.[A-Za-z0-9]+$')
((${#suites[@]} > 40)) || die "iscsi-test-cu --list shows ${#suites[@]} suites of the ALL family"

# run_suites NAME URL: every suite against URL, one process each; results in $WORK/cu-NAME/.
run_suites() {
  local url=$2 suite out=$WORK/cu-$1
  mkdir -p "$out"
  for suite in "${suites[@]}"; do
    timeout 600 iscsi-test-cu -d -S --test="$suite" "$url" >"$out/$suite.log" 2>&1 || true
  done
}
started=$(date +%s)
run_suites lio+porticod "iscsi://127.0.0.1:3261/$lio_tcmu/0" &
p1=$!
run_suites porticod "iscsi://127.0.0.1:3260/$own/0" &
p2=$!
run_suites lio-fileio "iscsi://127.0.0.1:3262/$lio_fileio/0" &
p3=$!
wait "$p1" "$p2" "$p3"
log "${#suites[@]} suites against three targets in $(($(date +%s) - started)) s"

# counts NAME: "<pass> <fail> <skip> <suites without a Run Summary>" over the target's logs.
# CUnit prints "Test: NAME ..." and then "passed" or "FAILED", with the test's own output (such
# as "[SKIPPED] ..." lines) possibly between; it counts a skipped test as passed, so a passed
# test that printed [SKIPPED] is counted as skipped here.
counts() {
  local log missing=0
  for log in "$WORK/cu-$1"/*.log; do grep -q '^Run Summary' "$log" || missing=$((missing + 1)); done
  cat "$WORK/cu-$1"/*.log | awk -v missing="$missing" '
    /^Suite: / { insuite = 1 }
    insuite && /^  Test: / { name = $2; skipped = 0 }
    name != "" && /\[SKIPPED\]/ { skipped = 1 }
    name != "" && /(\.\.\.|^)passed/ { if (skipped) s++; else p++; name = ""; next }
    name != "" && /(\.\.\.|^)FAILED/ { f++; name = "" }
    END { printf "%d %d %d %d\n", p, f, s, missing }'
}
# failures NAME: the failed tests, one "Suite.Test" per line.
failures() {
  local log
  for log in "$WORK/cu-$1"/*.log; do
    awk -v suite="$(basename "$log" .log)" '
      /^  Test: / { name = $2 }
      name != "" && /(\.\.\.|^)passed/ { name = "" }
      name != "" && /(\.\.\.|^)FAILED/ { print suite "." name; name = "" }' "$log"
  done | sort -u
}

declare -A pass
for target in lio+porticod porticod lio-fileio; do
  read -r p f s missing < <(counts "$target")
  pass[$target]=$p
  echo "CU_COUNTS $target pass=$p fail=$f skip=$s"
  ((missing == 0)) || { tail -n 20 "$(grep -L '^Run Summary' "$WORK/cu-$target"/*.log | head -n1)" >&2
    die "$target: $missing suite(s) ended without a CUnit Run Summary"; }
  failures "$target" >"$ARTIFACTS/cu-failed-$target.txt"
done
comm -13 "$ARTIFACTS/cu-failed-porticod.txt" "$ARTIFACTS/cu-failed-lio+porticod.txt" >"$ARTIFACTS/cu-lio-decides.txt"
log "failing with LIO in front of porticod, passing through porticod's own iSCSI ($(wc -l <"$ARTIFACTS/cu-lio-decides.txt")):"
sed 's/^/  /' "$ARTIFACTS/cu-lio-decides.txt"
tar -C "$WORK" -czf "$ARTIFACTS/cu-logs.tgz" cu-lio+porticod cu-porticod cu-lio-fileio
front=${pass[lio+porticod]} alone=${pass[lio-fileio]}
((front >= alone)) || die "LIO in front of porticod passes $front tests, LIO alone $alone"
# What LIO in front may still decide, each for a reason of LIO's (README, "FC, SRP and loopback
# through the kernel target"): the TCMU ring cannot report an overflow residual and LIO does
# not parse a passthrough CDB's transfer length (iSCSIResiduals); LIO's own iSCSI sequence
# checks (iSCSIdatasn); LIO tells a handler of no logout or nexus loss (Reserve6); a node ACL
# is the initiator device, so a later session of the same name is the same nexus and still
# finds the copy results of an earlier one (ReceiveCopyResults.CopyStatus). Anything else that
# fails only behind LIO is a defect of the TCMU path.
unexplained=$(grep -Ev '^ALL\.(iSCSIResiduals\.|iSCSIdatasn\.|Reserve6\.(ITNexusLoss|Logout)$|ReceiveCopyResults\.CopyStatus$)' \
  "$ARTIFACTS/cu-lio-decides.txt" || true)
[[ -z "$unexplained" ]] || die "failing only with LIO in front of porticod, for no reason of LIO's: $unexplained"
log "PASS"
