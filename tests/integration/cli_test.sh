# The runc-compatible command line: global and verb flags in their -x/--x/--x=v forms,
# list/state output, kill signal forms, spec, logging, run -d.

# --- helpers (not tests) -----------------------------------------------------------------

# out_err CMD...: run CMD with stdout to $TEST_TMP/out and stderr to $TEST_TMP/err (files,
# not pipes: a container started by CMD must not hold the test's pipes). Sets $RC, $OUT, $ERR.
out_err() {
  RC=0
  "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || RC=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
}

# must_fail TEXT CMD...: exit status 1 and "nsbox: ...TEXT..." on stderr.
must_fail() {
  local want=$1
  shift
  out_err "$@"
  [ "$RC" -ne 0 ] || fail "expected failure of: $* (it exited 0)"
  assert_eq "$RC" 1 "exit status of: $*"
  assert_contains "$ERR" "$want" "error text of: $*"
  case "$ERR" in
    "nsbox: "*) ;;
    *) fail "error of: $* does not start with \"nsbox: \": [$ERR]" ;;
  esac
}

# The process PID has exited: it no longer exists, or it is a zombie waiting for the
# reaper it was reparented to (not the runtime's job).
pid_gone() {
  [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status" 2>/dev/null
}

# The bundle directory as nsbox records it (absolute, symlinks resolved).
abs() { realpath "$1"; }

# --- global options -----------------------------------------------------------------------

test_version() {
  local flag
  for flag in --version -version -v; do
    out_err "$NSBOX" "$flag"
    assert_eq "$RC" 0 "exit status of nsbox $flag"
    assert_contains "$OUT" "nsbox version " "output of nsbox $flag"
    assert_contains "$OUT" "spec: 1." "output of nsbox $flag"
    assert_eq "$ERR" "" "stderr of nsbox $flag"
  done
}

test_help() {
  local flag verb
  for flag in --help -h; do
    out_err "$NSBOX" "$flag"
    assert_eq "$RC" 0 "exit status of nsbox $flag"
    assert_contains "$OUT" "usage: nsbox"
    for verb in create start run state kill delete list spec; do
      assert_contains "$OUT" "  $verb " "command list of nsbox $flag"
    done
    assert_contains "$OUT" "--root"
  done
  # A verb's own help.
  out_err "$NSBOX" create --help
  assert_eq "$RC" 0 "exit status of nsbox create --help"
  assert_contains "$OUT" "usage: nsbox create"
}

test_no_command_prints_usage_and_fails() {
  out_err "$NSBOX"
  assert_ne "$RC" 0 "exit status of nsbox without a command"
  assert_contains "$OUT$ERR" "usage: nsbox"
}

test_unknown_command() {
  must_fail 'unknown command "frobnicate"' nsbox frobnicate
}

test_unknown_flag() {
  must_fail "flag provided but not defined: -no-such-flag" "$NSBOX" --no-such-flag list
  must_fail "flag provided but not defined: -no-such-flag" nsbox list --no-such-flag
  must_fail "flag provided but not defined: -x" nsbox create -x foo
  [ ! -e "$TEST_ROOT/foo" ] || fail "a bad flag created state"
}

test_root_flag_forms() {
  local b other id form
  b=$(make_bundle b sleep 100)
  other=$TEST_TMP/other-root
  mkdir -p "$other"
  local i=0
  for form in "--root X" "--root=X" "-root X" "-root=X"; do
    i=$((i + 1))
    id=$(cid "root$i")
    case "$form" in
      "--root X") "$NSBOX" --root "$TEST_ROOT" create --bundle "$b" "$id" ;;
      "--root=X") "$NSBOX" --root="$TEST_ROOT" create --bundle "$b" "$id" ;;
      "-root X") "$NSBOX" -root "$TEST_ROOT" create --bundle "$b" "$id" ;;
      "-root=X") "$NSBOX" -root="$TEST_ROOT" create --bundle "$b" "$id" ;;
    esac
    [ -e "$TEST_ROOT/$id/state.json" ] || fail "$form: no state under the given root"
    # Every form reads the same root back.
    assert_eq "$("$NSBOX" --root="$TEST_ROOT" state "$id" | jq -r .id)" "$id" "$form: state --root="
    assert_eq "$("$NSBOX" -root "$TEST_ROOT" state "$id" | jq -r .status)" created "$form: state -root"
    # Another root does not see it.
    assert_eq "$("$NSBOX" --root "$other" list -q)" "" "$form: list of another root"
    must_fail "container \"$id\" does not exist" "$NSBOX" --root "$other" state "$id"
  done
  assert_eq "$(nsbox list -q | wc -l)" 4 "containers under the root"
  [ -z "$(ls -A "$other")" ] || fail "something was written to the other root: $(ls -A "$other")"
}

test_bundle_flag_forms() {
  local b id form
  b=$(make_bundle b sleep 100)
  local i=0
  for form in "--bundle X" "-b X" "--bundle=X" "-bundle X" "-b=X" "cwd"; do
    i=$((i + 1))
    id=$(cid "bundle$i")
    case "$form" in
      "--bundle X") nsbox create --bundle "$b" "$id" ;;
      "-b X") nsbox create -b "$b" "$id" ;;
      "--bundle=X") nsbox create --bundle="$b" "$id" ;;
      "-bundle X") nsbox create -bundle "$b" "$id" ;;
      "-b=X") nsbox create -b="$b" "$id" ;;
      "cwd") (cd "$b" && nsbox create "$id") ;;
    esac
    assert_eq "$(nsbox state "$id" | jq -r .bundle)" "$(abs "$b")" "bundle of a container made with $form"
  done
  # A relative bundle is recorded absolute.
  id=$(cid bundle-rel)
  (cd "$TEST_TMP" && nsbox create --bundle b "$id")
  assert_eq "$(nsbox state "$id" | jq -r .bundle)" "$(abs "$b")" "bundle given relative"
  # Flags may follow the id, as with runc.
  id=$(cid bundle-after)
  nsbox create "$id" --bundle "$b"
  assert_eq "$(nsbox state "$id" | jq -r .bundle)" "$(abs "$b")" "bundle flag after the id"
}

test_pid_file() {
  local b id pid
  b=$(make_bundle b sleep 100)
  id=$(cid pidfile)
  nsbox create --bundle "$b" --pid-file "$TEST_TMP/pid" "$id"
  [ -s "$TEST_TMP/pid" ] || fail "no pid file written"
  pid=$(cat "$TEST_TMP/pid")
  assert_eq "$pid" "$(nsbox state "$id" | jq -r .pid)" "pid file against state"
  [ -d "/proc/$pid" ] || fail "no process $pid"
  # It is the host pid of the container's first process: pid 1 in its own pid namespace.
  assert_eq "$(awk '/^NSpid:/ {print $NF}' "/proc/$pid/status")" 1 "pid in the container's namespace"
  assert_ne "$(readlink "/proc/$pid/ns/pid")" "$(readlink /proc/self/ns/pid)" "pid namespace"
  # --pid-file=FILE, relative to the working directory; and with run -d.
  id=$(cid pidfile2)
  (cd "$TEST_TMP" && nsbox run -d --bundle "$b" --pid-file=rel.pid "$id" >/dev/null)
  assert_eq "$(cat "$TEST_TMP/rel.pid")" "$(nsbox state "$id" | jq -r .pid)" "relative pid file"
}

# --- list and state -----------------------------------------------------------------------

test_list_table() {
  local b id pid created line
  out_err nsbox list
  assert_eq "$RC" 0 "exit status of list with no containers"
  assert_eq "$(echo "$OUT" | head -1 | tr -s ' ')" "ID PID STATUS BUNDLE CREATED OWNER IPS SYSTEM" "list header"
  b=$(make_bundle b sleep 100)
  id=$(cid list)
  nsbox create --bundle "$b" "$id"
  pid=$(nsbox state "$id" | jq -r .pid)
  created=$(nsbox state "$id" | jq -r .created)
  out_err nsbox list
  assert_eq "$(echo "$OUT" | head -1 | tr -s ' ')" "ID PID STATUS BUNDLE CREATED OWNER IPS SYSTEM" "list header"
  assert_eq "$(echo "$OUT" | wc -l)" 2 "lines of list"
  line=$(echo "$OUT" | sed -n 2p | tr -s ' ')
  assert_eq "$line" "$id $pid created $(abs "$b") $created root - -" "list row (no address: no network of nsbox's; no init state: not systemd)"
}

test_list_quiet() {
  local b a z
  b=$(make_bundle b sleep 100)
  a=$(cid a)
  z=$(cid z)
  nsbox create --bundle "$b" "$z"
  nsbox create --bundle "$b" "$a"
  assert_eq "$(nsbox list -q)" "$(printf '%s\n%s' "$a" "$z")" "list -q"
  assert_eq "$(nsbox list --quiet)" "$(printf '%s\n%s' "$a" "$z")" "list --quiet"
}

test_list_json() {
  local b id pid json f
  out_err nsbox list --format json
  assert_eq "$RC" 0 "exit status of list --format json"
  assert_eq "$(echo "$OUT" | jq -c .)" "[]" "list --format json with no containers"
  b=$(make_bundle b sleep 100)
  id=$(cid json)
  nsbox create --bundle "$b" "$id"
  pid=$(nsbox state "$id" | jq -r .pid)
  for f in "--format json" "--format=json" "-f json"; do
    # shellcheck disable=SC2086
    json=$(nsbox list $f)
    echo "$json" | jq -e . >/dev/null || fail "list $f is not JSON: $json"
    assert_eq "$(echo "$json" | jq length)" 1 "entries of list $f"
    assert_eq "$(echo "$json" | jq -r '.[0].id')" "$id" "id in list $f"
    assert_eq "$(echo "$json" | jq -r '.[0].status')" created "status in list $f"
    assert_eq "$(echo "$json" | jq -r '.[0].pid')" "$pid" "pid in list $f"
    assert_eq "$(echo "$json" | jq -r '.[0].bundle')" "$(abs "$b")" "bundle in list $f"
  done
  nsbox start "$id"
  assert_eq "$(nsbox list --format json | jq -r '.[0].status')" running "status in list after start"
  # A directory without a state file (a create at work) is not a container yet.
  mkdir "$TEST_ROOT/half-made"
  assert_eq "$(nsbox list --format json | jq -r '.[].id')" "$id" "list with a directory that has no state"
  assert_eq "$(nsbox list -q)" "$id" "list -q with a directory that has no state"
  rmdir "$TEST_ROOT/half-made"
  must_fail 'invalid format option "yaml"' nsbox list --format yaml
}

test_state_fields() {
  local b id json pid
  b=$(make_bundle b sleep 100)
  edit_config "$b" '.annotations = {"org.example.key": "value 1", "second": "two"}'
  id=$(cid state)
  (cd "$TEST_TMP" && nsbox create --bundle b "$id")
  json=$(nsbox state "$id")
  echo "$json" | jq -e . >/dev/null || fail "state is not JSON: $json"
  assert_eq "$(echo "$json" | jq -r .ociVersion)" "$(jq -r .ociVersion "$b/config.json")" "ociVersion"
  assert_eq "$(echo "$json" | jq -r .id)" "$id" "id"
  assert_eq "$(echo "$json" | jq -r .status)" created "status"
  pid=$(echo "$json" | jq -r .pid)
  if [ "$pid" -le 0 ] || [ ! -d "/proc/$pid" ]; then fail "pid $pid is not a live process"; fi
  assert_eq "$(echo "$json" | jq -r .bundle)" "$(abs "$b")" "bundle"
  case "$(echo "$json" | jq -r .bundle)" in /*) ;; *) fail "bundle is not absolute" ;; esac
  assert_eq "$(echo "$json" | jq -c .annotations)" '{"org.example.key":"value 1","second":"two"}' "annotations"
  nsbox start "$id"
  assert_eq "$(status_of "$id")" running "status after start"
  nsbox kill "$id" KILL
  wait_for "container to stop" pid_gone "$pid"
  json=$(nsbox state "$id")
  assert_eq "$(echo "$json" | jq -r .status)" stopped "status after kill"
  assert_eq "$(echo "$json" | jq -r .pid)" 0 "pid of a stopped container"
}

# --- kill ---------------------------------------------------------------------------------

test_kill_signal_forms() {
  local b id pid sig i=0
  b=$(make_bundle b sleep 100)
  for sig in KILL SIGKILL 9 kill; do
    i=$((i + 1))
    id=$(cid "kill$i")
    nsbox create --bundle "$b" "$id"
    nsbox start "$id"
    pid=$(nsbox state "$id" | jq -r .pid)
    nsbox kill "$id" "$sig"
    wait_for "container killed with $sig to stop" pid_gone "$pid"
    assert_eq "$(status_of "$id")" stopped "status after kill $sig"
    nsbox delete "$id"
    assert_no_leftovers "$id"
  done
  # The default signal is SIGTERM; pid 1 of a pid namespace ignores it without a handler,
  # so use a shell that traps it.
  id=$(cid kill-term)
  b=$(make_bundle term sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done')
  nsbox create --bundle "$b" "$id"
  nsbox start "$id"
  pid=$(nsbox state "$id" | jq -r .pid)
  nsbox kill "$id"
  wait_for "container to stop on SIGTERM" pid_gone "$pid"
}

# --- spec ---------------------------------------------------------------------------------

test_spec_writes_config_and_refuses_overwrite() {
  local d sum
  d=$TEST_TMP/spec
  mkdir -p "$d"
  (cd "$d" && "$NSBOX" spec)
  [ -f "$d/config.json" ] || fail "spec wrote no config.json"
  jq -e . "$d/config.json" >/dev/null || fail "spec wrote invalid JSON"
  assert_ne "$(jq -r .ociVersion "$d/config.json")" null "ociVersion"
  assert_eq "$(jq -c .process.args "$d/config.json")" '["sh"]' "process.args"
  assert_eq "$(jq -r .root.path "$d/config.json")" rootfs "root.path"
  assert_eq "$(jq '[.linux.namespaces[].type] | index("user")' "$d/config.json")" null "user namespace in the default spec"
  sum=$(md5sum <"$d/config.json")
  must_fail "exists" bash -c "cd '$d' && '$NSBOX' spec"
  assert_contains "$ERR" "config.json"
  must_fail "exists" "$NSBOX" spec --bundle "$d"
  must_fail "exists" "$NSBOX" spec -b "$d"
  assert_eq "$(md5sum <"$d/config.json")" "$sum" "config.json after refused overwrites"
  # --bundle writes there, and the result runs once given a rootfs.
  mkdir -p "$TEST_TMP/spec2"
  "$NSBOX" spec --bundle "$TEST_TMP/spec2"
  jq -e . "$TEST_TMP/spec2/config.json" >/dev/null || fail "spec --bundle wrote invalid JSON"
  ln -s "$(shared_rootfs)" "$TEST_TMP/spec2/rootfs"
  edit_config "$TEST_TMP/spec2" '.process.terminal = false | .process.args = ["true"]'
  local rc=0
  nsbox run --bundle "$TEST_TMP/spec2" "$(cid spec)" </dev/null >/dev/null || rc=$?
  assert_eq "$rc" 0 "exit status of a container from the default spec"
}

test_spec_rootless() {
  local d
  d=$TEST_TMP/rootless
  mkdir -p "$d"
  "$NSBOX" spec --rootless --bundle "$d"
  jq -e . "$d/config.json" >/dev/null || fail "spec --rootless wrote invalid JSON"
  assert_ne "$(jq '[.linux.namespaces[].type] | index("user")' "$d/config.json")" null "user namespace"
  assert_eq "$(jq -r '.linux.uidMappings[0].hostID' "$d/config.json")" "$(id -u)" "uid mapping"
  assert_eq "$(jq -r '.linux.gidMappings[0].hostID' "$d/config.json")" "$(id -g)" "gid mapping"
  assert_eq "$(jq -r '.linux.uidMappings[0].containerID' "$d/config.json")" 0 "uid mapping container id"
}

# --- logging ------------------------------------------------------------------------------

test_log_json() {
  local log line b
  log=$TEST_TMP/log.json
  must_fail "container \"$(cid nope)\" does not exist" \
    "$NSBOX" --root "$TEST_ROOT" --log "$log" --log-format json start "$(cid nope)"
  [ -s "$log" ] || fail "nothing written to the log file"
  line=$(tail -1 "$log")
  echo "$line" | jq -e . >/dev/null || fail "log line is not JSON: $line"
  assert_eq "$(echo "$line" | jq -r .level)" error "level"
  assert_eq "$(echo "$line" | jq -r .msg)" "container \"$(cid nope)\" does not exist" "msg"
  [[ "$(echo "$line" | jq -r .time)" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)$ ]] ||
    fail "time is not RFC 3339: $line"
  # A message with quotes, and the --flag=value forms; lines are appended.
  b=$(make_bundle b true)
  printf '{"ociVersion": "1.0.2", "process": {' >"$b/config.json"
  must_fail "invalid JSON" "$NSBOX" --root="$TEST_ROOT" --log="$log" --log-format=json create -b "$b" "$(cid bad)"
  assert_eq "$(wc -l <"$log")" 2 "lines in the log file"
  jq -e -s 'length == 2 and all(.level == "error" and (.msg | type) == "string" and (.time | type) == "string")' \
    "$log" >/dev/null || fail "log file is not JSON lines: $(cat "$log")"
  assert_contains "$(tail -1 "$log" | jq -r .msg)" "$(abs "$b")/config.json: invalid JSON"
  must_fail 'unknown format "xml"' "$NSBOX" --log "$log" --log-format xml list
}

# --- run -d -------------------------------------------------------------------------------

test_run_detach_returns_at_once() {
  local b id pid start end
  b=$(make_bundle b sleep 100)
  id=$(cid detach)
  start=$(date +%s)
  out_err timeout 20 "$NSBOX" --root "$TEST_ROOT" run -d --bundle "$b" "$id"
  end=$(date +%s)
  assert_eq "$RC" 0 "exit status of run -d: $ERR"
  [ $((end - start)) -lt 10 ] || fail "run -d took $((end - start)) s"
  assert_eq "$(status_of "$id")" running "status after run -d"
  pid=$(nsbox state "$id" | jq -r .pid)
  [ -d "/proc/$pid" ] || fail "no process after run -d"
  # --detach, the long form.
  id=$(cid detach2)
  out_err timeout 20 "$NSBOX" --root "$TEST_ROOT" run --detach --bundle "$b" "$id"
  assert_eq "$RC" 0 "exit status of run --detach: $ERR"
  assert_eq "$(status_of "$id")" running "status after run --detach"
}

# --- unsupported options ------------------------------------------------------------------

# Without systemd as pid 1 (this host), the systemd driver is refused in runc's words, and
# nothing is made. (The driver itself is tested in the systemd guest: tests/vm/systemd.)
test_systemd_cgroup_without_systemd_is_refused() {
  local b id verb
  [ ! -d /run/systemd/system ] || skip "systemd runs here: the systemd guest's tests cover the driver"
  b=$(make_bundle b sleep 100)
  id=$(cid systemd)
  for verb in create run; do
    must_fail "systemd not running on this host, cannot use systemd cgroups manager" \
      "$NSBOX" --root "$TEST_ROOT" --systemd-cgroup "$verb" --bundle "$b" "$id"
    assert_no_leftovers "$id"
    assert_no_host_mounts
  done
  assert_eq "$(nsbox list -q)" "" "containers after --systemd-cgroup"
}

test_features_says_what_this_build_does() {
  local f
  f=$(nsbox features) || fail "features failed"
  printf '%s' "$f" | jq -e . >/dev/null || fail "features is not JSON: $f"
  assert_eq "$(printf '%s' "$f" | jq -r '.ociVersionMax')" "1.3.0" "ociVersionMax"
  assert_eq "$(printf '%s' "$f" | jq -c '.linux.namespaces')" '["cgroup","ipc","mount","network","pid","time","user","uts"]'
  assert_eq "$(printf '%s' "$f" | jq -c '.linux.cgroup.systemd')" true "the systemd driver"
  assert_eq "$(printf '%s' "$f" | jq -c '.potentiallyUnsafeConfigAnnotations')" '["org.systemd.property."]' "unsafe annotations"
  assert_eq "$(printf '%s' "$f" | jq -c '.linux.mountExtensions.idmap.enabled')" true "idmap"
  # What it lists works: a container with every listed seccomp architecture and supported
  # flag, every listed capability in the bounding set, and every listed mount option that
  # a tmpfs takes.
  local b
  b=$(make_bundle feat true)
  edit_config "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: $f.linux.seccomp.archs,
      flags: $f.linux.seccomp.supportedFlags, syscalls: [{names: ["sync"], action: "SCMP_ACT_ERRNO"}]}
    | .process.capabilities.bounding = $f.linux.capabilities' --argjson f "$f"
  run_ok feat "$b"
  # Every capability named is one the kernel knows (CapBnd of a full set is the kernel's).
  assert_eq "$(printf '%s' "$f" | jq '.linux.capabilities | length')" "$(($(cat /proc/sys/kernel/cap_last_cap) + 1))" \
    "capabilities listed vs the kernel's"
  local unknown
  unknown=$(printf '%s' "$f" | jq -r '.linux.seccomp.knownFlags - .linux.seccomp.supportedFlags | .[]')
  for flag in $unknown; do
    edit_config "$b" '.linux.seccomp.flags = [$x]' --arg x "$flag"
    expect_fail "$flag" nsbox create --bundle "$b" "$(cid feat2)"
  done
}

test_delete_force_of_a_container_that_never_saved_state() {
  # A create killed before it wrote its state leaves a bare directory: delete --force
  # clears it and succeeds, as runc's does; without --force it is an error.
  mkdir -p "$TEST_ROOT/$(cid half)"
  expect_fail "does not exist" nsbox delete "$(cid half)"
  nsbox delete --force "$(cid half)" || fail "delete --force of a half-made container failed"
  [ ! -e "$TEST_ROOT/$(cid half)" ] || fail "its directory is still there"
  nsbox delete --force "$(cid never-made)" || fail "delete --force of an unknown id failed"
}

# --- bad input: one line naming the file or flag, exit 1, nothing left ---------------------

# bad_input TEXT ID CMD...: CMD exits 1 with exactly one line, "nsbox: ...TEXT...", on
# stderr, and nothing is left of container ID (no state directory, cgroup or process).
bad_input() {
  local want=$1 id=$2
  shift 2
  must_fail "$want" "$@"
  assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the error of: $* [$ERR]"
  assert_no_leftovers "$id"
}

# root_is_empty DESC: no container (nor anything else) was written to the state root.
root_is_empty() {
  [ -z "$(ls -A "$TEST_ROOT" 2>/dev/null)" ] || fail "$1: the state root holds $(ls -A "$TEST_ROOT")"
}

# The config is read only from a regular file: /dev/zero (endless) or a FIFO (no writer)
# would otherwise hang the runtime. timeout turns a hang into exit 124, a failure here.
test_config_json_not_a_regular_file() {
  local b id verb
  b=$(make_bundle b true)
  id=$(cid notreg)
  mv "$b/config.json" "$b/config.real"
  ln -s /dev/zero "$b/config.json"
  for verb in create run; do
    bad_input "$(abs "$b")/config.json: not a regular file" "$id" \
      timeout 20 "$NSBOX" --root "$TEST_ROOT" "$verb" --bundle "$b" "$id"
  done
  rm "$b/config.json"
  mkfifo "$b/config.json"
  for verb in create run; do
    bad_input "$(abs "$b")/config.json: not a regular file" "$id" \
      timeout 20 "$NSBOX" --root "$TEST_ROOT" "$verb" --bundle "$b" "$id"
  done
  root_is_empty "after configs that are not regular files"
  assert_no_host_mounts
}

# Numbers beyond what a double or a 64-bit integer holds are an error, not infinity or a
# wrapped value.
test_config_number_overflow() {
  local b id digits
  b=$(make_bundle b true)
  id=$(cid big)
  sed -i 's/"uid": 0,/"uid": 1e400,/' "$b/config.json"
  grep -q '"uid": 1e400,' "$b/config.json" || fail "sed wrote no 1e400 into config.json"
  bad_input "$(abs "$b")/config.json: invalid JSON: number overflow" "$id" nsbox create --bundle "$b" "$id"
  digits=$(printf '9%.0s' $(seq 400))
  sed -i "s/\"uid\": 1e400,/\"uid\": $digits,/" "$b/config.json"
  grep -q "\"uid\": $digits," "$b/config.json" || fail "sed wrote no 400-digit uid into config.json"
  bad_input "$(abs "$b")/config.json: invalid JSON: number overflow" "$id" nsbox create --bundle "$b" "$id"
  bad_input "$(abs "$b")/config.json: invalid JSON: number overflow" "$id" nsbox run --bundle "$b" "$id"
  root_is_empty "after configs with numbers out of range"
}

# memory_limit_file ID: the memory limit file of container ID's cgroup (v1 or v2), or nothing.
memory_limit_file() {
  find /sys/fs/cgroup -maxdepth 7 \( -path "*/nsbox-$1/memory.max" -o -path "*/nsbox-$1/memory.limit_in_bytes" \) \
    2>/dev/null | head -1
}

test_update_number_overflow_leaves_container_alone() {
  local b id pid f before rc
  b=$(make_bundle b sleep 1000)
  id=$(cid upd)
  nsbox run -d --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/start.err" || fail "run -d failed: $(cat "$TEST_TMP/start.err")"
  pid=$(nsbox state "$id" | jq -r .pid)
  f=$(memory_limit_file "$id")
  [ -z "$f" ] || before=$(cat "$f")
  rc=0
  echo '{"memory":{"limit":1e400}}' | nsbox update --resources - "$id" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  ERR=$(cat "$TEST_TMP/err")
  assert_eq "$rc" 1 "exit status of update with limit 1e400 [$ERR]"
  assert_contains "$ERR" "invalid JSON: number overflow" "error of update with limit 1e400"
  assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the error of update [$ERR]"
  assert_eq "$(status_of "$id")" running "status after the refused update"
  assert_eq "$(nsbox state "$id" | jq -r .pid)" "$pid" "pid after the refused update"
  if [ -n "$f" ]; then
    assert_eq "$(cat "$f")" "$before" "memory limit after the refused update"
    # The file is the one update writes: a valid limit lands there.
    echo '{"memory":{"limit":67108864}}' | nsbox update --resources - "$id" || fail "update with a valid limit failed"
    assert_eq "$(cat "$f")" 67108864 "memory limit after a valid update"
  else
    echo "note: no memory controller for the container; its limit is not compared"
  fi
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

# 100000 nested arrays: a parse error, not a stack overflow (exit 139).
test_config_nested_too_deep() {
  local b id text open close
  b=$(make_bundle b true)
  id=$(cid deep)
  edit_config "$b" '.process.nested = "NESTED-HERE"'
  printf -v open '%100000s' ''
  open=${open// /[}
  close=${open//[/]}
  text=$(cat "$b/config.json")
  printf '%s\n' "${text/\"NESTED-HERE\"/$open$close}" >"$b/config.json"
  grep -q "\"nested\": \[\[\[\[" "$b/config.json" || fail "no nested arrays written under process"
  [ "$(tr -cd '[' <"$b/config.json" | wc -c)" -ge 100000 ] || fail "fewer than 100000 [ in config.json"
  bad_input "$(abs "$b")/config.json: invalid JSON: nested deeper than 256 levels" "$id" nsbox create --bundle "$b" "$id"
  bad_input "$(abs "$b")/config.json: invalid JSON: nested deeper than 256 levels" "$id" nsbox run --bundle "$b" "$id"
  root_is_empty "after a config nested too deep"
}

test_exec_bad_cwd_and_user() {
  local b id
  b=$(make_bundle b sleep 1000)
  id=$(cid execbad)
  nsbox run -d --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/start.err" || fail "run -d failed: $(cat "$TEST_TMP/start.err")"
  must_fail "--cwd" nsbox exec --cwd relative/path "$id" true
  assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the error of exec --cwd relative/path [$ERR]"
  assert_contains "$ERR" "relative/path" "error of exec --cwd relative/path"
  must_fail "--user" nsbox exec --user 99999999999 "$id" true
  assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the error of exec --user 99999999999 [$ERR]"
  assert_contains "$ERR" "99999999999" "error of exec --user 99999999999"
  # Nothing of the refused execs runs in the container: only its init.
  assert_eq "$(nsbox ps --format json "$id" | jq -c .)" "[$(nsbox state "$id" | jq -r .pid)]" \
    "processes in the container after the refused execs"
  assert_eq "$(status_of "$id")" running "status after the refused execs"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

test_log_file_that_cannot_be_opened() {
  local b id d
  b=$(make_bundle b sleep 1000)
  id=$(cid logbad)
  nsbox create --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/start.err" || fail "create failed: $(cat "$TEST_TMP/start.err")"
  d=/nonexistent-dir-$$
  [ ! -e "$d" ] || skip "$d exists"
  must_fail "--log" nsbox --log "$d/x.log" state "$id"
  assert_contains "$ERR" "$d/x.log" "error of --log $d/x.log"
  assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the error of --log [$ERR]"
  assert_eq "$OUT" "" "stdout of state with a bad --log"
  [ ! -e "$d" ] || fail "$d was created"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

# An id is shown escaped in errors: a newline in it cannot forge a second line.
test_id_with_newline_is_one_escaped_line() {
  local b verb
  b=$(make_bundle b true)
  for verb in state delete kill start; do
    must_fail 'a\nb' nsbox "$verb" $'a\nb'
    assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the error of $verb with a newline in the id [$ERR]"
  done
  must_fail 'a\nb' nsbox create --bundle "$b" $'a\nb'
  assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the error of create with a newline in the id [$ERR]"
  root_is_empty "after ids with a newline"
}

# A damaged state file: list shows the container as unknown and warns; state is an error
# naming the file. (faults_test.sh covers delete --force of it.)
test_list_with_damaged_state() {
  local b id other
  b=$(make_bundle b sleep 1000)
  id=$(cid damaged)
  other=$(cid fine)
  nsbox create --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/start.err" || fail "create failed: $(cat "$TEST_TMP/start.err")"
  nsbox create --bundle "$b" "$other" </dev/null >/dev/null 2>"$TEST_TMP/start.err" || fail "create failed: $(cat "$TEST_TMP/start.err")"
  cp "$TEST_ROOT/$id/state.json" "$TEST_TMP/state.json.good"
  # Whatever happens, the state is put back before the cleanup's delete --force.
  at_exit "[ ! -d '$TEST_ROOT/$id' ] || cp '$TEST_TMP/state.json.good' '$TEST_ROOT/$id/state.json'"
  truncate -s 20 "$TEST_ROOT/$id/state.json"
  out_err nsbox list
  assert_eq "$RC" 0 "exit status of list with a damaged state [$ERR]"
  assert_eq "$(echo "$OUT" | awk -v i="$id" '$1 == i {print $3}')" unknown "status of the damaged container in list"
  assert_eq "$(echo "$OUT" | awk -v i="$other" '$1 == i {print $3}')" created "status of the other container in list"
  assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines on stderr of list [$ERR]"
  assert_contains "$ERR" "warning" "stderr of list"
  assert_contains "$ERR" "$TEST_ROOT/$id/state.json" "stderr of list"
  out_err nsbox list --format json
  assert_eq "$RC" 0 "exit status of list --format json with a damaged state [$ERR]"
  assert_eq "$(echo "$OUT" | jq -r --arg i "$id" '.[] | select(.id == $i) | .status')" unknown "status in list --format json"
  assert_eq "$(echo "$OUT" | jq -r --arg i "$other" '.[] | select(.id == $i) | .status')" created "other in list --format json"
  assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines on stderr of list --format json [$ERR]"
  out_err nsbox list -q
  assert_eq "$RC" 0 "exit status of list -q with a damaged state [$ERR]"
  assert_eq "$OUT" "$(printf '%s\n' "$id" "$other" | sort)" "list -q"
  must_fail "$TEST_ROOT/$id/state.json" nsbox state "$id"
  assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "lines of the error of state [$ERR]"
  assert_eq "$(status_of "$other")" created "state of the other container"
  # Put back, everything goes as usual.
  cp "$TEST_TMP/state.json.good" "$TEST_ROOT/$id/state.json"
  nsbox delete --force "$id"
  nsbox delete --force "$other"
  assert_no_leftovers "$id"
  assert_no_leftovers "$other"
}
