# AppArmor profiles and SELinux labels. Where the host has the module enabled, the
# container's process must run confined by what the config names; where it has not, asking
# for one is an error that leaves nothing behind (as in runc, whose write then fails).

apparmor_on() { [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && [ -d /sys/kernel/security/apparmor ]; }
selinux_on() { [ -e /sys/fs/selinux/enforce ]; }

test_apparmor_profile_without_apparmor_is_an_error() {
  apparmor_on && skip "AppArmor is enabled on this host"
  local b id
  b=$(make_bundle aa true)
  edit_config "$b" '.process.apparmorProfile = "nsbox-test"'
  id=$(cid aa)
  expect_fail "$b/config.json: process.apparmorProfile: \"nsbox-test\" cannot be applied: AppArmor is not enabled on this host" \
    nsbox run --bundle "$b" "$id"
  assert_no_leftovers "$id"
  assert_no_host_mounts
}

test_selinux_labels_without_selinux_are_errors() {
  selinux_on && skip "SELinux is enabled on this host"
  local b id
  b=$(make_bundle se true)
  id=$(cid se)
  edit_config "$b" '.process.selinuxLabel = "system_u:system_r:container_t:s0"'
  expect_fail "$b/config.json: process.selinuxLabel: SELinux is not enabled on this host" nsbox create --bundle "$b" "$id"
  assert_no_leftovers "$id"
  edit_config "$b" 'del(.process.selinuxLabel) | .linux.mountLabel = "system_u:object_r:container_file_t:s0"'
  expect_fail "$b/config.json: linux.mountLabel: SELinux is not enabled on this host" nsbox create --bundle "$b" "$id"
  assert_no_leftovers "$id"
}

test_exec_apparmor_and_label_flags_without_the_modules() {
  apparmor_on && skip "AppArmor is enabled on this host"
  selinux_on && skip "SELinux is enabled on this host"
  local b id
  b=$(make_bundle ex sleep 100)
  id=$(cid ex)
  nsbox run -d --bundle "$b" "$id" || fail "run -d failed"
  expect_fail 'process.apparmorProfile: "p" cannot be applied: AppArmor is not enabled on this host' \
    nsbox exec --apparmor p "$id" true
  expect_fail "process.selinuxLabel: SELinux is not enabled on this host" nsbox exec --process-label l "$id" true
  assert_eq "$(nsbox exec "$id" echo still fine)" "still fine"
}

test_apparmor_profile_confines_the_process() {
  apparmor_on || skip "AppArmor is not enabled on this host"
  command -v apparmor_parser >/dev/null || skip "apparmor_parser is not installed"
  local prof=nsbox-test-$$
  printf 'profile %s flags=(attach_disconnected) {\n  file,\n  deny /etc/hostname r,\n}\n' "$prof" >"$TEST_TMP/prof"
  apparmor_parser -r "$TEST_TMP/prof" || skip "cannot load an AppArmor profile here"
  local b
  b=$(make_bundle aa2 sh -c 'cat /proc/self/attr/current; cat /etc/hostname >/dev/null 2>&1 || echo denied')
  edit_config "$b" '.process.apparmorProfile = $p' --arg p "$prof"
  local rc=0
  OUT=$(nsbox run --bundle "$b" "$(cid aa2)" 2>"$TEST_TMP/err") || rc=$?
  apparmor_parser -R "$TEST_TMP/prof" 2>/dev/null || true
  [ "$rc" -eq 0 ] || fail "run exited $rc: $(cat "$TEST_TMP/err")"
  assert_contains "$OUT" "$prof (enforce)" "the process's AppArmor context"
  assert_contains "$OUT" denied "the profile's deny rule"
}
