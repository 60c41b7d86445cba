#!/bin/bash
# The test runner of the systemd guest (tests/vm/systemd-guest.sh). nsbox-vm.service runs it
# (through /usr/local/libexec/nsbox-vm-launch, which mounts the payload disk on /nsbox-vm)
# once the boot has reached multi-user.target. Like tests/vm/init.sh, it reports on the
# serial console, one line per test:
#   PASS name | FAIL name | SKIP name: reason     (a failing test's output follows as "  | ...")
# then exactly one "N passed, M failed, K skipped" line, and powers off. Lines starting "vm: "
# are information; "TIME name seconds" lines feed the host's timing file. Everything it
# prints also goes to /nsbox-vm/results/console.log, each test's whole output to
# results/tests/NAME.log and the journal of the boot to results/journal.txt: the host reads
# them back from the payload image with debugfs.
#
# The payload (made by the host): config (WATCHDOG TEST_TIMEOUT FAIL_LINES BOOT_TIMEOUT
# BOOT_REPORT),
# env (the NSBOX_VM_ENV assignments), tests ("suite path function" lines, path relative to
# the repo), bin/ (nsbox and NSBOX_VM_EXTRA_FILES: installed side by side in /usr/local/bin),
# lib/ (shared libraries of those that the image lacks), src/nsbox/ (the repo's
# tests/integration, scripts and tests/vm/systemd).
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LC_ALL=C TERM=dumb
P=/nsbox-vm
RES=$P/results
STATE=/run/nsbox-vm
mkdir -p "$RES/tests" "$STATE"
: >"$RES/console.log"
# shellcheck source=/dev/null
. "$P/config"
uptime_s() { cut -d' ' -f1 /proc/uptime; }

finish() {
  journalctl -b --no-pager -o short-monotonic >"$RES/journal.txt" 2>&1
  sync
  systemctl poweroff --force
  sleep 20
  echo o >/proc/sysrq-trigger # should the manager not answer
}

PASSED=0 FAILED=0 SKIPPED=0
save_counts() { echo "$PASSED $FAILED $SKIPPED" >"$STATE/counts"; }

run_all() {
  save_counts
  echo "(setup)" >"$STATE/current"
  # Watchdog: a guest that hangs still ends with a FAIL line and a summary. (Its sleep does
  # not hold the output pipe: killing the subshell at the end releases it.)
  (
    sleep "$WATCHDOG" >/dev/null 2>&1
    read -r p f s <"$STATE/counts"
    echo "FAIL vm-watchdog: tests still running after ${WATCHDOG}s (in $(cat "$STATE/current"))"
    echo "$p passed, $((f + 1)) failed, $s skipped"
    sleep 1
    finish
  ) &
  WATCHDOG_PID=$!

  echo "vm: runner started, up $(uptime_s)s"
  local state
  state=$(timeout "$BOOT_TIMEOUT" systemctl is-system-running --wait 2>&1)
  echo "vm: system state: $state (up $(uptime_s)s)"
  if [ "$state" != running ]; then
    echo "vm: failed units: $(systemctl list-units --failed --plain --no-legend --no-pager | awk '{printf "%s ", $1}')"
    echo "vm: jobs: $(systemctl list-jobs --plain --no-legend --no-pager | awk '{printf "%s(%s) ", $2, $4}')"
  fi
  systemd-analyze time 2>&1 | sed 's/^/vm: boot: /'
  # (blame and critical-chain take seconds under emulation: only when asked, VM_VERBOSE=1)
  if [ "${BOOT_REPORT:-0}" = 1 ]; then
    echo "vm: slowest units: $(systemd-analyze blame --no-pager 2>/dev/null | head -8 | awk '{printf "%s %s, ", $NF, $1}')"
    systemd-analyze critical-chain --no-pager 2>&1 | sed 's/^/vm: critical chain: /'
  fi
  echo "vm: kernel $(uname -r), systemd $(systemctl --version | awk 'NR == 1 {print $2}'), $(nproc) cpus, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB"
  echo "vm: cgroup mounts: $(awk '$3 ~ /^cgroup/ {printf "%s on %s (%s) ", $3, $2, $4}' /proc/mounts)"
  echo "vm: cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers); subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control); runner in $(cut -d: -f3 /proc/self/cgroup)"

  # The payload: binaries side by side in /usr/local/bin, libraries the image lacks, the repo.
  cp -a "$P/bin/." /usr/local/bin/
  if [ -n "$(ls -A "$P/lib" 2>/dev/null)" ]; then
    cp -a "$P/lib/." /usr/local/lib/
    ldconfig
    echo "vm: libraries from the host: $(cd "$P/lib" && echo *)"
  fi
  rm -rf /src/nsbox
  mkdir -p /src
  cp -a "$P/src/nsbox" /src/nsbox
  local f missing
  for f in "$P"/bin/*; do
    missing=$(ldd "/usr/local/bin/${f##*/}" 2>/dev/null | grep 'not found')
    [ -z "$missing" ] || echo "vm: /usr/local/bin/${f##*/} lacks libraries: $missing"
  done
  echo "vm: payload installed, up $(uptime_s)s"
  export NSBOX=/usr/local/bin/nsbox NSBOX_TEST_WORK=/tmp/nsbox-itest
  # shellcheck source=/dev/null
  . "$P/env"
  [ ! -s "$P/env" ] || echo "vm: environment: $(sed -n 's/^export //p' "$P/env" | tr '\n' ' ')"

  cd /src/nsbox || return
  local T0 suite file fn name out t rc dt reason
  T0=$(uptime_s)
  while read -r suite file fn; do
    [ -n "$fn" ] || continue
    name=$suite.$fn
    echo "$name" >"$STATE/current"
    out=$STATE/out
    t=$(uptime_s)
    timeout -s TERM "$TEST_TIMEOUT" bash tests/integration/run_one.sh "$file" "$fn" >"$out" 2>&1 </dev/null
    rc=$?
    dt=$(awk -v a="$t" -v b="$(uptime_s)" 'BEGIN {printf "%.1f", b - a}')
    if [ "$rc" -eq 0 ]; then
      PASSED=$((PASSED + 1))
      echo "PASS $name"
    elif [ "$rc" -eq 77 ]; then
      SKIPPED=$((SKIPPED + 1))
      reason=$(sed -n 's/^.*SKIP: //p' "$out" | tail -1)
      echo "SKIP $name: ${reason:-no reason given}"
    else
      FAILED=$((FAILED + 1))
      if { [ "$rc" -eq 124 ] || [ "$rc" -eq 143 ]; } && awk -v d="$dt" -v t="$TEST_TIMEOUT" 'BEGIN {exit !(d >= t - 1)}'; then
        echo "FAIL $name (exit $rc: killed after the ${TEST_TIMEOUT}s test timeout)"
      else
        echo "FAIL $name (exit $rc)"
      fi
      tail -n "$FAIL_LINES" "$out" | sed 's/^/  | /'
    fi
    echo "TIME $name $dt"
    cp "$out" "$RES/tests/$name.log"
    save_counts
  done <"$P/tests"

  kill "$WATCHDOG_PID" 2>/dev/null
  echo "vm: tests took $(awk -v a="$T0" -v b="$(uptime_s)" 'BEGIN {printf "%.1f", b - a}')s, guest up $(uptime_s)s"
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
}

run_all 2>&1 | tee -a "$RES/console.log"
finish
