# OCI hooks: prestart, createRuntime, createContainer, startContainer, poststart and
# poststop run at their points of the lifecycle, in the right namespaces, with the state
# on stdin and the args and env of their entry; timeouts and failures.

# hook_setup: $HOOK (a hook script on the host), $HLOG (the log it appends to, in $HLOGDIR).
# The script logs one line: NAME|ARGS|$HOOK_VAR|mnt ns|pid ns|state from stdin.
hook_setup() {
  HLOGDIR=$TEST_TMP/logs
  HLOG=$HLOGDIR/log
  HOOK=$TEST_TMP/hook.sh
  mkdir -p "$HLOGDIR"
  : >"$HLOG"
  cat >"$HOOK" <<'EOF'
#!/bin/sh
state=$(cat)
printf '%s|%s|%s|%s|%s|%s\n' "$1" "$*" "${HOOK_VAR-unset}" "$(readlink /proc/self/ns/mnt)" \
  "$(readlink /proc/self/ns/pid)" "$state" >>"$2"
EOF
  chmod 755 "$HOOK"
}

# hook_entry NAME [PATH]: a hook entry running PATH (default $HOOK) as `hook.sh NAME $HLOG
# "extra arg"` with HOOK_VAR set.
hook_entry() {
  jq -n -c --arg p "${2:-$HOOK}" --arg n "$1" --arg l "$HLOG" \
    '{path: $p, args: ["hook.sh", $n, $l, "extra arg"], env: ["HOOK_VAR=value of \($n)", "PATH=/usr/bin:/bin"]}'
}

# hook_names: the hook names in the log, in order, one line.
hook_names() { cut -d'|' -f1 "$HLOG" | xargs; }

# hook_line NAME: the log line of hook NAME (fails if it is missing or logged twice).
hook_line() {
  local n
  n=$(grep -c "^$1|" "$HLOG" || true)
  [ "$n" = 1 ] || fail "hook $1 logged $n times: $(cat "$HLOG")"
  grep "^$1|" "$HLOG"
}

hook_field() { hook_line "$1" | cut -d'|' -f"$2"; }
hook_state() { hook_line "$1" | cut -d'|' -f6-; }

test_hooks_order_state_args_env_and_namespaces() {
  hook_setup
  [ ! -e /hook.sh ] || skip "/hook.sh exists on the host"
  local root=$TEST_TMP/rootfs b id pid host_mnt host_pid
  cp -a "$(shared_rootfs)" "$root"
  # The startContainer hook is a path inside the container; it exists only in its rootfs.
  cp "$HOOK" "$root/hook.sh"
  b=$(make_bundle b sh)
  # The log directory appears at the same path inside, for startContainer and the process.
  edit_config "$b" '.root.path = $r
    | .process.args = ["sh", "-c", "echo \"process|\" >> \($l); exec sleep 100"]
    | .mounts += [{destination: $d, type: "bind", source: $d, options: ["rbind", "rw"]}]
    | .hooks = {
        prestart: [$pre1, $pre2], createRuntime: [$cr], createContainer: [$cc],
        startContainer: [$sc], poststart: [$ps], poststop: [$pst]}' \
    --arg r "$root" --arg l "$HLOG" --arg d "$HLOGDIR" \
    --argjson pre1 "$(hook_entry prestart1)" --argjson pre2 "$(hook_entry prestart2)" \
    --argjson cr "$(hook_entry createRuntime)" --argjson cc "$(hook_entry createContainer)" \
    --argjson sc "$(hook_entry startContainer /hook.sh)" --argjson ps "$(hook_entry poststart)" \
    --argjson pst "$(hook_entry poststop)"
  id=$(cid hooks)

  nsbox create --bundle "$b" "$id"
  assert_eq "$(hook_names)" "prestart1 prestart2 createRuntime createContainer" "hooks run by create"
  pid=$(nsbox state "$id" | jq -r .pid)
  nsbox start "$id"
  wait_for "the container process to log" grep -q '^process|' "$HLOG"
  assert_eq "$(hook_names | sed 's/ process//')" \
    "prestart1 prestart2 createRuntime createContainer startContainer poststart" "hooks run by start"
  assert_contains "$(hook_names)" "startContainer process" "startContainer runs before the process"
  nsbox kill "$id" KILL
  wait_for "container to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
  assert_not_contains "$(hook_names)" poststop "poststop before delete"
  nsbox delete "$id"
  assert_eq "$(hook_names | sed 's/ process//')" \
    "prestart1 prestart2 createRuntime createContainer startContainer poststart poststop" "hooks after delete"
  assert_no_leftovers "$id"

  local h st bundle
  bundle=$(realpath "$b")
  for h in prestart1 prestart2 createRuntime createContainer startContainer poststart poststop; do
    assert_eq "$(hook_field $h 2)" "$h $HLOG extra arg" "args of the $h hook"
    assert_eq "$(hook_field $h 3)" "value of $h" "env of the $h hook"
    st=$(hook_state $h)
    assert_eq "$(jq -r .id <<<"$st")" "$id" "state.id given to $h"
    assert_eq "$(jq -r .bundle <<<"$st")" "$bundle" "state.bundle given to $h"
    assert_eq "$(jq -r .ociVersion <<<"$st")" "$(jq -r .ociVersion "$b/config.json")" "state.ociVersion given to $h"
    case $h in
      poststop) ;;
      # Run in the container: the pid as the container sees it (runc's), here pid 1 of its
      # own pid namespace.
      createContainer | startContainer) assert_eq "$(jq -r .pid <<<"$st")" 1 "state.pid given to $h" ;;
      *) assert_eq "$(jq -r .pid <<<"$st")" "$pid" "state.pid given to $h" ;;
    esac
  done
  # The statuses runc gives: creating until the container waits for start, created then.
  for h in prestart1 prestart2 createRuntime createContainer; do
    assert_eq "$(jq -r .status <<<"$(hook_state $h)")" creating "state.status given to $h"
  done
  assert_eq "$(jq -r .status <<<"$(hook_state startContainer)")" created "state.status given to startContainer"
  assert_eq "$(jq -r .status <<<"$(hook_state poststart)")" running "state.status given to poststart"
  assert_eq "$(jq -r .status <<<"$(hook_state poststop)")" stopped "state.status given to poststop"

  # Namespaces: the runtime's for prestart, createRuntime, poststart and poststop; the
  # container's mount (and pid) namespace for createContainer and startContainer.
  host_mnt=$(readlink /proc/self/ns/mnt)
  host_pid=$(readlink /proc/self/ns/pid)
  for h in prestart1 prestart2 createRuntime poststart poststop; do
    assert_eq "$(hook_field $h 4)" "$host_mnt" "mount namespace of the $h hook"
    assert_eq "$(hook_field $h 5)" "$host_pid" "pid namespace of the $h hook"
  done
  for h in createContainer startContainer; do
    assert_ne "$(hook_field $h 4)" "$host_mnt" "mount namespace of the $h hook"
    assert_ne "$(hook_field $h 5)" "$host_pid" "pid namespace of the $h hook"
  done
  assert_eq "$(hook_field createContainer 4)" "$(hook_field startContainer 4)" \
    "createContainer and startContainer share the container's mount namespace"
}

test_hooks_container_namespace_matches_container_process() {
  hook_setup
  local b id pid
  b=$(make_bundle b sleep 100)
  edit_config "$b" '.hooks = {createRuntime: [$cr], createContainer: [$cc]}' \
    --argjson cr "$(hook_entry createRuntime)" --argjson cc "$(hook_entry createContainer)"
  id=$(cid ns)
  nsbox create --bundle "$b" "$id"
  pid=$(nsbox state "$id" | jq -r .pid)
  assert_eq "$(hook_field createContainer 4)" "$(readlink /proc/"$pid"/ns/mnt)" \
    "createContainer runs in the container's mount namespace"
  assert_eq "$(hook_field createContainer 5)" "$(readlink /proc/"$pid"/ns/pid)" \
    "createContainer runs in the container's pid namespace"
  assert_eq "$(hook_field createRuntime 4)" "$(readlink /proc/self/ns/mnt)" \
    "createRuntime runs in the runtime's mount namespace"
  assert_ne "$(readlink /proc/"$pid"/ns/mnt)" "$(readlink /proc/self/ns/mnt)" "container mount namespace"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

test_hooks_poststop_runs_when_run_ends() {
  hook_setup
  local b
  b=$(make_bundle b true)
  edit_config "$b" '.hooks = {poststart: [$ps], poststop: [$pst]}' \
    --argjson ps "$(hook_entry poststart)" --argjson pst "$(hook_entry poststop)"
  nsbox run --bundle "$b" "$(cid run)"
  assert_eq "$(hook_names)" "poststart poststop" "hooks of nsbox run"
  assert_no_leftovers "$(cid run)"
}

test_hook_timeout_kills_hook_and_fails_create() {
  hook_setup
  local kind b id t0 elapsed marker
  for kind in prestart createRuntime createContainer; do
    marker="0.$$${#kind}"
    cat >"$TEST_TMP/slow-$kind.sh" <<EOF
#!/bin/sh
echo started >>"$HLOG"
exec sleep 600 $marker
EOF
    chmod 755 "$TEST_TMP/slow-$kind.sh"
    b=$(make_bundle "b$kind" true)
    edit_config "$b" '.hooks = {($k): [{path: $p, timeout: 1}]}' --arg k "$kind" --arg p "$TEST_TMP/slow-$kind.sh"
    id=$(cid "timeout-$kind")
    t0=$(date +%s)
    expect_fail "timed out" nsbox create --bundle "$b" "$id"
    elapsed=$(($(date +%s) - t0))
    [ "$elapsed" -lt 10 ] || fail "create with a 1 s $kind hook timeout took ${elapsed}s"
    assert_contains "$ERR" "$kind" "error names the hook kind"
    grep -q started "$HLOG" || fail "the $kind hook never ran"
    : >"$HLOG"
    wait_for "the timed-out $kind hook to be gone" sh -c "! pgrep -f 'slee[p] 600 $marker'"
    assert_no_leftovers "$id"
    assert_no_host_mounts
  done
}

test_hook_within_timeout_succeeds() {
  hook_setup
  local b id
  b=$(make_bundle b true)
  edit_config "$b" '.hooks = {prestart: [$h + {timeout: 30}]}' --argjson h "$(hook_entry prestart)"
  id=$(cid ok)
  nsbox create --bundle "$b" "$id"
  assert_eq "$(hook_names)" prestart "hooks run"
  nsbox delete --force "$id"
}

test_failing_create_hooks_fail_create() {
  hook_setup
  local kind b id
  printf '#!/bin/sh\nexit 3\n' >"$TEST_TMP/fail.sh"
  chmod 755 "$TEST_TMP/fail.sh"
  for kind in prestart createRuntime createContainer; do
    b=$(make_bundle "b$kind" true)
    # The failing hook comes first: the one after it must not run.
    edit_config "$b" '.hooks = {($k): [{path: $f}, $h]}' --arg k "$kind" --arg f "$TEST_TMP/fail.sh" \
      --argjson h "$(hook_entry after)"
    id=$(cid "fail-$kind")
    expect_fail "status 3" nsbox create --bundle "$b" "$id"
    assert_eq "$(hook_names)" "" "hooks run after a failing $kind hook"
    assert_no_leftovers "$id"
  done
}

test_failing_start_container_hook_fails_start() {
  hook_setup
  local b id root=$TEST_TMP/rootfs
  cp -a "$(shared_rootfs)" "$root"
  printf '#!/bin/sh\nexit 4\n' >"$root/fail.sh"
  chmod 755 "$root/fail.sh"
  b=$(make_bundle b sh -c 'echo PROCESS-RAN')
  edit_config "$b" '.root.path = $r | .hooks = {startContainer: [{path: "/fail.sh"}]}' --arg r "$root"
  id=$(cid failstart)
  nsbox create --bundle "$b" "$id"
  expect_fail "status 4" nsbox start "$id"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

# Per the runtime spec a failing poststart or poststop hook is only a warning: the hooks
# after it still run and the lifecycle goes on.
test_failing_poststart_hook_only_warns() {
  hook_setup
  local b id
  printf '#!/bin/sh\nexit 5\n' >"$TEST_TMP/fail.sh"
  chmod 755 "$TEST_TMP/fail.sh"
  b=$(make_bundle b sleep 100)
  edit_config "$b" '.hooks = {poststart: [{path: $f}, $ps]}' \
    --arg f "$TEST_TMP/fail.sh" --argjson ps "$(hook_entry poststart)"
  id=$(cid warn)
  nsbox create --bundle "$b" "$id"
  nsbox start "$id" 2>"$TEST_TMP/start.err" || fail "start failed on a failing poststart hook: $(cat "$TEST_TMP/start.err")"
  assert_eq "$(status_of "$id")" running "status after a failing poststart hook"
  assert_contains "$(cat "$TEST_TMP/start.err")" "status 5" "warning about the failing poststart hook"
  assert_eq "$(hook_names)" "poststart" "poststart hooks after a failing one"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

test_failing_poststop_hook_only_warns() {
  hook_setup
  local b id
  printf '#!/bin/sh\nexit 5\n' >"$TEST_TMP/fail.sh"
  chmod 755 "$TEST_TMP/fail.sh"
  b=$(make_bundle b true)
  edit_config "$b" '.hooks = {poststop: [{path: $f}, $pst]}' \
    --arg f "$TEST_TMP/fail.sh" --argjson pst "$(hook_entry poststop)"
  id=$(cid warn)
  nsbox create --bundle "$b" "$id"
  nsbox start "$id"
  wait_for "container to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
  nsbox delete "$id" 2>"$TEST_TMP/delete.err" || fail "delete failed on a failing poststop hook: $(cat "$TEST_TMP/delete.err")"
  assert_contains "$(cat "$TEST_TMP/delete.err")" "status 5" "warning about the failing poststop hook"
  assert_no_leftovers "$id"
  assert_eq "$(hook_names)" "poststop" "poststop hooks after a failing one"
}
