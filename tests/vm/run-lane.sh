#!/bin/bash
# The VM lane: real Linux kernel initiators against porticod, each test in its own throw-away
# guest under qemu (tests/vm/run-in-vm.sh). Builds or reuses the guest image, runs every test
# with a hard time limit, prints PASS/FAIL per test, the failover stall and the lane's wall
# time; exits non-zero when any test fails.
#
#   tests/vm/run-lane.sh [TEST...]      # default: single_gateway two_gateways nvme_gateways tcmu_gateway
#                                       #   tcmu_cross_fabric tcmu_conformance systemd_gateway rdma_cm_probe rdma_gateway rdma_multipath
#   tests/vm/run-lane.sh nvme_bench     # for reference: nvmet-tcp against porticod, same host and fio
#   tests/vm/run-lane.sh tcmu_bench     # for reference: tcm_loop on porticod against LIO's rd_mcp
#   tests/vm/run-lane.sh rdma_bench     # for reference: nvmet-rdma against porticod over RDMA and TCP
#
# Environment: PORTICO_BUILD (build tree with daemon/porticod; default build/release),
# PORTICO_VM_CACHE (image folder; default build/vm-image). Needs root, qemu-system-x86 and
# debootstrap (scripts/install-deps.sh installs them).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PORTICO_BUILD=$(realpath -m "${PORTICO_BUILD:-$root/build/release}")
PORTICO_VM_CACHE=$(realpath -m "${PORTICO_VM_CACHE:-$root/build/vm-image}")
export PORTICO_BUILD PORTICO_VM_CACHE
lane_started=$SECONDS
declare -A limit=([single_gateway]=480 [two_gateways]=1200 [nvme_gateways]=900 [tcmu_gateway]=900 [tcmu_cross_fabric]=900 [tcmu_conformance]=900 [tcmu_bench]=900 [nvme_bench]=900 [systemd_gateway]=900 [rdma_cm_probe]=300 [rdma_gateway]=600 [rdma_multipath]=1200 [rdma_bench]=1200)
tests=("$@")
((${#tests[@]})) || tests=(single_gateway two_gateways nvme_gateways tcmu_gateway tcmu_cross_fabric tcmu_conformance
                           systemd_gateway rdma_cm_probe rdma_gateway rdma_multipath)

[[ -x "$PORTICO_BUILD/daemon/porticod" ]] ||
  { echo "run-lane: $PORTICO_BUILD/daemon/porticod is missing; build first (or set PORTICO_BUILD)" >&2; exit 1; }
case "$PORTICO_BUILD" in
  "$root"/*) ;;
  *) echo "run-lane: PORTICO_BUILD must be inside $root (the guest sees only the repository)" >&2; exit 1 ;;
esac

t=$SECONDS
bash "$here/build-image.sh" "$PORTICO_VM_CACHE" || { echo "run-lane: FAIL: the guest image could not be built" >&2; exit 1; }
image_s=$((SECONDS - t))

results=()
failed=0
stall="n/a"
blocklist="n/a"
nvme_stall="n/a"
tcmu_stall="n/a"
rdma_stall="n/a"
out=$(mktemp -d "${TMPDIR:-/tmp}/portico-vm-lane.XXXXXX")
for name in "${tests[@]}"; do
  script="$here/${name}_test.sh"
  [[ -f "$script" ]] || { echo "run-lane: no such test: $script" >&2; exit 2; }
  echo "==> $name (limit ${limit[$name]:-600} s)"
  t=$SECONDS
  bash "$here/run-in-vm.sh" --timeout "${limit[$name]:-600}" "$script" 2>&1 | tee "$out/$name.log"
  rc=${PIPESTATUS[0]}
  secs=$((SECONDS - t))
  boot=$(grep -oE 'booted in [0-9.]+ s' "$out/$name.log" | head -n1 | grep -oE '[0-9.]+' || true)
  if [[ "$name" == two_gateways ]]; then
    read -r stall_ms resume_ms gap_ms < <(grep -oE 'STALL_MS=[0-9]+ RESUME_MS=[0-9]+ GAP_MS=[0-9]+' \
      "$out/$name.log" | tail -n1 | sed 's/[A-Z_]*=//g') || true
    [[ -n "${stall_ms:-}" ]] && stall="no write waited more than ${stall_ms} ms after the kill;\
 write completions resumed after ${resume_ms} ms (longest gap ${gap_ms} ms)"
    read -r sense_n failed_n < <(grep -oE 'BLOCKLIST_SENSE=[0-9]+ BLOCKLIST_FAILED_PATHS=[0-9]+' \
      "$out/$name.log" | tail -n1 | sed 's/[A-Z_]*=//g') || true
    [[ -n "${sense_n:-}" ]] && blocklist="fio without an error; the host saw ${sense_n} NOT READY 08h/00h\
 answer(s) and failed the path ${failed_n} time(s)"
  fi
  if [[ "$name" == nvme_gateways ]]; then
    read -r n_stall n_resume n_gap < <(grep -oE 'NVME_STALL_MS=[0-9]+ NVME_RESUME_MS=[0-9]+ NVME_GAP_MS=[0-9]+' \
      "$out/$name.log" | tail -n1 | sed 's/[A-Z_]*=//g') || true
    [[ -n "${n_stall:-}" ]] && nvme_stall="no write waited more than ${n_stall} ms after the kill;\
 write completions resumed after ${n_resume} ms (longest gap ${n_gap} ms)"
  fi
  if [[ "$name" == rdma_multipath ]]; then
    read -r r_stall r_resume r_gap < <(grep -oE 'RDMA_FAILOVER_STALL_MS=[0-9]+ RDMA_FAILOVER_RESUME_MS=[0-9]+ RDMA_FAILOVER_GAP_MS=[0-9]+' \
      "$out/$name.log" | tail -n1 | sed 's/[A-Z_]*=//g') || true
    [[ -n "${r_stall:-}" ]] && rdma_stall="no write waited more than ${r_stall} ms after the kill;\
 write completions resumed after ${r_resume} ms (longest gap ${r_gap} ms)"
  fi
  if [[ "$name" == tcmu_gateway ]]; then
    read -r t_gap t_stall < <(grep -oE 'TCMU_RESTART_GAP_MS=[0-9]+ TCMU_RESTART_STALL_MS=[0-9]+' \
      "$out/$name.log" | tail -n1 | sed 's/[A-Z_]*=//g') || true
    [[ -n "${t_stall:-}" ]] && tcmu_stall="no write waited more than ${t_stall} ms across the restart\
 (longest gap between write completions ${t_gap} ms)"
  fi
  [[ "$name" == tcmu_conformance ]] && grep -o 'CU_COUNTS .*' "$out/$name.log" >"$out/cu_counts.txt"
  [[ "$name" == rdma_bench ]] && grep -o 'RDMA_BENCH .*' "$out/$name.log" >"$out/rdma_bench.txt"
  [[ "$name" == tcmu_bench ]] && grep -o 'TCMU_BENCH .*' "$out/$name.log" >"$out/tcmu_bench.txt"
  [[ "$name" == nvme_bench ]] && grep -o 'NVME_BENCH .*' "$out/$name.log" >"$out/nvme_bench.txt" && cp "$out/nvme_bench.txt" "$root/build/nvme_bench_last.txt" 2>/dev/null
  if ((rc == 0)); then verdict=PASS; else verdict="FAIL (exit $rc)"; failed=1; fi
  results+=("$(printf '%-16s %-15s %4d s (guest boot %s s)' "$name" "$verdict" "$secs" "${boot:-?}")")
done
summaries=$(cat "$out/cu_counts.txt" "$out/tcmu_bench.txt" 2>/dev/null || true)
rdma_bench=$(cat "$out/rdma_bench.txt" 2>/dev/null || true)
rm -rf "$out"

echo
echo "==== VM lane summary ===="
echo "image: ${image_s} s (build or reuse)"
printf '%s\n' "${results[@]}"
echo "failover I/O stall (kill -9 gw1): $stall"
echo "gw1 blocklisted under I/O: $blocklist"
echo "NVMe/TCP failover I/O stall (kill -9 gw1, native multipath): $nvme_stall"
echo "NVMe/RDMA gateway killed, I/O on over NVMe/TCP (kill -9 gw1, native multipath): $rdma_stall"
echo "TCMU handler restart under fio (kill -9 porticod, restart): $tcmu_stall"
if [[ -s "$root/build/nvme_bench_last.txt" && " ${tests[*]} " == *" nvme_bench "* ]]; then
  echo "nvmet-tcp against porticod (4 KiB, same kernel host and fio, software emulation: the ratio counts):"
  sed 's/^NVME_BENCH /  /' "$root/build/nvme_bench_last.txt"
fi
if [[ -n "$rdma_bench" ]]; then
  echo "nvmet-rdma against porticod over RDMA and TCP (soft-RoCE, software emulation: the ratios count):"
  sed 's/^RDMA_BENCH /  /' <<<"$rdma_bench"
fi
if [[ -n "$summaries" ]]; then
  echo "iscsi-test-cu ALL through LIO on porticod / porticod's iSCSI / LIO fileio, and tcm_loop on porticod against rd_mcp:"
  sed -e 's/^CU_COUNTS /  suite counts: /' -e 's/^TCMU_BENCH /  4 KiB IOPS: /' <<<"$summaries"
fi
echo "lane wall time: $((SECONDS - lane_started)) s"
exit "$failed"
