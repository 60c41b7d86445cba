# Idmapped bind mounts: mounts[].uidMappings/gidMappings and the idmap/ridmap options.
# The container has a user namespace mapping its ids 0-65535 to host 100000-165535; a host
# directory owned by host root is bound in. Without idmap its files show up as nobody
# (65534); through an idmapped mount they show up as the container's root.

# idmap_bundle NAME CMD...: such a container, with $TEST_TMP/vol holding root-owned
# "rootfile" and "userfile" owned by 1000:1000.
idmap_bundle() {
  local name=$1
  shift
  local rootfs=$TEST_TMP/rootfs
  if [ ! -d "$rootfs" ]; then
    chmod 755 "$TEST_TMP"  # the container's root (host uid 100000) walks to its rootfs
    cp -a "$(shared_rootfs)" "$rootfs"
    chown -R 100000:100000 "$rootfs"
    mkdir -p "$TEST_TMP/vol"
    touch "$TEST_TMP/vol/rootfile" "$TEST_TMP/vol/userfile"
    chown 1000:1000 "$TEST_TMP/vol/userfile"
  fi
  local b
  b=$(make_bundle "$name" "$@")
  edit_config "$b" '.root.path = $r | .linux.namespaces += [{type: "user"}]
    | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
    | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]' --arg r "$rootfs"
  echo "$b"
}

# add_vol BUNDLE DEST OPTIONS_JSON [EXTRA_JSON]: bind $TEST_TMP/vol on DEST.
add_vol() {
  edit_config "$1" '.mounts += [{destination: $d, type: "bind", source: $s, options: $o} + $x]' \
    --arg d "$2" --arg s "$TEST_TMP/vol" --argjson o "$3" --argjson x "${4:-{\}}"
}

# idmap_run NAME BUNDLE: run_ok, but a kernel or file system that cannot idmap the volume
# (tmpfs before Linux 6.3, for one) skips the test with nsbox's reason.
idmap_run() {
  local rc=0
  OUT=$(nsbox run --bundle "$2" "$(cid "$1")" 2>"$TEST_TMP/$1.err") || rc=$?
  if [ "$rc" -ne 0 ] && grep -q "does not support idmapped mounts" "$TEST_TMP/$1.err"; then
    skip "$(stat -f -c %T "$TEST_TMP") here cannot be idmapped: $(cat "$TEST_TMP/$1.err")"
  fi
  [ "$rc" -eq 0 ] || fail "nsbox run $1 exited $rc: $(cat "$TEST_TMP/$1.err")"
}

test_idmap_maps_through_the_container_user_namespace() {
  local b
  b=$(idmap_bundle idm sh -c 'stat -c "%n %u:%g" /plain/rootfile /plain/userfile /mapped/rootfile /mapped/userfile; touch /mapped/made-inside')
  add_vol "$b" /plain '["rbind"]'
  add_vol "$b" /mapped '["rbind", "idmap"]'
  idmap_run idm "$b"
  assert_eq "$OUT" "/plain/rootfile 65534:65534
/plain/userfile 65534:65534
/mapped/rootfile 0:0
/mapped/userfile 1000:1000"
  # Written through the mapping: on disk it belongs to host root, not to host uid 100000.
  assert_eq "$(stat -c %u:%g "$TEST_TMP/vol/made-inside")" "0:0" "owner on the host of a file made inside"
  assert_no_host_mounts
}

test_idmap_with_the_mounts_own_mappings() {
  local b
  b=$(idmap_bundle own stat -c "%n %u:%g" /v/rootfile /v/userfile)
  # On-disk id N appears as host 101000+N, which the container sees as 1000+N.
  add_vol "$b" /v '["rbind"]' '{"uidMappings": [{"containerID": 0, "hostID": 101000, "size": 65536}],
                                "gidMappings": [{"containerID": 0, "hostID": 102000, "size": 65536}]}'
  idmap_run own "$b"
  assert_eq "$OUT" "/v/rootfile 1000:2000
/v/userfile 2000:3000"
}

test_ridmap_maps_the_mounts_below_too() {
  local b
  b=$(idmap_bundle rid stat -c "%n %u" /r/sub/f /n/sub/f)
  mkdir -p "$TEST_TMP/vol/sub"
  mount -t tmpfs -o mode=755 sub "$TEST_TMP/vol/sub" || fail "mount tmpfs"
  at_exit "umount -l $TEST_TMP/vol/sub"
  touch "$TEST_TMP/vol/sub/f"
  add_vol "$b" /r '["rbind", "ridmap"]'
  add_vol "$b" /n '["rbind", "idmap"]'
  idmap_run rid "$b"
  # idmap maps only the top mount: the tmpfs below keeps host root, which is nobody here.
  assert_eq "$OUT" "/r/sub/f 0
/n/sub/f 65534"
}

test_idmap_errors_name_the_mount_and_leave_nothing() {
  local b id
  b=$(idmap_bundle bad1 true)
  id=$(cid bad1)
  edit_config "$b" '.mounts += [{destination: "/t", type: "tmpfs", source: "tmpfs", options: ["idmap"]}]'
  expect_fail "mounts[7]: idmapped mounts are only supported for bind mounts" nsbox create --bundle "$b" "$id"
  b=$(idmap_bundle bad2 true)
  add_vol "$b" /v '["rbind"]' '{"uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}'
  expect_fail "mounts[7]: uidMappings and gidMappings must be given together" nsbox create --bundle "$b" "$(cid bad2)"
  b=$(make_bundle bad3 true)
  add_vol "$b" /v '["rbind", "idmap"]'
  expect_fail "mounts[7]: idmap without uidMappings and gidMappings maps through the container's user namespace, and there is none" \
    nsbox create --bundle "$b" "$(cid bad3)"
  # sysfs cannot be idmapped: the error names the mount, and nothing stays behind.
  b=$(idmap_bundle bad4 true)
  edit_config "$b" '.mounts += [{destination: "/k", type: "bind", source: "/sys/kernel", options: ["rbind", "idmap"]}]'
  id=$(cid bad4)
  expect_fail "mounts[7]: idmapped mount of /sys/kernel on /k: the file system (or this kernel) does not support idmapped mounts" \
    nsbox create --bundle "$b" "$id"
  local n
  for n in bad1 bad2 bad3 bad4; do assert_no_leftovers "$(cid $n)"; done
  assert_no_host_mounts
}
