# The container process: args, env, cwd, user, umask, rlimits, noNewPrivileges,
# capabilities, oomScoreAdj, inherited file descriptors, exit status and signals.

# proc_script NAME SCRIPT: a bundle running `sh -c SCRIPT` (SCRIPT may span lines).
proc_script() {
  local b
  b=$(make_bundle "$1" sh)
  edit_config "$b" '.process.args = ["sh", "-c", $s]' --arg s "$2"
  echo "$b"
}

# proc_check_caps STATUS_TEXT BND EFF PRM INH AMB: compare the five capability sets.
proc_check_caps() {
  assert_eq "$(status_field "$1" CapBnd)" "$2" "CapBnd"
  assert_eq "$(status_field "$1" CapEff)" "$3" "CapEff"
  assert_eq "$(status_field "$1" CapPrm)" "$4" "CapPrm"
  assert_eq "$(status_field "$1" CapInh)" "$5" "CapInh"
  assert_eq "$(status_field "$1" CapAmb)" "$6" "CapAmb"
}

test_args_env_cwd() {
  local b
  b=$(make_bundle b sh)
  # $0 and $1 of `sh -c` come from args; pid 1 is the shell, exec'd with exactly this env.
  edit_config "$b" '.process.args = ["sh", "-c", "echo \"args=[$0|$1|$2]\"; echo \"pwd=$(pwd)\"; tr \"\\0\" \"\\n\" < /proc/1/environ; tr \"\\0\" \"|\" < /proc/1/cmdline; echo", "zero", "one two", ""]
    | .process.env = ["PATH=/bin:/usr/bin", "FOO=foo value", "EQ=a=b", "EMPTY="]
    | .process.cwd = "/etc"'
  run_ok args "$b"
  assert_contains "$OUT" "args=[zero|one two|]" "positional args"
  assert_contains "$OUT" "pwd=/etc" "cwd"
  local env home
  env=$(printf '%s\n' "$OUT" | grep -E '^[A-Z]+=' | sort)
  # No HOME in process.env: root's home from the container's /etc/passwd, as runc sets it.
  home=$(awk -F: '$3 == 0 { print $6; exit }' "$(shared_rootfs)/etc/passwd" 2>/dev/null)
  assert_eq "$env" "$(printf '%s\n' EMPTY= EQ=a=b 'FOO=foo value' "HOME=${home:-/}" PATH=/bin:/usr/bin | sort)" "environment of the container process"
  assert_contains "$OUT" "sh|-c|" "argv of pid 1"
  assert_contains "$OUT" "|zero|one two||" "argv of pid 1"
}

test_home_from_the_containers_passwd() {
  local b root
  root=$TEST_TMP/rootfs
  cp -a "$(shared_rootfs)" "$root"
  printf 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/sh\n' >"$root/etc/passwd"
  b=$(make_bundle b sh -c 'echo "home=$HOME"')
  edit_config "$b" '.root.path = $r | .process.env = ["PATH=/bin:/usr/bin"] | .process.user = {uid: 33, gid: 33}' --arg r "$root"
  run_ok www "$b"
  assert_eq "$OUT" "home=/var/www" "HOME of uid 33"
  edit_config "$b" '.process.user = {uid: 4242, gid: 4242}'
  run_ok nobody "$b"
  assert_eq "$OUT" "home=/" "HOME of a uid the container's passwd lacks"
  edit_config "$b" '.process.env += ["HOME=/given"]'
  run_ok given "$b"
  assert_eq "$OUT" "home=/given" "a HOME of the spec's own"
  # exec does the same, for the exec'd process's user.
  edit_config "$b" '.process.env = ["PATH=/bin:/usr/bin"] | .process.user = {uid: 0, gid: 0} | .process.args = ["sleep", "30"]'
  nsbox run -d --bundle "$b" "$(cid ex)" || fail "run -d"
  assert_eq "$(nsbox exec --user 33 "$(cid ex)" sh -c 'echo $HOME')" /var/www "HOME of exec --user 33"
  assert_eq "$(nsbox exec "$(cid ex)" sh -c 'echo $HOME')" /root "HOME of exec as root"
  nsbox delete --force "$(cid ex)"
  assert_no_leftovers "$(cid ex)"
}

test_args_path_lookup_and_absolute() {
  local b
  b=$(make_bundle b /bin/echo absolute)
  run_ok abs "$b"
  assert_eq "$OUT" absolute "absolute program path"
  b=$(make_bundle b2 echo looked-up)
  edit_config "$b" '.process.env = ["PATH=/nonexistent:/usr/bin:/bin"]'
  run_ok path "$b"
  assert_eq "$OUT" looked-up "program found through PATH"
  b=$(make_bundle b3 no-such-program)
  expect_fail "no-such-program" nsbox run --bundle "$b" "$(cid missing)"
  assert_no_leftovers "$(cid missing)"
}

test_cwd_created_if_missing() {
  local b root=$TEST_TMP/rootfs
  cp -a "$(shared_rootfs)" "$root"
  b=$(make_bundle b sh -c 'pwd; ls -ld . | cut -c1-10')
  edit_config "$b" '.root.path = $r | .root.readonly = false | .process.cwd = "/work/deep/dir"' --arg r "$root"
  run_ok cwd "$b"
  assert_contains "$OUT" /work/deep/dir "cwd"
  [ -d "$root/work/deep/dir" ] || fail "cwd not created in the rootfs"
}

test_cwd_created_if_missing_on_readonly_root() {
  local b root=$TEST_TMP/rootfs
  cp -a "$(shared_rootfs)" "$root"
  b=$(make_bundle b pwd)
  # root.readonly is true (the default spec): the cwd is made before the root turns read-only.
  edit_config "$b" '.root.path = $r | .process.cwd = "/work/deep/dir"' --arg r "$root"
  run_ok cwd "$b"
  assert_eq "$OUT" /work/deep/dir "cwd"
  [ -d "$root/work/deep/dir" ] || fail "cwd not created in the rootfs"
}

test_user_uid_gid_additional_gids() {
  local b
  b=$(make_bundle b sh -c 'id; grep -E "^(Uid|Gid|Groups):" /proc/self/status')
  edit_config "$b" '.process.user = {uid: 1000, gid: 1001, additionalGids: [10, 20, 1001]}'
  run_ok user "$b"
  assert_contains "$OUT" "uid=1000 gid=1001" "id"
  assert_eq "$(status_field "$OUT" Uid)" "$(printf '1000\t1000\t1000\t1000')" "real/effective/saved/fs uid"
  assert_eq "$(status_field "$OUT" Gid)" "$(printf '1001\t1001\t1001\t1001')" "real/effective/saved/fs gid"
  assert_eq "$(status_field "$OUT" Groups | xargs)" "10 20 1001" "supplementary groups"
}

test_user_root_has_no_supplementary_groups() {
  local b
  b=$(make_bundle b grep -E "^(Uid|Gid|Groups):" /proc/self/status)
  run_ok root "$b"
  assert_eq "$(status_field "$OUT" Uid)" "$(printf '0\t0\t0\t0')" "uid"
  assert_eq "$(status_field "$OUT" Gid)" "$(printf '0\t0\t0\t0')" "gid"
  assert_eq "$(status_field "$OUT" Groups | xargs)" "" "supplementary groups"
}

test_umask() {
  local b
  b=$(make_bundle b sh -c 'umask; touch /dev/shm/f; mkdir /dev/shm/d; stat -c %a /dev/shm/f /dev/shm/d')
  edit_config "$b" '.process.user.umask = 63'
  run_ok umask "$b"
  assert_eq "$(printf '%s\n' "$OUT" | xargs)" "0077 600 700" "umask 0077 and the modes it gives"
  b=$(make_bundle b2 sh -c 'umask')
  edit_config "$b" '.process.user.umask = 18'
  run_ok umask2 "$b"
  assert_eq "$OUT" 0022 "umask 0022"
}

test_rlimits() {
  local b
  b=$(make_bundle b sh -c 'ulimit -n; ulimit -Hn; grep -E "^Max (open files|core file size)" /proc/self/limits')
  edit_config "$b" '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 100, hard: 200}, {type: "RLIMIT_CORE", soft: 0, hard: 4096}]'
  run_ok rl "$b"
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 1p)" 100 "ulimit -n (soft)"
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 2p)" 200 "ulimit -Hn (hard)"
  assert_eq "$(printf '%s\n' "$OUT" | awk '/^Max open files/ {print $4, $5}')" "100 200" "NOFILE in /proc/self/limits"
  assert_eq "$(printf '%s\n' "$OUT" | awk '/^Max core file size/ {print $5, $6}')" "0 4096" "CORE in /proc/self/limits"
}

test_default_rlimit_nofile() {
  local b
  b=$(make_bundle b grep "^Max open files" /proc/self/limits)
  run_ok rl "$b"
  assert_eq "$(printf '%s\n' "$OUT" | awk '{print $4, $5}')" "1024 1024" "RLIMIT_NOFILE of the default spec"
}

test_no_new_privileges() {
  local b
  b=$(make_bundle b grep NoNewPrivs /proc/self/status)
  run_ok nnp "$b"
  assert_eq "$(status_field "$OUT" NoNewPrivs)" 1 "NoNewPrivs with noNewPrivileges true"
  [ "$(status_field "$(cat /proc/self/status)" NoNewPrivs)" = 0 ] ||
    skip "this test runs with no_new_privs already set"
  b=$(make_bundle b2 grep NoNewPrivs /proc/self/status)
  edit_config "$b" '.process.noNewPrivileges = false'
  run_ok nonnp "$b"
  assert_eq "$(status_field "$OUT" NoNewPrivs)" 0 "NoNewPrivs with noNewPrivileges false"
}

test_capabilities_default() {
  local b m
  b=$(make_bundle b grep ^Cap /proc/self/status)
  run_ok caps "$b"
  # CAP_KILL=5, CAP_NET_BIND_SERVICE=10, CAP_AUDIT_WRITE=29. The default spec lists them as
  # ambient too, but without inheritable the kernel cannot raise them (runc skips them too).
  m=$(capmask 5 10 29)
  proc_check_caps "$OUT" "$m" "$m" "$m" 0000000000000000 0000000000000000
}

test_capabilities_custom() {
  local b m
  b=$(make_bundle b sh -c 'grep ^Cap /proc/self/status; touch /dev/shm/f; chown 5:5 /dev/shm/f && echo CHOWN-OK')
  edit_config "$b" '.process.capabilities = {bounding: ["CAP_CHOWN"], effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"]}'
  run_ok caps "$b"
  m=$(capmask 0)
  proc_check_caps "$OUT" "$m" "$m" "$m" 0000000000000000 0000000000000000
  assert_contains "$OUT" CHOWN-OK "CAP_CHOWN is usable"
}

test_capabilities_ambient_for_non_root() {
  local b m
  b=$(make_bundle b grep ^Cap /proc/self/status)
  # CAP_CHOWN=0, CAP_NET_RAW=13: ambient needs permitted and inheritable, and survives the
  # exec as a non-root user; CAP_KILL is only bounding.
  edit_config "$b" '.process.user = {uid: 1000, gid: 1000}
    | .process.capabilities = {bounding: ["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL"],
        effective: ["CAP_CHOWN", "CAP_NET_RAW"], permitted: ["CAP_CHOWN", "CAP_NET_RAW"],
        inheritable: ["CAP_CHOWN", "CAP_NET_RAW"], ambient: ["CAP_CHOWN", "CAP_NET_RAW"]}'
  run_ok amb "$b"
  m=$(capmask 0 13)
  proc_check_caps "$OUT" "$(capmask 0 5 13)" "$m" "$m" "$m" "$m"
}

test_capabilities_none_for_non_root() {
  local b z=0000000000000000
  b=$(make_bundle b grep ^Cap /proc/self/status)
  edit_config "$b" '.process.user = {uid: 1000, gid: 1000}'
  run_ok nonroot "$b"
  # A non-root user loses permitted and effective at exec without ambient or file caps.
  proc_check_caps "$OUT" "$(capmask 5 10 29)" "$z" "$z" "$z" "$z"
}

test_oom_score_adj() {
  local b
  b=$(make_bundle b cat /proc/self/oom_score_adj)
  edit_config "$b" '.process.oomScoreAdj = 500'
  run_ok oom "$b"
  assert_eq "$OUT" 500 "oom_score_adj"
  assert_ne "$(cat /proc/self/oom_score_adj)" 500 "the caller's oom_score_adj changed"
}

test_no_fd_leaks_into_container() {
  local b
  # ls is the container process itself (no shell in between): it lists its own descriptors,
  # 0-2 and the directory it opens (3).
  b=$(make_bundle b ls -l /proc/self/fd)
  exec 7</dev/null
  exec 8>"$TEST_TMP/out8"
  exec 9<"$TEST_TMP"
  run_ok fds "$b"
  exec 7<&- 8>&- 9<&-
  assert_eq "$(printf '%s\n' "$OUT" | awk '/^l/ {print $9}' | sort -n | xargs)" "0 1 2 3" \
    "descriptors inside: $OUT"
  assert_not_contains "$OUT" "$TEST_TMP/out8" "the caller's descriptor 8 inside"
}

test_preserve_fds() {
  local b
  echo preserved-content >"$TEST_TMP/preserved"
  b=$(make_bundle b sh -c 'cat <&3; exec ls -l /proc/self/fd')
  exec 3<"$TEST_TMP/preserved"
  exec 4</dev/null
  run_ok keep "$b" --preserve-fds 1
  exec 3<&- 4<&-
  assert_contains "$OUT" preserved-content "content read from fd 3"
  # ls (exec'd by the shell) has 0-2, the preserved 3 and its own directory 4; not the
  # caller's 4 (/dev/null).
  assert_eq "$(printf '%s\n' "$OUT" | awk '/^l/ {print $9}' | sort -n | xargs)" "0 1 2 3 4" \
    "descriptors inside with --preserve-fds 1: $OUT"
  assert_contains "$OUT" "3 -> $TEST_TMP/preserved" "fd 3 inside"
  assert_not_contains "$OUT" "4 -> /dev/null" "the caller's fd 4 inside"
}

test_exit_status_when_killed_by_signal() {
  local b
  # Without a pid namespace the shell is not an init the kernel protects from its own
  # signals, so it dies of them.
  b=$(make_bundle b sh -c 'kill -9 $$; echo survived')
  edit_config "$b" '.linux.namespaces |= map(select(.type != "pid"))'
  local rc=0
  nsbox run --bundle "$b" "$(cid kill9)" >/dev/null 2>&1 || rc=$?
  assert_eq "$rc" 137 "exit status of run when the container dies of SIGKILL"
  b=$(make_bundle b2 sh -c 'kill -TERM $$; echo survived')
  edit_config "$b" '.linux.namespaces |= map(select(.type != "pid"))'
  rc=0
  nsbox run --bundle "$b" "$(cid term)" >/dev/null 2>&1 || rc=$?
  assert_eq "$rc" 143 "exit status of run when the container dies of SIGTERM"
  assert_no_leftovers "$(cid kill9)"
  assert_no_leftovers "$(cid term)"
}

test_exit_status_when_killed_from_outside() {
  local b id pid rc=0
  b=$(make_bundle b sleep 100)
  id=$(cid outside)
  "$NSBOX" --root "$TEST_ROOT" run --bundle "$b" "$id" >/dev/null 2>"$TEST_TMP/run.err" &
  pid=$!
  wait_for "container to run" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id 2>/dev/null | jq -r .status)\" = running ]"
  nsbox kill "$id" KILL
  wait "$pid" || rc=$?
  assert_eq "$rc" 137 "exit status of run when the container is killed (stderr: $(cat "$TEST_TMP/run.err"))"
  assert_no_leftovers "$id"
}

test_signals_forwarded_by_run() {
  local b id pid rc=0 sig want
  for sig in TERM HUP USR1; do
    case $sig in TERM) want=42 ;; HUP) want=43 ;; USR1) want=44 ;; esac
    b=$(make_bundle "b$sig" sh)
    edit_config "$b" '.process.args = ["sh", "-c", "trap \"exit 42\" TERM; trap \"exit 43\" HUP; trap \"exit 44\" USR1; echo ready; while :; do sleep 0.05; done"]'
    id=$(cid "fwd$sig")
    "$NSBOX" --root "$TEST_ROOT" run --bundle "$b" "$id" >"$TEST_TMP/out$sig" 2>"$TEST_TMP/err$sig" &
    pid=$!
    wait_for "container to install its traps" grep -q ready "$TEST_TMP/out$sig"
    kill -s "$sig" "$pid"
    rc=0
    wait "$pid" || rc=$?
    assert_eq "$rc" "$want" "exit status of run after SIG$sig to it (stderr: $(cat "$TEST_TMP/err$sig"))"
    assert_no_leftovers "$id"
  done
}
