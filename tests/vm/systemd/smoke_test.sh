# Smoke tests of the systemd guest (tests/vm/systemd-guest.sh), run with
# tests/integration/run_one.sh like the integration tests: the machine booted systemd as pid 1
# on pure cgroup v2 with D-Bus, and the engines' systemd cgroup managers work there without
# nsbox: runc --systemd-cgroup, podman --cgroup-manager=systemd (with crun, podman's default)
# and containerd's runc shim with SystemdCgroup. They skip outside a systemd machine.

# The umoci-built OCI image and the private containerd of the containerd engine tests.
# shellcheck source=../../integration/engine_containerd_test.sh
source "$SRC_DIR/tests/integration/engine_containerd_test.sh"

need_systemd() {
  [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || skip "pid 1 is not systemd (run in tests/vm/systemd-guest.sh)"
  command -v systemctl >/dev/null || skip "systemctl is not installed"
}

# wait_long SECONDS DESC CMD...: poll CMD for up to SECONDS (wait_for's 5 s is short for
# engines under emulation).
wait_long() {
  local secs=$1 desc=$2 i
  shift 2
  for ((i = 0; i < secs * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "timed out after ${secs}s waiting for $desc"
}

# note MSG: a progress line with the guest's uptime (in the test's log).
note() { echo "[$(cut -d' ' -f1 /proc/uptime)] $*"; }

# scope_active UNIT: for wait_long.
scope_active() { [ "$(systemctl is-active "$1" 2>/dev/null)" = active ]; }
scope_gone() { ! scope_active "$1"; }

# cgroup_of PID: the cgroup v2 path of PID.
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }

# assert_scope UNIT PID: UNIT is an active transient scope that systemd shows with PID in it,
# and PID's cgroup is UNIT's (or below it).
assert_scope() {
  local unit=$1 pid=$2 st cg
  st=$(systemctl status --no-pager --lines=0 "$unit" 2>&1) || fail "systemctl status $unit failed: [$st]"
  assert_contains "$st" "Active: active (running)" "systemctl status $unit"
  assert_contains "$st" "transient" "systemctl status $unit (a transient unit)"
  assert_contains "$st" "$pid " "systemctl status $unit lists pid $pid"
  cg=$(systemctl show -P ControlGroup "$unit")
  assert_contains "$(cgroup_of "$pid")/" "$cg/" "cgroup of pid $pid in $unit"
  echo "$st"
}

test_systemd_is_running_with_dbus() {
  need_systemd
  local state
  state=$(timeout 120 systemctl is-system-running --wait 2>&1) || true
  case $state in
    running) ;;
    degraded) echo "degraded; failed units: $(systemctl list-units --failed --plain --no-legend --no-pager | awk '{printf "%s ", $1}')" ;;
    *) fail "systemctl is-system-running --wait: [$state]; jobs: $(systemctl list-jobs --no-pager 2>&1)" ;;
  esac
  assert_eq "$(systemctl is-active dbus.service)" active "dbus.service"
  # systemd's manager over the system bus, as sd-bus clients (runc, podman, nsbox) reach it.
  local v
  v=$(busctl --system get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
    org.freedesktop.systemd1.Manager Version 2>&1) || fail "busctl get-property Version: [$v]"
  assert_contains "$v" 's "252' "systemd's version over D-Bus"
  [ -S /run/dbus/system_bus_socket ] || fail "no /run/dbus/system_bus_socket"
  v=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId 2>&1) ||
    fail "busctl call org.freedesktop.DBus GetId: [$v]"
}

test_cgroup2_is_the_only_hierarchy() {
  need_systemd
  assert_eq "$(stat -f -c %T /sys/fs/cgroup)" cgroup2fs "file system type of /sys/fs/cgroup"
  local mounts
  mounts=$(awk '$3 ~ /^cgroup/ {printf "%s:%s ", $3, $2}' /proc/self/mounts)
  assert_eq "$mounts" "cgroup2:/sys/fs/cgroup " "cgroup mounts"
  assert_eq "$(wc -l </proc/self/cgroup)" 1 "lines of /proc/self/cgroup [$(cat /proc/self/cgroup)]"
  assert_contains "$(cat /proc/self/cgroup)" "0::/" "/proc/self/cgroup"
  assert_contains " $(cat /proc/cmdline) " " systemd.unified_cgroup_hierarchy=1 " "kernel command line"
  local c ctrl
  ctrl=" $(cat /sys/fs/cgroup/cgroup.controllers) "
  for c in cpu io memory pids; do assert_contains "$ctrl" " $c " "root cgroup.controllers"; done
  # systemd itself is in its own cgroup of the unified tree.
  assert_eq "$(cgroup_of 1)" /init.scope "cgroup of pid 1"
}

test_runc_systemd_cgroup_scope() {
  need_systemd
  command -v runc >/dev/null || skip "runc is not installed"
  local id=nsbox-smoke-$$ b=$TEST_TMP/runc-bundle root=$TEST_TMP/runc-root
  local unit=runc-$id.scope
  mkdir -p "$b" "$root"
  (cd "$b" && runc spec) || fail "runc spec failed"
  edit_config "$b" '.root.path = $root | .process.terminal = false | .process.args = ["sleep", "1000"]
    | .linux.cgroupsPath = $cg | .linux.resources.memory.limit = 67108864 | .linux.resources.pids.limit = 99' \
    --arg root "$(shared_rootfs)" --arg cg "system.slice:runc:$id"
  at_exit "runc --root '$root' --systemd-cgroup delete --force '$id' >/dev/null 2>&1"
  note "runc --systemd-cgroup run -d $id"
  runc --root "$root" --systemd-cgroup run -d --bundle "$b" "$id" </dev/null >"$TEST_TMP/runc.out" 2>&1 ||
    fail "runc --systemd-cgroup run -d failed: $(cat "$TEST_TMP/runc.out")"
  local pid
  pid=$(runc --root "$root" state "$id" | jq -r .pid)
  [ "${pid:-0}" -gt 0 ] || fail "no pid in runc state $id"
  note "running as pid $pid"
  assert_scope "$unit" "$pid"
  assert_eq "$(cgroup_of "$pid")" "/system.slice/$unit" "cgroup of the container"
  # The resources went to systemd as unit properties, and from there to the cgroup.
  assert_eq "$(systemctl show -P MemoryMax "$unit")" 67108864 "MemoryMax of $unit"
  assert_eq "$(systemctl show -P TasksMax "$unit")" 99 "TasksMax of $unit"
  assert_eq "$(cat "/sys/fs/cgroup/system.slice/$unit/memory.max")" 67108864 "memory.max"
  assert_eq "$(cat "/sys/fs/cgroup/system.slice/$unit/pids.max")" 99 "pids.max"
  note "runc kill"
  runc --root "$root" kill "$id" KILL || fail "runc kill failed"
  wait_long 30 "the container to stop" sh -c "runc --root '$root' state '$id' | jq -e '.status == \"stopped\"'"
  note "runc delete"
  runc --root "$root" --systemd-cgroup delete "$id" || fail "runc delete failed"
  wait_long 30 "$unit to go" scope_gone "$unit"
  note "done"
  [ ! -d "/sys/fs/cgroup/system.slice/$unit" ] || fail "the cgroup of $unit is left"
}

# pm ARGS...: podman with this test's storage, run root and temp dir, systemd cgroup manager.
pm() {
  podman --root "$PM/storage" --runroot "$PM/run" --tmpdir "$PM/tmp" --storage-driver overlay \
    --cgroup-manager=systemd --events-backend file "$@"
}

test_podman_systemd_cgroup_manager() {
  need_systemd
  command -v podman >/dev/null || skip "podman is not installed"
  command -v umoci >/dev/null || skip "umoci is not installed"
  PM=$TEST_TMP/podman
  mkdir -p "$PM/tmp"
  at_exit 'pm rm -a -f -t 0 >/dev/null 2>&1; pm rmi -a -f >/dev/null 2>&1'
  local archive out img=localhost/nsbox-smoke:latest
  note "umoci image"
  archive=$(ctrd_image_archive)
  note "podman load"
  out=$(pm load -i "$archive" 2>&1) || fail "podman load of the umoci image failed: [$out]"
  local loaded=${out##*Loaded image: }
  loaded=${loaded%%[[:space:]]*}
  pm tag "$loaded" "$img" || fail "podman tag $loaded failed"
  note "podman run --rm"
  out=$(pm run --rm --network none "$img" sh -c 'echo hi from $(hostname); cat /proc/self/cgroup' 2>&1) ||
    fail "podman --cgroup-manager=systemd run --rm failed: [$out]"
  assert_contains "$out" "hi from" "output of podman run"
  local id pid
  note "podman run -d"
  id=$(pm run -d --network none "$img" sleep 1000) || fail "podman run -d failed"
  pid=$(pm inspect -f '{{.State.Pid}}' "$id")
  [ "${pid:-0}" -gt 0 ] || fail "no pid for podman container $id"
  assert_scope "libpod-$id.scope" "$pid"
  assert_contains "$(cgroup_of "$pid")" "/machine.slice/libpod-$id.scope" "cgroup of the container"
  echo "runtime: $(pm inspect -f '{{.OCIRuntime}}' "$id"); conmon's cgroup: $(cgroup_of "$(pm inspect -f '{{.State.ConmonPid}}' "$id")")"
  note "podman rm -f"
  pm rm -f -t 0 "$id" >/dev/null || fail "podman rm -f failed"
  wait_long 30 "libpod-$id.scope to go" scope_gone "libpod-$id.scope"
}

test_containerd_systemd_cgroup() {
  need_systemd
  # containerd's own, in $TEST_TMP (tests/integration/engine_containerd_test.sh), the image
  # imported from the umoci archive. `ctr run --runc-systemd-cgroup` sets the runc shim's
  # SystemdCgroup option (what CRI's SystemdCgroup = true sets), and the shim runs runc.
  note "containerd"
  ctrd_start
  note "ctr run -d"
  local id unit
  id=$(cid smoke)
  unit=ctrsmoke-$id.scope
  ctr_ok run -d --runc-root "$RUNC_ROOT" --runc-systemd-cgroup --cgroup "system.slice:ctrsmoke:$id" \
    "$CTRD_IMAGE" "$id" sleep 1000
  task_status "$id"
  assert_eq "$STATUS" RUNNING "task status after ctr run -d"
  assert_scope "$unit" "$TASK_PID"
  assert_eq "$(cgroup_of "$TASK_PID")" "/system.slice/$unit" "cgroup of the task"
  ctr_ok task exec --exec-id e1 "$id" sh -c 'echo exec-ok'
  assert_eq "$OUT" exec-ok "ctr task exec"
  note "ctr task kill"
  ctr_ok task kill -s SIGKILL "$id"
  wait_long 30 "the task to stop" task_is "$id" STOPPED
  ctr_ok task delete "$id"
  ctr_ok containers rm "$id"
  wait_long 30 "$unit to go" scope_gone "$unit"
}
