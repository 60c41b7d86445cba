# Failure paths: every error is clear ("nsbox: <message>" on stderr, exit status 1) and
# leaves nothing behind: no state directory, no cgroup, no process, no host mount.
# shellcheck disable=SC2016  # jq filters and "$PATH" in expected texts are literal

# --- helpers (not tests) -----------------------------------------------------------------

# marked_bundle ID CMD...: a bundle whose directory name carries the leftover marker of
# assert_no_leftovers. The bundle path is on the command line of `nsbox create`, so any
# clone of it that outlives a failed create (the container process before its execve)
# is found by `pgrep -f`.
marked_bundle() {
  local id=$1
  shift
  make_bundle "nsbox-leftover-marker-$id" "$@"
}

# private_rootfs BUNDLE: give BUNDLE its own copy of the root filesystem under $TEST_TMP,
# so that mount points created in it do not touch the shared one, and any mount of it that
# leaks to the host shows up in assert_no_host_mounts.
private_rootfs() {
  local b=$1 r
  r=$b-rootfs
  cp -a "$(shared_rootfs)" "$r"
  edit_config "$b" '.root.path = $r' --arg r "$r"
}

# must_fail TEXT CMD...: CMD exits with status 1, its stderr starts with "nsbox: " and
# contains TEXT. Leaves the stderr in $ERR. Stderr goes to a file, not a pipe, so that a
# container that unexpectedly starts cannot keep the test waiting on the pipe.
must_fail() {
  local want=$1
  shift
  local rc=0
  "$@" >/dev/null 2>"$TEST_TMP/stderr" </dev/null || rc=$?
  ERR=$(cat "$TEST_TMP/stderr")
  [ "$rc" -ne 0 ] || fail "expected failure of: $* (it exited 0)"
  assert_eq "$rc" 1 "exit status of: $*"
  assert_contains "$ERR" "$want" "error text of: $*"
  case "$ERR" in
    "nsbox: "*) ;;
    *) fail "error of: $* does not start with \"nsbox: \": [$ERR]" ;;
  esac
}

# Nothing of container ID is left, not even a mount on the host.
assert_clean() {
  assert_no_leftovers "$1"
  assert_no_host_mounts
}

# The process PID has exited: it no longer exists, or it is a zombie waiting for the
# reaper it was reparented to (not the runtime's job).
pid_gone() {
  [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status" 2>/dev/null
}

# created ID CMD...: a created container running CMD from a marked bundle. Prints the bundle.
created() {
  local id=$1 b
  shift
  b=$(marked_bundle "$id" "$@")
  nsbox create --bundle "$b" "$id" >/dev/null
  echo "$b"
}

# running ID CMD...: a started container.
running() {
  local id=$1
  created "$@" >/dev/null
  nsbox start "$id"
  assert_eq "$(status_of "$id")" running "status after start"
}

wait_stopped() {
  local id=$1
  wait_for "container $id to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
}

# config_error NAME TEXT JQ_FILTER [jq args...]: a default bundle edited by the filter must
# fail to create with "<bundle>/config.json: TEXT", leaving nothing.
config_error() {
  local name=$1 want=$2 filter=$3
  shift 3
  local id b file
  id=$(cid "$name")
  b=$(marked_bundle "$id" true)
  edit_config "$b" "$filter" "$@"
  file=$(realpath "$b")/config.json
  must_fail "$file: $want" nsbox create --bundle "$b" "$id"
  assert_clean "$id"
}

# --- lifecycle errors ---------------------------------------------------------------------

test_start_running_container_fails() {
  local id
  id=$(cid start-running)
  running "$id" sleep 100
  must_fail "cannot start an already running container" nsbox start "$id"
  assert_eq "$(status_of "$id")" running "status after a second start"
  nsbox delete --force "$id"
  assert_clean "$id"
}

test_start_stopped_container_fails() {
  local id
  id=$(cid start-stopped)
  created "$id" true >/dev/null
  nsbox start "$id"
  wait_stopped "$id"
  must_fail "cannot start a container that has stopped" nsbox start "$id"
  assert_eq "$(status_of "$id")" stopped "status after start of a stopped container"
  nsbox delete "$id"
  assert_clean "$id"
}

test_start_created_container_whose_process_died_fails() {
  local id pid
  id=$(cid start-dead)
  created "$id" sleep 100 >/dev/null
  pid=$(nsbox state "$id" | jq -r .pid)
  kill -KILL "$pid"
  wait_stopped "$id"
  must_fail "cannot start a container that has stopped" nsbox start "$id"
  nsbox delete "$id"
  assert_clean "$id"
}

test_start_unknown_id_fails() {
  must_fail "container \"$(cid nope)\" does not exist" nsbox start "$(cid nope)"
  assert_clean "$(cid nope)"
}

test_delete_running_without_force_fails() {
  local id pid
  id=$(cid del-running)
  running "$id" sleep 100
  pid=$(nsbox state "$id" | jq -r .pid)
  must_fail "cannot delete container \"$id\" that is not stopped: running" nsbox delete "$id"
  assert_eq "$(status_of "$id")" running "status after a refused delete"
  [ -d "/proc/$pid" ] || fail "container process $pid died from a refused delete"
  [ -e "$TEST_ROOT/$id/state.json" ] || fail "a refused delete removed the state"
  nsbox delete --force "$id"
  assert_clean "$id"
}

test_delete_force_running_container() {
  local id pid
  id=$(cid del-force)
  running "$id" sleep 100
  pid=$(nsbox state "$id" | jq -r .pid)
  local rc=0
  nsbox delete --force "$id" 2>"$TEST_TMP/stderr" || rc=$?
  assert_eq "$rc" 0 "exit status of delete --force: $(cat "$TEST_TMP/stderr")"
  wait_for "container process $pid to be gone" pid_gone "$pid"
  must_fail "container \"$id\" does not exist" nsbox state "$id"
  assert_clean "$id"
}

test_delete_unknown_id() {
  local id
  id=$(cid nope)
  must_fail "container \"$id\" does not exist" nsbox delete "$id"
  local rc=0
  nsbox delete --force "$id" 2>"$TEST_TMP/stderr" || rc=$?
  assert_eq "$rc" 0 "exit status of delete --force of an unknown id"
  assert_eq "$(cat "$TEST_TMP/stderr")" "" "stderr of delete --force of an unknown id"
  assert_clean "$id"
}

test_duplicate_create_fails_and_keeps_the_first() {
  local id b pid state
  id=$(cid dup)
  b=$(created "$id" sleep 100)
  pid=$(nsbox state "$id" | jq -r .pid)
  state=$(cat "$TEST_ROOT/$id/state.json")
  must_fail "container with id \"$id\" already exists" nsbox create --bundle "$b" "$id"
  must_fail "container with id \"$id\" already exists" nsbox run --bundle "$b" "$id"
  # The first container is untouched: same state, process, cgroup; it can still start.
  assert_eq "$(cat "$TEST_ROOT/$id/state.json")" "$state" "state file after a duplicate create"
  assert_eq "$(status_of "$id")" created "status after a duplicate create"
  assert_eq "$(nsbox state "$id" | jq -r .pid)" "$pid" "pid after a duplicate create"
  [ -d "/proc/$pid" ] || fail "the first container's process $pid died"
  [ -n "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "nsbox-$id" 2>/dev/null)" ] ||
    fail "the first container's cgroup was removed"
  nsbox start "$id"
  assert_eq "$(status_of "$id")" running "status of the first container after start"
  nsbox delete --force "$id"
  assert_clean "$id"
}

test_kill_stopped_container_fails() {
  local id
  id=$(cid kill-stopped)
  created "$id" true >/dev/null
  nsbox start "$id"
  wait_stopped "$id"
  must_fail "container not running" nsbox kill "$id" KILL
  must_fail "container not running" nsbox kill "$id"
  nsbox delete "$id"
  assert_clean "$id"
}

test_kill_invalid_signal_fails() {
  local id sig
  id=$(cid kill-bad)
  running "$id" sleep 100
  for sig in FOO SIGFOO 0 999 RTMIN+99 ""; do
    must_fail "invalid signal \"$sig\"" nsbox kill "$id" "$sig"
  done
  assert_eq "$(status_of "$id")" running "status after invalid kills"
  nsbox delete --force "$id"
  assert_clean "$id"
}

test_kill_unknown_id_fails() {
  must_fail "container \"$(cid nope)\" does not exist" nsbox kill "$(cid nope)" KILL
}

test_state_unknown_id_fails() {
  must_fail "container \"$(cid nope)\" does not exist" nsbox state "$(cid nope)"
  assert_clean "$(cid nope)"
}

test_invalid_ids_are_refused() {
  local b id want verb
  b=$(make_bundle b true)
  mkdir -p "$TEST_ROOT"
  for id in "a/b" ".." "" "x y"; do
    if [ -z "$id" ]; then
      want="container id must not be empty"
    else
      want="invalid container id \"$id\""
    fi
    must_fail "$want" nsbox create --bundle "$b" "$id"
    must_fail "$want" nsbox run --bundle "$b" "$id"
    for verb in start state delete kill; do
      must_fail "$want" nsbox "$verb" "$id"
    done
    must_fail "$want" nsbox delete --force "$id"
  done
  assert_eq "$(ls -A "$TEST_ROOT")" "" "state root after invalid ids"
  [ -e "$b/config.json" ] || fail "delete --force of an invalid id removed files"
  assert_no_host_mounts
}

# --- malformed configs --------------------------------------------------------------------

test_config_broken_json() {
  local id b file
  id=$(cid badjson)
  b=$(marked_bundle "$id" true)
  printf '{"ociVersion": "1.0.2", "process": {' >"$b/config.json"
  file=$(realpath "$b")/config.json
  must_fail "$file: invalid JSON" nsbox create --bundle "$b" "$id"
  must_fail "$file: invalid JSON" nsbox run --bundle "$b" "$id"
  assert_clean "$id"
}

test_config_missing_file() {
  local id b file
  id=$(cid nofile)
  b=$(marked_bundle "$id" true)
  rm "$b/config.json"
  file=$(realpath "$b")/config.json
  must_fail "$file" nsbox create --bundle "$b" "$id"
  assert_contains "${ERR,,}" "no such file or directory" "error for a missing config.json"
  must_fail "$file" nsbox run --bundle "$b" "$id"
  assert_clean "$id"
}

test_config_args_not_an_array() {
  config_error args 'process.args: expected array, got string' '.process.args = "sh"'
}

test_config_terminal_not_a_boolean() {
  config_error term 'process.terminal: expected boolean, got string' '.process.terminal = "no"'
}

test_config_root_not_an_object() {
  config_error root 'root: expected object, got array' '.root = ["/"]'
}

test_config_namespace_not_an_object() {
  config_error ns 'linux.namespaces[0]: expected object, got string' '.linux.namespaces[0] = "pid"'
}

test_config_missing_oci_version() {
  config_error nover 'ociVersion: required field is missing' 'del(.ociVersion)'
}

test_config_missing_root_path() {
  config_error noroot 'root.path: required field is missing' 'del(.root.path)'
}

test_config_missing_cwd() {
  config_error nocwd 'process.cwd: required field is missing' 'del(.process.cwd)'
}

test_config_relative_cwd() {
  config_error relcwd 'process.cwd: must be an absolute path, got "tmp"' '.process.cwd = "tmp"'
}

test_config_unknown_namespace() {
  local b n
  b=$(make_bundle probe true)
  n=$(jq '.linux.namespaces | length' "$b/config.json")
  config_error nsfoo "linux.namespaces[$n].type: unknown namespace type \"foo\"" \
    '.linux.namespaces += [{"type": "foo"}]'
}

test_config_duplicate_namespace() {
  local b n
  b=$(make_bundle probe true)
  n=$(jq '.linux.namespaces | length' "$b/config.json")
  config_error nsdup "linux.namespaces[$n].type: duplicate namespace \"pid\"" \
    '.linux.namespaces += [{"type": "pid"}]'
}

test_config_unknown_rlimit() {
  local b n
  b=$(make_bundle probe true)
  n=$(jq '.process.rlimits | length' "$b/config.json")
  config_error rlfoo "process.rlimits[$n].type: unknown rlimit \"RLIMIT_FOO\"" \
    '.process.rlimits += [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]'
  assert_contains "$ERR" "config.json: process.rlimits[$n].type: unknown rlimit \"RLIMIT_FOO\""
}

test_config_rlimit_soft_above_hard() {
  config_error rlsoft 'process.rlimits[0]: soft limit is greater than the hard limit' \
    '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]'
}

# runtime-spec 1.1: a capability that cannot be granted (unknown to this build, or missing
# from the runtime's own bounding set) is warned about and left out, as runc does.
test_config_unknown_capability_is_a_warning() {
  local b err
  b=$(make_bundle probe sh -c 'grep CapBnd /proc/self/status')
  edit_config "$b" '.process.capabilities.bounding += ["CAP_FOO", "CAP_NEWER_THAN_THIS_KERNEL"]
    | .process.capabilities.effective += ["CAP_FOO"]'
  run_ok capfoo "$b"
  err=$(cat "$TEST_TMP/capfoo.err")
  assert_contains "$err" "warning: ignoring unknown or unavailable capabilities: [CAP_FOO CAP_NEWER_THAN_THIS_KERNEL]" "the warning"
  assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "one warning line"
  assert_contains "$OUT" "CapBnd:" "the container ran"
  # exec --cap likewise.
  edit_config "$b" '.process.args = ["sleep", "30"]'
  nsbox run -d --bundle "$b" "$(cid capx)" 2>/dev/null || fail "run -d"
  err=$(nsbox exec --cap CAP_BOGUS "$(cid capx)" true 2>&1 >/dev/null) || fail "exec --cap CAP_BOGUS failed: $err"
  assert_contains "$err" "ignoring unknown or unavailable capabilities: [" "exec --cap warning"
  assert_contains "$err" " CAP_BOGUS]" "exec --cap warning names the capability"
  nsbox delete --force "$(cid capx)"
  assert_no_leftovers "$(cid capfoo)"
  assert_no_leftovers "$(cid capx)"
}

test_config_relative_mount_destination() {
  local b n
  b=$(make_bundle probe true)
  n=$(jq '.mounts | length' "$b/config.json")
  config_error reldest "mounts[$n].destination: must be an absolute path, got \"mnt\"" \
    '.mounts += [{"destination": "mnt", "type": "tmpfs", "source": "tmpfs"}]'
}

test_config_bind_mount_missing_source() {
  local b n
  b=$(make_bundle probe true)
  n=$(jq '.mounts | length' "$b/config.json")
  config_error nosrc "mounts[$n].source: stat /no/such/source" \
    '.mounts += [{"destination": "/mnt", "type": "bind", "source": "/no/such/source", "options": ["rbind"]}]'
}

test_config_nonexistent_root_path() {
  config_error noroot 'root.path: stat /no/such/rootfs' '.root.path = "/no/such/rootfs"'
}

test_config_hook_relative_path() {
  config_error relhook 'hooks.prestart[0].path: must be an absolute path, got "bin/true"' \
    '.hooks.prestart = [{"path": "bin/true"}]'
}

test_config_hook_zero_timeout() {
  config_error hook0 'hooks.createRuntime[0].timeout: must be greater than 0' \
    '.hooks.createRuntime = [{"path": "/bin/true", "timeout": 0}]'
}

test_config_mappings_without_user_namespace() {
  config_error maps 'linux.uidMappings: mappings need a new user namespace' \
    '.linux.uidMappings = [{"containerID": 0, "hostID": 1000, "size": 1}]
     | .linux.gidMappings = [{"containerID": 0, "hostID": 1000, "size": 1}]'
}

test_config_user_namespace_without_mappings() {
  config_error nomaps 'linux.uidMappings: a new user namespace needs uid mappings' \
    '.linux.namespaces += [{"type": "user"}]'
}

test_config_net_sysctl_without_network_namespace() {
  config_error sysnet 'linux.sysctl.net.ipv4.ip_forward: needs its own network namespace' \
    '.linux.namespaces |= map(select(.type != "network"))
     | .linux.sysctl = {"net.ipv4.ip_forward": "1"}'
}

test_config_non_namespaced_sysctl() {
  config_error sysvm 'linux.sysctl.vm.swappiness: is not a namespaced sysctl' \
    '.linux.sysctl = {"vm.swappiness": "10"}'
}

test_config_unknown_device_type() {
  config_error devx 'linux.devices[0].type: unknown device type "x"' \
    '.linux.devices = [{"path": "/dev/foo", "type": "x", "major": 1, "minor": 3}]'
}

# --- missing executable -------------------------------------------------------------------

test_missing_executable_create() {
  local id b
  id=$(cid noexe)
  b=$(marked_bundle "$id" nonexistent-cmd)
  private_rootfs "$b"
  must_fail 'exec: "nonexistent-cmd": executable file not found in $PATH' \
    nsbox create --bundle "$b" "$id"
  assert_clean "$id"
}

test_missing_executable_run() {
  local id b
  id=$(cid noexe-run)
  b=$(marked_bundle "$id" nonexistent-cmd)
  private_rootfs "$b"
  must_fail 'exec: "nonexistent-cmd": executable file not found in $PATH' \
    nsbox run --bundle "$b" "$id"
  assert_clean "$id"
}

test_missing_absolute_executable() {
  local id b
  id=$(cid noabs)
  b=$(marked_bundle "$id" /no/such)
  private_rootfs "$b"
  must_fail 'stat /no/such: no such file or directory' nsbox create --bundle "$b" "$id"
  assert_clean "$id"
  must_fail 'stat /no/such: no such file or directory' nsbox run --bundle "$b" "$id"
  assert_clean "$id"
}

# --- hooks --------------------------------------------------------------------------------

# failing_hook NAME: a hook that saves the state it gets on stdin to $TEST_TMP/NAME.state
# and exits 1. Prints its path.
failing_hook() {
  local h=$TEST_TMP/$1.sh
  printf '#!/bin/sh\n/bin/cat > %s\nexit 1\n' "$TEST_TMP/$1.state" >"$h"
  chmod +x "$h"
  echo "$h"
}

test_create_runtime_hook_failure_fails_create() {
  local id b h pid
  id=$(cid hookfail)
  b=$(marked_bundle "$id" sleep 100)
  private_rootfs "$b"
  h=$(failing_hook cr)
  edit_config "$b" '.hooks.createRuntime = [{"path": $h}]' --arg h "$h"
  must_fail "createRuntime hook #0: $h exited with status 1" nsbox create --bundle "$b" "$id"
  # The hook saw the container process; it must be gone with everything else.
  pid=$(jq -r .pid "$TEST_TMP/cr.state")
  [ "$pid" -gt 0 ] || fail "no pid in the hook's state: $(cat "$TEST_TMP/cr.state")"
  wait_for "container process $pid to be gone" pid_gone "$pid"
  assert_clean "$id"
  must_fail "createRuntime hook #0: $h exited with status 1" nsbox run --bundle "$b" "$id"
  assert_clean "$id"
}

test_poststart_hook_failure_only_warns() {
  local id b h rc=0
  id=$(cid poststart)
  b=$(marked_bundle "$id" sleep 100)
  h=$(failing_hook ps)
  edit_config "$b" '.hooks.poststart = [{"path": $h}]' --arg h "$h"
  nsbox create --bundle "$b" "$id"
  nsbox start "$id" 2>"$TEST_TMP/stderr" || rc=$?
  assert_eq "$rc" 0 "exit status of start with a failing poststart hook"
  assert_contains "$(cat "$TEST_TMP/stderr")" "nsbox: warning: poststart hook #0: $h exited with status 1"
  assert_eq "$(status_of "$id")" running "status after a failed poststart hook"
  nsbox delete --force "$id"
  assert_clean "$id"
}

# --- mounts -------------------------------------------------------------------------------

test_failing_mount_fails_create() {
  local id b
  id=$(cid badmount)
  b=$(marked_bundle "$id" sleep 100)
  private_rootfs "$b"
  mkdir -p "$TEST_TMP/data"
  # A bind mount that succeeds, then one that cannot: neither may stay anywhere.
  edit_config "$b" '.mounts += [
      {"destination": "/data", "type": "bind", "source": $src, "options": ["rbind"]},
      {"destination": "/nsbox-bad-mount", "type": "nosuchfs", "source": "none"}]' \
    --arg src "$TEST_TMP/data"
  must_fail "/nsbox-bad-mount" nsbox create --bundle "$b" "$id"
  assert_contains "$ERR" "nosuchfs"
  assert_clean "$id"
  must_fail "/nsbox-bad-mount" nsbox run --bundle "$b" "$id"
  assert_clean "$id"
}
