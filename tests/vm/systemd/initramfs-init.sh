#!/bin/sh
# /init of the systemd guest's tiny initramfs (busybox, plus the modules that the ext4 root
# on a virtio disk needs, listed in /modules in load order): mount the root named by root=
# (default /dev/vda) read-write and switch_root into its systemd.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for ko in $(cat /modules); do
  insmod "$ko" 2>/dev/null || echo "initramfs: insmod $ko failed"
done
root=/dev/vda
for arg in $(cat /proc/cmdline); do
  case $arg in root=/dev/*) root=${arg#root=} ;; esac
done
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
mkdir -p /newroot
if ! mount -t ext4 -o rw "$root" /newroot; then
  echo "initramfs: cannot mount $root; block devices: $(ls /sys/block)"
  echo "FAIL vm-boot: the root file system did not mount"
  echo "0 passed, 1 failed, 0 skipped"
  poweroff -f
fi
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
exec switch_root /newroot /sbin/init
