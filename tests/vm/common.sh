# tests/vm/common.sh: what the VM test runners share (sourced by tests/vm/run.sh, the busybox
# initramfs guest, and tests/vm/systemd-guest.sh, the Debian guest that boots systemd).
#
# The caller sets W (its work directory, with W/out made) and takes its lock; it may set
# VM_ACCEL (tcg|kvm), VM_VERBOSE and VM_TIMEOUT. Defined here:
#   elapsed T, log MSG, die MSG          timing and messages ("vm: [+Ns] ..." on stderr)
#   apt_update, apt_install_missing PKG  host packages, logged to $W/out/apt.log
#   vm_kernel                            Debian's kernel in $W/kernel: KVER, KERNEL, K
#   add_file, add_bin, make_cpio         building an initramfs tree in $R
#   vm_accel_args                        ACCEL=(qemu accelerator options)
#   vm_boot RAW QEMU_ARGS...             qemu in the background under VM_TIMEOUT, test lines
#                                        shown as they come; sets QRC and VM_S
#   vm_verdict CONSOLE                   prints the summary (or a FAIL line for a guest that
#                                        gave none); returns 0 only for "0 failed"
# shellcheck shell=bash
# shellcheck disable=SC2034 # K, KVER, KERNEL, ACCEL, QRC, VM_S, SUMMARY are for the caller

export LC_ALL=C DEBIAN_FRONTEND=noninteractive
T0=${T0:-$EPOCHREALTIME}
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}'; }
log() { echo "vm: [+$(elapsed "$T0")s] $*" >&2; }
die() {
  echo "vm: error: $*" >&2
  exit 2
}

# ------------------------------------------------------------------ host packages
APT=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
apt_updated=
# vm_selected FUNCTION: whether test FUNCTION runs: it matches NSBOX_VM_FILTER (all do when
# that is empty) and not NSBOX_VM_SKIP (none is skipped when that is empty).
vm_selected() {
  { [ -z "${NSBOX_VM_FILTER:-}" ] || [[ $1 =~ $NSBOX_VM_FILTER ]]; } &&
    { [ -z "${NSBOX_VM_SKIP:-}" ] || ! [[ $1 =~ $NSBOX_VM_SKIP ]]; }
}
apt_update() {
  [ -n "$apt_updated" ] && return 0
  log "apt-get update"
  "${APT[@]}" update -qq >>"$W/out/apt.log" 2>&1 || { tail -20 "$W/out/apt.log" >&2; die "apt-get update failed"; }
  apt_updated=1
}
# apt_install_missing PKG...: install those of PKG that are not installed.
apt_install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  apt_update
  log "installing ${missing[*]}"
  "${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >>"$W/out/apt.log" 2>&1 ||
    { tail -20 "$W/out/apt.log" >&2; die "apt-get install failed (log: $W/out/apt.log)"; }
}

# ------------------------------------------------------------------ guest kernel
# vm_kernel [DIR]: Debian's own kernel package (the one linux-image-amd64 depends on),
# downloaded (not installed) once and unpacked in DIR (default $W/kernel) with a modules.dep;
# sets K (DIR), KVER and KERNEL (the ELF vmlinux when it could be unpacked, else the bzImage).
# DIR.lock serialises the download and unpacking: both guests may start at once.
vm_kernel() {
  K=${1:-$W/kernel}
  mkdir -p "$K"
  local deb kpkg vmlinuz off kver
  exec 7>"$K.lock"
  flock 7
  deb=$(find "$K" -maxdepth 1 -name 'linux-image-*.deb' | sort -V | tail -1)
  if [ -z "$deb" ]; then
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1)
    if [ -z "$kpkg" ]; then
      apt_update
      kpkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1)
    fi
    [ -n "$kpkg" ] || die "cannot tell which kernel package linux-image-amd64 depends on"
    log "downloading $kpkg"
    (cd "$K" && "${APT[@]}" download "$kpkg" >>"$W/out/apt.log" 2>&1) || die "apt-get download $kpkg failed"
    deb=$(find "$K" -maxdepth 1 -name 'linux-image-*.deb' | sort -V | tail -1)
  fi
  if [ "$(cat "$K/extracted" 2>/dev/null)" != "${deb##*/}" ]; then
    log "extracting ${deb##*/}"
    rm -rf "$K/pkg" "$K/vmlinux" "$K/extracted"
    dpkg-deb -x "$deb" "$K/pkg"
    kver=$(ls "$K/pkg/lib/modules")
    depmod -b "$K/pkg" "$kver" # the package ships no modules.dep: its postinst makes it
    # Under TCG, decompressing the kernel is a noticeable part of the boot: unpack the ELF
    # vmlinux from the bzImage once (its payload is one xz stream) and boot it via its PVH entry.
    vmlinuz=$K/pkg/boot/vmlinuz-$kver
    for off in $(grep -abo $'\xfd7zXZ\x00' "$vmlinuz" | cut -d: -f1); do
      tail -c +$((off + 1)) "$vmlinuz" | xz -dcq >"$K/vmlinux.tmp" 2>/dev/null || true
      if [ "$(head -c 4 "$K/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
        mv "$K/vmlinux.tmp" "$K/vmlinux"
        break
      fi
    done
    rm -f "$K/vmlinux.tmp"
    echo "${deb##*/}" >"$K/extracted"
  fi
  exec 7>&-
  KVER=$(ls "$K/pkg/lib/modules")
  KERNEL=$K/pkg/boot/vmlinuz-$KVER
  [ -f "$K/vmlinux" ] && KERNEL=$K/vmlinux
  return 0
}

# ------------------------------------------------------------------ initramfs trees
# add_file SRC [DEST]: SRC's content (symlinks followed) at the same path (or DEST) under $R.
add_file() {
  local src=$1 dest=${2:-$1}
  [ -e "$R$dest" ] && return 0
  mkdir -p "$(dirname "$R$dest")"
  cp -L --preserve=mode "$src" "$R$dest"
}
# add_bin SRC [DEST]: an executable and every shared library it needs, with the loader.
add_bin() {
  local src=$1 dest=${2:-$1} lib
  add_file "$src" "$dest"
  # (A static binary has none: ldd says so and names no file.)
  for lib in $(ldd "$src" 2>/dev/null | grep -o '/[^ ]*' || true); do
    add_file "$lib"
  done
}
# make_cpio DIR OUT: DIR as a newc archive owned by root.
make_cpio() {
  (cd "$1" && find . -mindepth 1 | sort | cpio -o -H newc -R 0:0 --quiet) >"$2.tmp"
  mv "$2.tmp" "$2"
}

# ------------------------------------------------------------------ qemu
# vm_accel_args: ACCEL, qemu's accelerator and cpu options for VM_ACCEL (default tcg).
vm_accel_args() {
  # shellcheck disable=SC2054 # the commas belong to qemu's option
  case ${VM_ACCEL:-tcg} in
    tcg) ACCEL=(-accel tcg,thread=multi -cpu max) ;;
    kvm) ACCEL=(-accel kvm -cpu host) ;; # untested: nested KVM on the project's machines fails
    *) die "VM_ACCEL must be tcg or kvm" ;;
  esac
}

# vm_boot RAW QEMU_ARGS...: run qemu-system-x86_64 QEMU_ARGS (serial console on stdout, into
# RAW) under VM_TIMEOUT in the background, killed on exit of the caller; show the test lines
# (or, with VM_VERBOSE, the whole console) as they come. Sets QRC (qemu's exit status, 124
# when VM_TIMEOUT killed it) and VM_S (seconds qemu ran). Extra environment for qemu (TMPDIR)
# goes in VM_QEMU_ENV.
vm_boot() {
  local raw=$1 b0 show
  shift
  : >"$raw"
  b0=$EPOCHREALTIME
  env ${VM_QEMU_ENV[@]+"${VM_QEMU_ENV[@]}"} timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 "$@" \
    </dev/null >"$raw" 2>&1 9>&- &
  QPID=$!
  trap 'kill "$QPID" 2>/dev/null || true' EXIT
  trap 'echo "vm: interrupted" >&2; exit 130' INT TERM
  # Show the test lines as they come (the whole console stays in the file). In the background,
  # so that a signal to this script is handled at once (bash defers traps for foreground jobs).
  if [ -n "${VM_VERBOSE:-}" ]; then
    tail -n +1 -f --pid="$QPID" "$raw" | tr -d '\r' &
  else
    tail -n +1 -f --pid="$QPID" "$raw" | tr -d '\r' |
      awk '/^(PASS|FAIL|SKIP) |^  \| |^vm: / {print; fflush()}' &
  fi
  show=$!
  QRC=0
  wait "$QPID" || QRC=$?
  wait "$show" || true
  trap - EXIT INT TERM
  VM_S=$(elapsed "$b0")
}

# vm_verdict CONSOLE: the guest's summary line (the last one in CONSOLE), or, when it gave
# none, a FAIL line with the end of the console and a summary counting that failure.
# Sets SUMMARY; returns 0 only when it says 0 failed. Uses QRC and VM_TIMEOUT.
vm_verdict() {
  local console=$1 why
  local re='^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$'
  SUMMARY=$(grep -aE "$re" "$console" | tail -1 || true)
  if [ -z "$SUMMARY" ]; then
    why="qemu exited $QRC"
    [ "$QRC" -eq 124 ] && why="qemu killed after VM_TIMEOUT=${VM_TIMEOUT}s"
    echo "FAIL vm: no summary line from the guest ($why); last console lines:"
    tail -n 30 "$console" | sed 's/^/  | /'
    SUMMARY="$(grep -c '^PASS ' "$console" || true) passed, $(($(grep -c '^FAIL ' "$console" || true) + 1)) failed, $(grep -c '^SKIP ' "$console" || true) skipped"
  fi
  [[ $SUMMARY =~ \ 0\ failed, ]]
}
