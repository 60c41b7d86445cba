# nsbox exec: a new process in a running container, as runc exec runs it: the container's
# namespaces, cgroup, capabilities, env, cwd and user (overridable by flags or a process JSON),
# exit statuses, detached runs with a pid file, preserved descriptors, signal forwarding,
# terminals, and the refusals (paused, stopped, unknown containers, missing programs).
# shellcheck disable=SC2016  # container scripts and jq filters are literal
# shellcheck disable=SC2015  # "A && B || fail": fail exits

# --- helpers (not tests) -----------------------------------------------------------------

# ex_bundle NAME [SCRIPT]: a bundle whose init (sh, with the leftover marker of
# assert_no_leftovers as its $0) writes /dev/shm/ready and then runs SCRIPT (default: an
# idle loop). Sets ID (the container id) and B (the bundle directory).
ex_bundle() {
  local name=$1 script=${2:-'while :; do sleep 1; done'}
  ID=$(cid "$name")
  B=$(make_bundle "nsbox-leftover-marker-$ID" sh -c "echo init-ready >/dev/shm/ready; $script" \
    "nsbox-leftover-marker-$ID")
}

# ex_run: run -d the container of ex_bundle (stdio on files, never the test's pipes) and
# wait until its init is ready. Sets PID (the init's host pid).
ex_run() {
  local rc=0
  timeout 30 "$NSBOX" --root "$TEST_ROOT" run -d --bundle "$B" "$ID" \
    </dev/null >"$TEST_TMP/$ID.out" 2>"$TEST_TMP/$ID.err" || rc=$?
  [ "$rc" -eq 0 ] || fail "nsbox run -d $ID exited $rc: [$(cat "$TEST_TMP/$ID.err")]"
  PID=$(nsbox state "$ID" | jq -r .pid)
  [ -n "$PID" ] && [ "$PID" != null ] || fail "no pid in the state of $ID"
  wait_for "container $ID to be ready" test -e "/proc/$PID/root/dev/shm/ready"
}

# ex_start NAME [SCRIPT]: ex_bundle + ex_run.
ex_start() {
  ex_bundle "$@"
  ex_run
}

# ex ARGS...: nsbox exec ARGS (stdin /dev/null, stdout and stderr on files: a process that
# outlives nsbox exec must not hold a pipe of the test). Sets RC, OUT and ERR.
ex() {
  RC=0
  timeout 30 "$NSBOX" --root "$TEST_ROOT" exec "$@" \
    </dev/null >"$TEST_TMP/exec.out" 2>"$TEST_TMP/exec.err" || RC=$?
  OUT=$(cat "$TEST_TMP/exec.out")
  ERR=$(cat "$TEST_TMP/exec.err")
  [ "$RC" -ne 124 ] || ERR="(timed out after 30 s) $ERR"
}

# ex_ok ARGS...: nsbox exec ARGS must exit 0.
ex_ok() {
  ex "$@"
  [ "$RC" -eq 0 ] || fail "nsbox exec $* exited $RC: stderr [$ERR] stdout [$OUT]"
}

# ex_fail TEXT ARGS...: nsbox exec ARGS must exit non-zero with TEXT on stderr.
ex_fail() {
  local want=$1
  shift
  ex "$@"
  [ "$RC" -ne 0 ] || fail "nsbox exec $* exited 0 (stdout [$OUT] stderr [$ERR])"
  assert_contains "$ERR" "$want" "error text of nsbox exec $* (exit status $RC)"
}

# ex_fds LS_L_OUTPUT: the descriptor numbers in `ls -l /proc/self/fd` output, sorted.
ex_fds() {
  printf '%s\n' "$1" | awk '/^l/ {print $9}' | sort -n | xargs
}

# The process has exited (gone, or a zombie not reaped yet).
ex_gone() {
  [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status" 2>/dev/null
}

# ex_wait_bg PID WHAT: wait up to 20 s for the background job PID; RC its exit status.
ex_wait_bg() {
  local pid=$1 what=$2 i
  for i in $(seq 400); do
    ex_gone "$pid" && break
    sleep 0.05
  done
  if ! ex_gone "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    fail "$what did not exit within 20 s"
  fi
  RC=0
  wait "$pid" || RC=$?
}

# ex_wait_ready PID OUT ERR: wait up to 10 s for "ready" in the file OUT written by the
# background nsbox exec PID; fail with its stderr (file ERR) when it exits first.
ex_wait_ready() {
  local pid=$1 out=$2 err=$3 i rc=0
  for i in $(seq 200); do
    grep -q ready "$out" 2>/dev/null && return 0
    if ex_gone "$pid"; then
      wait "$pid" || rc=$?
      fail "nsbox exec exited $rc before its process was ready: stderr [$(cat "$err")]"
    fi
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  fail "timed out waiting for the exec'd process to be ready: stderr [$(cat "$err")]"
}

# ex_finish: force-delete the container and check that nothing is left.
ex_finish() {
  nsbox delete --force "$ID"
  assert_no_leftovers "$ID"
}

# --- namespaces, mounts, cgroup -------------------------------------------------------------

test_exec_shares_hostname_and_mounts() {
  ex_bundle uts
  edit_config "$B" '.hostname = "exec-test-host"'
  ex_run
  ex_ok "$ID" hostname
  assert_eq "$OUT" exec-test-host "hostname seen by exec"
  # /dev/shm is the container's own tmpfs: the file the init wrote is there.
  ex_ok "$ID" cat /dev/shm/ready
  assert_eq "$OUT" init-ready "file written by the init in the container's /dev/shm"
  # What exec writes lands in the container's tmpfs, not the host's.
  ex_ok "$ID" sh -c "echo from-exec >/dev/shm/exec-$$"
  assert_eq "$(cat "/proc/$PID/root/dev/shm/exec-$$")" from-exec "file written by exec, seen in the container"
  [ ! -e "/dev/shm/exec-$$" ] || fail "exec wrote into the host's /dev/shm"
  # The container's root is the busybox rootfs, not the host's /.
  ex_ok "$ID" cat /.nsbox-rootfs
  ex_finish
}

test_exec_joins_all_container_namespaces() {
  local n inside host mine
  ex_start ns
  ex_ok "$ID" sh -c 'for n in pid net ipc uts mnt cgroup; do echo "$n $(readlink /proc/self/ns/$n)"; done'
  for n in pid net ipc uts mnt cgroup; do
    inside=$(printf '%s\n' "$OUT" | awk -v n="$n" '$1 == n {print $2}')
    host=$(readlink "/proc/$PID/ns/$n")
    mine=$(readlink "/proc/self/ns/$n")
    assert_ne "$host" "$mine" "$n namespace of the container vs the host (the container has its own)"
    assert_eq "$inside" "$host" "$n namespace of exec vs the container's init"
  done
  ex_finish
}

test_exec_sees_container_pid_namespace() {
  local pids n
  ex_start pidns
  ex_ok "$ID" sh -c 'echo "self=$$"; tr "\0" " " </proc/1/cmdline; echo; ls /proc | grep -E "^[0-9]+$" | sort -n | xargs'
  # The init is pid 1; exec's own shell is another, small pid.
  assert_contains "$(printf '%s\n' "$OUT" | sed -n 2p)" "nsbox-leftover-marker-$ID" "cmdline of pid 1 seen by exec"
  assert_ne "$(printf '%s\n' "$OUT" | sed -n 1p)" "self=1" "pid of exec's shell"
  pids=$(printf '%s\n' "$OUT" | sed -n 3p)
  n=$(echo "$pids" | wc -w)
  assert_eq "${pids%% *}" 1 "lowest pid in exec's /proc ($pids)"
  [ "$n" -le 8 ] || fail "exec sees $n processes, not just the container's: [$pids]"
  # The exec'd process's parent is outside the container (as with runc): PPid 0.
  ex_ok "$ID" grep ^PPid: /proc/self/status
  assert_eq "$(status_field "$OUT" PPid)" 0 "PPid of the exec'd process in the container"
  # ps(1) agrees: pid 1 is the init.
  ex_ok "$ID" ps -o pid,args
  printf '%s\n' "$OUT" | awk '$1 == 1' | grep -q "nsbox-leftover-marker-$ID" ||
    fail "pid 1 in exec's ps is not the init: [$OUT]"
  ex_finish
}

test_exec_joins_container_cgroup() {
  local epid
  ex_start cgroup
  timeout 30 "$NSBOX" --root "$TEST_ROOT" exec -d --pid-file "$TEST_TMP/exec.pid" "$ID" \
    sh -c 'while :; do sleep 1; done' "nsbox-leftover-marker-$ID" \
    </dev/null >"$TEST_TMP/d.out" 2>"$TEST_TMP/d.err" || fail "detached exec failed: [$(cat "$TEST_TMP/d.err")]"
  epid=$(cat "$TEST_TMP/exec.pid")
  [ -d "/proc/$epid" ] || fail "no process $epid (from --pid-file)"
  assert_eq "$(cat "/proc/$epid/cgroup")" "$(cat "/proc/$PID/cgroup")" "cgroups of exec vs the container's init"
  # nsbox ps lists it among the container's processes.
  nsbox ps --format json "$ID" | jq -e --argjson p "$epid" 'index($p) != null' >/dev/null ||
    fail "exec's pid $epid not in nsbox ps: [$(nsbox ps --format json "$ID")]"
  ex_finish
  wait_for "the exec'd process $epid to die with the container" ex_gone "$epid"
}

# The exec'd process joins the container's cgroups (--cgroup: a sub-cgroup of each); one
# that refuses it (a v1 cpuset without cpus) fails the exec with the kernel's reason and
# leaves no process behind.
test_exec_into_a_cgroup_that_refuses_fails_cleanly() {
  local leaf cs="" before cg_v1_cpuset
  cg_v1_cpuset=$(awk '{ i = index($0, " - "); split(substr($0, 1, i - 1), pre, " "); split(substr($0, i + 3), post, " ")
    if (post[1] == "cgroup" && pre[4] == "/" && post[3] ~ /(^|,)cpuset(,|$)/) { print pre[5]; exit } }' /proc/self/mountinfo)
  [ -n "$cg_v1_cpuset" ] || skip "no v1 cpuset hierarchy (the refusal needs an empty v1 cpuset)"
  ex_start refuse
  for leaf in $(nsbox state "$ID" >/dev/null && jq -r '.cgroupLeaves[]' "$TEST_ROOT/$ID/state.json"); do
    mkdir "$leaf/sub"  # as made here, a v1 cpuset one has no cpus
    at_exit "rmdir '$leaf/sub' 2>/dev/null"
    case "$leaf" in "$cg_v1_cpuset"/*) cs=$leaf ;; esac
  done
  [ -n "$cs" ] || fail "no cpuset cgroup among the container's"
  before=$(nsbox ps --format json "$ID")
  ex_fail "join cgroup $cs/sub: " --cgroup sub "$ID" true
  assert_contains "$ERR" "No space left on device" "the kernel's reason"
  assert_eq "$(nsbox ps --format json "$ID")" "$before" "the container's processes after the failed exec"
  assert_eq "$(cat "$cs/sub/tasks")" "" "tasks of the refusing cgroup"
  for leaf in $(jq -r '.cgroupLeaves[]' "$TEST_ROOT/$ID/state.json"); do rmdir "$leaf/sub"; done
  ex_finish
}

test_exec_joins_user_namespace() {
  local f status
  # The container's root is host uid 100000: it must reach its rootfs through the test
  # directory (see namespaces_test.sh).
  chmod 0711 "$TEST_TMP"
  cp -a "$(shared_rootfs)" "$TEST_TMP/rootfs"
  ex_bundle userns
  edit_config "$B" '.root.path = $r | .linux.namespaces += [{"type": "user"}]
    | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]' --arg r "$TEST_TMP/rootfs"
  ex_run
  ex_ok "$ID" sh -c 'echo "map $(xargs </proc/self/uid_map)"; echo "id $(id -u) $(id -g)"; echo "ns $(readlink /proc/self/ns/user)"; echo x >/dev/shm/by-root'
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 's/^map //p')" "0 100000 65536" "uid_map seen by exec"
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 's/^id //p')" "0 0" "id -u / id -g of exec"
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 's/^ns //p')" "$(readlink "/proc/$PID/ns/user")" "user namespace of exec vs the init"
  assert_ne "$(readlink "/proc/$PID/ns/user")" "$(readlink /proc/self/ns/user)" "user namespace of the container vs the host"
  assert_eq "$(stat -c %u:%g "/proc/$PID/root/dev/shm/by-root")" 100000:100000 "host owner of a file exec's root made"
  ex_ok -u 1000:1000 "$ID" sh -c 'echo y >/dev/shm/by-1000'
  assert_eq "$(stat -c %u:%g "/proc/$PID/root/dev/shm/by-1000")" 101000:101000 "host owner of a file exec -u 1000:1000 made"
  ex_ok "$ID" grep ^Cap /proc/self/status
  status=$(cat "/proc/$PID/status")
  for f in CapPrm CapEff CapBnd; do
    assert_eq "$(status_field "$OUT" "$f")" "$(status_field "$status" "$f")" "$f of exec vs the init in a user namespace"
  done
  ex_finish
}

test_exec_joins_time_namespace() {
  [ -e /proc/self/ns/time ] || skip "the kernel has no time namespaces (/proc/self/ns/time missing)"
  local up host_up
  ex_bundle timens
  edit_config "$B" '.linux.namespaces += [{"type": "time"}]
    | .linux.timeOffsets = {"boottime": {"secs": 864000, "nanosecs": 0}}'
  ex_run
  ex_ok "$ID" sh -c 'readlink /proc/self/ns/time; cut -d. -f1 /proc/uptime'
  host_up=$(cut -d. -f1 /proc/uptime)
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 1p)" "$(readlink "/proc/$PID/ns/time")" "time namespace of exec vs the init"
  assert_ne "$(readlink "/proc/$PID/ns/time")" "$(readlink /proc/self/ns/time)" "time namespace of the container vs the host"
  up=$(printf '%s\n' "$OUT" | sed -n 2p)
  [ $((up - host_up)) -ge 863990 ] && [ $((up - host_up)) -le 864010 ] ||
    fail "uptime seen by exec is $up, the host's $host_up: not 864000 s ahead"
  ex_finish
}

test_exec_container_in_host_pid_namespace() {
  ex_bundle hostpid
  edit_config "$B" '.linux.namespaces |= map(select(.type != "pid")) | .hostname = "hostpid-ct"'
  ex_run
  ex_ok "$ID" sh -c 'readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; hostname'
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 1p)" "$(readlink /proc/self/ns/pid)" "pid namespace of exec (the host's)"
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 2p)" "$(readlink "/proc/$PID/ns/mnt")" "mount namespace of exec vs the init"
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 3p)" hostpid-ct "hostname seen by exec"
  ex "$ID" sh -c 'exit 4'
  assert_eq "$RC" 4 "exit status of exec in a host-pid-namespace container"
  ex_finish
}

# --- user, capabilities, env, cwd, rlimits, no_new_privs -------------------------------------

test_exec_user_and_additional_gids() {
  ex_start user
  # Default: the container's user (root).
  ex_ok "$ID" id
  assert_contains "$OUT" "uid=0(root) gid=0(root)" "id with the container's default user"
  ex_ok -u 1000:1000 "$ID" id
  assert_contains "$OUT" "uid=1000 gid=1000" "id with -u 1000:1000"
  ex_ok --user 1000:1001 "$ID" grep -E "^(Uid|Gid|Groups):" /proc/self/status
  assert_eq "$(status_field "$OUT" Uid)" "$(printf '1000\t1000\t1000\t1000')" "real/effective/saved/fs uid with --user 1000:1001"
  assert_eq "$(status_field "$OUT" Gid)" "$(printf '1001\t1001\t1001\t1001')" "real/effective/saved/fs gid with --user 1000:1001"
  assert_eq "$(status_field "$OUT" Groups | xargs)" "" "supplementary groups without -g"
  ex_fail "abc" -u abc "$ID" id
  echo "error of -u abc: $ERR"
  # -u UID alone keeps the container's gid.
  ex_ok -u 1000 "$ID" id
  assert_contains "$OUT" "uid=1000 gid=0(root)" "id with -u 1000"
  # -g adds supplementary groups (repeatable, short and long forms).
  ex_ok -u 1000:1000 -g 5 "$ID" grep ^Groups: /proc/self/status
  assert_eq "$(status_field "$OUT" Groups | xargs)" 5 "supplementary groups with -g 5"
  ex_ok -u 1000:1000 --additional-gids 5 --additional-gids 20 "$ID" id
  assert_contains "$OUT" "uid=1000 gid=1000 groups=" "id with two --additional-gids"
  assert_contains "$OUT" "5(tty)" "group 5 with --additional-gids"
  assert_contains "$OUT" "20" "group 20 with --additional-gids"
  ex_finish
}

test_exec_capabilities_are_the_containers() {
  local f
  ex_start caps
  ex_ok "$ID" grep ^Cap /proc/self/status
  for f in CapInh CapPrm CapEff CapBnd CapAmb; do
    assert_eq "$(status_field "$OUT" "$f")" "$(status_field "$(cat "/proc/$PID/status")" "$f")" "$f of exec vs the container's init"
  done
  # The default spec: CAP_KILL=5, CAP_NET_BIND_SERVICE=10, CAP_AUDIT_WRITE=29.
  assert_eq "$(status_field "$OUT" CapBnd)" "$(capmask 5 10 29)" "CapBnd of exec"
  assert_eq "$(status_field "$OUT" CapEff)" "$(capmask 5 10 29)" "CapEff of exec"
  # The default spec's noNewPrivileges holds for exec too.
  ex_ok "$ID" grep ^NoNewPrivs: /proc/self/status
  assert_eq "$(status_field "$OUT" NoNewPrivs)" 1 "NoNewPrivs of exec (container: noNewPrivileges true)"
  # And they are really in force: no CAP_SYS_ADMIN, so no mount.
  ex "$ID" sh -c 'mkdir -p /dev/shm/m && mount -t tmpfs none /dev/shm/m && echo MOUNT-OK'
  assert_not_contains "$OUT" MOUNT-OK "mount without CAP_SYS_ADMIN"
  ex_finish
}

test_exec_cap_adds_capability() {
  local m
  ex_start addcap
  ex_ok --cap CAP_SYS_ADMIN "$ID" grep ^Cap /proc/self/status
  # runc adds --cap to the bounding, effective and permitted sets (CAP_SYS_ADMIN=21).
  m=$(capmask 5 10 21 29)
  assert_eq "$(status_field "$OUT" CapEff)" "$m" "CapEff with --cap CAP_SYS_ADMIN"
  assert_eq "$(status_field "$OUT" CapPrm)" "$m" "CapPrm with --cap CAP_SYS_ADMIN"
  assert_eq "$(status_field "$OUT" CapBnd)" "$m" "CapBnd with --cap CAP_SYS_ADMIN"
  # Repeatable; CAP_NET_ADMIN=12.
  ex_ok --cap CAP_SYS_ADMIN --cap CAP_NET_ADMIN "$ID" grep ^CapEff /proc/self/status
  assert_eq "$(status_field "$OUT" CapEff)" "$(capmask 5 10 12 21 29)" "CapEff with two --cap"
  # The added capability works.
  ex_ok --cap CAP_SYS_ADMIN "$ID" sh -c 'mkdir -p /dev/shm/m && mount -t tmpfs none /dev/shm/m && echo MOUNT-OK'
  assert_contains "$OUT" MOUNT-OK "mount with --cap CAP_SYS_ADMIN"
  # The container's own process keeps its sets.
  assert_eq "$(status_field "$(cat "/proc/$PID/status")" CapEff)" "$(capmask 5 10 29)" "CapEff of the init after exec --cap"
  ex_finish
}

test_exec_env_and_cwd() {
  local env
  ex_bundle env
  edit_config "$B" '.process.env += ["CONTAINER_VAR=from config"] | .process.cwd = "/etc"'
  ex_run
  # (-e and --env are not mixed in one call: runc's flag parser refuses that.)
  ex_ok -e FOO=bar -e "BAZ=two words" "$ID" env
  env=$OUT
  assert_contains "$env" "FOO=bar" "env with -e FOO=bar"
  assert_contains "$env" "BAZ=two words" "env with a second -e"
  ex_ok --env LONG=form --env=EQ=a=b "$ID" env
  assert_contains "$OUT" "LONG=form" "env with --env"
  assert_contains "$OUT" "EQ=a=b" "env with --env="
  assert_contains "$env" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "the container's PATH in exec"
  assert_contains "$env" "CONTAINER_VAR=from config" "the container's env in exec"
  assert_contains "$env" "TERM=xterm" "the container's TERM in exec"
  # A later value wins over the container's.
  ex_ok -e TERM=dumb "$ID" env
  assert_contains "$OUT" "TERM=dumb" "env with -e TERM=dumb"
  assert_not_contains "$OUT" "TERM=xterm" "env with -e TERM=dumb"
  # Default cwd is the container's; --cwd overrides it.
  ex_ok "$ID" pwd
  assert_eq "$OUT" /etc "cwd of exec (the container's process.cwd)"
  ex_ok --cwd /tmp "$ID" pwd
  assert_eq "$OUT" /tmp "cwd with --cwd /tmp"
  ex_ok --cwd=/bin "$ID" pwd
  assert_eq "$OUT" /bin "cwd with --cwd=/bin"
  ex_fail "/nonexistent" --cwd /nonexistent "$ID" pwd
  echo "error of --cwd /nonexistent: $ERR"
  ex_finish
}

test_exec_rlimits_and_no_new_privs_of_container() {
  ex_bundle rl
  edit_config "$B" '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 321, hard: 654}] | .process.noNewPrivileges = false'
  ex_run
  ex_ok "$ID" sh -c 'ulimit -n; ulimit -Hn'
  assert_eq "$(printf '%s\n' "$OUT" | xargs)" "321 654" "RLIMIT_NOFILE soft/hard of exec (the container's)"
  [ "$(status_field "$(cat /proc/self/status)" NoNewPrivs)" = 0 ] ||
    skip "this test runs with no_new_privs already set"
  ex_ok "$ID" grep NoNewPrivs /proc/self/status
  assert_eq "$(status_field "$OUT" NoNewPrivs)" 0 "NoNewPrivs of exec (container: noNewPrivileges false)"
  ex_ok --no-new-privs "$ID" grep NoNewPrivs /proc/self/status
  assert_eq "$(status_field "$OUT" NoNewPrivs)" 1 "NoNewPrivs of exec --no-new-privs"
  ex_finish
}

test_exec_arguments_after_command_are_its_own() {
  ex_start args
  ex_ok "$ID" echo -u 5 --cwd /tmp -e X=1 --detach
  assert_eq "$OUT" "-u 5 --cwd /tmp -e X=1 --detach" "flags after the command"
  ex_ok "$ID" sh -c 'echo "[$0|$1|$2]"' zero "one two" ""
  assert_eq "$OUT" "[zero|one two|]" "positional arguments"
  ex_ok "$ID" ls -la /
  assert_contains "$OUT" " bin" "ls -la / in the container"
  assert_contains "$OUT" ".nsbox-rootfs" "ls -la / in the container"
  ex_finish
}

# --- --process FILE ---------------------------------------------------------------------------

test_exec_process_json() {
  local p=$TEST_TMP/process.json
  ex_start pjson
  jq -n '{terminal: false, user: {uid: 1000, gid: 1001, additionalGids: [5]},
    args: ["sh", "-c", "id -u; id -g; grep ^Groups: /proc/self/status; pwd; ulimit -n; env"],
    env: ["PATH=/bin:/usr/bin", "FROM_JSON=yes it is"], cwd: "/tmp",
    rlimits: [{type: "RLIMIT_NOFILE", soft: 200, hard: 300}], noNewPrivileges: true}' >"$p"
  ex_ok --process "$p" "$ID"
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 1p)" 1000 "uid from process.json"
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 2p)" 1001 "gid from process.json"
  assert_eq "$(status_field "$OUT" Groups | xargs)" 5 "additionalGids from process.json"
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 4p)" /tmp "cwd from process.json"
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 5p)" 200 "rlimits from process.json"
  assert_contains "$OUT" "FROM_JSON=yes it is" "env from process.json"
  assert_contains "$OUT" "PATH=/bin:/usr/bin" "env from process.json"
  # The process JSON is the whole process: the container's env is not merged in.
  assert_not_contains "$OUT" "TERM=xterm" "env from process.json"
  # Capabilities as given (as root): CAP_CHOWN only.
  jq -n '{args: ["grep", "^Cap", "/proc/self/status"], env: ["PATH=/bin"], cwd: "/",
    user: {uid: 0, gid: 0},
    capabilities: {bounding: ["CAP_CHOWN"], effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"]}}' >"$p"
  ex_ok -p "$p" "$ID"
  assert_eq "$(status_field "$OUT" CapEff)" "$(capmask 0)" "CapEff from process.json"
  assert_eq "$(status_field "$OUT" CapBnd)" "$(capmask 0)" "CapBnd from process.json"
  ex_finish
}

test_exec_process_json_errors() {
  ex_start pjsonbad
  printf '{"args": ["sh", ' >"$TEST_TMP/bad.json"
  ex_fail "bad.json" --process "$TEST_TMP/bad.json" "$ID"
  echo "error of a malformed process JSON: $ERR"
  ex_fail "missing.json" --process "$TEST_TMP/missing.json" "$ID"
  echo "error of a missing process JSON: $ERR"
  # runc validates: args must not be empty, cwd must be absolute.
  echo '{"cwd": "/", "user": {"uid": 0, "gid": 0}}' >"$TEST_TMP/noargs.json"
  ex_fail "args" --process "$TEST_TMP/noargs.json" "$ID"
  echo '{"args": ["true"], "cwd": "tmp", "user": {"uid": 0, "gid": 0}}' >"$TEST_TMP/relcwd.json"
  ex_fail "cwd" --process "$TEST_TMP/relcwd.json" "$ID"
  # Without --process, a command is needed.
  ex "$ID"
  [ "$RC" -ne 0 ] || fail "nsbox exec ID without a command exited 0 (stdout [$OUT])"
  echo "error of exec without a command: $ERR"
  assert_eq "$(status_of "$ID")" running "status after refused execs"
  ex_finish
}

# --- exit statuses ----------------------------------------------------------------------------

test_exec_exit_status_passes_through() {
  ex_start exit
  ex "$ID" sh -c 'exit 3'
  assert_eq "$RC" 3 "exit status of exec sh -c 'exit 3' (stderr [$ERR])"
  ex "$ID" false
  assert_eq "$RC" 1 "exit status of exec false"
  ex "$ID" true
  assert_eq "$RC" 0 "exit status of exec true"
  # Killed by a signal: 128 + N (exec's process is not the pid namespace's init).
  ex "$ID" sh -c 'kill -9 $$; echo survived'
  assert_eq "$RC" 137 "exit status of exec when its process dies of SIGKILL (stdout [$OUT] stderr [$ERR])"
  ex "$ID" sh -c 'kill -TERM $$; echo survived'
  assert_eq "$RC" 143 "exit status of exec when its process dies of SIGTERM (stdout [$OUT] stderr [$ERR])"
  assert_eq "$(status_of "$ID")" running "status of the container after the execs"
  ex_finish
}

test_exec_missing_binary() {
  ex_start nobin
  ex_fail 'exec: "nosuchcmd": executable file not found in $PATH' "$ID" nosuchcmd
  echo "error of a missing program: $ERR"
  ex_fail "/no/such/prog" "$ID" /no/such/prog
  echo "error of a missing absolute path: $ERR"
  assert_eq "$(status_of "$ID")" running "status after failed execs"
  ex_finish
}

# --- detached -------------------------------------------------------------------------------

test_exec_detached_pid_file() {
  local epid rc=0 nspid
  ex_start detach
  # exec -d returns while its process runs on (checked below), not when it ends.
  timeout 30 "$NSBOX" --root "$TEST_ROOT" exec -d --pid-file "$TEST_TMP/exec.pid" "$ID" \
    sh -c 'echo detached-ran >/dev/shm/detached; while :; do sleep 1; done' "nsbox-leftover-marker-$ID" \
    </dev/null >"$TEST_TMP/d.out" 2>"$TEST_TMP/d.err" || rc=$?
  assert_eq "$rc" 0 "exit status of exec -d (stderr [$(cat "$TEST_TMP/d.err")])"
  [ -s "$TEST_TMP/exec.pid" ] || fail "no --pid-file written by exec -d"
  epid=$(cat "$TEST_TMP/exec.pid")
  [[ $epid =~ ^[0-9]+$ ]] || fail "pid file holds [$epid]"
  assert_ne "$epid" "$PID" "pid of exec -d vs the container's init"
  [ -d "/proc/$epid" ] && ! ex_gone "$epid" || fail "process $epid of the pid file is not running"
  assert_eq "$(readlink "/proc/$epid/ns/pid")" "$(readlink "/proc/$PID/ns/pid")" "pid namespace of the detached process"
  # Its pid in the container's namespace is not 1 (NSpid: host pid, container pid).
  nspid=$(status_field "$(cat "/proc/$epid/status")" NSpid)
  assert_eq "$(echo "$nspid" | wc -w)" 2 "NSpid of the detached process [$nspid]"
  assert_ne "$(echo "$nspid" | awk '{print $2}')" 1 "pid of the detached process in the container"
  wait_for "the detached process to write its file" test -e "/proc/$PID/root/dev/shm/detached"
  # The long form, too.
  timeout 30 "$NSBOX" --root "$TEST_ROOT" exec --detach --pid-file="$TEST_TMP/exec2.pid" "$ID" \
    sh -c 'while :; do sleep 1; done' "nsbox-leftover-marker-$ID" \
    </dev/null >"$TEST_TMP/d.out" 2>"$TEST_TMP/d.err" || fail "exec --detach failed: [$(cat "$TEST_TMP/d.err")]"
  [ -d "/proc/$(cat "$TEST_TMP/exec2.pid")" ] || fail "no process for --pid-file= of exec --detach"
  assert_eq "$(status_of "$ID")" running "status with detached execs"
  ex_finish
  wait_for "the detached process to die with the container" ex_gone "$epid"
}

test_exec_foreground_pid_file() {
  local pid epid
  ex_start fgpid
  # While the foreground exec runs, the pid file names its process (host pid).
  "$NSBOX" --root "$TEST_ROOT" exec --pid-file "$TEST_TMP/fg.pid" "$ID" \
    sh -c 'echo ready; sleep 2; exit 6' "nsbox-leftover-marker-$ID" \
    </dev/null >"$TEST_TMP/fg.out" 2>"$TEST_TMP/fg.err" &
  pid=$!
  ex_wait_ready "$pid" "$TEST_TMP/fg.out" "$TEST_TMP/fg.err"
  epid=$(cat "$TEST_TMP/fg.pid" 2>/dev/null || true)
  [[ $epid =~ ^[0-9]+$ ]] || fail "pid file of a foreground exec holds [$epid]"
  assert_ne "$epid" "$PID" "pid in the pid file vs the container's init"
  assert_eq "$(readlink "/proc/$epid/ns/pid")" "$(readlink "/proc/$PID/ns/pid")" "pid namespace of the pid file's process"
  assert_contains "$(tr '\0' ' ' <"/proc/$epid/cmdline")" "nsbox-leftover-marker-$ID" "cmdline of the pid file's process"
  ex_wait_bg "$pid" "foreground exec with --pid-file"
  assert_eq "$RC" 6 "exit status of the foreground exec with --pid-file"
  ex_finish
}

# --- refusals -------------------------------------------------------------------------------

test_exec_paused_container() {
  local bg
  ex_start paused
  nsbox pause "$ID"
  ex_fail "paused" "$ID" echo ok
  echo "error of exec into a paused container: $ERR"
  assert_eq "$(status_of "$ID")" paused "status after a refused exec"
  # --ignore-paused: the exec waits in the frozen cgroup and runs once resumed (as runc's
  # own test does).
  (
    sleep 1
    "$NSBOX" --root "$TEST_ROOT" resume "$ID"
  ) &
  bg=$!
  ex_ok --ignore-paused "$ID" echo ok
  wait "$bg" || fail "resume failed"
  assert_eq "$OUT" ok "output of exec --ignore-paused"
  assert_eq "$(status_of "$ID")" running "status after resume"
  ex_finish
}

test_exec_stopped_container() {
  local b id rc=0
  id=$(cid stopped)
  b=$(make_bundle "nsbox-leftover-marker-$id" true)
  timeout 30 "$NSBOX" --root "$TEST_ROOT" run -d --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/run.err" ||
    fail "run -d failed: [$(cat "$TEST_TMP/run.err")]"
  wait_for "container $id to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
  ex "$id" echo ok
  [ "$RC" -ne 0 ] || fail "exec into a stopped container exited 0 (stdout [$OUT])"
  case "$ERR" in
    *stopped* | *"not running"*) ;;
    *) fail "unclear error of exec into a stopped container: [$ERR]" ;;
  esac
  echo "error of exec into a stopped container: $ERR"
  assert_eq "$(status_of "$id")" stopped "status after a refused exec"
  nsbox delete "$id"
  assert_no_leftovers "$id"
}

test_exec_unknown_container() {
  ex_fail "does not exist" "$(cid nope)" echo ok
  assert_contains "$ERR" "$(cid nope)" "error of exec into an unknown container"
  # No id at all is a usage error.
  ex
  [ "$RC" -ne 0 ] || fail "nsbox exec without an id exited 0"
}

test_exec_into_created_container() {
  local id b pid
  # runc allows exec into a created container (its namespaces exist); the container stays
  # created until started.
  id=$(cid created)
  b=$(make_bundle "nsbox-leftover-marker-$id" sleep 1000)
  nsbox create --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/create.err" ||
    fail "create failed: [$(cat "$TEST_TMP/create.err")]"
  pid=$(nsbox state "$id" | jq -r .pid)
  ex_ok "$id" sh -c 'echo hi; readlink /proc/self/ns/pid'
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 1p)" hi "output of exec into a created container"
  assert_eq "$(printf '%s\n' "$OUT" | sed -n 2p)" "$(readlink "/proc/$pid/ns/pid")" "pid namespace of exec into a created container"
  assert_eq "$(status_of "$id")" created "status after exec"
  nsbox start "$id"
  assert_eq "$(status_of "$id")" running "status after start"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

# --- descriptors ----------------------------------------------------------------------------

test_exec_preserve_fds() {
  ex_start fds
  echo preserved-content >"$TEST_TMP/preserved"
  exec 3<"$TEST_TMP/preserved"
  exec 4</dev/null
  ex --preserve-fds 1 "$ID" sh -c 'cat <&3; exec ls -l /proc/self/fd'
  exec 3<&- 4<&-
  [ "$RC" -eq 0 ] || fail "exec --preserve-fds 1 exited $RC: [$ERR]"
  assert_contains "$OUT" preserved-content "content read from fd 3"
  # ls (exec'd by the shell) has 0-2, the preserved 3 and its own directory 4.
  assert_eq "$(ex_fds "$OUT")" "0 1 2 3 4" "descriptors inside with --preserve-fds 1: $OUT"
  assert_contains "$OUT" "3 -> $TEST_TMP/preserved" "fd 3 inside"
  assert_not_contains "$OUT" "4 -> /dev/null" "the caller's fd 4 inside"
  ex_finish
}

test_exec_no_fd_leaks() {
  ex_start noleak
  exec 7</dev/null
  exec 8>"$TEST_TMP/out8"
  exec 9<"$TEST_TMP"
  ex "$ID" ls -l /proc/self/fd
  exec 7<&- 8>&- 9<&-
  [ "$RC" -eq 0 ] || fail "exec exited $RC: [$ERR]"
  # ls is the exec'd process itself: 0-2 and the directory it opens (3).
  assert_eq "$(ex_fds "$OUT")" "0 1 2 3" "descriptors inside exec: $OUT"
  assert_not_contains "$OUT" "$TEST_TMP/out8" "the caller's descriptor 8 inside"
  assert_not_contains "$OUT" "$TEST_ROOT" "a state file descriptor inside"
  ex_finish
}

# --- signals --------------------------------------------------------------------------------

test_exec_forwards_signals() {
  local sig want pid
  ex_start sig
  for sig in TERM HUP USR1; do
    case $sig in TERM) want=42 ;; HUP) want=43 ;; USR1) want=44 ;; esac
    "$NSBOX" --root "$TEST_ROOT" exec "$ID" \
      sh -c 'trap "exit 42" TERM; trap "exit 43" HUP; trap "exit 44" USR1; echo ready; while :; do sleep 0.05; done' \
      </dev/null >"$TEST_TMP/out$sig" 2>"$TEST_TMP/err$sig" &
    pid=$!
    ex_wait_ready "$pid" "$TEST_TMP/out$sig" "$TEST_TMP/err$sig"
    kill -s "$sig" "$pid"
    ex_wait_bg "$pid" "nsbox exec after SIG$sig"
    assert_eq "$RC" "$want" "exit status of exec after SIG$sig to it (stderr: $(cat "$TEST_TMP/err$sig"))"
  done
  assert_eq "$(status_of "$ID")" running "status of the container after signalled execs"
  ex_finish
}

test_exec_ends_when_container_is_killed() {
  local pid
  ex_start killed
  "$NSBOX" --root "$TEST_ROOT" exec "$ID" sh -c 'echo ready; sleep 1000' "nsbox-leftover-marker-$ID" \
    </dev/null >"$TEST_TMP/k.out" 2>"$TEST_TMP/k.err" &
  pid=$!
  ex_wait_ready "$pid" "$TEST_TMP/k.out" "$TEST_TMP/k.err"
  # The state lock is not held while a foreground exec runs.
  assert_eq "$(timeout 10 "$NSBOX" --root "$TEST_ROOT" state "$ID" | jq -r .status)" running "state during a foreground exec"
  timeout 10 "$NSBOX" --root "$TEST_ROOT" ps "$ID" >/dev/null || fail "nsbox ps during a foreground exec"
  # Killing the container's init ends the pid namespace, and with it the exec'd process:
  # nsbox exec returns its status, 128 + SIGKILL (as runc exec does).
  nsbox kill "$ID" KILL
  ex_wait_bg "$pid" "nsbox exec after the container was killed"
  assert_eq "$RC" 137 "exit status of exec whose container was killed (stderr [$(cat "$TEST_TMP/k.err")])"
  wait_for "container $ID to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $ID | jq -r .status)\" = stopped ]"
  nsbox delete "$ID"
  assert_no_leftovers "$ID"
}

# --- terminals ------------------------------------------------------------------------------

test_exec_tty_foreground() {
  command -v script >/dev/null || skip "script(1) is needed to give nsbox exec -t a terminal"
  local cmd rc=0
  ex_start tty
  # runc exec -t copies between its own terminal and the new pty: run it on one (script).
  cmd=$(printf '%q ' "$NSBOX" --root "$TEST_ROOT" exec -t "$ID" \
    sh -c 'tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; exit 3')
  timeout 30 script -qefc "$cmd" /dev/null </dev/null >"$TEST_TMP/tty.out" 2>&1 || rc=$?
  OUT=$(tr -d '\r' <"$TEST_TMP/tty.out")
  assert_eq "$rc" 3 "exit status of exec -t (output [$OUT])"
  assert_contains "$OUT" "/dev/pts/" "tty of exec -t"
  assert_contains "$OUT" "all-tty" "stdio of exec -t"
  # Without -t: no terminal.
  ex "$ID" tty
  assert_contains "$OUT" "not a tty" "tty of exec without -t"
  ex_finish
}

test_exec_tty_flag_checks() {
  ex_start ttychk
  # runc: a detached terminal needs a console socket; a console socket needs a terminal.
  ex_fail "console" -d -t "$ID" true
  echo "error of exec -d -t without --console-socket: $ERR"
  ex_fail "console" --console-socket "$TEST_TMP/nosock" "$ID" true
  echo "error of exec --console-socket without -t: $ERR"
  ex_finish
}

test_exec_console_socket() {
  command -v python3 >/dev/null || skip "python3 is needed for the console socket receiver"
  local sock=$TEST_TMP/console.sock rpid rc=0 i
  ex_start console
  cat >"$TEST_TMP/recv.py" <<'EOF'
import array, os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
s.settimeout(30)
c, _ = s.accept()
fds = array.array("i")
msg, anc, flags, addr = c.recvmsg(4096, socket.CMSG_SPACE(4 * 8))
for level, typ, data in anc:
    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
        fds.frombytes(data[: len(data) - (len(data) % 4)])
with open(out + ".name", "w") as f:
    f.write(msg.decode(errors="replace"))
with open(out, "wb") as f:
    while True:
        try:
            b = os.read(fds[0], 4096)
        except OSError:
            break
        if not b:
            break
        f.write(b)
        f.flush()
EOF
  python3 "$TEST_TMP/recv.py" "$sock" "$TEST_TMP/console.out" </dev/null >"$TEST_TMP/recv.log" 2>&1 &
  rpid=$!
  wait_for "the console socket" test -S "$sock"
  timeout 30 "$NSBOX" --root "$TEST_ROOT" exec -d -t --console-socket "$sock" "$ID" \
    sh -c 'tty; echo console-ok; sleep 0.5' </dev/null >"$TEST_TMP/c.out" 2>"$TEST_TMP/c.err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    kill "$rpid" 2>/dev/null || true
    fail "exec -d -t --console-socket exited $rc: [$(cat "$TEST_TMP/c.err")]"
  fi
  for i in $(seq 100); do
    grep -q console-ok "$TEST_TMP/console.out" 2>/dev/null && break
    sleep 0.05
  done
  if ! grep -q console-ok "$TEST_TMP/console.out" 2>/dev/null; then
    kill "$rpid" 2>/dev/null || true
    fail "no output on the console: [$(cat "$TEST_TMP/console.out" 2>/dev/null)] receiver: [$(cat "$TEST_TMP/recv.log")]"
  fi
  assert_contains "$(tr -d '\r' <"$TEST_TMP/console.out")" "/dev/pts/" "tty of exec on the console"
  kill "$rpid" 2>/dev/null || true
  wait "$rpid" 2>/dev/null || true
  ex_finish
}

# --- the container is unaffected ------------------------------------------------------------

test_exec_leaves_container_unaffected() {
  local before after i pid pids bgs=""
  ex_start unaffected 'exec sleep 1000'
  before=$(nsbox state "$ID" | jq -c '{pid, status, bundle}')
  assert_eq "$(nsbox ps --format json "$ID" | jq -c .)" "[$PID]" "processes of the container before exec"
  ex_ok "$ID" echo one
  ex "$ID" sh -c 'exit 5'
  ex "$ID" sh -c 'kill -9 $$'
  ex "$ID" nosuchcmd
  # Concurrent execs all run.
  for i in 1 2 3 4; do
    "$NSBOX" --root "$TEST_ROOT" exec "$ID" sh -c "sleep 0.2; echo concurrent-$i" \
      </dev/null >"$TEST_TMP/c$i.out" 2>"$TEST_TMP/c$i.err" &
    bgs="$bgs $!"
  done
  i=0
  for pid in $bgs; do
    i=$((i + 1))
    ex_wait_bg "$pid" "concurrent exec $i"
    assert_eq "$RC" 0 "exit status of concurrent exec $i (stderr [$(cat "$TEST_TMP/c$i.err")])"
    assert_eq "$(cat "$TEST_TMP/c$i.out")" "concurrent-$i" "output of concurrent exec $i"
  done
  after=$(nsbox state "$ID" | jq -c '{pid, status, bundle}')
  assert_eq "$after" "$before" "state of the container after execs"
  ! ex_gone "$PID" || fail "the container's init died"
  # Nothing of the execs is left in the container (no zombies, no stray processes).
  pids=$(nsbox ps --format json "$ID" | jq -c .)
  assert_eq "$pids" "[$PID]" "processes of the container after the execs"
  ex_finish
}
