#!/bin/bash
# porticod --check-config: every shipped example is valid, and a wrong key is reported on one
# line that names it, with a non-zero exit status.
source "$(dirname "$0")/lib.sh"
: "${PORTICO_EXAMPLES_DIR:?}"

# file-lun-chap.yaml keeps its image under /var/tmp/portico; --check-config wants the folder.
mkdir -p /var/tmp/portico
shopt -s nullglob
examples=("$PORTICO_EXAMPLES_DIR"/*.yaml)
((${#examples[@]} > 0)) || die "no examples in $PORTICO_EXAMPLES_DIR"
for example in "${examples[@]}"; do
  "$PORTICOD" --check-config "$example" || die "$example does not pass --check-config"
done

check_bad() {  # check_bad KEY-IN-MESSAGE YAML
  printf '%s\n' "$2" >"$WORK/bad.yaml"
  local out rc=0
  out=$("$PORTICOD" --check-config "$WORK/bad.yaml" 2>&1) || rc=$?
  echo "$out"
  ((rc != 0)) || die "a config with a bad $1 was accepted"
  (($(wc -l <<<"$out") == 1)) || die "expected one line naming $1, got $(wc -l <<<"$out")"
  grep -qF -- "$1" <<<"$out" || die "the message does not name $1"
}
good_target='targets: [{iqn: "iqn.2026-11.io.portico:x", luns: [{lun: 0, backend: memory, size: 1MiB}]}]'
check_bad "gateway.portls" "gateway: {portls: [\"127.0.0.1:3260\"]}
$good_target"
check_bad "targets[0].luns[0].sise" 'gateway: {portals: ["127.0.0.1:3260"]}
targets: [{iqn: "iqn.2026-11.io.portico:x", luns: [{lun: 0, backend: memory, sise: 1MiB}]}]'
check_bad "gateway.portals[0]" "gateway: {portals: [\"not-an-address\"]}
$good_target"
check_bad "gateway.metrics_listener" "gateway: {portals: [\"127.0.0.1:3260\"], metrics_listener: \"nowhere\"}
$good_target"
