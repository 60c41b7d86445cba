# The container's file system: default mounts, config.mounts (bind, tmpfs, propagation),
# root.readonly, symlinks in the rootfs, devices, maskedPaths, readonlyPaths, sysctls,
# --no-pivot, and that nothing of it ever shows on the host.

# mnt_entry MOUNTINFO_TEXT MOUNTPOINT: "fstype|mount options|super options|optional fields"
# of the topmost mount on MOUNTPOINT (empty when nothing is mounted there).
mnt_entry() {
  printf '%s\n' "$1" | awk -v mp="$2" '
    $5 == mp {
      for (i = 7; i <= NF && $i != "-"; i++) {}
      opt = ""
      for (j = 7; j < i; j++) opt = opt " " $j
      r = $(i + 1) "|" $6 "|" $(i + 3) "|" opt
    }
    END { print r }'
}

# mnt_check MOUNTINFO_TEXT MOUNTPOINT FSTYPE MNTOPTS SUPEROPTS: the topmost mount there has
# that type and every listed (comma-separated) mount and super option.
mnt_check() {
  local e type mo so o
  e=$(mnt_entry "$1" "$2")
  [ -n "$e" ] || fail "nothing mounted on $2 inside the container"
  IFS='|' read -r type mo so _ <<<"$e"
  assert_eq "$type" "$3" "file system type of $2"
  for o in ${4//,/ }; do
    case ",$mo," in *",$o,"*) ;; *) fail "mount option $o missing on $2: [$mo]" ;; esac
  done
  for o in ${5//,/ }; do
    case ",$so," in *",$o,"*) ;; *) fail "super option $o missing on $2: [$so]" ;; esac
  done
}

# mnt_script NAME SCRIPT: a bundle running `sh -c SCRIPT` (SCRIPT may span lines, which
# make_bundle's arguments may not).
mnt_script() {
  local b
  b=$(make_bundle "$1" sh)
  edit_config "$b" '.process.args = ["sh", "-c", $s]' --arg s "$2"
  echo "$b"
}

# A private, writable copy of the shared busybox rootfs at $TEST_TMP/rootfs.
mnt_private_rootfs() {
  cp -a "$(shared_rootfs)" "$TEST_TMP/rootfs"
  echo "$TEST_TMP/rootfs"
}

test_default_mounts() {
  local b mi
  b=$(make_bundle b cat /proc/self/mountinfo)
  run_ok def "$b"
  mi=$OUT
  mnt_check "$mi" /proc proc "" ""
  mnt_check "$mi" /dev tmpfs nosuid mode=755,size=65536k
  mnt_check "$mi" /dev/pts devpts nosuid,noexec gid=5,mode=620,ptmxmode=666
  mnt_check "$mi" /dev/shm tmpfs nosuid,nodev,noexec size=65536k
  mnt_check "$mi" /dev/mqueue mqueue nosuid,nodev,noexec ""
  mnt_check "$mi" /sys sysfs ro,nosuid,nodev,noexec ""
  # cgroup v1 and hybrid hosts get a tmpfs holding one mount per hierarchy; v2 a cgroup2 mount.
  local cgtype
  cgtype=$(mnt_entry "$mi" /sys/fs/cgroup | cut -d'|' -f1)
  case "$cgtype" in tmpfs | cgroup2) ;; *) fail "file system type of /sys/fs/cgroup: [$cgtype]" ;; esac
  mnt_check "$mi" /sys/fs/cgroup "$cgtype" ro,nosuid,nodev,noexec ""
  # Every cgroup hierarchy under /sys/fs/cgroup is read-only too.
  local n
  n=$(printf '%s\n' "$mi" | awk '$5 ~ "^/sys/fs/cgroup/" { n++; if ((","$6",") !~ /,ro,/) bad = bad " " $5 } END { print n + 0 "|" bad }')
  [ "${n%%|*}" -gt 0 ] || fail "no cgroup hierarchy mounted under /sys/fs/cgroup: $mi"
  assert_eq "${n#*|}" "" "writable cgroup mounts under /sys/fs/cgroup"
  # And they behave as such.
  b=$(mnt_script b2 '
    echo x > /dev/shm/probe && echo "shm=$(cat /dev/shm/probe)"
    touch /sys/nsbox-probe 2>&1 || true
    mkdir /sys/fs/cgroup/nsbox-probe 2>&1 && rmdir /sys/fs/cgroup/nsbox-probe
    echo "pid1=$(cut -d" " -f1 /proc/1/stat)"')
  run_ok beh "$b"
  assert_contains "$OUT" "shm=x" "tmpfs /dev/shm is writable"
  assert_contains "$OUT" "pid1=1" "/proc belongs to the container's pid namespace"
  assert_not_contains "$(printf '%s\n' "$OUT" | grep nsbox-probe | grep -v 'Read-only file system' || true)" "nsbox-probe" \
    "writes to /sys and /sys/fs/cgroup must fail with EROFS"
  [ "$(printf '%s\n' "$OUT" | grep -c 'Read-only file system')" -eq 2 ] || fail "expected two EROFS errors: [$OUT]"
  assert_no_host_mounts
}

test_bind_mount_readonly() {
  local b src=$TEST_TMP/ro-src
  mkdir -p "$src"
  echo hello-from-host >"$src/hello"
  b=$(mnt_script b '
    cat /var/hello
    touch /var/new 2>&1 && echo WROTE-NEW
    (echo x >> /var/hello) 2>&1 && echo APPENDED
    grep " /var " /proc/self/mountinfo')
  edit_config "$b" '.mounts += [{destination: "/var", type: "bind", source: $s, options: ["rbind", "ro"]}]' --arg s "$src"
  run_ok ro "$b"
  assert_contains "$OUT" hello-from-host "host file visible through the bind mount"
  assert_contains "$OUT" "Read-only file system" "write to a read-only bind mount"
  assert_not_contains "$OUT" WROTE-NEW
  assert_not_contains "$OUT" APPENDED
  [ ! -e "$src/new" ] || fail "file created through a read-only bind mount"
  assert_eq "$(cat "$src/hello")" hello-from-host "host file content"
  assert_contains "$(mnt_entry "$OUT" /var | cut -d'|' -f2)," "ro," "mount options of /var"
  assert_no_host_mounts
}

test_bind_mount_readwrite() {
  local b src=$TEST_TMP/rw-src
  mkdir -p "$src"
  echo seeded >"$src/seed"
  b=$(make_bundle b sh -c 'cat /run/seed && echo written-inside > /run/from-container && echo OK')
  edit_config "$b" '.mounts += [{destination: "/run", type: "bind", source: $s, options: ["rbind", "rw"]}]' --arg s "$src"
  run_ok rw "$b"
  assert_contains "$OUT" seeded "host file visible inside"
  assert_contains "$OUT" OK "write through the rw bind mount"
  [ -f "$src/from-container" ] || fail "file written inside did not appear on the host"
  assert_eq "$(cat "$src/from-container")" written-inside "content written inside"
  assert_no_host_mounts
}

test_bind_mount_single_file() {
  local b root hostfile=$TEST_TMP/hostfile
  root=$(mnt_private_rootfs)
  echo file-content >"$hostfile"
  # The destination does not exist in the rootfs: an empty file is made to mount on.
  b=$(mnt_script b '
    [ -f /etc/app/config.txt ] && echo IS-FILE
    cat /etc/app/config.txt
    (echo more >> /etc/app/config.txt) 2>&1 && echo APPENDED
    true')
  edit_config "$b" '.root.path = $r | .mounts += [{destination: "/etc/app/config.txt", type: "bind", source: $s, options: ["bind", "ro"]}]' \
    --arg r "$root" --arg s "$hostfile"
  run_ok file "$b"
  assert_contains "$OUT" IS-FILE "a file bind mount is a file"
  assert_contains "$OUT" file-content "file content inside"
  assert_contains "$OUT" "Read-only file system" "write to a read-only file bind"
  assert_not_contains "$OUT" APPENDED
  assert_eq "$(cat "$hostfile")" file-content "host file content"
  [ -f "$root/etc/app/config.txt" ] || fail "mount point file not made inside the rootfs"
  assert_no_host_mounts
}

test_tmpfs_with_options() {
  local b
  b=$(mnt_script b '
    stat -c "mode=%a" /tmp
    echo small > /tmp/small && echo SMALL-OK
    dd if=/dev/zero of=/tmp/big bs=1024 count=2048 2>&1 || echo BIG-FAILED
    grep " /tmp " /proc/self/mountinfo')
  edit_config "$b" '.mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1m", "mode=1770"]}]'
  run_ok tmpfs "$b"
  assert_contains "$OUT" "mode=1770" "mode of the tmpfs root"
  assert_contains "$OUT" SMALL-OK "tmpfs is writable on a read-only root"
  assert_contains "$OUT" "No space left on device" "the size limit of the tmpfs"
  assert_contains "$OUT" BIG-FAILED
  mnt_check "$OUT" /tmp tmpfs nosuid,nodev size=1024k,mode=1770
  assert_no_host_mounts
}

test_mount_propagation_options() {
  local b s1=$TEST_TMP/p-shared s2=$TEST_TMP/p-private
  mkdir -p "$s1" "$s2"
  b=$(make_bundle b cat /proc/self/mountinfo)
  edit_config "$b" '.mounts += [
      {destination: "/var", type: "bind", source: $a, options: ["rbind", "rshared"]},
      {destination: "/run", type: "bind", source: $c, options: ["rbind", "rprivate"]},
      {destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["shared"]},
      {destination: "/root", type: "tmpfs", source: "tmpfs", options: ["private"]}]' \
    --arg a "$s1" --arg c "$s2"
  run_ok prop "$b"
  local e
  e=$(mnt_entry "$OUT" /var)
  [ -n "$e" ] || fail "nothing on /var: $OUT"
  assert_contains "${e##*|}" "shared:" "propagation of the rshared bind on /var"
  e=$(mnt_entry "$OUT" /run)
  [ -n "$e" ] || fail "nothing on /run: $OUT"
  assert_not_contains "${e##*|}" "shared:" "propagation of the rprivate bind on /run"
  assert_not_contains "${e##*|}" "master:" "propagation of the rprivate bind on /run"
  e=$(mnt_entry "$OUT" /tmp)
  assert_contains "${e##*|}" "shared:" "propagation of the shared tmpfs on /tmp"
  e=$(mnt_entry "$OUT" /root)
  [ -n "$e" ] || fail "nothing on /root: $OUT"
  assert_not_contains "${e##*|}" "shared:" "propagation of the private tmpfs on /root"
  assert_no_host_mounts
}

test_readonly_root() {
  local b
  b=$(make_bundle b sh -c 'touch /nsbox-probe 2>&1 && echo WROTE; cat /proc/self/mountinfo')
  run_ok ro "$b"
  assert_contains "$OUT" "Read-only file system" "write to a read-only root"
  assert_not_contains "$OUT" WROTE
  assert_contains "$(mnt_entry "$OUT" / | cut -d'|' -f2)," "ro," "mount options of /"
  [ ! -e "$(shared_rootfs)/nsbox-probe" ] || fail "file written to the read-only rootfs"
}

test_writable_root() {
  local b root
  root=$(mnt_private_rootfs)
  b=$(make_bundle b sh -c 'echo inside > /probe && cat /probe && mkdir /newdir && echo DONE')
  edit_config "$b" '.root.path = $r | .root.readonly = false' --arg r "$root"
  run_ok rw "$b"
  assert_contains "$OUT" DONE "writes to a writable root"
  assert_eq "$(cat "$root/probe")" inside "file written to the rootfs"
  [ -d "$root/newdir" ] || fail "directory made inside not in the rootfs"
}

test_symlink_mount_destination_stays_in_rootfs() {
  local b root host1=$TEST_TMP/host1 host2=$TEST_TMP/host2 host3=$TEST_TMP/host3 src=$TEST_TMP/src
  root=$(mnt_private_rootfs)
  mkdir -p "$host1" "$host2" "$host3" "$src"
  echo keep >"$host1/marker"
  echo keep >"$host2/marker"
  echo keep >"$host3/marker"
  echo payload >"$src/payload"
  # Absolute and relative links out of the rootfs, used as (parents of) mount destinations.
  # Their targets exist inside the rootfs too, where they must resolve.
  ln -s "$host1" "$root/evil-abs"
  ln -s "../../../../../../../../..$host2" "$root/evil-rel"
  ln -s "$host3/created-file" "$root/evil-file"
  mkdir -p "$root$host1" "$root$host2" "$root$host3"
  touch "$root$host3/created-file"
  b=$(mnt_script b '
    cat /evil-abs/sub/payload
    echo from-container > /evil-rel/sub/written && echo WROTE
    cat /evil-file')
  edit_config "$b" '.root.path = $r | .mounts += [
      {destination: "/evil-abs/sub", type: "bind", source: $s, options: ["rbind", "ro"]},
      {destination: "/evil-rel/sub", type: "tmpfs", source: "tmpfs", options: ["size=1m"]},
      {destination: "/evil-file", type: "bind", source: $f, options: ["bind", "ro"]}]' \
    --arg r "$root" --arg s "$src" --arg f "$src/payload"
  local rc=0
  OUT=$(nsbox run --bundle "$b" "$(cid evil)" 2>&1) || rc=$?
  assert_eq "$(ls -A "$host1")" marker "contents of $host1 (target of an absolute link)"
  assert_eq "$(ls -A "$host2")" marker "contents of $host2 (target of a relative link)"
  assert_eq "$(ls -A "$host3")" marker "contents of $host3 (target of a file link)"
  assert_no_host_mounts
  assert_eq "$rc" 0 "nsbox run with links in the rootfs (output: $OUT)"
  # The links resolve inside the rootfs, so the mounts land there.
  assert_contains "$OUT" payload "bind mount through a link inside the rootfs"
  assert_contains "$OUT" WROTE "tmpfs through a relative link inside the rootfs"
  [ -d "$root$host1/sub" ] || fail "mount point for /evil-abs/sub not made inside the rootfs"
  [ -d "$root$host2/sub" ] || fail "mount point for /evil-rel/sub not made inside the rootfs"
  [ ! -e "$root$host2/sub/written" ] || fail "tmpfs write landed in the rootfs directory"
}

test_dangling_symlink_mount_destination_never_reaches_host() {
  local b root host=$TEST_TMP/hostdir src=$TEST_TMP/src
  root=$(mnt_private_rootfs)
  mkdir -p "$host" "$src"
  echo keep >"$host/marker"
  ln -s "$host" "$root/evil"
  ln -s ../../../../../../../..$host "$root/evil-rel"
  ln -s "$host/newfile" "$root/evil-file"
  # Each destination reaches the host through a link whose target is missing in the rootfs.
  # Refusing the mount or making it inside the rootfs are both fine; touching the host is not.
  local dest
  for dest in /evil /evil/sub /evil-rel/sub /evil-file; do
    b=$(make_bundle "b${dest//\//_}" true)
    edit_config "$b" '.root.path = $r | .mounts += [{destination: $d, type: "bind", source: $s, options: ["rbind"]}]' \
      --arg r "$root" --arg d "$dest" --arg s "$src"
    nsbox run --bundle "$b" "$(cid "x${dest//\//_}")" >/dev/null 2>&1 || true
    assert_eq "$(ls -A "$host")" marker "contents of $host after a mount on $dest"
    assert_no_host_mounts
  done
  b=$(make_bundle tmpfs true)
  edit_config "$b" '.root.path = $r | .mounts += [{destination: "/evil/sub", type: "tmpfs", source: "tmpfs"}]' --arg r "$root"
  nsbox run --bundle "$b" "$(cid tmpfs)" >/dev/null 2>&1 || true
  assert_eq "$(ls -A "$host")" marker "contents of $host after a tmpfs on /evil/sub"
  assert_no_host_mounts
}

test_default_devices() {
  local b
  b=$(mnt_script b '
    for d in null zero full random urandom tty; do stat -c "%n %F %t:%T %a %u:%g" /dev/$d; done
    for l in fd stdin stdout stderr ptmx; do echo "/dev/$l -> $(readlink /dev/$l)"; done
    echo discard > /dev/null && echo NULL-OK
    head -c 4 /dev/zero | od -An -tx1
    [ -d /dev/pts ] && [ -d /dev/shm ] && echo DIRS-OK')
  run_ok dev "$b"
  local want
  for want in "/dev/null character special file 1:3 666 0:0" \
    "/dev/zero character special file 1:5 666 0:0" \
    "/dev/full character special file 1:7 666 0:0" \
    "/dev/random character special file 1:8 666 0:0" \
    "/dev/urandom character special file 1:9 666 0:0" \
    "/dev/tty character special file 5:0 666 0:0" \
    "/dev/fd -> /proc/self/fd" "/dev/stdin -> /proc/self/fd/0" \
    "/dev/stdout -> /proc/self/fd/1" "/dev/stderr -> /proc/self/fd/2" \
    "/dev/ptmx -> pts/ptmx" NULL-OK " 00 00 00 00" DIRS-OK; do
    assert_contains "$OUT" "$want" "default devices"
  done
}

test_linux_devices() {
  local b
  b=$(mnt_script b '
    stat -c "%n %F %t:%T %a %u:%g" /dev/mydev /dev/myblk /dev/myfifo /dev/sub/mynull
    echo x > /dev/sub/mynull && echo WRITE-OK')
  edit_config "$b" '.linux.devices = [
      {path: "/dev/mydev", type: "c", major: 1, minor: 3, fileMode: 384, uid: 1, gid: 2},
      {path: "/dev/myblk", type: "b", major: 7, minor: 9, fileMode: 416, uid: 0, gid: 6},
      {path: "/dev/myfifo", type: "p", fileMode: 420},
      {path: "/dev/sub/mynull", type: "c", major: 1, minor: 3}]'
  run_ok dev "$b"
  assert_contains "$OUT" "/dev/mydev character special file 1:3 600 1:2" "linux.devices char device"
  assert_contains "$OUT" "/dev/myblk block special file 7:9 640 0:6" "linux.devices block device"
  assert_contains "$OUT" "/dev/myfifo fifo 0:0 644 0:0" "linux.devices fifo"
  assert_contains "$OUT" "/dev/sub/mynull character special file 1:3 666 0:0" "linux.devices default mode, nested path"
  assert_contains "$OUT" WRITE-OK "the added null device works"
}

test_masked_paths() {
  local b files="" f dir=/sys/firmware
  for f in /proc/kcore /proc/timer_list /proc/keys; do
    [ -e "$f" ] && files="$files $f"
  done
  [ -n "$files" ] || skip "none of /proc/kcore, /proc/timer_list, /proc/keys exists here"
  # shellcheck disable=SC2016
  local script='for f in '"$files"'; do echo "$f bytes=$(cat $f | wc -c)"; done; echo "dir=$(ls -A '"$dir"' | wc -l)"'
  b=$(make_bundle b sh -c "$script")
  run_ok masked "$b"
  for f in $files; do
    assert_contains "$OUT" "$f bytes=0" "masked file $f reads empty"
  done
  assert_contains "$OUT" "dir=0" "masked directory $dir is empty"
  # The masks are what hide them: /proc/timer_list and /sys/firmware have content unmasked.
  b=$(make_bundle b2 sh -c "$script")
  edit_config "$b" '.linux.maskedPaths = []'
  run_ok unmasked "$b"
  if [ -e /proc/timer_list ]; then
    assert_not_contains "$OUT" "/proc/timer_list bytes=0" "unmasked /proc/timer_list"
  fi
  if [ -n "$(ls -A $dir)" ]; then
    assert_not_contains "$OUT" "dir=0" "unmasked $dir"
  fi
}

test_masked_paths_custom() {
  local b root
  root=$(mnt_private_rootfs)
  mkdir -p "$root/secret-dir"
  echo secret >"$root/secret-dir/data"
  echo secret >"$root/secret-file"
  b=$(make_bundle b sh -c 'echo "dir=[$(ls -A /secret-dir)] file=[$(cat /secret-file)]"; touch /secret-dir/x 2>&1 || true')
  edit_config "$b" '.root.path = $r | .linux.maskedPaths += ["/secret-dir", "/secret-file", "/does/not/exist"]' --arg r "$root"
  run_ok masked "$b"
  assert_contains "$OUT" "dir=[] file=[]" "masked directory and file"
  assert_contains "$OUT" "Read-only file system" "masked directory is read-only"
}

test_readonly_paths() {
  local b host_fwd
  host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  # CAP_NET_ADMIN so that the write is allowed when /proc/sys is not read-only.
  local script='(echo 1 > /proc/sys/net/ipv4/ip_forward) 2>&1 && echo WROTE; cat /proc/sys/net/ipv4/ip_forward'
  b=$(make_bundle b sh -c "$script")
  edit_config "$b" '.process.capabilities |= with_entries(.value += ["CAP_NET_ADMIN"])'
  run_ok ro "$b"
  assert_contains "$OUT" "Read-only file system" "write to read-only /proc/sys"
  assert_not_contains "$OUT" WROTE
  b=$(make_bundle b2 sh -c "$script")
  edit_config "$b" '.process.capabilities |= with_entries(.value += ["CAP_NET_ADMIN"]) | .linux.readonlyPaths = []'
  run_ok rw "$b"
  assert_contains "$OUT" WROTE "write to /proc/sys without readonlyPaths"
  assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd" "host ip_forward"
}

test_sysctl() {
  local b host_fwd host_shm
  host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  host_shm=$(cat /proc/sys/kernel/shmmax)
  b=$(make_bundle b sh -c 'echo "fwd=$(cat /proc/sys/net/ipv4/ip_forward) shm=$(cat /proc/sys/kernel/shmmax)"')
  edit_config "$b" '.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789"}'
  run_ok sysctl "$b"
  assert_eq "$OUT" "fwd=1 shm=123456789" "sysctls inside"
  assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd" "host ip_forward"
  assert_eq "$(cat /proc/sys/kernel/shmmax)" "$host_shm" "host shmmax"
}

test_no_pivot() {
  local b
  b=$(mnt_script b '
    [ -e /.nsbox-rootfs ] && echo ROOTFS-MARKER
    [ -e '"$TEST_TMP"' ] && echo HOST-VISIBLE
    [ -e '"$SRC_DIR"' ] && echo HOST-VISIBLE
    ls -A / | tr "\n" " "; echo
    touch /probe 2>&1 || true
    cat /proc/self/mountinfo')
  run_ok nopivot "$b" --no-pivot
  assert_contains "$OUT" ROOTFS-MARKER "the rootfs is / with --no-pivot"
  assert_not_contains "$OUT" HOST-VISIBLE "host paths visible with --no-pivot"
  assert_contains "$OUT" "$(ls -A "$(shared_rootfs)" | tr '\n' ' ')" "listing of /"
  assert_contains "$OUT" "Read-only file system" "root.readonly with --no-pivot"
  mnt_check "$OUT" /proc proc "" ""
  mnt_check "$OUT" /dev tmpfs nosuid ""
  assert_no_host_mounts
}

test_no_mounts_left_on_host() {
  local before b src=$TEST_TMP/src id
  # Mount points on the host, leaving out other tests' temp dirs (they may run in parallel).
  host_mounts() {
    awk '{print $5}' /proc/self/mountinfo | grep -v "^${TMPDIR:-/tmp}/nsbox-test\." | sort
    { grep -F "$TEST_TMP" /proc/self/mountinfo || true; } | awk '{print $5}' | sort
  }
  mkdir -p "$src"
  before=$(host_mounts)
  b=$(make_bundle b sleep 100)
  edit_config "$b" '.mounts += [
      {destination: "/var", type: "bind", source: $s, options: ["rbind", "ro"]},
      {destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["shared"]},
      {destination: "/run", type: "bind", source: $s, options: ["rbind", "rshared"]}]
    | .linux.devices = [{path: "/dev/mydev", type: "c", major: 1, minor: 3}]' --arg s "$src"
  id=$(cid left)
  nsbox create --bundle "$b" "$id"
  assert_eq "$(host_mounts)" "$before" "host mount table while the container is created"
  nsbox start "$id"
  assert_eq "$(host_mounts)" "$before" "host mount table while the container runs"
  nsbox delete --force "$id"
  assert_eq "$(host_mounts)" "$before" "host mount table after delete"
  b=$(make_bundle b2 true)
  run_ok nopivot "$b" --no-pivot
  assert_eq "$(host_mounts)" "$before" "host mount table after a --no-pivot run"
  assert_no_host_mounts
  assert_no_leftovers "$id"
}
