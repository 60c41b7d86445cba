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
