#!/usr/bin/env bash
# System containers: a Debian 12 root filesystem (scripts/mkdebian.sh) booting systemd, under
# nsbox (`spec --system --network none`, detached with its console keeper) and under LXC
# (lxc-start -d, /sbin/init, no network), one after the other in one run: the time from the
# start command to multi-user.target reached (a oneshot unit ordered after it writes /booted,
# which this script polls for on the host), the time `nsbox stop` / `lxc-stop` takes to halt
# it, and the memory of the one process each keeps beside the container (nsbox's console
# keeper, LXC's monitor). Runs inside a network and mount namespace of its own.
# usage: bench/system.sh     (as root; BENCH_N boots each, default 10)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NSBOX=${NSBOX:-$REPO/build/nsbox}
N=${BENCH_N:-10}
[[ -x $NSBOX ]] || { echo "bench: build first" >&2; exit 1; }
[[ $(id -u) = 0 ]] || { echo "bench: run as root" >&2; exit 1; }

TMP=$(mktemp -d /tmp/nsbox-sysbench.XXXXXX)
HOLDER=
cleanup() {
  set +e
  "$NSBOX" --root "$TMP/state" delete --force sysbench >/dev/null 2>&1
  [[ -n $HOLDER ]] && in_ns lxc-stop -n sysbench -P "$TMP/lxc" -k >/dev/null 2>&1
  if [[ -n $HOLDER ]]; then
    kill -KILL "$HOLDER"
    wait "$HOLDER"
  fi 2>/dev/null
  rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT
# shellcheck source=lib.sh
. "$REPO/bench/lib.sh"

ROOT=$TMP/bundle/rootfs
"$REPO/scripts/mkdebian.sh" "$ROOT"
# The mark of a finished boot: written once multi-user.target is reached.
cat >"$ROOT/etc/systemd/system/bench-booted.service" <<'EOF'
[Unit]
Description=Mark the end of the boot for bench/system.sh
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo up > /booted'
[Install]
WantedBy=multi-user.target
EOF
ln -sf ../bench-booted.service "$ROOT/etc/systemd/system/multi-user.target.wants/bench-booted.service"
"$NSBOX" spec --system --network none --bundle "$TMP/bundle"
holder_ns

# wait_booted: polls for $ROOT/booted every 2 ms, up to 60 s.
wait_booted() {
  local i
  for ((i = 0; i < 30000; i++)); do
    [[ -e $ROOT/booted ]] && return 0
    sleep 0.002
  done
  echo "bench: no boot within 60 s" >&2
  return 1
}

# boot_and_stop LABEL START STOP: N boots (after one untimed); sets BOOT_MS, STOP_MS (means)
# and RSS_KB, the keeper's or monitor's memory in the last run (from KEEPER_PID_CMD):
# resident / of which its own (anonymous, not the program's shared file pages).
boot_and_stop() {
  local label=$1 start=$2 stop=$3 i t0 t1 t2 boot=0 halt=0
  for ((i = 0; i <= N; i++)); do
    rm -f "$ROOT/booted"
    t0=${EPOCHREALTIME/./}
    eval "$start" >/dev/null 2>"$TMP/err" || { echo "bench: $label start failed: $(cat "$TMP/err")" >&2; return 1; }
    wait_booted
    t1=${EPOCHREALTIME/./}
    [[ $i -eq $N ]] && RSS_KB=$(for p in $(eval "$KEEPER_PID_CMD"); do cat "/proc/$p/status"; done |
      awk '$1 == "VmRSS:" {r += $2} $1 == "RssAnon:" {a += $2} END {printf "%d/%d", r, a}')
    eval "$stop" >/dev/null 2>"$TMP/err" || { echo "bench: $label stop failed: $(cat "$TMP/err")" >&2; return 1; }
    t2=${EPOCHREALTIME/./}
    if ((i > 0)); then
      boot=$((boot + t1 - t0))
      halt=$((halt + t2 - t1))
    fi
  done
  BOOT_MS=$(awk -v s="$boot" -v n="$N" 'BEGIN { printf "%.0f", s / n / 1000 }')
  STOP_MS=$(awk -v s="$halt" -v n="$N" 'BEGIN { printf "%.0f", s / n / 1000 }')
}

declare -A BOOT STOP RSS
S="in_ns $NSBOX --root $TMP/state"
KEEPER_PID_CMD="jq -r .consoleKeeper $TMP/state/sysbench/state.json"
boot_and_stop nsbox "$S run -d --bundle $TMP/bundle sysbench </dev/null" "$S stop sysbench && $S delete sysbench"
BOOT[nsbox]=$BOOT_MS STOP[nsbox]=$STOP_MS RSS[nsbox]=$RSS_KB

if command -v lxc-start >/dev/null; then
  lxc_cgroups_mark
  mkdir -p "$TMP/lxc/sysbench"
  cat >"$TMP/lxc/sysbench/config" <<EOF
lxc.uts.name = sysbench
lxc.rootfs.path = dir:$ROOT
lxc.net.0.type = empty
lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed
lxc.autodev = 1
lxc.apparmor.profile = unconfined
lxc.signal.halt = SIGRTMIN+3
lxc.tty.max = 1
lxc.pty.max = 16
lxc.environment = container=lxc
EOF
  KEEPER_PID_CMD="pgrep -f '^\[lxc monitor\] $TMP/lxc sysbench' || true"
  L="in_ns lxc-start -n sysbench -P $TMP/lxc -d -o $TMP/lxc/log"
  if boot_and_stop lxc "$L" "in_ns lxc-stop -n sysbench -P $TMP/lxc -t 60"; then
    BOOT[lxc]=$BOOT_MS STOP[lxc]=$STOP_MS RSS[lxc]=$RSS_KB
  fi
  lxc_cgroups_sweep
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }
printf 'N=%d boots of Debian 12 (systemd %s) to multi-user.target, then a halt; means\n' "$N" \
  "$(chroot "$ROOT" systemctl --version 2>/dev/null | awk 'NR == 1 {print $2}')"
printf '%-10s %10s %10s %22s\n' "" "boot ms" "stop ms" "keeper RSS/own KiB"
printf '%-10s %10s %10s %22s\n' nsbox "${BOOT[nsbox]}" "${STOP[nsbox]}" "${RSS[nsbox]}"
if [[ -n ${BOOT[lxc]:-} ]]; then
  printf '%-10s %10s %10s %22s\n' lxc "${BOOT[lxc]}" "${STOP[lxc]}" "${RSS[lxc]}"
  printf '%-10s %10s %10s %22s\n' nsbox/lxc "$(ratio "${BOOT[nsbox]}" "${BOOT[lxc]}")" \
    "$(ratio "${STOP[nsbox]}" "${STOP[lxc]}")" "$(ratio "${RSS[nsbox]%/*}" "${RSS[lxc]%/*}")/$(ratio "${RSS[nsbox]#*/}" "${RSS[lxc]#*/}")"
else
  echo "lxc: not installed or failed (Debian package lxc): no LXC figure"
fi
