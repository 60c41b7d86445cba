#!/usr/bin/env bash
# tests/vm/run.sh: run nsbox's integration tests on a pure cgroup v2 machine.
#
# Boots Debian's stock kernel (linux-image-amd64) under qemu (TCG: no KVM needed) with an
# initramfs that holds busybox, bash, jq, the nsbox binary with its shared libraries and the
# repo's tests/integration/ and scripts/; its /init (tests/vm/init.sh) mounts cgroup2 alone on
# /sys/fs/cgroup and runs every selected test_* function with run_one.sh. See README.md.
#
# Environment:
#   NSBOX                  nsbox binary to test (default: <repo>/build/nsbox)
#   NSBOX_VM_TESTS         payload files in tests/integration/ (default: cgroups_test.sh if
#                          present, plus lifecycle_test.sh)
#   NSBOX_VM_FILTER        extended regex on test function names (default: all)
#   NSBOX_VM_SKIP          extended regex on test function names not to run (default: none)
#   NSBOX_VM_WORK          cache and scratch directory (default: /var/tmp/nsbox-vm)
#   VM_TIMEOUT             host-side limit for the whole VM run in seconds (default: 1800);
#                          the guest's watchdog fires 60 s before it
#   NSBOX_VM_TEST_TIMEOUT  limit for one test in the guest, seconds (default: 300)
#   NSBOX_VM_CC            1 (default): put gcc, binutils and the libc headers and static libc
#                          in the guest, for tests that build helpers with cc; 0: leave them out
#   NSBOX_VM_EXTRA_TOOLS   more host programs to copy into the guest (with their libraries);
#                          busybox provides the rest of the userland
#   NSBOX_VM_MODULES       more kernel modules to load in the guest (default: "overlay veth";
#                          virtio_pci and virtio_blk, for a scratch disk, always are)
#   VM_MEM, VM_SMP         guest memory in MiB (default 2048) and cpus (default 2)
#   VM_ACCEL               qemu accelerator: tcg (default) or kvm
#   VM_VERBOSE=1           echo the whole console instead of the test lines only
# Exit status: 0 only when the guest printed its summary line with 0 failed.
set -Eeuo pipefail
trap 'echo "vm: error: line $LINENO: [$BASH_COMMAND] failed" >&2' ERR

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM_DIR=$SRC/tests/vm
# shellcheck source=common.sh
. "$VM_DIR/common.sh" # log, die, apt_*, vm_kernel, add_file, add_bin, make_cpio, vm_boot, vm_verdict
W=${NSBOX_VM_WORK:-/var/tmp/nsbox-vm}
NSBOX=${NSBOX:-$SRC/build/nsbox}
VM_TIMEOUT=${VM_TIMEOUT:-1800}
TEST_TIMEOUT=${NSBOX_VM_TEST_TIMEOUT:-300}
FILTER=${NSBOX_VM_FILTER:-}
WITH_CC=${NSBOX_VM_CC:-1}
# virtio_blk: a scratch disk, for the block io tests (io.max, io.weight need a real device).
MODULES="virtio_pci virtio_blk ${NSBOX_VM_MODULES-overlay veth}"
VM_MEM=${VM_MEM:-2048}
VM_SMP=${VM_SMP:-2}
VM_ACCEL=${VM_ACCEL:-tcg}
# GNU find, setsid and sleep: the security tests use find -printf, setsid -w and a copy of
# sleep under another name (a busybox applet cannot be renamed).
HOST_TOOLS="flock ipcs ipcrm pgrep pkill findmnt timeout find setsid sleep ${NSBOX_VM_EXTRA_TOOLS:-}"
if [ -z "${NSBOX_VM_TESTS:-}" ]; then
  NSBOX_VM_TESTS=lifecycle_test.sh
  [ -f "$SRC/tests/integration/cgroups_test.sh" ] && NSBOX_VM_TESTS="cgroups_test.sh $NSBOX_VM_TESTS"
fi

[ "$(id -u)" = 0 ] || die "run as root (installs packages)"
[ -x "$NSBOX" ] || die "no nsbox binary at $NSBOX (build it, or set NSBOX)"
if ! [[ $VM_TIMEOUT =~ ^[0-9]+$ ]] || [ "$VM_TIMEOUT" -lt 120 ]; then
  die "VM_TIMEOUT must be a number of seconds >= 120"
fi
mkdir -p "$W"/{kernel,out}
exec 9>"$W/.lock"
flock -n 9 || { log "waiting for another run that uses $W"; flock 9; }

# ------------------------------------------------------------------ the tests to run
# One line per test: suite file function (suite as in CTest's integration.<suite>.<fn>).
TESTS_FILE=$W/out/tests.txt
: >"$TESTS_FILE"
for f in $NSBOX_VM_TESTS; do
  f=${f##*/}
  [ -f "$SRC/tests/integration/$f" ] || die "no test file tests/integration/$f"
  suite=${f%.sh}
  suite=${suite%_test}
  for fn in $(sed -n 's/^\(test_[A-Za-z0-9_]*\)().*/\1/p' "$SRC/tests/integration/$f"); do
    if vm_selected "$fn"; then echo "$suite $f $fn" >>"$TESTS_FILE"; fi
  done
done
NTESTS=$(wc -l <"$TESTS_FILE")
[ "$NTESTS" -gt 0 ] || die "no test_* function in [$NSBOX_VM_TESTS] matches NSBOX_VM_FILTER=[$FILTER] and not NSBOX_VM_SKIP=[${NSBOX_VM_SKIP:-}]"
log "$NTESTS tests from: $NSBOX_VM_TESTS${FILTER:+ (filter: $FILTER)}${NSBOX_VM_SKIP:+ (skipped: $NSBOX_VM_SKIP)}"

# ------------------------------------------------------------------ 1. host packages
PKGS=(qemu-system-x86 busybox-static cpio xz-utils jq bash kmod coreutils util-linux procps)
[ "$WITH_CC" = 1 ] && PKGS+=(gcc libc6-dev strace)
apt_install_missing "${PKGS[@]}"

# ------------------------------------------------------------------ 2. guest kernel
# Debian's own kernel package, downloaded (not installed) once and kept in $W/kernel.
vm_kernel
log "guest kernel $KVER (${KERNEL##*/})"

# ------------------------------------------------------------------ 3. initramfs
# Two newc archives, concatenated (the kernel unpacks one after the other):
#  base: busybox, bash, jq, host tools, the C toolchain, kernel modules; cached in $W, and
#        rebuilt when this script, a package it copies from or a setting changes;
#  run:  nsbox with its libraries, the repo's tests/integration/ and scripts/, /init, settings.
# (add_file, add_bin and make_cpio: common.sh)
CC_PKGS=
[ "$WITH_CC" = 1 ] && CC_PKGS="gcc-12 cpp-12 libgcc-12-dev binutils-x86-64-linux-gnu libc6-dev linux-libc-dev"
BASE_KEY=$({
  cat "${BASH_SOURCE[0]}" "$VM_DIR/common.sh"
  echo "$KVER|$MODULES|$WITH_CC|$HOST_TOOLS"
  # shellcheck disable=SC2086
  dpkg-query -W -f='${Package}=${Version}\n' busybox-static bash jq libc6 util-linux procps coreutils $CC_PKGS 2>&1
} | sha256sum | cut -c1-16)
BASE=$W/initramfs-base-$BASE_KEY.cpio
R=$W/root
rm -rf "$R"
if [ ! -f "$BASE" ]; then
  log "building the base initramfs ($BASE_KEY)"
  mkdir -p "$R"/usr/{bin,sbin,lib,lib64} "$R"/usr/local/bin
  for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done # merged /usr, as on the host
  mkdir -p "$R"/{dev,proc,sys,tmp,run,root,etc/nsbox-vm,mnt,var/tmp}
  mknod -m 600 "$R/dev/console" c 5 1
  mknod -m 666 "$R/dev/null" c 1 3
  printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
  printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$R/etc/group"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$R/etc/hosts"
  echo nsbox-vm >"$R/etc/hostname"

  add_bin /usr/bin/bash
  add_bin /usr/bin/jq
  add_file /usr/bin/ldd # a bash script: mkrootfs.sh checks "ldd /bin/busybox"
  # What Debian's busybox-static lacks and the tests use (timeout: GNU's, which exits 124).
  for t in $HOST_TOOLS; do
    p=$(command -v "$t") || die "no $t on the host"
    add_bin "$p" "/usr/bin/$t"
  done
  cp /bin/busybox "$R/usr/bin/busybox"
  for a in $(/bin/busybox --list-full); do
    [ -e "$R/$a" ] || [ -L "$R/$a" ] || ln -s /usr/bin/busybox "$R/$a"
  done

  if [ "$WITH_CC" = 1 ]; then
    # A C toolchain for tests that build static helpers: every file that gcc, as and ld open
    # for a static and a dynamic build of a probe (found with strace), plus the libc headers.
    tc=$W/cc-probe
    rm -rf "$tc" && mkdir -p "$tc"
    cat >"$tc/probe.c" <<'EOF'
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static void* run(void* a) { return a; }
int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, run, NULL);
  pthread_join(t, NULL);
  printf("%d %f\n", (int)syscall(SYS_getpid), sqrt(2.0));
  return 0;
}
EOF
    for mode in static dynamic; do
      flags=(-O2)
      [ $mode = static ] && flags+=(-static)
      (cd "$tc" && strace -f -qq -o "trace-$mode.txt" -e trace=execve,open,openat,stat,newfstatat,access,readlink \
        -e status=successful cc "${flags[@]}" -o "probe-$mode" probe.c -lm -lpthread) ||
        die "cannot build a probe with the host's cc"
    done
    {
      grep -ho '"/[^"]*"' "$tc"/trace*.txt | tr -d '"'
      dpkg -L libc6-dev linux-libc-dev | grep '^/usr/include/'
      find "$(dirname "$(cc -print-libgcc-file-name)")/include" -type f
      echo /usr/bin/gcc
    } | grep -vE "^(/tmp|/proc|/sys|/dev|/etc|$W)/" | sort -u | while read -r f; do
      if [ -f "$f" ]; then echo "$f"; fi
    done | xargs -d '\n' realpath -s | sort -u | sed 's|^/||' |
      tar -C / -chf - --files-from=- | tar -C "$R" -xf - --keep-directory-symlink
    rm -rf "$tc"
  fi

  # Kernel modules, with the ones they depend on, in load order.
  : >"$R/etc/nsbox-vm/modules"
  for m in $MODULES; do
    modprobe -d "$K/pkg" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}' |
      while read -r ko; do
        rel=${ko#"$K/pkg"}
        case $rel in
          *.ko.xz) mkdir -p "$(dirname "$R$rel")" && xz -dc "$ko" >"$R${rel%.xz}" && rel=${rel%.xz} ;;
          *) add_file "$ko" "$rel" ;;
        esac
        grep -qxF "$rel" "$R/etc/nsbox-vm/modules" || echo "$rel" >>"$R/etc/nsbox-vm/modules"
      done
  done
  ldconfig -r "$R" 2>/dev/null || true
  rm -f "$W"/initramfs-base-*.cpio
  make_cpio "$R" "$BASE"
  rm -rf "$R"
fi

mkdir -p "$R"/usr/{lib,lib64,local/bin} "$R/etc/nsbox-vm" "$R/src/nsbox/tests"
ln -s usr/lib "$R/lib"
ln -s usr/lib64 "$R/lib64" # entries of the base archive: keep them links
add_bin "$NSBOX" /usr/local/bin/nsbox
# Its helper programs (nsbox-nft, nsbox-systemd), found beside it as an installed nsbox has them.
for helper in "$(dirname "$NSBOX")"/nsbox-*; do
  [ -f "$helper" ] && [ -x "$helper" ] && add_bin "$helper" "/usr/local/bin/${helper##*/}"
done
cp -a "$SRC/tests/integration" "$R/src/nsbox/tests/"
cp -a "$SRC/scripts" "$R/src/nsbox/"
cp "$TESTS_FILE" "$R/etc/nsbox-vm/tests"
# podman's default seccomp profile, which seccomp_test.sh runs containers under.
[ ! -r /usr/share/containers/seccomp.json ] || add_file /usr/share/containers/seccomp.json
{
  printf 'NSBOX=/usr/local/bin/nsbox\nNSBOX_TEST_WORK=/tmp/itest\n'
  printf 'WATCHDOG=%d\nTEST_TIMEOUT=%d\nFAIL_LINES=%d\n' $((VM_TIMEOUT - 60)) "$TEST_TIMEOUT" 200
} >"$R/etc/nsbox-vm/config"
install -m 0755 "$VM_DIR/init.sh" "$R/init"
make_cpio "$R" "$W/initramfs-run.cpio"
rm -rf "$R"
INITRD=$W/initramfs.cpio
cat "$BASE" "$W/initramfs-run.cpio" >"$INITRD"
rm -f "$W/initramfs-run.cpio"
log "initramfs $(du -m "$INITRD" | cut -f1) MiB"

# ------------------------------------------------------------------ 4. boot and run
vm_accel_args
CONSOLE=$W/out/console.log
RAW=$W/out/console.raw
DISK=$W/scratch.img # sparse; the guest sees it as /dev/vda and never mounts it
rm -f "$DISK"
truncate -s 256M "$DISK"
: >"$RAW"
log "booting qemu ($VM_ACCEL, $VM_SMP cpus, $VM_MEM MiB, timeout ${VM_TIMEOUT}s)"
vm_boot "$RAW" "${ACCEL[@]}" -smp "$VM_SMP" -m "$VM_MEM" \
  -nographic -nodefaults -no-user-config -monitor none -serial stdio -no-reboot \
  -kernel "$KERNEL" -initrd "$INITRD" \
  -drive "file=$DISK,if=virtio,format=raw,cache=unsafe" \
  -append "console=ttyS0 quiet loglevel=1 panic=-1 oops=panic"
tr -d '\r' <"$RAW" >"$CONSOLE"
rm -f "$RAW" "$DISK" "$INITRD"
sed -n 's/^TIME //p' "$CONSOLE" >"$W/out/timings.txt"

# ------------------------------------------------------------------ 5. verdict
rc=0
vm_verdict "$CONSOLE" || rc=1
log "qemu ran ${VM_S}s (boot + tests); whole run $(elapsed "$T0")s; console: $CONSOLE"
echo "$SUMMARY"
exit "$rc"
