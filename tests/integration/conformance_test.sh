#!/bin/bash
# conformance_test.sh SUITE [OPTION...]: runs one suite of libiscsi's conformance tool
# (iscsi-test-cu -d -S --test=ALL.<SUITE>) against a fresh porticod serving LUN 0.
# Options:
#   size=SIZE                 LUN size (default 128MiB)
#   backend=memory|file|rbd   the LUN's backend (file: a sparse image under the test's folder;
#                             rbd: a fresh image on the test cluster (PORTICO_CEPH_CONF) served by
#                             two gateways, gw2 on 127.0.0.2 first and gw1 on 127.0.0.1 as the
#                             suite's multipath URL)
#   physical-block-size=N     the LUN's reported physical block size in bytes
#   sanitize-rate=RATE        the LUN's sanitize pace in bytes per second (e.g. 4MiB)
#   read-only                 the LUN is write protected (then no test may skip at all)
#   multipath                 serve a second portal (127.0.0.2) and give the suite both URLs
#   known-defect=TEST         TEST of this suite asserts something SBC forbids (see the call in
#                             CMakeLists.txt): it must fail, and it must be the only failure
#   known-race=TEST           TEST assumes an ordering between two gateways that nothing
#                             guarantees (see the call): it may fail; any other failure fails
#
# One process per suite: libiscsi 1.19 running the whole ALL family in one process goes wrong
# after the first suites. A test that skips fails this script unless it skipped because the LUN
# is not removable (Portico serves fixed disks; removable-medium behaviour does not apply).
# CUnit counts a skipped test as passed, so skips are counted from the log.
source "$(dirname "$0")/lib.sh"
require_tools iscsi-test-cu

suite=${1:?usage: conformance_test.sh SUITE [OPTION...]}
shift
size=128MiB backend=memory read_only=false multipath=false
lun_keys=()
known_defects=()
known_races=()
for option in "$@"; do
  case "$option" in
    size=*) size=${option#size=} ;;
    backend=*) backend=${option#backend=} ;;
    physical-block-size=*) lun_keys+=("physical_block_size: ${option#physical-block-size=}") ;;
    sanitize-rate=*) lun_keys+=("sanitize_rate: ${option#sanitize-rate=}") ;;
    read-only) read_only=true; lun_keys+=("read_only: true") ;;
    multipath) multipath=true ;;
    known-defect=*) known_defects+=("${option#known-defect=}") ;;
    known-race=*) known_races+=("${option#known-race=}") ;;
    *) die "unknown option '$option'" ;;
  esac
done
case "$backend" in
  memory) lun_keys+=("backend: memory") ;;
  file) lun_keys+=("backend: file" "path: $WORK/lun.img") ;;
  rbd)
    : "${PORTICO_CEPH_CONF:?backend=rbd needs the test cluster (PORTICO_CEPH_CONF)}"
    require_tools rbd
    image="cu-${suite,,}-$$"
    pool=${PORTICO_CEPH_POOL:-rbd}
    rbd -c "$PORTICO_CEPH_CONF" create --size "${size//iB/}" --image-feature layering "$pool/$image" ||
      die "cannot create the RBD image $pool/$image"
    CLEANUP_COMMANDS+=("rbd -c '$PORTICO_CEPH_CONF' rm '$pool/$image'")
    lun_keys+=("backend: rbd" "image: $pool/$image")
    CLUSTER_POOL=$pool
    CLUSTER_MEMBERSHIP=$image
    CLEANUP_COMMANDS+=("rados -c '$PORTICO_CEPH_CONF' -p '$pool' rm 'portico.gateways.$image'")
    ;;
  *) die "backend must be memory, file or rbd, got '$backend'" ;;
esac

pick_port
iqn=iqn.2026-11.io.portico:conformance
if [[ "$backend" == rbd ]]; then
  # Two gateways share the image; the suite talks to gw2 and uses gw1 for its multipath checks.
  for n in 1 2; do
    lun_config "$WORK/gw$n.yaml" "$iqn" - "127.0.0.$n:$PORT" "${lun_keys[@]}"
    sed -i "s/^  name: .*/  name: cu-gw$n-$PORT/" "$WORK/gw$n.yaml"
    start_gateway "gw$n" "$WORK/gw$n.yaml" "127.0.0.$n"
  done
  urls=("iscsi://127.0.0.2:$PORT/$iqn/0" "iscsi://127.0.0.1:$PORT/$iqn/0")
else
  portals="127.0.0.1:$PORT"
  urls=("iscsi://127.0.0.1:$PORT/$iqn/0")
  if $multipath; then
    portals+=",127.0.0.2:$PORT"
    urls+=("iscsi://127.0.0.2:$PORT/$iqn/0")
  fi
  lun_config "$WORK/config.yaml" "$iqn" "$size" "$portals" "${lun_keys[@]}"
  start_porticod "$WORK/config.yaml"
fi

rc=0
# -d: dataloss (write tests), -S: sanitize (both destroy the LUN's data); the suite logs in with two initiator names, the ACL is "any".
iscsi-test-cu -d -S --test="ALL.$suite" "${urls[@]}" >"$WORK/cu.log" 2>&1 || rc=$?
cat "$WORK/cu.log"

# Run Summary:    Type  Total    Ran Passed Failed Inactive
#               suites      1      1    n/a      0        0
#                tests      7      7      7      0        0
read -r _ s_total s_ran _ s_failed _ < <(grep -E '^ +suites +[0-9]' "$WORK/cu.log" || echo "x 0 0 0 0 0")
read -r _ t_total t_ran t_passed t_failed _ < <(grep -E '^ +tests +[0-9]' "$WORK/cu.log" || echo "x 0 0 0 0 0")
skipped=$(grep -c '\[SKIPPED\]' "$WORK/cu.log" || true)
removable_skips=$(grep '\[SKIPPED\]' "$WORK/cu.log" | grep -Ec 'not removable' || true)
echo "ALL.$suite ($backend LUN${lun_keys[*]:+: ${lun_keys[*]}}): tests=$t_total ran=$t_ran" \
     "passed=$((t_passed - skipped)) skipped=$skipped (not removable: $removable_skips)" \
     "failed=$t_failed suites_failed=$s_failed exit=$rc"
grep -q '^Run Summary' "$WORK/cu.log" || die "ALL.$suite: no CUnit Run Summary (iscsi-test-cu exit $rc)"
((s_total > 0 && s_ran > 0)) || die "ALL.$suite: the suite did not run (suite name wrong or set-up failed)"
((t_ran > 0)) || die "ALL.$suite: 0 tests ran"

# The names of the failed tests: CUnit prints "  Test: NAME ...FAILED" (possibly with the
# test's own output between the dots and FAILED, on the same or the following lines).
mapfile -t failed_tests < <(awk '/^  Test: /{name=$2} /FAILED$/ && name!=""{print name; name=""}' "$WORK/cu.log")
expected_failures=${#known_defects[@]}
for race in "${known_races[@]}"; do
  if printf '%s\n' "${failed_tests[@]}" | grep -qx -- "$race"; then
    log "ALL.$suite.$race: failed, a known race between gateways (see tests/integration/CMakeLists.txt)"
    expected_failures=$((expected_failures + 1))
  fi
done
for defect in "${known_defects[@]}"; do
  printf '%s\n' "${failed_tests[@]}" | grep -qx -- "$defect" ||
    die "ALL.$suite.$defect was listed as a defect of the test but did not fail: drop it from the list"
  log "ALL.$suite.$defect: failed as expected (a defect of the test, see tests/integration/CMakeLists.txt)"
done
((t_failed == expected_failures && s_failed == 0)) ||
  die "ALL.$suite: $t_failed test(s) failed (${failed_tests[*]:-none named}), $expected_failures expected"
((rc == 0 || expected_failures > 0)) || die "ALL.$suite: iscsi-test-cu exited $rc"
if $read_only; then
  ((skipped == 0)) || die "ALL.$suite: $skipped test(s) skipped against a write-protected LUN"
fi
((skipped == removable_skips)) || die "ALL.$suite: $((skipped - removable_skips)) test(s) skipped for another reason than a non-removable LUN"

if [[ "$backend" == rbd ]]; then
  stop_gateway gw2
  stop_gateway gw1
else
  stop_porticod
fi
