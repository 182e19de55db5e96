#!/bin/bash
# conformance_test.sh SUITE [SIZE] [read-only]: runs one libiscsi iscsi-test-cu suite (ALL.<SUITE>)
# against a fresh memory LUN (write protected with "read-only": then no test may skip). One process per suite: libiscsi 1.19 running the whole ALL family in one
# process goes wrong after the first suites (shared/recipes/peers-and-suites.md).
# Fails if CUnit reports a failed test or suite, or if no test ran. CUnit counts a test that
# prints [SKIPPED] as passed, so skips are counted from the log and reported separately.
source "$(dirname "$0")/lib.sh"
require_tools iscsi-test-cu
suite=${1:?usage: conformance_test.sh SUITE [SIZE]}
size=${2:-128MiB}
mode=${3:-}

pick_port
iqn=iqn.2026-11.io.portico:conformance
memory_config "$WORK/config.yaml" "$iqn" "$size" "$mode"
start_porticod "$WORK/config.yaml"

rc=0
# -d: dataloss (write tests); the suite logs in with two initiator names, the ACL is "any".
iscsi-test-cu -d --test="ALL.$suite" "iscsi://127.0.0.1:$PORT/$iqn/0" >"$WORK/cu.log" 2>&1 || rc=$?
cat "$WORK/cu.log"

# Run Summary:    Type  Total    Ran Passed Failed Inactive
#               suites      1      1    n/a      0        0
#                tests      7      7      7      0        0
read -r _ s_total s_ran _ s_failed _ < <(grep -E '^ +suites +[0-9]' "$WORK/cu.log" || echo "x 0 0 0 0 0")
read -r _ t_total t_ran t_passed t_failed _ < <(grep -E '^ +tests +[0-9]' "$WORK/cu.log" || echo "x 0 0 0 0 0")
skipped=$(grep -c '\[SKIPPED\]' "$WORK/cu.log" || true)
echo "ALL.$suite: tests=$t_total ran=$t_ran passed=$((t_passed - skipped)) skipped=$skipped failed=$t_failed" \
     "suites_failed=$s_failed exit=$rc"
grep -q '^Run Summary' "$WORK/cu.log" || die "ALL.$suite: no CUnit Run Summary (iscsi-test-cu exit $rc)"
((s_total > 0 && s_ran > 0)) || die "ALL.$suite: the suite did not run (suite name wrong or set-up failed)"
((t_ran > 0)) || die "ALL.$suite: 0 tests ran"
((t_failed == 0 && s_failed == 0)) || die "ALL.$suite: $t_failed test(s) failed"
((rc == 0)) || die "ALL.$suite: iscsi-test-cu exited $rc"
if [[ "$mode" == read-only ]]; then
  ((skipped == 0)) || die "ALL.$suite: $skipped test(s) skipped against a write-protected LUN"
fi

stop_porticod
