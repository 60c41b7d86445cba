# Rootless: an ordinary user, made for the test and removed after it, runs nsbox with the
# bundle `nsbox spec --rootless` writes. Its state lives in $XDG_RUNTIME_DIR/nsbox, it gets
# no cgroups (none are delegated here), and id ranges beyond its own go through
# newuidmap/newgidmap and /etc/subuid.

# rootless_user: the test's ordinary user (lib.sh's test_user), a bundle dir $RL_BUNDLE with
# a rootfs copy it owns, where as_user runs.
rootless_user() {
  test_user
  RL_BUNDLE=$TEST_TMP/rl
  RL_CWD=$RL_BUNDLE
  mkdir -p "$RL_BUNDLE"
  cp -a "$(shared_rootfs)" "$RL_BUNDLE/rootfs"
  chown -R "$RL_USER:" "$RL_BUNDLE"
  at_exit rootless_teardown
}

rootless_teardown() {
  local id
  for id in $(as_user "$NSBOX" list -q 2>/dev/null); do
    as_user "$NSBOX" delete --force "$id" >/dev/null 2>&1
  done
}

# rl_config JQ_FILTER [jq args]: edit the user's config.json.
rl_config() {
  local f=$1
  shift
  jq "$@" "$f" "$RL_BUNDLE/config.json" >"$TEST_TMP/rl.json" || fail "jq filter failed: $f"
  cat "$TEST_TMP/rl.json" >"$RL_BUNDLE/config.json"
}

# rl_refused NAME TEXT: `nsbox run NAME` as the user fails with TEXT and leaves no state.
rl_refused() {
  local rc=0
  as_user "$NSBOX" run "$1" >/dev/null 2>"$TEST_TMP/err" || rc=$?
  [ "$rc" -ne 0 ] || fail "run $1 was expected to fail"
  assert_contains "$(cat "$TEST_TMP/err")" "$2"
  [ ! -e "$RL_XDG/nsbox/$1" ] || fail "state dir left after a failed create"
}

rl_stopped() { [ "$(as_user "$NSBOX" state "$1" | jq -r .status)" = stopped ]; }

rl_spec() {
  as_user "$NSBOX" spec --rootless || fail "nsbox spec --rootless failed"
  rl_config '.process.terminal = false | .process.args = $a' --argjson a "$1"
}

test_rootless_run_as_an_ordinary_user() {
  rootless_user
  rl_spec '["sh", "-c", "id -u; hostname; cat /proc/self/uid_map /proc/self/gid_map; echo x >/dev/null && echo devnull ok; ls /proc/1/ns >/dev/null && echo proc ok; echo t >/dev/shm/t && cat /dev/shm/t"]'
  local out rc=0
  out=$(as_user "$NSBOX" run rl1 2>"$TEST_TMP/err") || rc=$?
  [ "$rc" -eq 0 ] || fail "rootless run exited $rc: $(cat "$TEST_TMP/err")"
  local want
  want=$(printf '0\nnsbox\n%10s %10s %10s\n%10s %10s %10s\ndevnull ok\nproc ok\nt' 0 "$RL_UID" 1 0 "$RL_GID" 1)
  assert_eq "$out" "$want" "what the rootless container sees"
  [ ! -e "$RL_XDG/nsbox/rl1" ] || fail "state of rl1 left in $RL_XDG/nsbox"
  [ -d "$RL_XDG/nsbox" ] || fail "no state root made in \$XDG_RUNTIME_DIR"
}

test_rootless_lifecycle_state_exec_kill_delete() {
  rootless_user
  rl_spec '["sleep", "100"]'
  as_user "$NSBOX" run -d rl2 2>"$TEST_TMP/err" || fail "run -d: $(cat "$TEST_TMP/err")"
  [ -f "$RL_XDG/nsbox/rl2/state.json" ] || fail "state not under \$XDG_RUNTIME_DIR/nsbox"
  assert_eq "$(as_user "$NSBOX" state rl2 | jq -r .status)" running "status"
  assert_eq "$(as_user "$NSBOX" list -q)" rl2 "list"
  local pid
  pid=$(as_user "$NSBOX" state rl2 | jq -r .pid)
  assert_eq "$(stat -c %u "/proc/$pid")" "$RL_UID" "host owner of the container process"
  # No cgroup was made for it: it stays in the cgroups of the user's shell.
  local cg
  cg=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "nsbox-rl2" 2>/dev/null | head -1)
  [ -z "$cg" ] || fail "a cgroup was made for a rootless container: $cg"
  assert_eq "$(as_user "$NSBOX" exec rl2 id -u)" 0 "exec id -u"
  as_user "$NSBOX" kill rl2 KILL || fail "kill failed"
  wait_for "rl2 to stop" rl_stopped rl2
  as_user "$NSBOX" delete rl2 || fail "delete failed"
  [ ! -e "$RL_XDG/nsbox/rl2" ] || fail "state dir left after delete"
}

test_rootless_several_ranges_through_newuidmap() {
  rootless_user
  command -v newuidmap >/dev/null || skip "newuidmap is not installed (Debian package uidmap)"
  mkdir "$TEST_TMP/vol"
  chown "$RL_USER:" "$TEST_TMP/vol"
  rl_spec '["sh", "-c", "cat /proc/self/uid_map; touch /vol/f && chown 1000:1000 /vol/f && echo chowned"]'
  local caps='["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"]'
  rl_config '.linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}, {containerID: 1, hostID: $s, size: 65536}]
    | .linux.gidMappings = [{containerID: 0, hostID: $g, size: 1}, {containerID: 1, hostID: $sg, size: 65536}]
    | .process.capabilities.bounding += $c | .process.capabilities.effective += $c
    | .process.capabilities.permitted += $c
    | .mounts += [{destination: "/vol", type: "bind", source: $v, options: ["rbind"]}]' \
    --argjson u "$RL_UID" --argjson g "$RL_GID" --argjson s "$RL_SUB" --argjson sg "$RL_SUBG" \
    --argjson c "$caps" --arg v "$TEST_TMP/vol"
  local out rc=0
  out=$(as_user "$NSBOX" run rl3 2>"$TEST_TMP/err") || rc=$?
  [ "$rc" -eq 0 ] || fail "rootless run with several ranges exited $rc: $(cat "$TEST_TMP/err")"
  assert_contains "$out" "$(printf '%10s %10s %10s' 1 "$RL_SUB" 65536)" "second uid range"
  assert_contains "$out" chowned
  # Container uid 1000 is host uid RL_SUB + 999.
  assert_eq "$(stat -c %u:%g "$TEST_TMP/vol/f")" "$((RL_SUB + 999)):$((RL_SUBG + 999))" "owner on the host"
}

test_rootless_range_outside_subuid_is_refused_cleanly() {
  rootless_user
  command -v newuidmap >/dev/null || skip "newuidmap is not installed (Debian package uidmap)"
  rl_spec '["true"]'
  rl_config '.linux.uidMappings += [{containerID: 1, hostID: 1, size: 10}]'
  rl_refused rl4 "linux.uidMappings: newuidmap failed: "
  # Zombies do not count: they may be an earlier test's, whose user had the same uid.
  local left
  left=$(ps -o pid=,stat=,args= -u "$RL_USER" | awk '$2 !~ /^Z/' || true)
  [ -z "$left" ] || fail "processes left: $left"
}

test_rootless_limits_need_delegation() {
  rootless_user
  rl_spec '["true"]'
  rl_config '.linux.resources = {pids: {limit: 10}}'
  rl_refused rl5 "cgroup"
}

test_rootless_seccomp_caps_and_no_new_privs() {
  rootless_user
  rl_spec '["sh", "-c", "grep -E \"^(Seccomp|NoNewPrivs|CapEff|CapBnd):\" /proc/self/status; mkdir /dev/shm/d 2>&1 || true"]'
  rl_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
  local out rc=0
  out=$(as_user "$NSBOX" run rl6 2>"$TEST_TMP/err") || rc=$?
  [ "$rc" -eq 0 ] || fail "rootless run with seccomp exited $rc: $(cat "$TEST_TMP/err")"
  # The rootless spec's capabilities: CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE.
  local caps
  caps=$(capmask 29 5 10)
  assert_eq "$(status_field "$out" CapEff)" "$caps" "CapEff"
  assert_eq "$(status_field "$out" CapBnd)" "$caps" "CapBnd"
  assert_eq "$(status_field "$out" NoNewPrivs)" 1 "NoNewPrivs"
  assert_eq "$(status_field "$out" Seccomp)" 2 "Seccomp"
  assert_contains "$out" "Operation not permitted" "mkdir under the profile"
}

test_rootless_idmapped_mount_is_refused() {
  rootless_user
  rl_spec '["true"]'
  mkdir "$TEST_TMP/vol"
  rl_config '.mounts += [{destination: "/v", type: "bind", source: $v, options: ["rbind", "idmap"]}]' --arg v "$TEST_TMP/vol"
  rl_refused rl7 "mounts[6]: idmapped mounts need root"
}
