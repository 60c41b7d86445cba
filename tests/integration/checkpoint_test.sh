# shellcheck shell=bash
# checkpoint (CRIU), as runc does it: the flags' checks and error texts before CRIU is asked
# anything, the probes engines make, and, where `criu check` passes (Debian's CRIU 3.17 on a
# kernel before 6.13: the cgroup v2 guest), a real dump: the images, descriptors.json, the
# container gone afterwards (or still running with --leave-running), pre-dumps.
# shellcheck disable=SC2016  # container scripts are literal

# cp_bundle NAME: a busybox container counting in a loop, its stdio on its own /dev/null (CRIU
# dumps no file of a mount outside the container: the host's /dev/null `run -d </dev/null` gives
# it is one; engines give pipes or a terminal, restored through descriptors.json).
cp_bundle() { make_bundle "nsbox-leftover-marker-$(cid "$1")" sh -c 'exec </dev/null >/dev/null 2>&1; i=0; while :; do i=$((i+1)); sleep 0.1; done'; }

# criu_works: skip unless CRIU can dump here. (`criu check` also asks for what nsbox's dumps do
# not use, tun devices, veth pairs made by CRIU, iptables: it is no gate.)
criu_works() {
  command -v criu >/dev/null || skip "criu is not installed (apt-get install criu)"
  local have k
  have=$(criu --version | awk '/^Version:/ {split($2, v, "."); print v[1] * 10000 + v[2] * 100 + v[3]}')
  k=$(uname -r | awk -F. '{print $1 * 100 + $2}')
  if [ "$k" -ge 613 ] && [ "${have:-0}" -lt 40100 ]; then
    skip "CRIU $(criu --version | awk '/^Version:/ {print $2}') cannot dump on kernel $(uname -r) (kernels from 6.13 need CRIU 4.1; the cgroup v2 guest runs Debian's 6.1)"
  fi
}

test_engines_probes() {
  # podman: `checkpoint --help` exits 0; `restore --lsm-mount-context` without its value says
  # "flag needs an argument" (runc's words), which is how podman tells the flag is known.
  "$NSBOX" checkpoint --help >/dev/null || fail "checkpoint --help failed"
  expect_fail "flag needs an argument" "$NSBOX" restore --lsm-mount-context
}

test_checkpoint_checks_its_flags_first() {
  local b id
  b=$(cp_bundle flags)
  id=$(cid flags)
  nsbox run -d --bundle "$b" "$id" </dev/null
  expect_fail "--parent-path must be relative" nsbox checkpoint --image-path "$TEST_TMP/img" --parent-path /abs "$id"
  expect_fail "invalid --parent-path: stat $TEST_TMP/img/nope" nsbox checkpoint --image-path "$TEST_TMP/img" --parent-path nope "$id"
  expect_fail "Use --page-server ADDRESS:PORT to specify page server" nsbox checkpoint --image-path "$TEST_TMP/img" --page-server nowhere "$id"
  expect_fail "Invalid port number" nsbox checkpoint --image-path "$TEST_TMP/img" --page-server host:port "$id"
  expect_fail 'namespace "pid" is not supported' nsbox checkpoint --image-path "$TEST_TMP/img" --empty-ns pid "$id"
  expect_fail "invalid manage-cgroups-mode value" nsbox checkpoint --image-path "$TEST_TMP/img" --manage-cgroups-mode some "$id"
  expect_fail "unknown network lock method specified" nsbox checkpoint --image-path "$TEST_TMP/img" --network-lock pf "$id"
  expect_fail "expected 1 argument" nsbox checkpoint
  # No CRIU to be found: what to install.
  expect_fail "criu not found: install Debian's criu" env PATH=/nonexistent "$NSBOX" --root "$TEST_ROOT" checkpoint --image-path "$TEST_TMP/img" "$id"
  # Nothing of that touched the container.
  assert_eq "$(status_of "$id")" running
  nsbox delete --force "$id"
  expect_fail "does not exist" nsbox checkpoint --image-path "$TEST_TMP/img" "$id"
  assert_no_leftovers "$id"
}

test_checkpoint_refuses_created_and_stopped() {
  local b id
  b=$(make_bundle "nsbox-leftover-marker-$(cid states)" true)
  id=$(cid states)
  nsbox create --bundle "$b" "$id" </dev/null
  expect_fail "Container cannot be checkpointed in created state" nsbox checkpoint --image-path "$TEST_TMP/img" "$id"
  nsbox start "$id"
  wait_for "the container to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
  expect_fail "Container cannot be checkpointed in stopped state" nsbox checkpoint --image-path "$TEST_TMP/img" "$id"
  nsbox delete "$id"
  assert_no_leftovers "$id"
}

test_checkpoint_dumps_and_the_container_goes() {
  local b id pid
  criu_works
  b=$(cp_bundle dump)
  id=$(cid dump)
  nsbox run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1
  pid=$(nsbox state "$id" | jq -r .pid)
  nsbox checkpoint --image-path "$TEST_TMP/img" --work-path "$TEST_TMP/work" "$id" 2>"$TEST_TMP/cp.err" ||
    fail "checkpoint failed: $(cat "$TEST_TMP/cp.err")"
  [ -f "$TEST_TMP/img/inventory.img" ] || fail "no inventory.img: $(ls "$TEST_TMP/img")"
  assert_eq "$(jq -r 'length' "$TEST_TMP/img/descriptors.json")" 3 "descriptors.json"
  [ -f "$TEST_TMP/work/dump.log" ] || fail "no dump.log in the work path"
  [ ! -e "/proc/$pid" ] || [ "$(awk '{print $3}' "/proc/$pid/stat")" = Z ] || fail "the container's process $pid is still there"
  expect_fail "does not exist" nsbox state "$id"
  assert_no_leftovers "$id"
}

test_checkpoint_leave_running_and_pre_dump() {
  local b id pid
  criu_works
  b=$(cp_bundle keep)
  id=$(cid keep)
  nsbox run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1
  pid=$(nsbox state "$id" | jq -r .pid)
  nsbox checkpoint --pre-dump --image-path "$TEST_TMP/img/pre" "$id" 2>"$TEST_TMP/cp.err" ||
    fail "pre-dump failed: $(cat "$TEST_TMP/cp.err")"
  assert_eq "$(status_of "$id")" running "status after a pre-dump"
  nsbox checkpoint --leave-running --image-path "$TEST_TMP/img/final" --parent-path ../pre "$id" 2>"$TEST_TMP/cp.err" ||
    fail "checkpoint after the pre-dump failed: $(cat "$TEST_TMP/cp.err")"
  [ -e "$TEST_TMP/img/final/parent" ] || fail "no parent link in the final images"
  assert_eq "$(status_of "$id")" running "status after --leave-running"
  assert_eq "$(nsbox state "$id" | jq -r .pid)" "$pid" "the pid after --leave-running"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}
