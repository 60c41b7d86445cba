# The systemd cgroup driver (--systemd-cgroup), against a real systemd as pid 1: the scope
# unit that holds a container, its limits as systemd shows them, update, the names engines
# send (slice:prefix:name), org.systemd.property.* annotations, the verbs after create
# without the flag (podman passes it only at create), and nothing left: no unit, no cgroup,
# also after a kill of nsbox during create and after a unit that failed on its own. Skipped
# where systemd is not pid 1 (the development host); run by the systemd guest of tests/vm.
# The same lifecycle, cgroups and exec tests also run there with the driver
# (NSBOX_TEST_CGROUP_DRIVER=systemd).
# shellcheck disable=SC2016  # jq filters are literal

# --- helpers (not tests) -----------------------------------------------------------------

sd_needed() {
  [ -d /run/systemd/system ] || skip "systemd is not pid 1 here (the systemd guest of tests/vm runs these tests)"
  command -v systemctl >/dev/null || skip "systemctl is missing"
}

# sd ARGS...: nsbox with the systemd driver and this test's state root.
sd() { "$NSBOX" --root "$TEST_ROOT" --systemd-cgroup "$@"; }

# sd_prop UNIT PROPERTY: the property's value as systemctl shows it.
sd_prop() { systemctl show -p "$2" --value "$1"; }

# sd_unit_gone UNIT: systemd knows no unit of that name (not even a failed or inactive one).
sd_unit_gone() {
  local u
  u=$(systemctl list-units --all --plain --no-legend "$1" 2>/dev/null)
  [ -z "$u" ] || fail "unit left behind: $u"
}

# sd_bundle NAME CMD...: a bundle running CMD, with a cgroup namespace (systemd delegates).
sd_bundle() {
  local b
  b=$(make_bundle "$@")
  echo "$b"
}

# sd_cgroup PID: PID's cgroup (v2 line of /proc/PID/cgroup).
sd_cgroup() { awk -F: '$1 == "0" { print $3 }' "/proc/$1/cgroup"; }

# --- tests ---------------------------------------------------------------------------------

test_systemd_scope_holds_the_container() {
  sd_needed
  local b id pid unit
  b=$(sd_bundle b sleep 1000)
  id=$(cid scope)
  unit=nsbox-$id.scope
  sd run -d --bundle "$b" "$id" || fail "run -d with --systemd-cgroup"
  pid=$(nsbox state "$id" | jq -r .pid)
  assert_eq "$(sd_prop "$unit" ActiveState)" active "ActiveState of $unit"
  assert_eq "$(sd_prop "$unit" ControlGroup)" "/system.slice/$unit" "ControlGroup of $unit"
  assert_eq "$(sd_cgroup "$pid")" "/system.slice/$unit" "the init's cgroup"
  assert_eq "$(sd_prop "$unit" Delegate)" yes "Delegate"
  assert_eq "$(sd_prop "$unit" Slice)" system.slice "Slice"
  assert_contains "$(systemctl status "$unit" --no-pager 2>&1)" "$pid" "systemctl status lists the init"
  assert_eq "$(nsbox state "$id" | jq -r .status)" running "status"
  sd delete --force "$id"
  sd_unit_gone "$unit"
  assert_no_leftovers "$id"
}

test_systemd_limits_follow_config_and_update() {
  sd_needed
  local b id pid unit cg
  b=$(sd_bundle b sleep 1000)
  edit_config "$b" '.linux.resources += {memory: {limit: 67108864}, pids: {limit: 50},
    cpu: {quota: 50000, period: 100000, shares: 512}}'
  id=$(cid limits)
  unit=nsbox-$id.scope
  sd run -d --bundle "$b" "$id" || fail "run -d"
  pid=$(nsbox state "$id" | jq -r .pid)
  cg=/sys/fs/cgroup$(sd_cgroup "$pid")
  assert_eq "$(sd_prop "$unit" MemoryMax)" 67108864 "MemoryMax"
  assert_eq "$(cat "$cg/memory.max")" 67108864 "memory.max"
  assert_eq "$(sd_prop "$unit" TasksMax)" 50 "TasksMax"
  assert_eq "$(cat "$cg/pids.max")" 50 "pids.max"
  assert_eq "$(sd_prop "$unit" CPUQuotaPerSecUSec)" 500ms "CPUQuotaPerSecUSec"
  assert_eq "$(cat "$cg/cpu.max")" "50000 100000" "cpu.max"
  # update: systemd's property and the cgroup follow; later verbs need no flag.
  "$NSBOX" --root "$TEST_ROOT" update --memory 134217728 --pids-limit 60 "$id" || fail "update"
  assert_eq "$(sd_prop "$unit" MemoryMax)" 134217728 "MemoryMax after update"
  assert_eq "$(cat "$cg/memory.max")" 134217728 "memory.max after update"
  assert_eq "$(sd_prop "$unit" TasksMax)" 60 "TasksMax after update"
  # A daemon-reload must not undo them (systemd writes its own idea back).
  systemctl daemon-reload
  assert_eq "$(cat "$cg/memory.max")" 134217728 "memory.max after daemon-reload"
  "$NSBOX" --root "$TEST_ROOT" delete --force "$id"
  sd_unit_gone "$unit"
  assert_no_leftovers "$id"
}

test_systemd_names_engines_send() {
  sd_needed
  local b id n pid
  b=$(sd_bundle b sleep 1000)
  n=0
  for spec in "machine.slice:libpod:%s|libpod-%s.scope|/machine.slice/libpod-%s.scope" \
    "nsbxt-a-b.slice:cri-containerd:%s|cri-containerd-%s.scope|/nsbxt.slice/nsbxt-a.slice/nsbxt-a-b.slice/cri-containerd-%s.scope" \
    "system.slice:docker:%s|docker-%s.scope|/system.slice/docker-%s.scope"; do
    n=$((n + 1))
    id=$(cid "name$n")
    IFS='|' read -r path unit cgroup <<<"$spec"
    # shellcheck disable=SC2059  # the specs are format strings
    path=$(printf "$path" "$id")
    # shellcheck disable=SC2059
    unit=$(printf "$unit" "$id")
    # shellcheck disable=SC2059
    cgroup=$(printf "$cgroup" "$id")
    edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$path"
    sd run -d --bundle "$b" "$id" || fail "run -d with cgroupsPath $path"
    pid=$(nsbox state "$id" | jq -r .pid)
    assert_eq "$(sd_cgroup "$pid")" "$cgroup" "cgroup for cgroupsPath $path"
    assert_eq "$(sd_prop "$unit" ActiveState)" active "unit $unit"
    "$NSBOX" --root "$TEST_ROOT" delete --force "$id"
    sd_unit_gone "$unit"
  done
  # The slices nsbox had systemd make for the nested path go when empty (systemd's rule);
  # stop them if not, so that the host is left as found.
  systemctl stop nsbxt.slice 2>/dev/null || true
  # Errors in runc's words, and nothing made.
  id=$(cid bad)
  edit_config "$b" '.linux.cgroupsPath = "/nsbox/x"'
  expect_fail 'expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "/nsbox/x" instead' \
    sd create --bundle "$b" "$id"
  edit_config "$b" '.linux.cgroupsPath = "bad--a.slice:p:x"'
  expect_fail "invalid slice name: bad--a.slice" sd create --bundle "$b" "$id"
  assert_no_leftovers "$id"
}

test_systemd_annotations_become_properties() {
  sd_needed
  local b id unit
  b=$(sd_bundle b sleep 1000)
  edit_config "$b" '.annotations += {"org.systemd.property.TimeoutStopSec": "7",
    "org.systemd.property.CollectMode": "'"'"'inactive-or-failed'"'"'"}'
  id=$(cid ann)
  unit=nsbox-$id.scope
  sd run -d --bundle "$b" "$id" || fail "run -d with annotations"
  assert_eq "$(sd_prop "$unit" TimeoutStopUSec)" 7s "TimeoutStopUSec from TimeoutStopSec"
  assert_eq "$(sd_prop "$unit" CollectMode)" inactive-or-failed "CollectMode"
  sd delete --force "$id"
  sd_unit_gone "$unit"
  edit_config "$b" '.annotations = {"org.systemd.property.A1": "1"}'
  expect_fail "annotation org.systemd.property.A1 name incorrect: too short" sd create --bundle "$b" "$id"
  edit_config "$b" '.annotations = {"org.systemd.property.RuntimeMaxSec": "'"'"'x'"'"'"}'
  expect_fail "value parse error: not a number" sd create --bundle "$b" "$id"
  assert_no_leftovers "$id"
}

# podman passes --systemd-cgroup only at create: every later verb finds the driver in the
# state. exec joins the scope, pause freezes it, ps and events read it.
test_systemd_verbs_after_create_without_the_flag() {
  sd_needed
  local b id unit pid epid
  b=$(sd_bundle b sleep 1000)
  id=$(cid verbs)
  unit=nsbox-$id.scope
  sd create --bundle "$b" "$id" || fail "create"
  "$NSBOX" --root "$TEST_ROOT" start "$id" || fail "start without the flag"
  pid=$(nsbox state "$id" | jq -r .pid)
  "$NSBOX" --root "$TEST_ROOT" exec -d --pid-file "$TEST_TMP/exec.pid" "$id" sleep 999 || fail "exec -d"
  epid=$(cat "$TEST_TMP/exec.pid")
  assert_eq "$(sd_cgroup "$epid")" "/system.slice/$unit" "the exec'd process's cgroup"
  assert_contains "$("$NSBOX" --root "$TEST_ROOT" ps --format json "$id")" "$epid" "ps lists the exec'd process"
  "$NSBOX" --root "$TEST_ROOT" pause "$id" || fail "pause"
  assert_eq "$(nsbox state "$id" | jq -r .status)" paused "status after pause"
  "$NSBOX" --root "$TEST_ROOT" resume "$id" || fail "resume"
  "$NSBOX" --root "$TEST_ROOT" events --stats "$id" | jq -e '.data.pids.current >= 2' >/dev/null ||
    fail "events --stats"
  "$NSBOX" --root "$TEST_ROOT" kill --all "$id" KILL || fail "kill --all"
  wait_for "the container to stop" sh -c "[ \"\$('$NSBOX' --root '$TEST_ROOT' state '$id' | jq -r .status)\" = stopped ]"
  "$NSBOX" --root "$TEST_ROOT" delete "$id" || fail "delete without the flag"
  sd_unit_gone "$unit"
  assert_no_leftovers "$id"
  [ -e "/proc/$pid" ] && fail "the container's init outlived delete"
  true
}

# runc's "delete removes failed systemd unit": a scope that systemd itself stopped as failed
# (RuntimeMaxSec) must not outlive the container's delete.
test_systemd_failed_unit_is_reset_by_delete() {
  sd_needed
  local b id unit
  b=$(sd_bundle b sleep 1000)
  edit_config "$b" '.annotations += {"org.systemd.property.RuntimeMaxSec": "1"}'
  id=$(cid failed)
  unit=nsbox-$id.scope
  sd run -d --bundle "$b" "$id" || fail "run -d"
  wait_for "systemd to stop $unit" sh -c "[ \"\$(systemctl show -p ActiveState --value $unit)\" != active ]"
  "$NSBOX" --root "$TEST_ROOT" delete --force "$id" || fail "delete --force"
  sd_unit_gone "$unit"
  assert_no_leftovers "$id"
}

# A SIGKILL of nsbox at any point of create, then delete --force: no unit, no cgroup.
test_systemd_killed_create_then_delete_force_leaves_no_unit() {
  sd_needed
  local b id i delay
  b=$(sd_bundle b sleep 1000)
  for i in $(seq 12); do
    id=$(cid "k$i")
    delay=$(awk -v i="$i" 'BEGIN { printf "%.4f", 0.002 * i * i / 4 }')
    timeout -s KILL "$delay" "$NSBOX" --root "$TEST_ROOT" --systemd-cgroup create --bundle "$b" "$id" >/dev/null 2>&1 || true
    "$NSBOX" --root "$TEST_ROOT" delete --force "$id" || fail "delete --force after a kill at ${delay}s"
    sd_unit_gone "nsbox-$id.scope"
    assert_no_leftovers "$id"
  done
}
