#!/usr/bin/env bash
# The systemd cgroup driver against the cgroupfs one, and against runc's and crun's systemd
# drivers: sequential `run` of /bin/true in the systemd guest (tests/vm/systemd-guest.sh:
# Debian 12, systemd 252 as pid 1, cgroup v2, software emulation), all in one guest run.
# usage: bench/systemd.sh      (as root; BENCH_N runs per runtime, default 30; a few minutes)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# NSBOX: the binary to time (default build/nsbox; a stripped copy is what users install), its
# nsbox-systemd beside it.
NSBOX=${NSBOX:-$REPO/build/nsbox}
[ -x "$NSBOX" ] && [ -x "$(dirname "$NSBOX")/nsbox-systemd" ] || "$REPO/scripts/build.sh"
out=$(NSBOX=$NSBOX NSBOX_VM_EXTRA_FILES="$(dirname "$NSBOX")/nsbox-systemd" NSBOX_VM_TESTS=bench_systemd_test.sh \
  NSBOX_VM_ENV="BENCH_N=${BENCH_N:-30}" NSBOX_VM_TEST_TIMEOUT=1200 VM_TIMEOUT=1800 \
  "$REPO/tests/vm/systemd-guest.sh" 2>&1) || { printf '%s\n' "$out" | tail -30; exit 1; }
cat "${NSBOX_VM_WORK:-/var/tmp/nsbox-vm}"/systemd/out/results/tests/*test_bench_systemd_driver.log |
  sed -n 's/^BENCH //p'
