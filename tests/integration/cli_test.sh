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
  assert_eq "$(echo "$OUT" | head -1 | tr -s ' ')" "ID PID STATUS BUNDLE CREATED OWNER" "list header"
  b=$(make_bundle b sleep 100)
  id=$(cid list)
  nsbox create --bundle "$b" "$id"
  pid=$(nsbox state "$id" | jq -r .pid)
  created=$(nsbox state "$id" | jq -r .created)
  out_err nsbox list
  assert_eq "$(echo "$OUT" | head -1 | tr -s ' ')" "ID PID STATUS BUNDLE CREATED OWNER" "list header"
  assert_eq "$(echo "$OUT" | wc -l)" 2 "lines of list"
  line=$(echo "$OUT" | sed -n 2p | tr -s ' ')
  assert_eq "$line" "$id $pid created $(abs "$b") $created root" "list row"
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

test_systemd_cgroup_is_refused() {
  local b id verb
  b=$(make_bundle b sleep 100)
  id=$(cid systemd)
  for verb in create run; do
    must_fail "systemd cgroup driver is not supported" \
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
  assert_eq "$(printf '%s' "$f" | jq -c '.linux.cgroup.systemd')" false "no systemd driver"
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
