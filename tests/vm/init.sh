#!/bin/bash
# PID 1 of the nsbox VM test guest (tests/vm/run.sh installs it as /init of the initramfs).
#
# Sets up a pure cgroup v2 machine (cgroup2 on /sys/fs/cgroup and nothing else), runs the
# integration tests listed in /etc/nsbox-vm/tests with tests/integration/run_one.sh, and
# reports on the serial console, one line per test:
#   PASS name | FAIL name | SKIP name: reason     (a failing test's output follows as "  | ...")
# then exactly one "N passed, M failed, K skipped" line, and powers off.
# Lines starting "vm: " are information; "TIME name seconds" lines feed the host's timing file.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LC_ALL=C TERM=dumb

if [ "${1:-}" != stage2 ]; then
  # The initramfs root (the kernel's "rootfs" mount) has no parent mount, so a container
  # runtime cannot pivot_root() away from it (EINVAL). Make / a bind mount of itself, stacked
  # on rootfs, and chroot into it, as switch_root does, without copying anything.
  mkdir -p /.vmroot
  mount --bind / /.vmroot
  cd /.vmroot || exit 1
  mount --move . /
  exec chroot . /init stage2
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
# Pure cgroup v2, mounted the way systemd mounts it.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup 2>/dev/null ||
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo 1 >/proc/sys/kernel/printk # keep kernel messages off the console
exec </dev/null >/dev/console 2>&1
echo # the firmware may not have ended its last line

STATE=/run/nsbox-vm
mkdir -p "$STATE"
# shellcheck source=/dev/null
. /etc/nsbox-vm/config # NSBOX NSBOX_TEST_WORK WATCHDOG TEST_TIMEOUT FAIL_LINES
uptime_s() { cut -d' ' -f1 /proc/uptime; }
T0=$(uptime_s)

poweroff_now() {
  sync
  poweroff -f
  sleep 5
  echo o >/proc/sysrq-trigger # should poweroff ever return
  exit 1                      # PID 1 exiting panics; panic=-1 with -no-reboot ends qemu too
}

PASSED=0 FAILED=0 SKIPPED=0
save_counts() { echo "$PASSED $FAILED $SKIPPED" >"$STATE/counts"; }
save_counts
echo "(setup)" >"$STATE/current"

# Watchdog: a guest that hangs still ends with a FAIL line and a summary.
(
  sleep "$WATCHDOG"
  read -r p f s <"$STATE/counts"
  echo "FAIL vm-watchdog: tests still running after ${WATCHDOG}s (in $(cat "$STATE/current"))"
  echo "$p passed, $((f + 1)) failed, $s skipped"
  poweroff_now
) &
WATCHDOG_PID=$!

hostname nsbox-vm
ip link set lo up
for ko in $(cat /etc/nsbox-vm/modules 2>/dev/null); do
  insmod "$ko" || echo "vm: insmod $ko failed"
done

# Every controller the kernel offers that a container may use, enabled for the children of
# the root (the root cgroup itself is exempt from the no-internal-processes rule).
CG=/sys/fs/cgroup
for c in cpu cpuset io memory pids hugetlb; do
  case " $(cat $CG/cgroup.controllers) " in
    *" $c "*) echo "+$c" >$CG/cgroup.subtree_control || echo "vm: cannot enable the $c controller" ;;
  esac
done
echo "vm: kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB, up $(uptime_s)s"
echo "vm: block devices: $(cd /sys/block && echo *)"
echo "vm: mounts: $(awk '$3 ~ /^cgroup/ {printf "%s on %s (%s) ", $3, $2, $4}' /proc/mounts)"
echo "vm: cgroup.controllers: $(cat $CG/cgroup.controllers); subtree_control: $(cat $CG/cgroup.subtree_control)"

export NSBOX NSBOX_TEST_WORK
cd /src/nsbox || poweroff_now
while read -r suite file fn; do
  [ -n "$fn" ] || continue
  name=$suite.$fn
  echo "$name" >"$STATE/current"
  out=$STATE/out
  t=$(uptime_s)
  timeout -s TERM "$TEST_TIMEOUT" bash tests/integration/run_one.sh "tests/integration/$file" "$fn" >"$out" 2>&1 </dev/null
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
  save_counts
done </etc/nsbox-vm/tests

kill "$WATCHDOG_PID" 2>/dev/null
echo "vm: tests took $(awk -v a="$T0" -v b="$(uptime_s)" 'BEGIN {printf "%.1f", b - a}')s, guest up $(uptime_s)s"
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
poweroff_now
