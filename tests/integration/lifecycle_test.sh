# The OCI lifecycle: create, start, state, kill, delete, run, list.

test_run_exit_code_is_the_containers() {
  local b
  b=$(make_bundle b sh -c 'exit 7')
  local rc=0
  nsbox run --bundle "$b" "$(cid run)" || rc=$?
  assert_eq "$rc" 7 "exit status of run"
  assert_no_leftovers "$(cid run)"
}

test_create_start_delete() {
  local b id
  b=$(make_bundle b sh -c 'echo started > /dev/shm/x; sleep 100')
  id=$(cid life)
  nsbox create --bundle "$b" "$id"
  assert_eq "$(status_of "$id")" created
  local pid
  pid=$(nsbox state "$id" | jq -r .pid)
  [ -d "/proc/$pid" ] || fail "no process $pid for a created container"
  nsbox start "$id"
  assert_eq "$(status_of "$id")" running
  nsbox kill "$id" KILL
  wait_for "container to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
  nsbox delete "$id"
  assert_no_leftovers "$id"
}

# `run` deletes what it created when the container exits; if the container was deleted by
# force meanwhile and a new one took its name, `run` must leave the new one alone.
test_run_leaves_a_new_container_of_the_same_name_alone() {
  local b id pid
  b=$(make_bundle b sleep 1000)
  id=$(cid same)
  # Not the nsbox function: $! must be the runtime itself, for kill -STOP.
  "$NSBOX" --root "$TEST_ROOT" run --bundle "$b" "$id" >/dev/null 2>&1 &
  pid=$!
  kill_at_exit "$pid"
  wait_for "the first container to run" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id 2>/dev/null | jq -r .status)\" = running ]"
  # Stopped, the run cannot notice its container's end before the new one exists.
  kill -STOP "$pid"
  nsbox delete --force "$id"
  nsbox create --bundle "$b" "$id"
  kill -CONT "$pid"
  local rc=0
  wait "$pid" || rc=$?
  assert_eq "$rc" 137 "exit status of the run whose container was killed"
  assert_eq "$(status_of "$id")" created "the new container after the old run ended"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}
