#!/bin/bash
# The Prometheus endpoint (gateway.metrics_listener): its text passes Prometheus' own parser
# (promtool check metrics) before and under load, and the values move with what hosts do:
# iSCSI reads and writes, a reservation change, NVMe/TCP reads and writes, connections and
# sessions while a host is logged in.
source "$(dirname "$0")/lib.sh"
require_tools curl promtool
: "${PORTICO_LOADGEN:?PORTICO_LOADGEN must name the portico-loadgen binary}"
: "${PORTICO_NVME:?PORTICO_NVME must name the portico-nvme binary}"

pick_port
((PORT < PORTICO_PORT_BASE + 7)) || die "no room for the NVMe and metrics ports after $PORT"
nvme_port=$((PORTICO_PORT_BASE + 7))
metrics_port=$((PORTICO_PORT_BASE + 9))
iqn=iqn.2026-11.io.portico:it-metrics
nqn=nqn.2026-11.io.portico:it-metrics
host=6a2f1d8b-1c3e-4d5f-8a62-9c3e1f7a2b4d
cat >"$WORK/config.yaml" <<YAML
log:
  level: info
gateway:
  portals: ["127.0.0.1:$PORT"]
  nvme_listeners: ["127.0.0.1:$nvme_port"]
  nvme_discovery_listeners: ["127.0.0.1:$((nvme_port + 1))"]
  metrics_listener: "127.0.0.1:$metrics_port"
targets:
  - iqn: $iqn
    nvme:
      nqn: $nqn
    luns:
      - {lun: 0, backend: memory, size: 16MiB}
YAML
start_porticod "$WORK/config.yaml"

# scrape NAME: the endpoint's text into $WORK/NAME.txt, checked by promtool.
scrape() {
  curl -sf --max-time 5 "http://127.0.0.1:$metrics_port/metrics" >"$WORK/$1.txt" || die "scrape $1 failed"
  promtool check metrics <"$WORK/$1.txt" >"$WORK/$1.promtool" 2>&1 ||
    { cat "$WORK/$1.promtool" >&2; die "promtool rejects the $1 scrape"; }
}
# value NAME SELECTOR: the sample of metric NAME whose labels contain every "k=\"v\"" of
# SELECTOR (comma-separated, in order), or 0 when there is none.
value() {
  local name=$1 selector=$2
  awk -v name="$name" -v sel="$selector" '
    $1 ~ "^" name "({|$)" {
      n = split(sel, want, ",")
      ok = 1
      for (i = 1; i <= n; ++i) if (want[i] != "" && index($1, want[i]) == 0) ok = 0
      if (ok) { print $2; found = 1; exit }
    }
    END { if (!found) print 0 }' "$WORK/$3.txt"
}
# more A B: A > B (either may be in exponent notation).
more() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

scrape idle
log "promtool accepts the idle scrape ($(grep -vc '^#' "$WORK/idle.txt") samples)"
[[ "$(value portico_lun_commands_total 'op="write"' idle)" == 0 ]] || die "writes counted before any host wrote"

# ---- iSCSI: a session that writes, reads and registers a reservation key ----
url="iscsi://127.0.0.1:$PORT/$iqn/0"
"$PORTICO_LOADGEN" --url "$url" --rw randwrite --qd 4 --seconds 3 --size 8MiB --register-key 0x1234 \
  >"$WORK/write.txt" 2>&1 &
writer=$!
sleep 1.5
scrape busy
wait "$writer" || { cat "$WORK/write.txt" >&2; die "portico-loadgen randwrite failed"; }
sessions=$(value portico_frontend_sessions 'protocol="iscsi"' busy)
connections=$(value portico_frontend_connections 'protocol="iscsi"' busy)
((sessions >= 1 && connections >= 1)) || die "while a host is logged in: iscsi sessions $sessions, connections $connections"
"$PORTICO_LOADGEN" --url "$url" --rw randread --qd 4 --seconds 1 --size 8MiB >"$WORK/read.txt" 2>&1 ||
  { cat "$WORK/read.txt" >&2; die "portico-loadgen randread failed"; }
scrape after_iscsi
sel='transport="iscsi",op='
writes=$(value portico_lun_commands_total "${sel}\"write\"" after_iscsi)
reads=$(value portico_lun_commands_total "${sel}\"read\"" after_iscsi)
written=$(value portico_lun_bytes_total "${sel}\"write\"" after_iscsi)
write_latency_count=$(value portico_lun_latency_seconds_count "${sel}\"write\"" after_iscsi)
write_inf=$(value portico_lun_latency_seconds_bucket "${sel}\"write\",le=\"+Inf\"" after_iscsi)
changes=$(value portico_lun_reservation_changes_total 'lun="0"' after_iscsi)
more "$writes" 100 || die "iSCSI writes counted: $writes"
more "$reads" 100 || die "iSCSI reads counted: $reads"
more "$written" $((writes * 4096 - 1)) || die "bytes written $written for $writes writes of 4 KiB"
[[ "$write_latency_count" == "$writes" && "$write_inf" == "$writes" ]] ||
  die "write latency histogram count $write_latency_count, +Inf $write_inf, commands $writes"
# REGISTER before the run and the removal after it: two changes of the record.
((changes >= 2)) || die "reservation changes counted: $changes (loadgen registered and removed a key)"
more "$(value portico_lun_commands_total "${sel}\"write\"" busy)" 0 || die "the mid-run scrape saw no writes"
log "iSCSI: $writes writes ($written bytes), $reads reads, $changes reservation changes; mid-run $sessions session(s)"

# ---- NVMe/TCP on the same unit ----
nv() {
  "$PORTICO_NVME" "$1" --port "$nvme_port" --nqn "$nqn" --hostid "$host" --hostnqn "nqn.2014-08.org.nvmexpress:uuid:$host" "${@:2}"
}
nv write --lba 64 --blocks 8 --pattern 0x6d >/dev/null || die "NVMe write failed"
nv read --lba 64 --blocks 8 --output "$WORK/nvme-read.bin" || die "NVMe read failed"
scrape after_nvme
nvme_reads=$(value portico_lun_commands_total 'transport="nvme_tcp",op="read"' after_nvme)
nvme_writes=$(value portico_lun_commands_total 'transport="nvme_tcp",op="write"' after_nvme)
nvme_read_bytes=$(value portico_lun_bytes_total 'transport="nvme_tcp",op="read"' after_nvme)
[[ "$nvme_reads" == 1 && "$nvme_writes" == 1 ]] || die "NVMe reads $nvme_reads, writes $nvme_writes (expected 1 and 1)"
[[ "$nvme_read_bytes" == 4096 ]] || die "NVMe read bytes $nvme_read_bytes (expected 8 blocks of 512)"
[[ "$(value portico_lun_commands_total "${sel}\"write\"" after_nvme)" == "$writes" ]] ||
  die "NVMe commands must not count as iSCSI ones"
log "NVMe/TCP: 1 write and 1 read of 4096 bytes counted apart from iSCSI"

# A client that connects and sends nothing does not stop scrapes.
exec 7<>"/dev/tcp/127.0.0.1/$metrics_port"
scrape with_idle_client
exec 7>&-

stop_porticod
log "PASS metrics_test"
