#!/usr/bin/env bash
# Make a minimal busybox root filesystem from Debian's busybox-static.
# usage: scripts/mkrootfs.sh DIR   (DIR/ becomes the root filesystem; reused if complete)
set -euo pipefail
dir=${1:?usage: mkrootfs.sh DIR}
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkrootfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
case "$(ldd "$bb" 2>&1 || true)" in *"not a dynamic"*) ;; *) false ;; esac || { echo "mkrootfs: $bb is not static (apt-get install busybox-static)" >&2; exit 1; }
[ -x "$dir/bin/busybox" ] && [ -e "$dir/.nsbox-rootfs" ] && exit 0
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var,run}
cp "$bb" "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
  [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
chmod 1777 "$dir/tmp"
echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$dir/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$dir/etc/group"
touch "$dir/.nsbox-rootfs"
