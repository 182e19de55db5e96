#!/bin/bash
# NVMe/TCP through porticod's own listener, with the project's initiator (tools/nvme_tcp,
# portico-nvme): a memory LUN that is also namespace 1 of an NVM subsystem.
#   - discovery controller (log page 70h) lists the subsystems a host may use, at the NVMe listener;
#   - Identify: controller id from this gateway's range, one namespace of the LUN's size;
#   - data: written with FUA and read back, with and without header/data digests; an LBA past
#     the end is LBA Out of Range; fused Compare + Write writes only on a match;
#   - reservations between two hosts: Write Exclusive blocks the other host's writes,
#     PREEMPT AND ABORT removes the holder (each portico-nvme call is a new controller, so the
#     notice in log page 80h is checked where a host stays connected: tests/vm, unit tests);
#   - bounds: a connection that never sends its ICReq is closed after the setup timeout; a
#     host that is not allowed cannot connect;
#   - a short perf run completes without errors.
source "$(dirname "$0")/lib.sh"
: "${PORTICO_NVME:?PORTICO_NVME must name the portico-nvme binary}"

pick_port
((PORT < PORTICO_PORT_BASE + 7)) || die "no room for the NVMe ports after $PORT"
nvme_port=$((PORTICO_PORT_BASE + 7))
discovery_port=$((PORTICO_PORT_BASE + 8))
nqn=nqn.2026-11.io.portico:it-nvme
host_a=5f1e0c7a-0d2b-4c3e-9a41-7b2f8e6d1c0a
host_b=5f1e0c7a-0d2b-4c3e-9a41-7b2f8e6d1c0b
cat >"$WORK/config.yaml" <<YAML
log:
  level: info
gateway:
  portals: ["127.0.0.1:$PORT"]
  nvme_listeners: ["127.0.0.1:$nvme_port"]
  nvme_discovery_listeners: ["127.0.0.1:$discovery_port"]
  login_timeout_s: 2
targets:
  - iqn: iqn.2026-11.io.portico:it-nvme
    nvme:
      nqn: $nqn
    luns:
      - {lun: 0, backend: memory, size: 16MiB}
  - iqn: iqn.2026-11.io.portico:it-nvme-acl
    nvme:
      nqn: $nqn-acl
      allowed_hosts: ["nqn.2014-08.org.nvmexpress:uuid:$host_a"]
    luns:
      - {lun: 0, backend: memory, size: 1MiB}
YAML
start_porticod "$WORK/config.yaml"
# nv HOST SUBCOMMAND ARGS...: portico-nvme against the subsystem as host A or B.
nv() {
  local host=$1 sub=$2
  shift 2
  "$PORTICO_NVME" "$sub" --port "$nvme_port" --nqn "$nqn" --hostid "$host" \
    --hostnqn "nqn.2014-08.org.nvmexpress:uuid:$host" "$@"
}

# ---- discovery: each host sees the subsystems it may connect to ----
# discovery_records HOST OUT: the discovery log page as HOST reads it, into OUT; prints NUMREC.
discovery_records() {
  "$PORTICO_NVME" get-log --port "$discovery_port" --nqn nqn.2014-08.org.nvmexpress.discovery --lid 0x70 \
    --length 3072 --hostid "$1" --hostnqn "nqn.2014-08.org.nvmexpress:uuid:$1" --output "$2" ||
    die "discovery log page failed"
  od -An -tu8 -j8 -N8 "$2" | tr -d ' '
}
records=$(discovery_records "$host_b" "$WORK/discovery-b.bin")
((records == 1)) || die "host B may use one subsystem, its discovery log lists $records"
records=$(discovery_records "$host_a" "$WORK/discovery.bin")
((records == 2)) || die "host A may use both subsystems, its discovery log lists $records"
entry=$(dd if="$WORK/discovery.bin" bs=1024 skip=1 count=2 2>/dev/null | tr -c '[:print:]' ' ')
expect_output "discovery: the subsystem" "$nqn" "$entry"
expect_output "discovery: the NVMe listener's port" "$nvme_port" "$entry"
expect_output "discovery: its address" "127\\.0\\.0\\.1" "$entry"
log "ok: discovery log page lists the subsystems each host may use, at 127.0.0.1:$nvme_port"

# ---- Identify ----
id=$(nv "$host_a" identify --nsid 1)
echo "$id" | head -n 8
cntlid=$(sed -n 's/^ *cntlid: *//p' <<<"$id")
((cntlid >= 1024 && cntlid < 2048)) || die "controller id $cntlid is not from target port group 1's range"
expect_output "Identify: the subsystem NQN" "subnqn: $nqn" "$id"
expect_output "Identify: one namespace" "namespaces: 1$" "$id"
expect_output "Identify: 16 MiB of 512-byte blocks" "size: 32768 blocks" "$id"
log "ok: Identify (controller $cntlid, one namespace of 32768 blocks)"

# ---- data ----
nv "$host_a" write --lba 8 --blocks 16 --pattern 0x5a --fua >/dev/null || die "FUA write failed"
nv "$host_a" read --lba 8 --blocks 16 --output "$WORK/read.bin" || die "read failed"
[[ "$(od -An -tx1 -v "$WORK/read.bin" | tr -s ' \n' '\n' | sort -u | grep -v '^$')" == 5a ]] ||
  die "read back something else than the 0x5a pattern"
nv "$host_a" write --lba 100 --blocks 256 --pattern 0x33 --hdgst --ddgst >/dev/null || die "write with digests failed"
nv "$host_a" read --lba 100 --blocks 256 --hdgst --ddgst --output "$WORK/digest.bin" || die "read with digests failed"
[[ "$(od -An -tx1 -v "$WORK/digest.bin" | tr -s ' \n' '\n' | sort -u | grep -v '^$')" == 33 ]] ||
  die "read back something else than the 0x33 pattern with digests"
if out=$(nv "$host_a" read --lba 32768 --blocks 1 2>&1); then die "a read past the end succeeded"; fi
expect_output "past the end" "LBA Out of Range" "$out"
nv "$host_a" compare-write --lba 8 --blocks 1 --expect-pattern 0x5a --pattern 0x11 >/dev/null ||
  die "Compare + Write with the right expectation failed"
if out=$(nv "$host_a" compare-write --lba 8 --blocks 1 --expect-pattern 0x5a --pattern 0x22 2>&1); then
  die "Compare + Write wrote over data that did not match"
fi
expect_output "miscompare" "Compare Failure" "$out"
expect_output "the write of a failed pair" "Failed Fused Command" "$out"
nv "$host_a" read --lba 8 --blocks 1 --output "$WORK/caw.bin" || die "read after Compare + Write failed"
[[ "$(od -An -tx1 -v "$WORK/caw.bin" | tr -s ' \n' '\n' | sort -u | grep -v '^$')" == 11 ]] ||
  die "the failed Compare + Write changed the block"
log "ok: data with FUA and digests, LBA Out of Range, fused Compare + Write on match only"

# ---- reservations between two hosts ----
nv "$host_a" resv-register --nrkey 0xaa >/dev/null || die "host A register failed"
nv "$host_a" resv-acquire --crkey 0xaa --rtype 1 >/dev/null || die "host A acquire (Write Exclusive) failed"
if out=$(nv "$host_b" write --lba 0 --blocks 1 --pattern 0x01 2>&1); then
  die "host B wrote through host A's Write Exclusive reservation"
fi
expect_output "host B's write" "Reservation Conflict" "$out"
nv "$host_b" read --lba 0 --blocks 1 --output /dev/null || die "host B cannot read under Write Exclusive"
nv "$host_b" resv-register --nrkey 0xbb >/dev/null || die "host B register failed"
nv "$host_b" resv-acquire --crkey 0xbb --prkey 0xaa --rtype 1 --action preempt-abort >/dev/null ||
  die "host B preempt and abort failed"
report=$(nv "$host_a" resv-report)
echo "$report"
expect_output "report: host B's key" "0xbb|bb" "$report"
if grep -Eq "rkey[^0-9a-z]*(0x)?aa\\b" <<<"$report"; then die "host A's key survived the preempt"; fi
if out=$(nv "$host_a" write --lba 0 --blocks 1 --pattern 0x02 2>&1); then die "preempted host A still writes"; fi
expect_output "host A's write after the preempt" "Reservation Conflict" "$out"
nv "$host_b" resv-release --crkey 0xbb --action clear >/dev/null || die "clear failed"
log "ok: Write Exclusive, PREEMPT AND ABORT"

# ---- bounds ----
exec 5<>"/dev/tcp/127.0.0.1/$nvme_port"
sleep 3.5
if read -r -t 1 -u 5 _; then :; fi
closed_line=$(grep -c "closed before Connect: no ICReq and Connect within 2 s" "$WORK/porticod.log" || true)
((closed_line >= 1)) || die "a connection without ICReq was not closed after the setup timeout"
exec 5>&-
if out=$("$PORTICO_NVME" identify --port "$nvme_port" --nqn "$nqn-acl" --hostid "$host_b" \
    --hostnqn "nqn.2014-08.org.nvmexpress:uuid:$host_b" 2>&1); then
  die "a host outside the subsystem's allowed hosts connected"
fi
expect_output "refused host" "Invalid Host|0x84" "$out"
"$PORTICO_NVME" identify --port "$nvme_port" --nqn "$nqn-acl" --hostid "$host_a" \
  --hostnqn "nqn.2014-08.org.nvmexpress:uuid:$host_a" >/dev/null || die "the allowed host cannot connect"
log "ok: setup timeout, allowed hosts"

# ---- a short load ----
perf=$(nv "$host_a" perf --rw randwrite --bs 4k --qd 16 --queues 2 --seconds 2)
echo "$perf"
expect_output "perf" "errors=0" "$perf"
stop_porticod
