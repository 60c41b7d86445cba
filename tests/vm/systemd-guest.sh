#!/usr/bin/env bash
# tests/vm/systemd-guest.sh: run nsbox's tests on a Debian 12 machine that boots systemd 252
# as pid 1 on pure cgroup v2, with D-Bus, podman, containerd, runc and crun (see
# tests/vm/systemd/README.md).
#
# Builds once (cached, keyed on the package list and the build code) a Debian 12 root file
# system with mmdebstrap from the host's apt mirror and makes it an ext4 image (mkfs.ext4 -d:
# no loop mount). Each run boots Debian's kernel (the one tests/vm/run.sh uses) under qemu
# with a tiny busybox initramfs that mounts that image (as a throw-away snapshot) and
# switch_roots into systemd; the payload (nsbox, NSBOX_VM_EXTRA_FILES, the repo's
# tests/integration, scripts and tests/vm/systemd) is a second ext4 image, on which the guest
# also leaves its results (read back with debugfs). The guest's nsbox-vm.service runs each
# selected test_* with run_one.sh, as tests/vm/init.sh does, and powers off.
#
# Environment:
#   NSBOX                  nsbox binary to test (default: <repo>/build/nsbox)
#   NSBOX_VM_TESTS         test files: names in tests/integration/ or tests/vm/systemd/, or
#                          paths relative to the repo (default: smoke_test.sh lifecycle_test.sh)
#   NSBOX_VM_FILTER        extended regex on test function names (default: all)
#   NSBOX_VM_SKIP          extended regex on test function names not to run (default: none)
#   NSBOX_VM_ENV           extra environment for the tests: NAME=VALUE words (quote a value
#                          with blanks as in a shell: 'A="x y"'; nothing is expanded)
#   NSBOX_VM_EXTRA_FILES   more host files, put next to nsbox (/usr/local/bin) in the guest
#   NSBOX_VM_EXTRA_PKGS    more Debian packages for the image (e.g. docker.io); a new image
#   NSBOX_VM_WORK          work directory (default: /var/tmp/nsbox-vm); this script keeps its
#                          cache and output in NSBOX_VM_WORK/systemd, the kernel is shared
#   VM_TIMEOUT             host-side limit for the whole VM run in seconds (default: 1800);
#                          the guest's watchdog fires 60 s before it
#   NSBOX_VM_TEST_TIMEOUT  limit for one test in the guest, seconds (default: 300)
#   VM_MEM, VM_SMP         guest memory in MiB (default 3072) and cpus (default 2)
#   VM_ACCEL               qemu accelerator: tcg (default) or kvm
#   VM_VERBOSE=1           echo the whole console (kernel and systemd messages included)
#   NSBOX_VM_REBUILD=1     build the image again even if the cached one is current
# Exit status: 0 only when the guest printed its summary line with 0 failed; 2 for a setup
# error on the host.
set -Eeuo pipefail
trap 'echo "vm: error: line $LINENO: [$BASH_COMMAND] failed" >&2' ERR

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM_DIR=$SRC/tests/vm
GD=$VM_DIR/systemd # the guest's files
# shellcheck source=common.sh
. "$VM_DIR/common.sh"
BASE_W=${NSBOX_VM_WORK:-/var/tmp/nsbox-vm}
W=$BASE_W/systemd # common.sh's work directory: apt.log goes to $W/out
NSBOX=${NSBOX:-$SRC/build/nsbox}
NSBOX_VM_TESTS=${NSBOX_VM_TESTS:-smoke_test.sh lifecycle_test.sh}
FILTER=${NSBOX_VM_FILTER:-}
VM_TIMEOUT=${VM_TIMEOUT:-1800}
TEST_TIMEOUT=${NSBOX_VM_TEST_TIMEOUT:-300}
VM_MEM=${VM_MEM:-3072}
VM_SMP=${VM_SMP:-2}
VM_ACCEL=${VM_ACCEL:-tcg}
SUITE=bookworm
# Bump to force a new image when something the key does not see changes.
IMAGE_VERSION=1
# What the guest has: systemd and D-Bus; what the tests and scripts/mkrootfs.sh use; the
# engines with what they need (scripts/test.sh's list, without docker.io), iptables for
# podman's bridge network.
GUEST_PKGS=(systemd systemd-sysv dbus udev libsystemd0 kmod iproute2 procps util-linux jq bash
  coreutils findutils busybox-static gcc libc6-dev strace podman crun runc containerd catatonit
  golang-github-containers-common containernetworking-plugins umoci uidmap tmux iptables)
# shellcheck disable=SC2206 # a list of package names
GUEST_PKGS+=(${NSBOX_VM_EXTRA_PKGS:-})

[ "$(id -u)" = 0 ] || die "run as root (installs packages, builds the image as root)"
[ -x "$NSBOX" ] || die "no nsbox binary at $NSBOX (build it, or set NSBOX)"
if ! [[ $VM_TIMEOUT =~ ^[0-9]+$ ]] || [ "$VM_TIMEOUT" -lt 180 ]; then
  die "VM_TIMEOUT must be a number of seconds >= 180"
fi
[[ $TEST_TIMEOUT =~ ^[0-9]+$ ]] || die "NSBOX_VM_TEST_TIMEOUT must be a number of seconds"
for f in ${NSBOX_VM_EXTRA_FILES:-}; do
  [ -f "$f" ] || die "NSBOX_VM_EXTRA_FILES: no file $f"
  [ "${f##*/}" != nsbox ] || die "NSBOX_VM_EXTRA_FILES: $f would replace nsbox"
done
mkdir -p "$W/out" "$W/run"
exec 9>"$W/.lock"
flock -n 9 || { log "waiting for another run that uses $W"; flock 9; }

# ------------------------------------------------------------------ the tests to run
# One line per test: suite path function (path relative to the repo; suite as in CTest's
# integration.<suite>.<fn>).
TESTS_FILE=$W/out/tests.txt
: >"$TESTS_FILE"
for f in $NSBOX_VM_TESTS; do
  if [[ $f == */* ]]; then
    rel=${f#./}
  elif [ -f "$SRC/tests/integration/$f" ]; then
    rel=tests/integration/$f
  else
    rel=tests/vm/systemd/$f
  fi
  case $rel in tests/integration/* | tests/vm/systemd/*) ;; *) die "test file $f: not in tests/integration/ or tests/vm/systemd/ (the payload)" ;; esac
  [ -f "$SRC/$rel" ] || die "no test file $rel"
  suite=${rel##*/}
  suite=${suite%.sh}
  suite=${suite%_test}
  for fn in $(sed -n 's/^\(test_[A-Za-z0-9_]*\)().*/\1/p' "$SRC/$rel"); do
    if vm_selected "$fn"; then echo "$suite $rel $fn" >>"$TESTS_FILE"; fi
  done
done
NTESTS=$(wc -l <"$TESTS_FILE")
[ "$NTESTS" -gt 0 ] || die "no test_* function in [$NSBOX_VM_TESTS] matches NSBOX_VM_FILTER=[$FILTER] and not NSBOX_VM_SKIP=[${NSBOX_VM_SKIP:-}]"
log "$NTESTS tests from: $NSBOX_VM_TESTS${FILTER:+ (filter: $FILTER)}${NSBOX_VM_SKIP:+ (skipped: $NSBOX_VM_SKIP)}"

# The extra environment: NAME=VALUE words, split (and unquoted) by xargs, never evaluated.
ENV_LINES=()
if [ -n "${NSBOX_VM_ENV:-}" ]; then
  while IFS= read -r -d '' a; do
    [[ $a =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "NSBOX_VM_ENV: [$a] is not NAME=VALUE"
    ENV_LINES+=("$(printf 'export %s=%q' "${a%%=*}" "${a#*=}")")
  done < <(printf '%s' "$NSBOX_VM_ENV" | xargs -r printf '%s\0')
fi

# ------------------------------------------------------------------ 1. host packages
apt_install_missing qemu-system-x86 mmdebstrap busybox-static cpio xz-utils e2fsprogs kmod \
  util-linux coreutils

# ------------------------------------------------------------------ 2. guest kernel
# The same package tests/vm/run.sh boots, in the shared $BASE_W/kernel (vm_kernel locks it).
vm_kernel "$BASE_W/kernel"
KDEB=$(cat "$K/extracted")
log "guest kernel $KVER (${KERNEL##*/})"

# ------------------------------------------------------------------ 3. the root image
# The apt sources of the guest: the host's configured Debian mirror (and its security mirror).
# shellcheck source=../../scripts/apt_sources.sh
. "$SRC/scripts/apt_sources.sh"
mirror_lines "$SUITE" || die "no apt source for $SUITE in /etc/apt/sources.list*: the image is built from the host's Debian mirror"

# build_image DIR: the root file system with mmdebstrap, customized, as DIR/root.img.
build_image() {
  local out=$1 tmp=$W/build
  local rootfs=$tmp/rootfs b0=$EPOCHREALTIME used size
  rm -rf --one-file-system "$tmp"
  mkdir -p "$tmp" "$W/debs"
  log "building the guest's root file system with mmdebstrap ($SUITE from $MIRROR; log: $W/out/mmdebstrap.log)"
  # Root mode in a mount namespace of its own: the chroot's /proc, /sys and /dev mounts that
  # mmdebstrap makes are never seen by the host and go away with it. Downloaded packages are
  # kept in $W/debs for the next build. No documentation, manual pages or translations.
  # shellcheck disable=SC2016 # $1 is the hook's, expanded by mmdebstrap's sh
  if ! unshare --mount --propagation private -- mmdebstrap --mode=root --variant=minbase \
    --include="$(
      IFS=,
      echo "${GUEST_PKGS[*]}"
    )" \
    --aptopt='Apt::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --skip=essential/unlink \
    --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
    --setup-hook="sync-in $W/debs /var/cache/apt/archives" \
    --customize-hook="sync-out /var/cache/apt/archives $W/debs" \
    --customize-hook="$GD/image/customize.sh" \
    "$SUITE" "$rootfs" "${MIRROR_LINES[@]}" >"$W/out/mmdebstrap.log" 2>&1; then
    tail -n 25 "$W/out/mmdebstrap.log" >&2
    die "mmdebstrap failed (log: $W/out/mmdebstrap.log)"
  fi
  if grep -qF "$rootfs" /proc/self/mountinfo; then die "something is mounted below $rootfs"; fi
  local debstrap_s
  debstrap_s=$(elapsed "$b0")
  log "mmdebstrap took ${debstrap_s}s"
  # A machine id of its own (mmdebstrap empties it): no first-boot setup at every boot.
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$rootfs/etc/machine-id"
  echo >>"$rootfs/etc/machine-id"
  # Debian's kernel modules (podman and containerd load overlay, veth, bridge, netfilter
  # modules on demand), without the drivers for hardware that qemu does not have.
  local mods=$rootfs/lib/modules/$KVER d
  mkdir -p "$mods"
  cp -a "$K/pkg/lib/modules/$KVER/." "$mods/"
  rm -rf "$mods/kernel/sound"
  for d in "$mods"/kernel/drivers/*; do
    case ${d##*/} in block | char | md | net | virtio) ;; *) rm -rf "$d" ;; esac
  done
  for d in ethernet wireless usb can wwan ieee802154 hamradio arcnet appletalk fddi hippi plip slip wan; do
    rm -rf "$mods/kernel/drivers/net/$d"
  done
  depmod -b "$rootfs" "$KVER"
  chroot "$rootfs" dpkg-query -W -f='${Package} ${Version}\n' >"$tmp/packages.txt"
  # The shared libraries the image has, by file name: the host ships the others that nsbox
  # or an extra file needs.
  (cd "$rootfs" && find usr/lib usr/local/lib \( -type f -o -type l \) -name '*.so*' -printf '%f\n' | sort -u) >"$tmp/libs.txt"
  used=$(du -sm "$rootfs" | cut -f1)
  size=$((used + 1536))
  log "root file system: ${used} MiB, $(wc -l <"$tmp/packages.txt") packages; making a ${size} MiB ext4 image"
  rm -f "$tmp/root.img"
  truncate -s "${size}M" "$tmp/root.img"
  mkfs.ext4 -q -F -L nsbox-root -m 1 -d "$rootfs" "$tmp/root.img" >>"$W/out/mmdebstrap.log" 2>&1 ||
    die "mkfs.ext4 -d failed (log: $W/out/mmdebstrap.log)"
  rm -rf --one-file-system "$rootfs"
  {
    echo "key $IMAGE_KEY"
    echo "kernel $KDEB"
    echo "mmdebstrap_seconds $debstrap_s"
    echo "build_seconds $(elapsed "$b0")"
    echo "rootfs_mib $used"
    echo "image_mib $size"
  } >"$tmp/build.txt"
  mkdir -p "$out"
  mv "$tmp/packages.txt" "$tmp/libs.txt" "$tmp/build.txt" "$out/"
  mv "$tmp/root.img" "$out/root.img" # last: its presence marks a complete image
  rm -rf "$tmp"
}

IMAGE_KEY=$({
  echo "image $IMAGE_VERSION $SUITE $KDEB"
  printf '%s\n' "${GUEST_PKGS[@]}" | sort -u
  declare -f build_image
  cat "$GD"/image/*
} | sha256sum | cut -c1-16)
IMAGE_DIR=$W/image-$IMAGE_KEY
ROOT_IMG=$IMAGE_DIR/root.img
if [ "${NSBOX_VM_REBUILD:-0}" = 1 ]; then rm -rf "$IMAGE_DIR"; fi
if [ ! -f "$ROOT_IMG" ]; then
  build_image "$IMAGE_DIR"
  # Older images go; the package cache stays.
  find "$W" -maxdepth 1 -name 'image-*' ! -name "image-$IMAGE_KEY" -exec rm -rf {} +
  log "image $IMAGE_KEY built in $(awk '$1 == "build_seconds" {print $2}' "$IMAGE_DIR/build.txt")s"
fi
log "root image $IMAGE_KEY ($(du -m "$ROOT_IMG" | cut -f1) MiB used of $(($(stat -c %s "$ROOT_IMG") / 1048576)) MiB)"

# ------------------------------------------------------------------ 4. initramfs
# Busybox and the modules for an ext4 root on a virtio disk, then switch_root to systemd.
INITRD_MODULES="virtio_pci virtio_blk ext4"
IKEY=$({
  echo "$KVER $INITRD_MODULES"
  cat "$GD/initramfs-init.sh"
  sha256sum /bin/busybox
} | sha256sum | cut -c1-16)
INITRD=$W/initramfs-$IKEY.cpio
if [ ! -f "$INITRD" ]; then
  R=$W/initramfs-root
  rm -rf "$R"
  mkdir -p "$R"/{bin,dev,proc,sys,newroot}
  cp /bin/busybox "$R/bin/busybox"
  case "$(ldd /bin/busybox 2>&1 || true)" in *"not a dynamic"*) ;; *) die "/bin/busybox is not static (busybox-static)" ;; esac
  for a in $(/bin/busybox --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
  mknod -m 600 "$R/dev/console" c 5 1
  install -m 0755 "$GD/initramfs-init.sh" "$R/init"
  : >"$R/modules"
  for m in $INITRD_MODULES; do
    modprobe -d "$K/pkg" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}' |
      while read -r ko; do
        rel=${ko#"$K/pkg"}
        case $rel in
          *.ko.xz) rel=${rel%.xz} && mkdir -p "$(dirname "$R$rel")" && xz -dc "$ko" >"$R$rel" ;;
          *) mkdir -p "$(dirname "$R$rel")" && cp "$ko" "$R$rel" ;;
        esac
        grep -qxF "$rel" "$R/modules" || echo "$rel" >>"$R/modules"
      done
  done
  rm -f "$W"/initramfs-*.cpio
  make_cpio "$R" "$INITRD"
  rm -rf "$R"
fi

# ------------------------------------------------------------------ 5. the payload
PAY=$W/run/payload
PAY_IMG=$W/run/payload.img
rm -rf "$PAY" "$PAY_IMG"
mkdir -p "$PAY"/{bin,lib,results,src/nsbox/tests/vm}
install -m 0755 "$NSBOX" "$PAY/bin/nsbox"
for f in ${NSBOX_VM_EXTRA_FILES:-}; do cp -L --preserve=mode "$f" "$PAY/bin/"; done
# Libraries that nsbox or an extra file needs and the image lacks (the host is Debian 12 too).
for f in "$PAY"/bin/*; do
  for lib in $(ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}'); do
    grep -qxF "${lib##*/}" "$IMAGE_DIR/libs.txt" || cp -L "$lib" "$PAY/lib/"
  done
done
cp -a "$SRC/tests/integration" "$PAY/src/nsbox/tests/"
cp -a "$SRC/scripts" "$PAY/src/nsbox/"
cp -a "$GD" "$PAY/src/nsbox/tests/vm/"
cp "$TESTS_FILE" "$PAY/tests"
{
  printf 'WATCHDOG=%d\nTEST_TIMEOUT=%d\nFAIL_LINES=%d\nBOOT_TIMEOUT=%d\nBOOT_REPORT=%d\n' \
    $((VM_TIMEOUT - 60)) "$TEST_TIMEOUT" 200 300 "$([ -n "${VM_VERBOSE:-}" ] && echo 1 || echo 0)"
} >"$PAY/config"
printf '%s\n' ${ENV_LINES[@]+"${ENV_LINES[@]}"} >"$PAY/env"
[ ${#ENV_LINES[@]} -gt 0 ] || : >"$PAY/env"
psize=$(($(du -sm "$PAY" | cut -f1) + 64))
truncate -s "${psize}M" "$PAY_IMG"
mkfs.ext4 -q -F -L nsbox-payload -m 0 -d "$PAY" "$PAY_IMG" || die "mkfs.ext4 -d of the payload failed"
rm -rf "$PAY"
log "payload image ${psize} MiB ($(wc -l <"$TESTS_FILE") tests${ENV_LINES[0]:+; env: ${NSBOX_VM_ENV}})"

# ------------------------------------------------------------------ 6. boot and run
vm_accel_args
CONSOLE=$W/out/console.log
RAW=$W/out/console.raw
CMDLINE="console=ttyS0 root=/dev/vda rw panic=-1 oops=panic systemd.unified_cgroup_hierarchy=1"
if [ -n "${VM_VERBOSE:-}" ]; then
  CMDLINE+=" loglevel=4 systemd.show_status=true"
else
  CMDLINE+=" quiet loglevel=1 systemd.show_status=false"
fi
rm -rf "$W/out/results"
log "booting qemu ($VM_ACCEL, $VM_SMP cpus, $VM_MEM MiB, timeout ${VM_TIMEOUT}s)"
# The root image as a snapshot (qemu keeps the writes in a deleted file in TMPDIR): every
# boot starts from the cached image, which is never written.
# shellcheck disable=SC2034 # read by vm_boot (common.sh)
VM_QEMU_ENV=(TMPDIR="$W/run")
vm_boot "$RAW" "${ACCEL[@]}" -smp "$VM_SMP" -m "$VM_MEM" \
  -nographic -nodefaults -no-user-config -monitor none -serial stdio -no-reboot \
  -kernel "$KERNEL" -initrd "$INITRD" \
  -drive "file=$ROOT_IMG,if=virtio,format=raw,snapshot=on,cache=unsafe" \
  -drive "file=$PAY_IMG,if=virtio,format=raw,cache=writeback" \
  -device virtio-rng-pci \
  -append "$CMDLINE"
tr -d '\r' <"$RAW" >"$CONSOLE"
rm -f "$RAW"
# The guest's own record (its runner's output and the journal), from the payload image.
if debugfs -R "rdump /results $W/out" "$PAY_IMG" >/dev/null 2>&1 && [ -s "$W/out/results/console.log" ]; then
  GUEST_LOG=$W/out/results/console.log
else
  GUEST_LOG=$CONSOLE
fi
rm -f "$PAY_IMG"
sed -n 's/^TIME //p' "$GUEST_LOG" >"$W/out/timings.txt"

# ------------------------------------------------------------------ 7. verdict
rc=0
vm_verdict "$GUEST_LOG" || rc=1
boot=$(sed -n 's/^vm: runner started, up \([0-9.]*\)s$/\1/p' "$GUEST_LOG" | head -1)
log "qemu ran ${VM_S}s (boot to the runner ${boot:-?}s + tests); whole run $(elapsed "$T0")s; console: $CONSOLE; guest log: $GUEST_LOG"
echo "$SUMMARY"
exit "$rc"
