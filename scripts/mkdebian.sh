#!/usr/bin/env bash
# Make a Debian 12 root filesystem that boots systemd, for system containers: Debian's
# minbase with systemd, systemd-sysv, dbus, iproute2 and procps, built with mmdebstrap from
# the host's apt mirror (its sources.list), root login on the console with no password.
# usage: scripts/mkdebian.sh DIR   (DIR/ becomes the root filesystem; reused if complete)
# The built tree is kept as a tarball in $NSBOX_ROOTFS_CACHE (default /var/tmp/nsbox-rootfs),
# keyed on this script, so a second DIR costs an extraction (a few seconds); a cache given
# with the tarball in it needs no mmdebstrap (the test guests get it so).
set -euo pipefail
dir=${1:?usage: mkdebian.sh DIR}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${NSBOX_ROOTFS_CACHE:-/var/tmp/nsbox-rootfs}
SUITE=bookworm
PKGS=systemd,systemd-sysv,dbus,iproute2,procps
die() { echo "mkdebian: $*" >&2; exit 1; }

[ -e "$dir/.nsbox-debian" ] && [ -x "$dir/sbin/init" ] && exit 0
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap builds as root)"
key=$({ echo "$SUITE $PKGS"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
tarball=$CACHE/debian-$SUITE-systemd-$key.tar
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ ! -f "$tarball" ]; then
  command -v mmdebstrap >/dev/null || die "mmdebstrap missing (apt-get install mmdebstrap)"
  # shellcheck source=apt_sources.sh
  . "$SRC/scripts/apt_sources.sh"
  mirror_lines "$SUITE" || die "no apt source for $SUITE in /etc/apt/sources.list*"
  echo "mkdebian: building a Debian $SUITE root filesystem with systemd (log: $CACHE/mmdebstrap.log)" >&2
  # In a mount namespace of its own: the chroot's /proc, /sys and /dev mounts never reach the
  # host. No documentation, manual pages or translations. root may log in on the console
  # without a password (a container's console is the operator's); the machine id is made at
  # first boot of each container (systemd does so when /etc/machine-id is empty).
  # shellcheck disable=SC2016 # $1 is the hook's, expanded by mmdebstrap's sh
  unshare --mount --propagation private -- mmdebstrap --mode=root --variant=minbase \
    --include="$PKGS" --aptopt='Apt::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='chroot "$1" passwd -d root' \
    --customize-hook='echo debian >"$1/etc/hostname"' \
    --customize-hook=': >"$1/etc/machine-id"' \
    --format=tar "$SUITE" "$tarball.tmp" "${MIRROR_LINES[@]}" >"$CACHE/mmdebstrap.log" 2>&1 ||
    { tail -n 20 "$CACHE/mmdebstrap.log" >&2; rm -f "$tarball.tmp"; die "mmdebstrap failed (log: $CACHE/mmdebstrap.log)"; }
  mv "$tarball.tmp" "$tarball"
  find "$CACHE" -maxdepth 1 -name "debian-$SUITE-systemd-*.tar" ! -name "${tarball##*/}" -delete
fi
flock -u 9
mkdir -p "$dir"
tar -C "$dir" --numeric-owner -xpf "$tarball"
touch "$dir/.nsbox-debian"
