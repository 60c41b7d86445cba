#!/bin/sh
# mmdebstrap --customize-hook of tests/vm/systemd-guest.sh: makes the freshly installed
# Debian root file system $1 a test machine that boots straight to the nsbox test runner.
# Runs on the host (as root), with the chroot's /proc, /sys and /dev mounted by mmdebstrap in
# the private mount namespace it runs in; changes nothing outside $1.
set -eu
R=$1
HERE=$(cd "$(dirname "$0")" && pwd)
in_root() { chroot "$R" "$@"; }

echo nsbox-vm >"$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 nsbox-vm\n::1 localhost ip6-localhost ip6-loopback\n' >"$R/etc/hosts"
# No fstab entry: the initramfs mounts the root read-write, and nothing else is on a disk.
echo '# the root (/dev/vda) is mounted read-write by the initramfs' >"$R/etc/fstab"

install -D -m 0644 "$HERE/nsbox-vm.service" "$R/etc/systemd/system/nsbox-vm.service"
install -D -m 0755 "$HERE/nsbox-vm-launch" "$R/usr/local/libexec/nsbox-vm-launch"
install -D -m 0644 "$HERE/journald.conf" "$R/etc/systemd/journald.conf.d/nsbox-vm.conf"
mkdir -p "$R/nsbox-vm" "$R/src"

in_root systemctl set-default multi-user.target
in_root systemctl enable nsbox-vm.service
# /tmp on tmpfs (the tests' work directories): Debian ships the unit but does not enable it.
cp "$R/usr/share/systemd/tmp.mount" "$R/etc/systemd/system/tmp.mount"
in_root systemctl enable tmp.mount
# The engines' own services stay off: the tests start private instances.
for u in containerd.service docker.service docker.socket podman.service podman.socket podman-auto-update.service \
  podman-restart.service; do
  in_root systemctl disable "$u" >/dev/null 2>&1 || true
done
# Slow or pointless in a throw-away test VM (timers for apt, man-db, scrubbing and trimming;
# logins; clock sync, no network anyway). The root disk is a fresh snapshot of this image at
# every boot, so the ConditionNeedsUpdate=/etc units (hwdb, ldconfig, catalog) would run at
# every boot: they are run once here instead, and masked.
in_root systemd-hwdb update
in_root ldconfig
in_root journalctl --update-catalog
in_root systemctl mask \
  apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
  man-db.timer man-db.service dpkg-db-backup.timer dpkg-db-backup.service \
  e2scrub_all.timer e2scrub_all.service e2scrub_reap.service fstrim.timer fstrim.service \
  systemd-tmpfiles-clean.timer podman-auto-update.timer podman-auto-update.service \
  systemd-timesyncd.service systemd-networkd-wait-online.service \
  getty@.service serial-getty@.service console-getty.service getty-static.service \
  systemd-hwdb-update.service ldconfig.service systemd-journal-catalog-update.service \
  systemd-update-done.service systemd-firstboot.service
