# linux.seccomp: profiles built with libseccomp and loaded in the container before execve.
# The probe (seccomp_tools.c, static, inside the container) makes one system call by number
# and prints "ret=R errno=E", so each rule is checked against what the kernel returned.
# System call numbers are x86_64's.

# seccomp_bundle NAME CMD...: a bundle whose rootfs copy holds /probe (seccomp_tools).
seccomp_bundle() {
  local name=$1
  shift
  [ "$(uname -m)" = x86_64 ] || skip "the probes use x86_64 system call numbers"
  command -v cc >/dev/null || skip "cc is not installed (needed to build tests/integration/seccomp_tools.c)"
  local tools=$TEST_TMP/seccomp_tools
  if [ ! -x "$tools" ]; then
    cc -O2 -static -o "$tools" "$SRC_DIR/tests/integration/seccomp_tools.c" 2>"$TEST_TMP/cc.err" ||
      skip "cannot build a static seccomp_tools: $(head -3 "$TEST_TMP/cc.err")"
  fi
  local rootfs=$TEST_TMP/rootfs
  if [ ! -d "$rootfs" ]; then
    cp -a "$(shared_rootfs)" "$rootfs"
    cp "$tools" "$rootfs/probe"
  fi
  local b
  b=$(make_bundle "$name" "$@")
  edit_config "$b" '.root.path = $r | .root.readonly = false' --arg r "$rootfs"
  echo "$b"
}

# set_seccomp BUNDLE JSON: linux.seccomp = JSON.
set_seccomp() { edit_config "$1" '.linux.seccomp = $s' --argjson s "$2"; }

PODMAN_PROFILE=/usr/share/containers/seccomp.json
need_podman_profile() {
  [ -r "$PODMAN_PROFILE" ] || skip "$PODMAN_PROFILE is missing (Debian package golang-github-containers-common)"
}

# podman_profile CAPS_JSON: podman's default profile (Debian's containers-common) turned into
# linux.seccomp the way podman does it for a container with these capabilities on amd64.
podman_profile() {
  jq -c --argjson caps "$1" '
    def has_all($l): ($l // []) - $caps | length == 0;
    def has_any($l): ($l // []) | any(. as $c | $caps | index($c) != null);
    def arch_ok($l): ($l // []) | length == 0 or index("amd64") != null;
    {defaultAction, defaultErrnoRet,
     architectures: [.archMap[] | select(.architecture == "SCMP_ARCH_X86_64") |
                     .architecture, .subArchitectures[]],
     syscalls: [.syscalls[]
                | select(has_all(.includes.caps) and arch_ok(.includes.arches) and
                         (has_any(.excludes.caps) | not) and
                         ((.excludes.arches // []) | index("amd64") == null))
                | {names, action}
                  + (if .errnoRet then {errnoRet} else {} end)
                  + (if (.args // []) | length > 0 then {args} else {} end)]}' "$PODMAN_PROFILE"
}

# The capabilities in a bundle's bounding set, as a JSON array.
bundle_caps() { jq -c '.process.capabilities.bounding' "$1/config.json"; }

test_podman_default_profile_runs_a_shell_and_blocks_its_denylist() {
  need_podman_profile
  # sysfs(2) (139) works for any user without a filter; the profile answers EPERM.
  local script='rm -rf /tmp/d; mkdir /tmp/d && ls / >/dev/null && echo hi >/tmp/d/f && cat /tmp/d/f && /probe 139 3'
  local b
  b=$(seccomp_bundle plain sh -c "$script")
  run_ok plain "$b"
  assert_contains "$OUT" "hi" "shell under no profile"
  assert_not_contains "$OUT" "errno=1" "sysfs without a profile"
  set_seccomp "$b" "$(podman_profile "$(bundle_caps "$b")")"
  run_ok podman "$b"
  assert_contains "$OUT" "hi" "busybox shell under podman's profile"
  assert_contains "$OUT" "ret=-1 errno=1" "sysfs under podman's profile"
  # The same as an ordinary user, with and without no_new_privs: without it the filter is
  # loaded before the switch drops CAP_SYS_ADMIN, with it after.
  edit_config "$b" '.process.user = {uid: 1000, gid: 1000} | .process.args = ["sh", "-c", "id -u; /probe 139 3"]'
  run_ok user "$b"
  assert_eq "$OUT" $'1000\nret=-1 errno=1'
  edit_config "$b" '.process.noNewPrivileges = true'
  run_ok user-nnp "$b"
  assert_eq "$OUT" $'1000\nret=-1 errno=1'
}

test_seccomp_applies_to_exec() {
  local b id
  b=$(seccomp_bundle exec sleep 100)
  set_seccomp "$b" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sync"],"action":"SCMP_ACT_ERRNO","errnoRet":77}]}'
  id=$(cid exec)
  nsbox run -d --bundle "$b" "$id" || fail "run -d failed"
  local out
  out=$(nsbox exec "$id" /probe 162) || fail "exec failed"
  assert_eq "$out" "ret=-1 errno=77" "sync in an exec'd process"
  assert_eq "$(status_field "$(nsbox exec "$id" cat /proc/self/status)" Seccomp)" 2 "seccomp mode of exec'd process"
}

test_seccomp_every_action() {
  # sync(162) ERRNO 99; sched_yield(24) KILL; getcpu(309) KILL_PROCESS;
  # sched_getaffinity(204) KILL_THREAD; sched_getparam(143) TRAP: all four end in SIGSYS
  # (exit 159); sched_getscheduler(145) TRACE with no tracer: ENOSYS (38);
  # sched_get_priority_max(146) LOG: allowed (0 for SCHED_OTHER); ALLOW = the default.
  local script='/probe 162; /probe 24 || echo "exit $?"; /probe 309 || echo "exit $?";
    /probe 204 0 128 0 || echo "exit $?"; /probe 143 0 0 || echo "exit $?"; /probe 145 0; /probe 146 0; /probe 39 >/dev/null && echo getpid ok'
  local b
  b=$(seccomp_bundle actions sh -c "$script")
  set_seccomp "$b" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
    {"names":["sync"],"action":"SCMP_ACT_ERRNO","errnoRet":99},
    {"names":["sched_yield"],"action":"SCMP_ACT_KILL"},
    {"names":["getcpu"],"action":"SCMP_ACT_KILL_PROCESS"},
    {"names":["sched_getaffinity"],"action":"SCMP_ACT_KILL_THREAD"},
    {"names":["sched_getparam"],"action":"SCMP_ACT_TRAP"},
    {"names":["sched_getscheduler"],"action":"SCMP_ACT_TRACE"},
    {"names":["sched_get_priority_max"],"action":"SCMP_ACT_LOG"},
    {"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}'
  run_ok actions "$b"
  assert_eq "$OUT" "ret=-1 errno=99
exit 159
exit 159
exit 159
exit 159
ret=-1 errno=38
ret=0 errno=0
getpid ok"
}

# A compiled profile is kept in the state root and used again for the same profile only:
# a damaged file, or another profile, is compiled anew.
test_seccomp_program_cache() {
  local b b2 cache out n
  b=$(seccomp_bundle cached /probe 162)
  set_seccomp "$b" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sync"],"action":"SCMP_ACT_ERRNO","errnoRet":99}]}'
  cache=$TEST_ROOT/seccomp-cache:v1
  sc_run() {  # sc_run NAME BUNDLE: OUT = stdout, ERR = stderr of nsbox --debug run
    local rc=0
    OUT=$("$NSBOX" --root "$TEST_ROOT" --debug run --bundle "$2" "$(cid "$1")" 2>"$TEST_TMP/$1.err") || rc=$?
    ERR=$(cat "$TEST_TMP/$1.err")
    [ "$rc" -eq 0 ] || fail "nsbox run $1 exited $rc: [$ERR]"
  }
  sc_run first "$b"
  assert_eq "$OUT" "ret=-1 errno=99" "sync under the profile, compiled"
  assert_contains "$ERR" "seccomp: compiled the profile" "debug log of the first run"
  n=$(find "$cache" -name '*.bpf' | wc -l)
  assert_eq "$n" 1 "programs kept in $cache"
  sc_run second "$b"
  assert_eq "$OUT" "ret=-1 errno=99" "sync under the profile, from the cache"
  assert_contains "$ERR" "seccomp: the program" "debug log of the second run"
  assert_contains "$ERR" "from $cache/" "debug log of the second run"
  # Damaged: compiled again, and the file made whole.
  printf 'nsbox seccomp cache 1\n9\ngarbage' >"$(find "$cache" -name '*.bpf')"
  sc_run third "$b"
  assert_eq "$OUT" "ret=-1 errno=99" "sync under the profile, with a damaged cache file"
  assert_contains "$ERR" "seccomp: compiled the profile" "debug log with a damaged cache file"
  sc_run fourth "$b"
  assert_contains "$ERR" "seccomp: the program" "debug log once the file is rewritten"
  # Another profile: its own program.
  b2=$(seccomp_bundle other /probe 162)
  set_seccomp "$b2" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sync"],"action":"SCMP_ACT_ERRNO","errnoRet":98}]}'
  sc_run fifth "$b2"
  assert_eq "$OUT" "ret=-1 errno=98" "sync under another profile"
  assert_eq "$(find "$cache" -name '*.bpf' | wc -l)" 2 "programs kept after another profile"
  # list and list -q see no container in it.
  assert_eq "$(nsbox list -q)" "" "list -q with the cache in the root"
}

test_seccomp_default_errno_and_unknown_names() {
  need_podman_profile
  # Everything not allowed fails with defaultErrnoRet; a name this libseccomp does not
  # know is skipped, as the spec allows.
  local b
  b=$(seccomp_bundle deferr /probe 162)
  local allow
  allow=$(podman_profile '[]' | jq -c '[.syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]] - ["sync"]')
  set_seccomp "$b" "$(jq -nc --argjson a "$allow" '{defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 55,
     syscalls: [{names: ($a + ["no_such_syscall_at_all"]), action: "SCMP_ACT_ALLOW"}]}')"
  run_ok deferr "$b"
  assert_eq "$OUT" "ret=-1 errno=55"
}

test_seccomp_argument_operators() {
  # One syscall per operator, each with a match and a miss. ERRNO 101..109 mark the rule.
  local script='
    /probe 121 1; /probe 121 0 | sed "s/ret=[0-9]*/ret=ok/"
    /probe 124 0; /probe 124 99999
    /probe 146 1; /probe 146 2
    /probe 147 2; /probe 147 0
    /probe 95 511; /probe 95 18
    /probe 32 200; /probe 32 1
    /probe 140 16; /probe 140 0 0 | sed "s/ret=[0-9]*/ret=ok/"
    /probe 37 7; /probe 37 9; /probe 37 0
    /probe 62 1 0; /probe 62 0 0'
  local b
  b=$(seccomp_bundle ops sh -c "$script")
  set_seccomp "$b" '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
    {"names":["getpgid"],"action":"SCMP_ACT_ERRNO","errnoRet":101,"args":[{"index":0,"value":0,"op":"SCMP_CMP_NE"}]},
    {"names":["getsid"],"action":"SCMP_ACT_ERRNO","errnoRet":102,"args":[{"index":0,"value":5,"op":"SCMP_CMP_LT"}]},
    {"names":["sched_get_priority_max"],"action":"SCMP_ACT_ERRNO","errnoRet":103,"args":[{"index":0,"value":1,"op":"SCMP_CMP_LE"}]},
    {"names":["sched_get_priority_min"],"action":"SCMP_ACT_ERRNO","errnoRet":104,"args":[{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]},
    {"names":["umask"],"action":"SCMP_ACT_ERRNO","errnoRet":105,"args":[{"index":0,"value":511,"op":"SCMP_CMP_GE"}]},
    {"names":["dup"],"action":"SCMP_ACT_ERRNO","errnoRet":106,"args":[{"index":0,"value":100,"op":"SCMP_CMP_GT"}]},
    {"names":["getpriority"],"action":"SCMP_ACT_ERRNO","errnoRet":107,"args":[{"index":0,"value":240,"valueTwo":16,"op":"SCMP_CMP_MASKED_EQ"}]},
    {"names":["alarm"],"action":"SCMP_ACT_ERRNO","errnoRet":108,"args":[{"index":0,"value":7,"op":"SCMP_CMP_EQ"},{"index":0,"value":9,"op":"SCMP_CMP_EQ"}]},
    {"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":109,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":0,"op":"SCMP_CMP_EQ"}]}]}'
  run_ok ops "$b"
  assert_eq "$OUT" "ret=-1 errno=101
ret=ok errno=0
ret=-1 errno=102
ret=-1 errno=3
ret=-1 errno=103
ret=99 errno=0
ret=-1 errno=104
ret=0 errno=0
ret=-1 errno=105
ret=18 errno=0
ret=-1 errno=106
ret=3 errno=0
ret=-1 errno=107
ret=ok errno=0
ret=-1 errno=108
ret=-1 errno=108
ret=0 errno=0
ret=-1 errno=109
ret=0 errno=0"
}

# A notify agent on $TEST_TMP/agent.sock, saving what arrives to $TEST_TMP/agent.state.N.
start_agent() {
  "$TEST_TMP/seccomp_tools" agent "$TEST_TMP/agent.sock" "$TEST_TMP/agent.state" &
  kill_at_exit $!
  wait_for "the seccomp agent's socket" test -S "$TEST_TMP/agent.sock"
}

test_seccomp_notify_sends_listener_and_state() {
  local b id
  b=$(seccomp_bundle notify sh -c '/probe 146 0; sleep 100')
  start_agent
  set_seccomp "$b" "$(jq -nc --arg p "$TEST_TMP/agent.sock" '{defaultAction: "SCMP_ACT_ALLOW",
     listenerPath: $p, listenerMetadata: "meta-data",
     syscalls: [{names: ["sched_get_priority_max"], action: "SCMP_ACT_NOTIFY"}]}')"
  id=$(cid notify)
  nsbox create --bundle "$b" "$id" >"$TEST_TMP/create.out" || fail "create failed"
  local pid
  pid=$(nsbox state "$id" | jq -r .pid)
  test -s "$TEST_TMP/agent.state.1" || fail "the agent got nothing at create"
  local st=$TEST_TMP/agent.state.1
  assert_eq "$(jq -c .fds "$st")" '["seccompFd"]' "fds"
  assert_eq "$(jq -r .metadata "$st")" "meta-data" "metadata"
  assert_eq "$(jq -r .pid "$st")" "$pid" "pid"
  assert_eq "$(jq -r .state.status "$st")" "creating" "state.status"
  assert_eq "$(jq -r .state.id "$st")" "$id" "state.id"
  assert_eq "$(jq -r .state.bundle "$st")" "$b" "state.bundle"
  nsbox start "$id" || fail "start failed"
  # The agent answers 42 where the kernel would have answered 0.
  wait_for "the notified call in the container" grep -q "ret=42 errno=0" "$TEST_TMP/create.out"
  local out
  out=$(nsbox exec "$id" /probe 146 0) || fail "exec failed"
  assert_eq "$out" "ret=42 errno=0" "notified call in an exec'd process"
  test -s "$TEST_TMP/agent.state.2" || fail "the agent got no listener for exec"
  assert_eq "$(jq -r .state.status "$TEST_TMP/agent.state.2")" "running" "exec state.status"
  assert_ne "$(jq -r .pid "$TEST_TMP/agent.state.2")" "$pid" "exec pid"
}

test_seccomp_notify_unreachable_listener_leaves_nothing() {
  local b id
  b=$(seccomp_bundle nolisten true)
  set_seccomp "$b" "$(jq -nc --arg p "$TEST_TMP/nobody.sock" '{defaultAction: "SCMP_ACT_ALLOW",
     listenerPath: $p, syscalls: [{names: ["sync"], action: "SCMP_ACT_NOTIFY"}]}')"
  id=$(cid nolisten)
  expect_fail "connect to linux.seccomp.listenerPath $TEST_TMP/nobody.sock" nsbox create --bundle "$b" "$id"
  assert_no_leftovers "$id"
  assert_no_host_mounts
}

test_seccomp_flags() {
  local b id
  b=$(seccomp_bundle flags sleep 100)
  set_seccomp "$b" '{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_TSYNC"],
    "syscalls":[{"names":["sync"],"action":"SCMP_ACT_ERRNO"}]}'
  id=$(cid flags)
  nsbox run -d --bundle "$b" "$id" || fail "run -d with LOG and TSYNC failed"
  local status
  status=$(cat "/proc/$(nsbox state "$id" | jq -r .pid)/status")
  assert_eq "$(status_field "$status" Seccomp)" 2 "seccomp mode"
  assert_eq "$(status_field "$status" Seccomp_filters)" 1 "filters"
  # With a filter the kernel turns on the speculative store bypass mitigation unless
  # SPEC_ALLOW asks it not to (where the CPU is affected at all).
  local ssb
  ssb=$(status_field "$status" Speculation_Store_Bypass)
  nsbox delete --force "$id"
  set_seccomp "$b" '{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
    "syscalls":[{"names":["sync"],"action":"SCMP_ACT_ERRNO"}]}'
  nsbox run -d --bundle "$b" "$id" || fail "run -d with SPEC_ALLOW failed"
  local ssb2
  ssb2=$(status_field "$(cat "/proc/$(nsbox state "$id" | jq -r .pid)/status")" Speculation_Store_Bypass)
  case "$ssb" in
    *"force mitigated"*) assert_not_contains "$ssb2" "force mitigated" "SPEC_ALLOW" ;;
    *) echo "note: CPU reports [$ssb]; SPEC_ALLOW's effect is not visible here" ;;
  esac
}

# bad_profile JSON TEXT: create must fail with TEXT, leaving nothing.
bad_profile() {
  local n=$((++BAD_N)) b id
  b=$(seccomp_bundle "bad$n" true)
  set_seccomp "$b" "$1"
  id=$(cid "bad$n")
  expect_fail "$b/config.json: $2" nsbox create --bundle "$b" "$id"
  assert_no_leftovers "$id"
}

test_seccomp_bad_profiles() {
  BAD_N=0
  bad_profile '{"syscalls":[]}' 'linux.seccomp.defaultAction: required field is missing'
  bad_profile '{"defaultAction":"SCMP_ACT_NOPE"}' 'linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE"'
  bad_profile '{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/x"}' \
    'linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action'
  bad_profile '{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":3}' \
    'linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno'
  bad_profile '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_Z80"]}' \
    'linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_Z80"'
  bad_profile '{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_BOGUS"]}' \
    'linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_BOGUS"'
  bad_profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[],"action":"SCMP_ACT_ERRNO"}]}' \
    'linux.seccomp.syscalls[0].names: must name at least one system call'
  bad_profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sync"],"action":"SCMP_ACT_KILL","errnoRet":1}]}' \
    'linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno'
  bad_profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sync"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}' \
    'linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5'
  bad_profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sync"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_SIMILAR"}]}]}' \
    'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_SIMILAR"'
  bad_profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sync"],"action":"SCMP_ACT_NOTIFY"}]}' \
    'linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY'
  bad_profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sync"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":-1,"op":"SCMP_CMP_EQ"}]}]}' \
    'linux.seccomp.syscalls[0].args[0].value: value out of range'
  # Valid for the spec, beyond what this build's libseccomp can do: a clear error.
  local v
  v=$(dpkg-query -W -f='${Version}' libseccomp2 2>/dev/null || true)
  case "$v" in
    2.5.*)
      bad_profile '{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}' \
        'linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs libseccomp 2.6 or later'
      bad_profile '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_LOONGARCH64"]}' \
        'linux.seccomp.architectures[0]: SCMP_ARCH_LOONGARCH64 is not supported by libseccomp 2.5'
      ;;
    *) echo "note: libseccomp $v; the 2.5 limits are not checked" ;;
  esac
}

# An allowlist of exactly what the program needs (what busybox `true` makes on x86_64, seen
# with strace; its prctl(PR_GET_NAME) may fail), plus capset, which the runtime makes after
# loading the filter when it kept CAP_SYS_ADMIN through the user switch (no noNewPrivileges,
# a process without CAP_SYS_ADMIN). Nothing else the runtime could call after the filter
# (close_range, prctl, setresuid, setgroups, write to its sync socket...) is in it, and
# neither is getpid, which a shell would make: the filter is the last thing before execve.
MINIMAL_SYSCALLS='["execve","brk","arch_prctl","set_tid_address","set_robust_list","rseq",
  "prlimit64","readlink","getrandom","mprotect","getuid","exit_group","capset"]'

# minimal_profile [EXTRA_NAME...]: the allowlist profile, with EXTRA_NAMEs allowed too.
minimal_profile() {
  local extra
  extra=$(printf '%s\n' "$@" | jq -R 'select(length > 0)' | jq -s -c .)
  jq -nc --argjson n "$MINIMAL_SYSCALLS" --argjson x "$extra" '{defaultAction: "SCMP_ACT_ERRNO",
    architectures: ["SCMP_ARCH_X86_64"], syscalls: [{names: ($n + $x), action: "SCMP_ACT_ALLOW"}]}'
}

test_seccomp_minimal_allowlist_run() {
  local b nnp uid name
  b=$(seccomp_bundle minimal true)
  for nnp in true false; do
    for uid in 0 1000; do
      name=min-$uid-$nnp
      edit_config "$b" '.process.args = ["true"] | .process.noNewPrivileges = ($n == "true")
        | .process.user = {uid: ($u | tonumber), gid: ($u | tonumber)}' --arg n "$nnp" --arg u "$uid"
      set_seccomp "$b" "$(minimal_profile)"
      run_ok "$name" "$b"
      assert_eq "$(cat "$TEST_TMP/$name.err")" "" "stderr of true under the allowlist (uid $uid, noNewPrivileges $nnp)"
      assert_no_leftovers "$(cid "$name")"
      # The filter is there: the probe (which also needs write and newfstatat to print)
      # gets EPERM from getpid(39), outside the list, and its uid from getuid(102).
      set_seccomp "$b" "$(minimal_profile write newfstatat)"
      edit_config "$b" '.process.args = ["/probe", "39"]'
      run_ok "$name-getpid" "$b"
      assert_eq "$OUT" "ret=-1 errno=1" "getpid under the allowlist (uid $uid, noNewPrivileges $nnp)"
      assert_no_leftovers "$(cid "$name-getpid")"
      edit_config "$b" '.process.args = ["/probe", "102"]'
      run_ok "$name-getuid" "$b"
      assert_eq "$OUT" "ret=$uid errno=0" "getuid under the allowlist (uid $uid, noNewPrivileges $nnp)"
      assert_no_leftovers "$(cid "$name-getuid")"
    done
  done
}

# The same allowlist for processes exec'd into a running container whose init sleeps
# (clock_nanosleep and nanosleep added for it).
test_seccomp_minimal_allowlist_exec() {
  local b nnp id pid user rc f
  b=$(seccomp_bundle minexec sleep 1000)
  set_seccomp "$b" "$(minimal_profile clock_nanosleep nanosleep)"
  for nnp in true false; do
    edit_config "$b" '.process.noNewPrivileges = ($n == "true")' --arg n "$nnp"
    id=$(cid "minexec-$nnp")
    nsbox run -d --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/run.err" ||
      fail "run -d of sleep under the allowlist (noNewPrivileges $nnp): $(cat "$TEST_TMP/run.err")"
    pid=$(nsbox state "$id" | jq -r .pid)
    assert_eq "$(status_field "$(cat "/proc/$pid/status")" Seccomp)" 2 "seccomp mode of the init (noNewPrivileges $nnp)"
    for user in 0:0 1000:1000; do
      rc=0
      nsbox exec --user "$user" "$id" true </dev/null >"$TEST_TMP/exec.out" 2>"$TEST_TMP/exec.err" || rc=$?
      assert_eq "$rc" 0 "exit status of exec true as $user (noNewPrivileges $nnp): [$(cat "$TEST_TMP/exec.err")]"
      assert_eq "$(cat "$TEST_TMP/exec.err")" "" "stderr of exec true as $user (noNewPrivileges $nnp)"
      # An exec'd process has the filter too: a detached sleep shows it, and a call outside
      # the list (kill) fails where it works without the filter.
      f=$TEST_TMP/exec-$nnp-${user%%:*}.pid
      nsbox exec -d --pid-file "$f" --user "$user" "$id" sleep 1000 </dev/null >/dev/null 2>"$TEST_TMP/exec.err" ||
        fail "exec -d sleep as $user (noNewPrivileges $nnp): $(cat "$TEST_TMP/exec.err")"
      assert_eq "$(status_field "$(cat "/proc/$(cat "$f")/status")" Seccomp)" 2 "seccomp mode of an exec'd process as $user"
      assert_eq "$(status_field "$(cat "/proc/$(cat "$f")/status")" Seccomp_filters)" 1 "filters of an exec'd process as $user"
      rc=0
      nsbox exec --user "$user" "$id" kill -0 "$(awk '/^NSpid:/ {print $3}' "/proc/$(cat "$f")/status")" \
        </dev/null >/dev/null 2>&1 || rc=$?
      assert_ne "$rc" 0 "exit status of kill -0 (a call outside the list) as $user"
    done
    assert_eq "$(status_of "$id")" running "the container after the execs (noNewPrivileges $nnp)"
    nsbox delete --force "$id"
    assert_no_leftovers "$id"
  done
  assert_no_host_mounts
}
