# The systemd cgroup driver (--systemd-cgroup) end to end on a host without systemd as pid 1:
# nsbox and its helper nsbox-systemd talk to systemd_mock (tests/integration/systemd_mock.cc,
# NSBOX_SYSTEMD_MOCK), a stand-in for systemd's manager on a private dbus-daemon, which logs
# every call with its arguments and does with the scope's cgroup what systemd does. Checked:
# names, property types, values and order, the order of the calls, the cgroups on the host,
# the error paths, and that nothing is left (no state, process, cgroup, or unit in the mock).
#
# Each test runs its case (mock_case_*) in a mount namespace of its own, where a tmpfs on
# /run/systemd holds the directory systemd's presence is checked by (/run/systemd/system),
# through run_one.sh again (its own state root, temp dir and cleanup); the host's
# /run/systemd is never touched. Each case uses a slice of its own (nsbxmock<pid>.slice).
# shellcheck disable=SC2016  # jq filters are literal

MOCK_TEST_SCRIPT=$(realpath "${BASH_SOURCE[0]}")

# --- helpers (not tests) -----------------------------------------------------------------

# mock_case FN: run FN in its own mount namespace with /run/systemd/system, as a test.
mock_case() {
  local fn=$1 rc=0 helper
  [ -x "${NSBOX_SYSTEMD_MOCK:-/nonexistent}" ] ||
    skip "NSBOX_SYSTEMD_MOCK does not name the systemd_mock tool (cmake --build build --target systemd_mock)"
  command -v dbus-daemon >/dev/null || skip "dbus-daemon is not installed (Debian package dbus-daemon)"
  command -v unshare >/dev/null || skip "unshare is not installed"
  helper=${NSBOX_SYSTEMD_HELPER:-$(dirname "$NSBOX")/nsbox-systemd}
  [ -x "$helper" ] || skip "no nsbox-systemd helper at $helper"
  unshare -m --propagation private bash -c '
    set -e
    if [ -d /run/systemd ]; then
      mount -t tmpfs -o mode=0755,size=1m nsbox-mock-run-systemd /run/systemd
    else
      mount -t tmpfs -o mode=0755,size=1m nsbox-mock-run /run
      mkdir /run/systemd
    fi
    mkdir /run/systemd/system
    exec bash "$1" "$2" "$3"' _ "$SRC_DIR/tests/integration/run_one.sh" "$MOCK_TEST_SCRIPT" "$fn" || rc=$?
  [ "$rc" -ne 77 ] || exit 77
  [ "$rc" -eq 0 ] || fail "$fn (in its mount namespace) exited $rc"
}

# mock_start: a private system bus and the mock owning org.freedesktop.systemd1 on it (their
# files in $MOCK: log, units.json, ctl/); DBUS_SYSTEM_BUS_ADDRESS points at it. They stop
# at exit, after every container left was deleted by force through them.
mock_start() {
  [ -d /run/systemd/system ] || fail "mock_start outside the mock's mount namespace"
  MOCK=$TEST_TMP/mock
  SLICE=nsbxmock$$.slice
  mkdir -p "$MOCK/ctl"
  cat >"$MOCK/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$MOCK/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow send_type="signal"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOF
  at_exit mock_teardown
  dbus-daemon --nofork --nopidfile --nosyslog --config-file="$MOCK/bus.conf" 2>"$MOCK/dbus.err" &
  MOCK_DBUS_PID=$!
  wait_for "the private bus" test -S "$MOCK/bus"
  export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$MOCK/bus
  "$NSBOX_SYSTEMD_MOCK" --log "$MOCK/log" --units "$MOCK/units.json" --control "$MOCK/ctl" \
    --ready "$MOCK/ready" 2>"$MOCK/mock.err" &
  MOCK_PID=$!
  wait_for "the mock to own org.freedesktop.systemd1" test -e "$MOCK/ready"
}

mock_dump() {
  [ -z "${MOCK_DUMPED:-}" ] && [ -n "${MOCK:-}" ] || return 0
  MOCK_DUMPED=1
  {
    echo "--- systemd_mock log ($MOCK/log) ---"
    cat "$MOCK/log" 2>/dev/null
    echo "--- systemd_mock units ---"
    cat "$MOCK/units.json" 2>/dev/null
    echo "--- systemd_mock stderr ---"
    cat "$MOCK/mock.err" 2>/dev/null
    echo "---"
  } >&2
}

# A failure shows the mock's log.
fail() {
  echo "FAIL: $*" >&2
  mock_dump
  exit 1
}

mock_teardown() {
  local id
  # rc: the exit status _cleanup (lib.sh) runs this hook with.
  [ "${rc:-0}" -eq 0 ] || [ "${rc:-0}" -eq 77 ] || mock_dump
  for id in $("$NSBOX" --root "$TEST_ROOT" list -q 2>/dev/null); do
    "$NSBOX" --root "$TEST_ROOT" delete --force "$id" >/dev/null 2>&1 || true
  done
  if [ -n "${MOCK_PID:-}" ]; then
    kill -TERM "$MOCK_PID" 2>/dev/null
    wait "$MOCK_PID" 2>/dev/null
    # Units the mock still had at exit: it stopped them (killed, cgroups removed).
    if [ -f "$MOCK/log" ] && tail -1 "$MOCK/log" | jq -e '.event == "exit" and (.units_left | length) > 0' >/dev/null; then
      echo "FAIL: units left in systemd (the mock) at the end: $(tail -1 "$MOCK/log" | jq -c .units_left)" >&2
      mock_dump
      rc=1
    fi
  fi
  if [ -n "${MOCK_DBUS_PID:-}" ]; then
    kill -TERM "$MOCK_DBUS_PID" 2>/dev/null
    wait "$MOCK_DBUS_PID" 2>/dev/null
  fi
  local left
  left=$(find /sys/fs/cgroup -maxdepth 7 -type d -name "nsbxmock$$*" 2>/dev/null | sort -r)
  if [ -n "$left" ]; then
    echo "FAIL: cgroups of the test's slice left: ${left//$'\n'/ }" >&2
    rc=1
    # (empty by now: the mock and delete --force killed what was in them) deepest first
    local d
    for d in $left; do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  fi
  true
}

# sd ARGS...: nsbox with the systemd driver; a command that hangs fails after 45 s.
sd() { timeout -k 5 45 "$NSBOX" --root "$TEST_ROOT" --systemd-cgroup "$@"; }
# nosd ARGS...: nsbox without the flag (as podman runs every verb after create).
nosd() { timeout -k 5 45 "$NSBOX" --root "$TEST_ROOT" "$@"; }

# mock_calls [METHOD [UNIT]]: the calls logged (JSON lines), of METHOD (and UNIT).
mock_calls() {
  jq -c --arg m "${1:-}" --arg u "${2:-}" \
    'select(.method != null and ($m == "" or .method == $m) and ($u == "" or .unit == $u))' "$MOCK/log"
}

# mock_last METHOD UNIT: the last such call.
mock_last() { mock_calls "$1" "$2" | tail -1; }

# mock_sequence UNIT: the methods called for UNIT, in order ("StartTransientUnit SetUnitProperties ...").
mock_sequence() { mock_calls "" "$1" | jq -r .method | paste -sd' '; }

# prop JSON NAME: [signature, value] of property NAME in a call's properties.
prop() { jq -c --arg n "$2" '[.properties[] | select(.name == $n)] | last | if . == null then null else [.signature, .value] end' <<<"$1"; }

# mock_unit UNIT: the mock's record of UNIT, or null.
mock_unit() { jq -c --arg u "$1" '.units[] | select(.name == $u)' "$MOCK/units.json"; }

# ctrl_mount CTRL: where the controller is used: its v1 hierarchy, else the cgroup2 tree.
ctrl_mount() {
  local m
  m=$(awk -v c="$1" '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $2; exit } }' /proc/self/mounts)
  [ -n "$m" ] || m=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
  echo "$m"
}

v2_mount() { awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts; }

# cg_read CTRL CGROUP V2FILE V1FILE: the file of the controller's hierarchy for CGROUP.
cg_read() {
  local m
  m=$(ctrl_mount "$1")
  if [ "$m" = "$(v2_mount)" ]; then cat "$m$2/$3"; else cat "$m$2/$4"; fi
}

ctrl_on_v2() { [ "$(ctrl_mount "$1")" = "$(v2_mount)" ]; }

# assert_in_cgroup PID CGROUP: every hierarchy of /proc/PID/cgroup says CGROUP.
assert_in_cgroup() {
  local line bad=""
  while IFS= read -r line; do
    [ "${line#*:*:}" = "$2" ] || bad+=" [$line]"
  done <"/proc/$1/cgroup"
  [ -z "$bad" ] || fail "pid $1 is not in $2 in every hierarchy:$bad"
}

# mock_no_leftovers ID UNIT [PID]: nothing of the container: no state, no process, no cgroup
# named after the unit, no unit in the mock.
mock_no_leftovers() {
  local id=$1 unit=$2 pid=${3:-} d
  assert_no_leftovers "$id"
  [ -z "$(mock_unit "$unit")" ] || fail "systemd (the mock) still has $unit: $(mock_unit "$unit")"
  d=$(find /sys/fs/cgroup -maxdepth 7 -type d -name "$unit" 2>/dev/null || true)
  [ -z "$d" ] || fail "cgroups of $unit left: ${d//$'\n'/ }"
  if [ -n "$pid" ] && [ -e "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
    fail "the container's init $pid outlived it"
  fi
  true
}

# no_slice_left: no directory of this test's slice in any hierarchy.
no_slice_left() {
  local d
  d=$(find /sys/fs/cgroup -maxdepth 7 -type d -name "nsbxmock$$*" 2>/dev/null || true)
  [ -z "$d" ] || fail "cgroups of the test's slice left: ${d//$'\n'/ }"
}

wait_stopped() {
  wait_for "$1 to stop" sh -c "[ \"\$('$NSBOX' --root '$TEST_ROOT' state '$1' | jq -r .status)\" = stopped ]"
}

# --- cases (run by the tests below, in their namespace) -------------------------------------

# 1. create, start, kill, delete, with the default cgroupsPath and with slice:prefix:name paths.
mock_case_lifecycle() {
  mock_start
  local b id unit slice cg path pid start set props io n
  b=$(make_bundle b sleep 1000)
  # system.slice (the default) is made where it is missing, and goes again.
  local sys_before
  sys_before=$(find /sys/fs/cgroup -maxdepth 2 -type d -name system.slice | sort)
  n=0
  for path in "" "$SLICE:libpod:%s" "${SLICE%.slice}-a-b.slice:cri-containerd:%s"; do
    n=$((n + 1))
    id=$(cid "life$n")
    case $path in
      "")
        unit=nsbox-$id.scope slice=system.slice cg=/system.slice/$unit
        ;;
      "$SLICE"*)
        unit=libpod-$id.scope slice=$SLICE cg=/$SLICE/$unit
        ;;
      *)
        local s=${SLICE%.slice}
        unit=cri-containerd-$id.scope slice=$s-a-b.slice cg=/$SLICE/$s-a.slice/$s-a-b.slice/$unit
        ;;
    esac
    # shellcheck disable=SC2059  # a format string
    edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$(printf "$path" "$id")"
    sd create --bundle "$b" "$id" || fail "create with cgroupsPath [$path]"
    pid=$(nosd state "$id" | jq -r .pid)
    start=$(mock_last StartTransientUnit "$unit")
    [ -n "$start" ] || fail "no StartTransientUnit of $unit (cgroupsPath [$path])"
    assert_eq "$(jq -r .mode <<<"$start")" replace "StartTransientUnit's mode"
    assert_eq "$(jq -c .aux <<<"$start")" "[]" "StartTransientUnit's aux units"
    io=$(jq -r '.properties[6].name' <<<"$start")
    case $io in IOAccounting | BlockIOAccounting) ;; *) fail "7th property: [$io], not IOAccounting or BlockIOAccounting" ;; esac
    props=$(jq -c '.properties | map([.name, .signature, .value])' <<<"$start")
    assert_eq "$props" "$(jq -nc --arg d "$(jq -r '.properties[0].value' <<<"$start")" --arg s "$slice" --argjson pid "$pid" --arg io "$io" \
      '[["Description","s",$d],["Slice","s",$s],["Delegate","b",true],["PIDs","au",[$pid]],
        ["MemoryAccounting","b",true],["CPUAccounting","b",true],[$io,"b",true],["TasksAccounting","b",true],
        ["DefaultDependencies","b",false]]')" "StartTransientUnit's properties (cgroupsPath [$path])"
    assert_contains "$(jq -r '.properties[0].value' <<<"$start")" "$(printf '%s' "$id")" "Description names the container"
    set=$(mock_last SetUnitProperties "$unit")
    [ -n "$set" ] || fail "no SetUnitProperties of $unit"
    assert_eq "$(jq -c .runtime <<<"$set")" true "SetUnitProperties' runtime flag"
    assert_eq "$(jq -c '.properties[0:2] | map([.name, .signature])' <<<"$set")" '[["DevicePolicy","s"],["DeviceAllow","a(ss)"]]' \
      "SetUnitProperties begins with the device policy"
    assert_eq "$(prop "$set" DevicePolicy)" '["s","strict"]' "DevicePolicy of the default spec"
    for dev in '["/dev/char/1:3","rwm"]' '["/dev/char/1:9","rwm"]' '["char-136","rwm"]' '["char-*","m"]' '["block-*","m"]'; do
      jq -e --argjson d "$dev" '.properties[1].value | index([$d]) != null' <<<"$set" >/dev/null ||
        fail "DeviceAllow lacks $dev: $(jq -c '.properties[1].value' <<<"$set")"
    done
    # One helper (one bus connection) for the whole create, subscribed before its job.
    assert_eq "$(mock_calls | jq -r 'select(.method == "StartTransientUnit" or .method == "SetUnitProperties" or .method == "Subscribe") | .sender' | tail -3 | sort -u | wc -l)" 1 \
      "create's calls come from one connection"
    assert_eq "$(mock_sequence "$unit")" "StartTransientUnit SetUnitProperties" "calls for $unit after create"
    assert_eq "$(mock_unit "$unit" | jq -r .state)" active "the unit's state in the mock"
    assert_eq "$(mock_unit "$unit" | jq -r .cgroup)" "$cg" "the unit's cgroup"
    assert_in_cgroup "$pid" "$cg"
    sd start "$id" || fail "start"
    assert_eq "$(nosd state "$id" | jq -r .status)" running "status after start"
    sd kill "$id" KILL || fail "kill"
    wait_stopped "$id"
    sd delete "$id" || fail "delete"
    assert_eq "$(mock_sequence "$unit")" "StartTransientUnit SetUnitProperties StopUnit ResetFailedUnit" "calls for $unit after delete"
    assert_eq "$(mock_last StopUnit "$unit" | jq -r .mode)" replace "StopUnit's mode"
    mock_no_leftovers "$id" "$unit" "$pid"
    no_slice_left
    assert_eq "$(find /sys/fs/cgroup -maxdepth 2 -type d -name system.slice | sort)" "$sys_before" "system.slice directories after delete"
  done
}

# 2. Limits as unit properties with systemd's D-Bus types, the same limits in cgroupfs, update.
mock_case_limits_and_update() {
  mock_start
  local b id unit cg pid set ncpu cpus bits w
  ncpu=$(nproc)
  if [ "$ncpu" -ge 2 ]; then cpus=0-1 bits='[3]'; else cpus=0 bits='[1]'; fi
  b=$(make_bundle b sleep 1000)
  id=$(cid limits)
  unit=libpod-$id.scope
  cg=/$SLICE/$unit
  edit_config "$b" '.linux.cgroupsPath = $p | .linux.resources += {memory: {limit: 67108864}, pids: {limit: 50},
    cpu: {quota: 33333, period: 100000, shares: 512, cpus: $cpus, mems: "0"}}' --arg p "$SLICE:libpod:$id" --arg cpus "$cpus"
  sd run -d --bundle "$b" "$id" || fail "run -d with limits"
  pid=$(nosd state "$id" | jq -r .pid)
  set=$(mock_last SetUnitProperties "$unit")
  if ctrl_on_v2 memory; then
    assert_eq "$(prop "$set" MemoryMax)" '["t",67108864]' "MemoryMax"
  else
    # A v1 memory controller: systemd takes MemoryMax (applied as MemoryLimit) or MemoryLimit.
    [ "$(prop "$set" MemoryMax)" = '["t",67108864]' ] || [ "$(prop "$set" MemoryLimit)" = '["t",67108864]' ] ||
      fail "neither MemoryMax nor MemoryLimit is [t, 67108864]: $(jq -c .properties <<<"$set")"
  fi
  assert_eq "$(prop "$set" TasksMax)" '["t",50]' "TasksMax"
  # 33333 us a 100 ms period: 333330 us a second, kept by systemd rounded up to 10 ms.
  assert_eq "$(prop "$set" CPUQuotaPerSecUSec)" '["t",340000]' "CPUQuotaPerSecUSec"
  assert_eq "$(prop "$set" CPUQuotaPeriodUSec)" '["t",100000]' "CPUQuotaPeriodUSec"
  # shares 512: CPUWeight 1 + (512 - 2) * 9999 / 262142 = 20 (runc's conversion), or CPUShares 512.
  w=$(prop "$set" CPUWeight)
  if [ "$w" != null ]; then
    assert_eq "$w" '["t",20]' "CPUWeight for shares 512"
  else
    assert_eq "$(prop "$set" CPUShares)" '["t",512]' "CPUShares (no CPUWeight)"
  fi
  assert_eq "$(prop "$set" AllowedCPUs)" "[\"ay\",$bits]" "AllowedCPUs for cpus $cpus"
  assert_eq "$(prop "$set" AllowedMemoryNodes)" '["ay",[1]]' "AllowedMemoryNodes for mems 0"
  # cgroupfs says the same (where each controller is).
  assert_eq "$(cg_read memory "$cg" memory.max memory.limit_in_bytes)" 67108864 "memory limit in cgroupfs"
  assert_eq "$(cg_read pids "$cg" pids.max pids.max)" 50 "pids.max"
  if ctrl_on_v2 cpu; then
    assert_eq "$(cg_read cpu "$cg" cpu.max cpu.max)" "34000 100000" "cpu.max (the quota systemd keeps)"
    assert_eq "$(cg_read cpu "$cg" cpu.weight cpu.weight)" 20 "cpu.weight"
  else
    assert_eq "$(cg_read cpu "$cg" - cpu.cfs_quota_us)" 34000 "cpu.cfs_quota_us (the quota systemd keeps)"
    assert_eq "$(cg_read cpu "$cg" - cpu.cfs_period_us)" 100000 "cpu.cfs_period_us"
    assert_eq "$(cg_read cpu "$cg" - cpu.shares)" 512 "cpu.shares"
  fi
  assert_eq "$(cg_read cpuset "$cg" cpuset.cpus cpuset.cpus)" "$cpus" "cpuset.cpus"
  # update: SetUnitProperties again with the new value, and the cgroup follows.
  nosd update --memory 134217728 "$id" || fail "update --memory"
  set=$(mock_last SetUnitProperties "$unit")
  [ "$(prop "$set" MemoryMax)" = '["t",134217728]' ] || [ "$(prop "$set" MemoryLimit)" = '["t",134217728]' ] ||
    fail "update's SetUnitProperties has no memory limit of 134217728: $(jq -c .properties <<<"$set")"
  assert_eq "$(cg_read memory "$cg" memory.max memory.limit_in_bytes)" 134217728 "memory limit after update"
  assert_eq "$(mock_sequence "$unit")" "StartTransientUnit SetUnitProperties SetUnitProperties" "calls after update"
  nosd update --pids-limit 60 "$id" || fail "update --pids-limit"
  assert_eq "$(prop "$(mock_last SetUnitProperties "$unit")" TasksMax)" '["t",60]' "TasksMax after update"
  assert_eq "$(cg_read pids "$cg" pids.max pids.max)" 60 "pids.max after update"
  nosd delete --force "$id" || fail "delete --force"
  mock_no_leftovers "$id" "$unit" "$pid"
  no_slice_left
}

# 2b. update changes what it is given, and only that (runc's update sends the container's
# whole resources with the change).
# mock_update_case DEVICES CPU UPDATE_ARGS...: a container with those resources, updated; leaves
# the update's SetUnitProperties in $SET and the unit's cgroup in $CG.
mock_update_case() {
  local devices=$1 cpu=$2 id
  shift 2
  B=$(make_bundle b sleep 1000)
  id=$(cid upd)
  UNIT=libpod-$id.scope
  CG=/$SLICE/$UNIT
  ID=$id
  edit_config "$B" '.linux.cgroupsPath = $p | .linux.resources.devices = ($d | fromjson) | .linux.resources.cpu = ($c | fromjson)' \
    --arg p "$SLICE:libpod:$id" --arg d "$devices" --arg c "$cpu"
  sd run -d --bundle "$B" "$id" || fail "run -d"
  CREATED=$(mock_last SetUnitProperties "$UNIT")
  nosd update "$@" "$id" || fail "update $*"
  SET=$(mock_last SetUnitProperties "$UNIT")
}

mock_update_done() {
  nosd delete --force "$ID" || fail "delete --force"
  mock_no_leftovers "$ID" "$UNIT"
  no_slice_left
}

# A container allowed every device (podman --privileged): update --memory leaves its device
# policy alone.
mock_case_update_keeps_devices() {
  mock_start
  local pol
  mock_update_case '[{"allow": true, "access": "rwm"}]' '{}' --memory 134217728
  assert_eq "$(prop "$CREATED" DevicePolicy)" '["s","auto"]' "DevicePolicy of a container allowed every device"
  pol=$(prop "$SET" DevicePolicy)
  [ "$pol" = null ] || [ "$pol" = '["s","auto"]' ] ||
    fail "update --memory changed the device policy of a container allowed every device to $pol: $(jq -c .properties <<<"$SET")"
  mock_update_done
}

# A container with a 50 ms period: update --cpu-quota 25000 is half a CPU (500 ms a second).
mock_case_update_quota_keeps_period() {
  mock_start
  mock_update_case '[{"allow": false, "access": "rwm"}]' '{"quota": 50000, "period": 50000}' --cpu-quota 25000
  assert_eq "$(prop "$CREATED" CPUQuotaPerSecUSec)" '["t",1000000]' "CPUQuotaPerSecUSec of 50000/50000"
  assert_eq "$(prop "$SET" CPUQuotaPerSecUSec)" '["t",500000]' "CPUQuotaPerSecUSec after update --cpu-quota 25000 (period 50000)"
  if ctrl_on_v2 cpu; then
    assert_eq "$(cg_read cpu "$CG" cpu.max -)" "25000 50000" "cpu.max"
  else
    assert_eq "$(cg_read cpu "$CG" - cpu.cfs_quota_us)/$(cg_read cpu "$CG" - cpu.cfs_period_us)" 25000/50000 "cgroupfs quota/period"
  fi
  mock_update_done
}

# A container with a quota: update --cpu-period alone keeps a quota in systemd.
mock_case_update_period_keeps_quota() {
  mock_start
  local q
  mock_update_case '[{"allow": false, "access": "rwm"}]' '{"quota": 50000, "period": 100000}' --cpu-period 50000
  q=$(prop "$SET" CPUQuotaPerSecUSec)
  # (jq reads numbers as doubles: infinity, 2^64-1, is above 1e19)
  [ "$q" = null ] || ! jq -e '.[1] > 1e19' <<<"$q" >/dev/null ||
    fail "update --cpu-period alone removed the quota in systemd (CPUQuotaPerSecUSec infinity): $(jq -c .properties <<<"$SET")"
  mock_update_done
}

# 3. org.systemd.property.* annotations as properties; bad ones refused before anything.
mock_case_annotations() {
  mock_start
  local b id unit start before
  b=$(make_bundle b sleep 1000)
  id=$(cid ann)
  unit=libpod-$id.scope
  edit_config "$b" '.linux.cgroupsPath = $p | .annotations += {"org.systemd.property.TimeoutStopSec": "7",
    "org.systemd.property.CollectMode": "'"'"'inactive-or-failed'"'"'",
    "org.systemd.property.RuntimeMaxUSec": "uint64 123456789"}' --arg p "$SLICE:libpod:$id"
  sd create --bundle "$b" "$id" || fail "create with annotations"
  start=$(mock_last StartTransientUnit "$unit")
  assert_eq "$(prop "$start" TimeoutStopUSec)" '["t",7000000]' "TimeoutStopUSec from TimeoutStopSec=7"
  assert_eq "$(prop "$start" CollectMode)" '["s","inactive-or-failed"]' "CollectMode"
  assert_eq "$(prop "$start" RuntimeMaxUSec)" '["t",123456789]' "RuntimeMaxUSec"
  # after the unit's own properties (an annotation may override them, as runc allows)
  assert_eq "$(jq -r '.properties[9:] | map(.name) | sort | join(" ")' <<<"$start")" \
    "CollectMode RuntimeMaxUSec TimeoutStopUSec" "annotations after the unit's own properties"
  nosd delete --force "$id" || fail "delete --force"
  mock_no_leftovers "$id" "$unit"
  # Refused before anything is made: no call at all, nothing on the host.
  local n=0 ann name value want
  for ann in 'A1|"1"|name incorrect: too short' 'Timeout2Sec|"1"|name incorrect: contains non-alphabetic character' \
    'Memory_Max|"1"|contains non-alphabetic character' 'RuntimeMaxSec|"'"'"'x'"'"'"|value parse error: not a number' \
    'CPUWeight|"[1,"|value parse error' 'TimeoutStopSec|"-5"|value parse error'; do
    n=$((n + 1))
    IFS='|' read -r name value want <<<"$ann"
    id=$(cid "bad$n")
    unit=libpod-$id.scope
    edit_config "$b" '.linux.cgroupsPath = $p | .annotations = {("org.systemd.property." + $n): ($v | fromjson)}' \
      --arg p "$SLICE:libpod:$id" --arg n "$name" --arg v "$value"
    before=$(mock_calls | wc -l)
    expect_fail "$want" sd create --bundle "$b" "$id"
    assert_contains "$ERR" "org.systemd.property.$name" "the error names the annotation"
    assert_eq "$(mock_calls | wc -l)" "$before" "calls to systemd for a refused annotation $name=$value"
    mock_no_leftovers "$id" "$unit"
  done
  # A property systemd does not know: its refusal, and nothing left.
  id=$(cid unknown)
  unit=libpod-$id.scope
  edit_config "$b" '.linux.cgroupsPath = $p | .annotations = {"org.systemd.property.NoSuchProperty": "true"}' --arg p "$SLICE:libpod:$id"
  expect_fail "Cannot set property NoSuchProperty, or unknown property." sd create --bundle "$b" "$id"
  mock_no_leftovers "$id" "$unit"
  no_slice_left
}

# 3b. A typed annotation whose value does not fit an int32 ("uint64 3600000000": one hour in
# microseconds, as runc's documentation writes them).
mock_case_annotation_uint64() {
  mock_start
  local b id unit start
  b=$(make_bundle b sleep 1000)
  id=$(cid u64)
  unit=libpod-$id.scope
  edit_config "$b" '.linux.cgroupsPath = $p | .annotations += {"org.systemd.property.RuntimeMaxUSec": "uint64 3600000000",
    "org.systemd.property.TimeoutStopUSec": "@t 5000000000"}' --arg p "$SLICE:libpod:$id"
  sd create --bundle "$b" "$id" || fail "create with org.systemd.property.RuntimeMaxUSec=uint64 3600000000"
  start=$(mock_last StartTransientUnit "$unit")
  assert_eq "$(prop "$start" RuntimeMaxUSec)" '["t",3600000000]' "RuntimeMaxUSec"
  assert_eq "$(prop "$start" TimeoutStopUSec)" '["t",5000000000]' "TimeoutStopUSec"
  nosd delete --force "$id" || fail "delete --force"
  mock_no_leftovers "$id" "$unit"
  no_slice_left
}

# 4a. The start job fails (systemd 252 fails a scope's start before any PID is in its cgroup:
# "resources", or a dependency): runc's error, ResetFailedUnit, nothing left.
mock_case_job_failed() {
  mock_start
  local b id unit result
  b=$(make_bundle b sleep 1000)
  for result in failed dependency; do
    id=$(cid "fail-$result")
    unit=libpod-$id.scope
    echo "$result" >"$MOCK/ctl/start-result"
    edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:libpod:$id"
    expect_fail "error creating systemd unit \`$unit\`: got \`$result\`" sd create --bundle "$b" "$id"
    rm -f "$MOCK/ctl/start-result"
    assert_eq "$(mock_sequence "$unit" | cut -d' ' -f1-2)" "StartTransientUnit ResetFailedUnit" "calls after a failed job ($result)"
    assert_eq "$(mock_calls ResetFailedUnit "$unit" | head -1 | jq -r .state)" failed "the unit ResetFailedUnit found"
    mock_no_leftovers "$id" "$unit"
  done
  # The same id again works: nothing of the failure is in the way.
  sd run -d --bundle "$b" "$id" || fail "run -d after the failed create"
  nosd delete --force "$id" || fail "delete --force"
  mock_no_leftovers "$id" "$unit"
  no_slice_left
}

# 4b. UnitExists once: ResetFailedUnit, and StartTransientUnit again, which succeeds.
mock_case_unit_exists_once() {
  mock_start
  local b id unit pid
  b=$(make_bundle b sleep 1000)
  id=$(cid exists)
  unit=libpod-$id.scope
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:libpod:$id"
  touch "$MOCK/ctl/unit-exists-once"
  sd run -d --bundle "$b" "$id" || fail "run -d when the unit exists once"
  [ ! -e "$MOCK/ctl/unit-exists-once" ] || fail "the mock was never asked to start a unit"
  assert_eq "$(mock_sequence "$unit")" "StartTransientUnit ResetFailedUnit StartTransientUnit SetUnitProperties" "calls"
  assert_eq "$(mock_calls StartTransientUnit "$unit" | head -1 | jq -r .error)" org.freedesktop.systemd1.UnitExists "the first start"
  pid=$(nosd state "$id" | jq -r .pid)
  assert_in_cgroup "$pid" "/$SLICE/$unit"
  nosd delete --force "$id" || fail "delete --force"
  mock_no_leftovers "$id" "$unit" "$pid"
  # A unit that really exists (still active): refused with systemd's words, nothing left.
  sd run -d --bundle "$b" "$id" || fail "run -d"
  pid=$(nosd state "$id" | jq -r .pid)
  local id2
  id2=$(cid exists2)
  # (nsbox refuses the busy cgroup itself, or systemd the unit: either way, the first is untouched)
  expect_fail "" sd create --bundle "$b" "$id2"
  assert_contains "$ERR" "$unit" "the error names the unit or its cgroup"
  mock_no_leftovers "$id2" "nsbox-$id2.scope"
  assert_eq "$(mock_calls StopUnit "$unit" | wc -l)" 1 "StopUnit calls for $unit (the first delete only)"
  assert_in_cgroup "$pid" "/$SLICE/$unit"
  assert_eq "$(mock_unit "$unit" | jq -r .state)" active "the first container's unit after the second create failed"
  nosd delete --force "$id" || fail "delete --force"
  mock_no_leftovers "$id" "$unit" "$pid"
  no_slice_left
}

# 4c. No bus, no helper: a clear error, nothing left.
mock_case_no_bus_no_helper() {
  mock_start
  local b id unit
  b=$(make_bundle b sleep 1000)
  id=$(cid nobus)
  unit=libpod-$id.scope
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:libpod:$id"
  DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TEST_TMP/nothing-here expect_fail "failed to connect to dbus" sd create --bundle "$b" "$id"
  echo "no bus: $ERR"
  mock_no_leftovers "$id" "$unit"
  [ -z "$(mock_calls "" "$unit")" ] || fail "calls reached the mock"
  NSBOX_SYSTEMD_HELPER=/nonexistent expect_fail "nsbox-systemd" sd create --bundle "$b" "$id"
  assert_contains "$ERR" /nonexistent "the error names the helper's path"
  echo "no helper: $ERR"
  mock_no_leftovers "$id" "$unit"
  # A helper that is not executable.
  : >"$TEST_TMP/not-exec"
  NSBOX_SYSTEMD_HELPER=$TEST_TMP/not-exec expect_fail "nsbox-systemd" sd create --bundle "$b" "$id"
  echo "helper not executable: $ERR"
  mock_no_leftovers "$id" "$unit"
  # delete without a bus: refused, the record kept (it names the unit to stop); delete
  # --force with the bus back removes everything.
  sd run -d --bundle "$b" "$id" || fail "run -d"
  DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TEST_TMP/nothing-here expect_fail "failed to connect to dbus" nosd delete --force "$id"
  echo "delete without a bus: $ERR"
  [ -d "$TEST_ROOT/$id" ] || fail "the record went with a delete that could not stop $unit"
  [ -n "$(mock_unit "$unit")" ] || fail "the unit went without a StopUnit"
  nosd delete --force "$id" || fail "delete --force with the bus"
  mock_no_leftovers "$id" "$unit"
  # The mock gone from the bus (systemd not there): the bus answers, nobody owns the name.
  kill -TERM "$MOCK_PID"
  wait "$MOCK_PID" 2>/dev/null || true
  MOCK_PID=
  expect_fail "org.freedesktop.systemd1" sd create --bundle "$b" "$id"
  echo "no systemd on the bus: $ERR"
  assert_no_leftovers "$id"
  no_slice_left
  # delete of a container whose bus is gone keeps its record (and says why), so that a
  # delete --force once systemd is back removes the unit.
  true
}

# 4d. The job never ends: create gives up after nsbox-systemd's wait, and the unit goes.
mock_case_job_timeout() {
  mock_start
  local b id unit
  b=$(make_bundle b sleep 1000)
  id=$(cid tmo)
  unit=libpod-$id.scope
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:libpod:$id"
  echo never >"$MOCK/ctl/job-delay-ms"
  expect_fail "Timeout waiting for systemd to create $unit" sd create --bundle "$b" "$id"
  rm -f "$MOCK/ctl/job-delay-ms"
  mock_no_leftovers "$id" "$unit"
  no_slice_left
}

# 4e. systemd refuses the limits (SetUnitProperties) once the scope holds the process: the
# unit is stopped, nothing left.
mock_case_set_refused() {
  mock_start
  local b id unit
  b=$(make_bundle b sleep 1000)
  id=$(cid setref)
  unit=libpod-$id.scope
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:libpod:$id"
  touch "$MOCK/ctl/set-error-once"
  expect_fail "Refused by the test (set-error-once)" sd create --bundle "$b" "$id"
  assert_eq "$(mock_sequence "$unit")" "StartTransientUnit SetUnitProperties StopUnit ResetFailedUnit" "calls"
  mock_no_leftovers "$id" "$unit"
  no_slice_left
}

# 4f. Names systemd refuses: a container id with '+' (nsbox takes it, a unit name cannot
# hold it), a slice name systemd would not take: a clear error, nothing left.
mock_case_refused_names() {
  mock_start
  local b id unit
  b=$(make_bundle b sleep 1000)
  id=$(cid plus)+x
  unit=libpod-$id.scope
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:libpod:$id"
  expect_fail "$id" sd create --bundle "$b" "$id"
  echo "create of id $id: $ERR"
  mock_no_leftovers "$id" "$unit"
  id=$(cid badslice)
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "${SLICE%.slice}--x.slice:libpod:$id"
  expect_fail "invalid slice name" sd create --bundle "$b" "$id"
  mock_no_leftovers "$id" "libpod-$id.scope"
  [ -z "$(mock_calls StartTransientUnit "libpod-$id.scope")" ] || fail "a refused slice name reached systemd"
  no_slice_left
}

# 4g. The container's unit as a slice (cgroupsPath slice:prefix:name.slice): systemd takes no
# PIDs for a slice. Either the container runs in the slice's cgroup, or create fails
# cleanly; nothing is left either way.
mock_case_slice_unit() {
  mock_start
  local b id unit
  b=$(make_bundle b sleep 1000)
  id=$(cid sl)
  unit=${SLICE%.slice}-c.slice
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:x:$unit"
  # A slice holds units, not processes (systemd refuses PIDs for one): refused before
  # anything is made, in words that say what to give instead.
  expect_fail "a slice ($unit) cannot hold the container's processes" sd create --bundle "$b" "$id"
  [ -z "$(mock_last StartTransientUnit "$unit")" ] || fail "the slice unit was asked for"
  mock_no_leftovers "$id" "$unit"
  no_slice_left
}

# 2c. systemd's version gates (runc's): CPUQuotaPeriodUSec from 242, AllowedCPUs and
# AllowedMemoryNodes from 244; an older systemd refuses what it does not know. cgroupfs gets
# them all the same.
mock_case_version_gates() {
  mock_start
  local b id unit set v cg
  b=$(make_bundle b sleep 1000)
  for v in 241 243 "" 252; do
    echo "$v" >"$MOCK/ctl/version"
    id=$(cid "v${v:-none}")
    unit=libpod-$id.scope
    cg=/$SLICE/$unit
    edit_config "$b" '.linux.cgroupsPath = $p | .linux.resources.cpu = {quota: 20000, period: 50000, cpus: "0", mems: "0"}' \
      --arg p "$SLICE:libpod:$id"
    sd run -d --bundle "$b" "$id" || fail "run -d with systemd version [$v]"
    set=$(mock_last SetUnitProperties "$unit")
    if [ -n "$v" ] && [ "$v" -ge 242 ]; then
      assert_eq "$(prop "$set" CPUQuotaPeriodUSec)" '["t",50000]' "CPUQuotaPeriodUSec with systemd $v"
    else
      assert_eq "$(prop "$set" CPUQuotaPeriodUSec)" null "CPUQuotaPeriodUSec with systemd [$v]"
    fi
    if [ -n "$v" ] && [ "$v" -ge 244 ]; then
      assert_eq "$(prop "$set" AllowedCPUs)" '["ay",[1]]' "AllowedCPUs with systemd $v"
    else
      assert_eq "$(prop "$set" AllowedCPUs)" null "AllowedCPUs with systemd [$v]"
      assert_eq "$(prop "$set" AllowedMemoryNodes)" null "AllowedMemoryNodes with systemd [$v]"
    fi
    # 20000 us of 50000: 400 ms a second, whatever the version.
    assert_eq "$(prop "$set" CPUQuotaPerSecUSec)" '["t",400000]' "CPUQuotaPerSecUSec with systemd [$v]"
    assert_eq "$(cg_read cpuset "$cg" cpuset.cpus cpuset.cpus)" 0 "cpuset.cpus with systemd [$v]"
    if ! ctrl_on_v2 cpu; then
      assert_eq "$(cg_read cpu "$cg" - cpu.cfs_quota_us)/$(cg_read cpu "$cg" - cpu.cfs_period_us)" 20000/50000 "cgroupfs quota/period with systemd [$v]"
    fi
    nosd delete --force "$id" || fail "delete --force"
    mock_no_leftovers "$id" "$unit"
  done
  no_slice_left
}

# 5. The driver is remembered: start, kill, delete without the flag stop the unit.
mock_case_remembered() {
  mock_start
  local b id unit pid
  b=$(make_bundle b sleep 1000)
  id=$(cid mem)
  unit=libpod-$id.scope
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:libpod:$id"
  sd create --bundle "$b" "$id" || fail "create"
  pid=$(nosd state "$id" | jq -r .pid)
  nosd start "$id" || fail "start without the flag"
  assert_eq "$(nosd state "$id" | jq -r .status)" running "status"
  # exec joins the unit's cgroups
  nosd exec -d --pid-file "$TEST_TMP/exec.pid" "$id" sleep 999 || fail "exec -d without the flag"
  assert_in_cgroup "$(cat "$TEST_TMP/exec.pid")" "/$SLICE/$unit"
  nosd kill "$id" KILL || fail "kill without the flag"
  wait_stopped "$id"
  nosd delete "$id" || fail "delete without the flag"
  assert_eq "$(mock_sequence "$unit")" "StartTransientUnit SetUnitProperties StopUnit ResetFailedUnit" "calls"
  mock_no_leftovers "$id" "$unit" "$pid"
  # delete --force of a running one, without the flag.
  sd run -d --bundle "$b" "$id" || fail "run -d"
  pid=$(nosd state "$id" | jq -r .pid)
  nosd delete --force "$id" || fail "delete --force without the flag"
  assert_eq "$(mock_calls StopUnit "$unit" | wc -l)" 2 "StopUnit calls"
  mock_no_leftovers "$id" "$unit" "$pid"
  no_slice_left
}

# 5b. The unit stopped behind nsbox's back (systemctl stop; RuntimeMaxSec), ending failed or
# gone: the container is stopped, and delete removes the rest (the failed unit too).
mock_case_unit_stopped_outside() {
  mock_start
  command -v busctl >/dev/null || skip "busctl is not installed (to stop the unit as systemctl would)"
  local b id unit pid result
  b=$(make_bundle b sleep 1000)
  for result in failed "done"; do
    id=$(cid "out-$result")
    unit=libpod-$id.scope
    edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:libpod:$id"
    sd run -d --bundle "$b" "$id" || fail "run -d"
    pid=$(nosd state "$id" | jq -r .pid)
    echo "$result" >"$MOCK/ctl/stop-result"
    busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
      org.freedesktop.systemd1.Manager StopUnit ss "$unit" replace >/dev/null || fail "StopUnit from outside"
    rm -f "$MOCK/ctl/stop-result"
    wait_stopped "$id"
    if [ "$result" = failed ]; then
      assert_eq "$(mock_unit "$unit" | jq -r .state)" failed "the unit after a failed stop"
    fi
    nosd delete "$id" || fail "delete of a container whose unit was stopped ($result) outside"
    mock_no_leftovers "$id" "$unit" "$pid"
  done
  no_slice_left
}

# 6. SIGKILL of nsbox during create, then delete --force: a unit started is stopped.
mock_case_killed_create() {
  mock_start
  local b id unit i delay last_start last_stop started=0
  b=$(make_bundle b sleep 1000)
  for i in $(seq 16); do
    id=$(cid "k$i")
    unit=libpod-$id.scope
    edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:libpod:$id"
    # Half of them with a job that takes 20 ms: nsbox is killed while it waits.
    if [ $((i % 2)) -eq 0 ]; then echo 20 >"$MOCK/ctl/job-delay-ms"; else rm -f "$MOCK/ctl/job-delay-ms"; fi
    delay=$(awk -v i="$i" 'BEGIN { printf "%.4f", 0.003 * i * i / 4 }')
    timeout -s KILL "$delay" "$NSBOX" --root "$TEST_ROOT" --systemd-cgroup create --bundle "$b" "$id" >/dev/null 2>&1 || true
    nosd delete --force "$id" || fail "delete --force after a kill at ${delay}s"
    # An orphaned helper may still be talking to the bus: let it finish, then look.
    sleep 0.1
    last_start=$(jq -s --arg u "$unit" '[to_entries[] | select(.value.method == "StartTransientUnit" and .value.unit == $u) | .key] | max // -1' "$MOCK/log")
    last_stop=$(jq -s --arg u "$unit" '[to_entries[] | select(.value.method == "StopUnit" and .value.unit == $u) | .key] | max // -1' "$MOCK/log")
    if [ "$last_start" -ge 0 ] && [ "$last_stop" -lt "$last_start" ]; then
      fail "kill at ${delay}s: StartTransientUnit of $unit with no StopUnit after it"
    fi
    mock_no_leftovers "$id" "$unit"
    [ "$last_start" -lt 0 ] || started=$((started + 1))
  done
  rm -f "$MOCK/ctl/job-delay-ms"
  echo "killed creates: $started of 16 had reached StartTransientUnit"
  no_slice_left
}

# 7. As on a hybrid host where systemd manages the v1 controllers too (Delegate=yes): the
# scope's v1 cgroups exist before nsbox makes its own, systemd writes its idea of the
# limits when a property of a controller changes (update) and at daemon-reload: cgroupfs
# must still say what the config says.
mock_case_hybrid_systemd_writes_limits() {
  mock_start
  local b id unit cg pid shares_update shares_reload
  [ -n "$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpu(,|$)/' /proc/self/mounts)" ] || skip "no v1 cpu controller (not a hybrid host)"
  command -v busctl >/dev/null || skip "busctl is not installed (to daemon-reload the mock)"
  echo 1 >"$MOCK/ctl/realize-v1"
  b=$(make_bundle b sleep 1000)
  id=$(cid hyb)
  unit=libpod-$id.scope
  cg=/$SLICE/$unit
  edit_config "$b" '.linux.cgroupsPath = $p | .linux.resources += {memory: {limit: 67108864}, pids: {limit: 50},
    cpu: {quota: 50000, period: 100000, shares: 512}}' --arg p "$SLICE:libpod:$id"
  sd run -d --bundle "$b" "$id" || fail "run -d"
  pid=$(nosd state "$id" | jq -r .pid)
  assert_in_cgroup "$pid" "$cg"
  assert_eq "$(cg_read cpu "$cg" - cpu.shares)" 512 "cpu.shares after create"
  nosd update --cpu-quota 60000 "$id" || fail "update --cpu-quota"
  assert_eq "$(cg_read cpu "$cg" - cpu.cfs_quota_us)" 60000 "cpu.cfs_quota_us after update"
  shares_update=$(cg_read cpu "$cg" - cpu.shares)
  busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
    org.freedesktop.systemd1.Manager Reload >/dev/null || fail "daemon-reload of the mock"
  assert_eq "$(cg_read memory "$cg" - memory.limit_in_bytes)" 67108864 "memory.limit_in_bytes after daemon-reload"
  assert_eq "$(cg_read pids "$cg" - pids.max)" 50 "pids.max after daemon-reload"
  assert_eq "$(cg_read cpu "$cg" - cpu.cfs_quota_us)" 60000 "cpu.cfs_quota_us after daemon-reload"
  shares_reload=$(cg_read cpu "$cg" - cpu.shares)
  nosd delete --force "$id" || fail "delete --force"
  mock_no_leftovers "$id" "$unit" "$pid"
  no_slice_left
  # systemd's own value for the CPU property nsbox sent (CPUWeight w: w * 1024 / 100 shares).
  assert_eq "$shares_update" 512 "cpu.shares after update --cpu-quota (systemd applies the CPU properties again)"
  assert_eq "$shares_reload" 512 "cpu.shares after daemon-reload"
}

# 8. Two containers in one slice, deleted one after the other: the slice goes with the last.
mock_case_shared_slice() {
  mock_start
  local b id1 id2
  b=$(make_bundle b sleep 1000)
  id1=$(cid sh1)
  id2=$(cid sh2)
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:libpod:$id1"
  sd run -d --bundle "$b" "$id1" || fail "run -d $id1"
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$SLICE:libpod:$id2"
  sd run -d --bundle "$b" "$id2" || fail "run -d $id2"
  nosd delete --force "$id1" || fail "delete --force $id1"
  mock_no_leftovers "$id1" "libpod-$id1.scope"
  nosd delete --force "$id2" || fail "delete --force $id2"
  mock_no_leftovers "$id2" "libpod-$id2.scope"
  no_slice_left
}

# --- tests -----------------------------------------------------------------------------------

test_systemd_mock_lifecycle() { mock_case mock_case_lifecycle; }
test_systemd_mock_limits_and_update() { mock_case mock_case_limits_and_update; }
test_systemd_mock_update_keeps_devices() { mock_case mock_case_update_keeps_devices; }
test_systemd_mock_update_quota_keeps_period() { mock_case mock_case_update_quota_keeps_period; }
test_systemd_mock_update_period_keeps_quota() { mock_case mock_case_update_period_keeps_quota; }
test_systemd_mock_annotations() { mock_case mock_case_annotations; }
test_systemd_mock_annotation_uint64() { mock_case mock_case_annotation_uint64; }
test_systemd_mock_job_failed() { mock_case mock_case_job_failed; }
test_systemd_mock_unit_exists_once() { mock_case mock_case_unit_exists_once; }
test_systemd_mock_no_bus_no_helper() { mock_case mock_case_no_bus_no_helper; }
test_systemd_mock_job_timeout() { mock_case mock_case_job_timeout; }
test_systemd_mock_set_refused() { mock_case mock_case_set_refused; }
test_systemd_mock_refused_names() { mock_case mock_case_refused_names; }
test_systemd_mock_slice_unit() { mock_case mock_case_slice_unit; }
test_systemd_mock_version_gates() { mock_case mock_case_version_gates; }
test_systemd_mock_remembered() { mock_case mock_case_remembered; }
test_systemd_mock_unit_stopped_outside() { mock_case mock_case_unit_stopped_outside; }
test_systemd_mock_killed_create() { mock_case mock_case_killed_create; }
test_systemd_mock_hybrid_systemd_writes_limits() { mock_case mock_case_hybrid_systemd_writes_limits; }
test_systemd_mock_shared_slice() { mock_case mock_case_shared_slice; }
