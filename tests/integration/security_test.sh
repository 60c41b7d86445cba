# Attacks from a security review, replayed against nsbox as an attacker would run them: a
# process exec'd into a created container racing `start` (NOTIFY_SOCKET), masks built from a
# /dev/null that is a link, pid files in world-writable directories, the container's init
# between create and start, signal dispositions and --user values that wrap around,
# read-only paths that lose their mount flags, mounts leaking through a shared bundle,
# cgroup.procs read from another pid namespace, cgroups that already hold processes,
# sysctls written into the host's network namespace, hooks that never read their stdin, and
# a rootfs in which every path the runtime touches is a link to a host file. Each test checks
# what a user would check: the host file untouched, the right error, nothing left behind.
# The attacker's programs are tests/integration/escape_tools.c (never writes what it opens).
# shellcheck disable=SC2016  # container scripts and jq filters are literal
# shellcheck disable=SC2015  # "A && B || fail": fail exits

# --- helpers (not tests) -----------------------------------------------------------------

# sec_rootfs NAME: tools_rootfs (lib.sh) at $TEST_TMP/NAME. Sets ROOT.
sec_rootfs() { tools_rootfs "$TEST_TMP/$1"; }

# sec_bundle NAME ROOT SCRIPT: a bundle running `sh -c SCRIPT` on the rootfs ROOT (writable).
sec_bundle() {
  local b
  b=$(make_bundle "$1" sh)
  edit_config "$b" '.process.args = ["sh", "-c", $s] | .root.path = $r | .root.readonly = false' \
    --arg s "$3" --arg r "$2"
  echo "$b"
}

# sec_run NAME BUNDLE [flags...]: nsbox run the bundle as $(cid NAME), stdout and stderr
# together in OUT, exit status in RC (never fails by itself).
sec_run() {
  local name=$1 b=$2
  shift 2
  RC=0
  OUT=$(timeout 60 "$NSBOX" --root "$TEST_ROOT" run "$@" --bundle "$b" "$(cid "$name")" </dev/null 2>&1) || RC=$?
  [ "$RC" -ne 124 ] || fail "nsbox run $(cid "$name") hung (killed after 60 s): [$OUT]"
}

# sec_wait_for_text FILE TEXT SECONDS: wait until FILE contains TEXT.
sec_wait_for_text() {
  local i
  for i in $(seq $(($3 * 20))); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# sec_canary PATH: a root-owned file, mode 0600, whose content is "canary PATH".
sec_canary() {
  mkdir -p "$(dirname "$1")"
  printf 'canary %s\n' "$1" >"$1"
  chown 0:0 "$1"
  chmod 0600 "$1"
}

# sec_canary_dir PATH: a root-owned directory, mode 0700, holding one canary file "keep".
sec_canary_dir() {
  mkdir -p "$1"
  chown 0:0 "$1"
  chmod 0700 "$1"
  sec_canary "$1/keep"
}

# sec_mounted_on PATH: the host's mounts (this test's mount namespace) on PATH or below.
sec_mounted_on() {
  awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo
}

# sec_check_canary PATH WHAT: the canary file at PATH as sec_canary made it, nothing mounted
# on it.
sec_check_canary() {
  local p=$1 what=$2
  [ -f "$p" ] && [ ! -L "$p" ] || fail "$what: the host file $p is no longer a regular file ($(ls -ld "$p" 2>&1))"
  assert_eq "$(stat -c '%a %u:%g' "$p")" "600 0:0" "$what: mode and owner of the host file $p"
  assert_eq "$(cat "$p")" "canary $p" "$what: content of the host file $p"
  assert_eq "$(sec_mounted_on "$p")" "" "$what: mounts on the host file $p"
}

# sec_check_canary_dir PATH WHAT: the canary directory as sec_canary_dir made it.
sec_check_canary_dir() {
  local p=$1 what=$2
  [ -d "$p" ] && [ ! -L "$p" ] || fail "$what: the host directory $p is no longer a directory ($(ls -ld "$p" 2>&1))"
  assert_eq "$(stat -c '%a %u:%g' "$p")" "700 0:0" "$what: mode and owner of the host directory $p"
  assert_eq "$(ls -A "$p")" keep "$what: entries of the host directory $p"
  sec_check_canary "$p/keep" "$what"
}

# --- 1. NOTIFY_SOCKET: start chmods notify.sock by its path ---------------------------------

# Replays: `create` with NOTIFY_SOCKET bind-mounts <state>/<id>/notify into the container at
# /run/notify; a process exec'd into the created container keeps replacing
# /run/notify/notify.sock by a symlink to a host file, so that `start`, which binds the
# socket there and then chmods it 0777 by its path, chmods the host file instead. The host
# file must keep its mode, and `start` must still relay the container's READY=1.
test_notify_socket_start_chmod_race_leaves_host_file() {
  local root b i id canary rc tries=12 problems=""
  sec_rootfs root
  root=$ROOT
  canary=$TEST_TMP/canary/notify-target
  sec_canary "$canary"
  # The program sends READY=1 to $NOTIFY_SOCKET (busybox has no systemd-notify) and waits.
  b=$(sec_bundle b "$root" 'if /escape_tools notify-send READY=1; then echo sent; exec sleep 100; fi; exit 3')
  for i in $(seq "$tries"); do
    "$TOOLS" notify-recv "$TEST_TMP/host$i.sock" >"$TEST_TMP/notify$i.out" 2>"$TEST_TMP/notify$i.err" &
    kill_at_exit $!
    wait_for "the host notify socket $i" test -e "$TEST_TMP/host$i.sock.ready"
    id=$(cid "notify$i")
    NOTIFY_SOCKET=$TEST_TMP/host$i.sock timeout 60 "$NSBOX" --root "$TEST_ROOT" create --bundle "$b" "$id" \
      </dev/null >"$TEST_TMP/ctr$i.out" 2>&1 || fail "nsbox create with NOTIFY_SOCKET: [$(cat "$TEST_TMP/ctr$i.out")]"
    # The attacker: a process exec'd into the created container.
    timeout 60 "$NSBOX" --root "$TEST_ROOT" exec -d "$id" /escape_tools link-race "$canary" /run/notify notify.sock 20 \
      </dev/null >"$TEST_TMP/attacker$i.out" 2>&1 || fail "nsbox exec -d of the attacker into the created container $id: [$(cat "$TEST_TMP/attacker$i.out")]"
    sec_wait_for_text "$TEST_TMP/attacker$i.out" started 10 || fail "the attacker did not start: [$(cat "$TEST_TMP/attacker$i.out")]"
    sleep 0.2
    rc=0
    NOTIFY_SOCKET=$TEST_TMP/host$i.sock timeout 60 "$NSBOX" --root "$TEST_ROOT" start "$id" \
      </dev/null >"$TEST_TMP/start$i.out" 2>&1 || rc=$?
    [ "$rc" -ne 124 ] || fail "nsbox start $id hung (killed after 60 s): [$(cat "$TEST_TMP/start$i.out")]"
    if [ "$(stat -c %a "$canary")" != 600 ]; then
      fail "nsbox start $id (try $i) chmod'ed the host file $canary through the link the container put at /run/notify/notify.sock: mode now $(stat -c %a "$canary") (start exit $rc: [$(cat "$TEST_TMP/start$i.out")])"
    fi
    sec_check_canary "$canary" "nsbox start $id with the attacker racing"
    if [ "$rc" -ne 0 ]; then
      problems="$problems [try $i: nsbox start exited $rc: $(cat "$TEST_TMP/start$i.out")]"
    elif ! sec_wait_for_text "$TEST_TMP/notify$i.out" READY=1 2; then
      problems="$problems [try $i: READY=1 not relayed to NOTIFY_SOCKET (received [$(cat "$TEST_TMP/notify$i.out")], container output [$(cat "$TEST_TMP/ctr$i.out")])]"
    fi
    nsbox delete --force "$id"
    echo "try $i: start exit $rc; attacker: $(tr '\n' ' ' <"$TEST_TMP/attacker$i.out")"
    assert_no_leftovers "$id"
  done
  [ -z "$problems" ] || fail "with a process exec'd into the created container racing it, start did not relay READY=1:$problems"
  assert_no_host_mounts
}

# --- 2. maskedPaths: the mask taken from a /dev/null that is a link -------------------------

# Replays: /dev is bind-mounted from a bundle directory in which `null` is a symlink to
# /proc/sys/kernel/hostname; a runtime that takes the mask for /proc/timer_list (a
# maskedPath) from /dev/null by its path binds the hostname sysctl there, writable, and
# `echo x > /proc/timer_list` renames the container. Either create refuses (naming /dev/null
# or maskedPaths), or the mask is the real null device: the hostname stays "box".
test_masked_path_not_taken_from_dev_null_link() {
  local b dev
  [ -e /proc/timer_list ] || skip "this kernel has no /proc/timer_list to mask"
  b=$(make_bundle b sh -c 'echo x > /proc/timer_list; echo "hostname=$(hostname)"; echo "masked-bytes=$(cat /proc/timer_list | wc -c)"')
  dev=$TEST_TMP/devdir
  mkdir -p "$dev"
  ln -s /proc/sys/kernel/hostname "$dev/null"
  edit_config "$b" '.hostname = "box"
    | .mounts |= map(if .destination == "/dev" then {destination: "/dev", type: "bind", source: $d, options: ["rbind"]} else . end)
    | .linux.maskedPaths = ["/proc/timer_list"]
    | .linux.namespaces |= map(select(.type != "uts")) + [{type: "uts"}]' --arg d "$dev"
  sec_run mask "$b"
  assert_no_leftovers "$(cid mask)"
  assert_no_host_mounts
  if [ "$RC" -ne 0 ]; then
    echo "refused: $OUT"
    case "$OUT" in
      *"/dev/null"* | *maskedPaths*) ;;
      *) fail "nsbox run with /dev/null a link to /proc/sys/kernel/hostname failed without naming /dev/null or maskedPaths: [$OUT]" ;;
    esac
    return 0
  fi
  assert_contains "$OUT" "hostname=box" "the container's hostname after echo x > /proc/timer_list (masked from a /dev/null that links to /proc/sys/kernel/hostname; output [$OUT])"
  assert_contains "$OUT" "masked-bytes=0" "the masked /proc/timer_list (output [$OUT])"
}

# --- 3. --pid-file in a world-writable directory --------------------------------------------

# SEC_ATTACKER_UID: the uid of the (unprivileged) user who plants links; no account needed.
SEC_ATTACKER_UID=54321

# sec_plant_pidfile_link DIR MODE OWNER NAME CANARY: DIR made world-writable (MODE 0777 or
# 1777, owned by OWNER), in which the attacker (SEC_ATTACKER_UID) planted DIR/.NAME.tmp, the
# runtime's temporary name for DIR/NAME, as a symlink to the root-owned CANARY.
sec_plant_pidfile_link() {
  local dir=$1 mode=$2 owner=$3 name=$4 canary=$5
  mkdir -p "$dir"
  chown "$owner" "$dir"
  chmod "$mode" "$dir"
  ln -s "$canary" "$dir/.$name.tmp"
  chown -h "$SEC_ATTACKER_UID:$SEC_ATTACKER_UID" "$dir/.$name.tmp"
}

# sec_pidfile_dir CASE VERB: for CASE "plain" (0777, root's) or "sticky" (1777, the
# attacker's), make $TEST_TMP/CASE-VERB with the link planted to the canary
# $TEST_TMP/canary/VERB-CASE. Sets PF (the pid file to ask for), CANARY and MODE.
sec_pidfile_dir() {
  local case_=$1 verb=$2 owner
  if [ "$case_" = plain ]; then
    MODE=0777
    owner=0:0
  else
    MODE=1777
    owner=$SEC_ATTACKER_UID:$SEC_ATTACKER_UID
  fi
  CANARY=$TEST_TMP/canary/$verb-$case_
  sec_canary "$CANARY"
  sec_plant_pidfile_link "$TEST_TMP/$case_-$verb" "$MODE" "$owner" pidfile "$CANARY"
  PF=$TEST_TMP/$case_-$verb/pidfile
}

# Replays: `create --pid-file DIR/pidfile` where DIR is world-writable (sticky or not) and an
# attacker planted DIR/.pidfile.tmp as a symlink to a root-owned file: a runtime that opens
# its temporary file with O_CREAT|O_TRUNC (no O_EXCL, no O_NOFOLLOW) writes the pid into the
# attacker's target. (The sticky directory is the attacker's own: fs.protected_symlinks lets
# root follow links there.) The target must be unchanged, the pid file must hold the pid.
test_create_pid_file_does_not_follow_planted_link() {
  local b case_ id rc
  b=$(make_bundle b sleep 100)
  for case_ in plain sticky; do
    sec_pidfile_dir "$case_" create
    id=$(cid "create-$case_")
    rc=0
    # (Output to a file: the container keeps the descriptors it is given.)
    timeout 60 "$NSBOX" --root "$TEST_ROOT" create --pid-file "$PF" --bundle "$b" "$id" </dev/null >"$TEST_TMP/out" 2>&1 || rc=$?
    sec_check_canary "$CANARY" "nsbox create --pid-file $PF with a link to it planted as $(dirname "$PF")/.pidfile.tmp (mode $MODE)"
    [ "$rc" -eq 0 ] || fail "nsbox create --pid-file $PF (a link planted as $(dirname "$PF")/.pidfile.tmp, mode $MODE) exited $rc: [$(cat "$TEST_TMP/out")]"
    assert_eq "$(cat "$PF" 2>&1)" "$(nsbox state "$id" | jq -r .pid)" "the pid file $PF of nsbox create (mode $MODE)"
    nsbox delete --force "$id"
    assert_no_leftovers "$id"
  done
}

# The same attack on `exec --pid-file`: the pid file must name the exec'd process.
test_exec_pid_file_does_not_follow_planted_link() {
  local b case_ id rc pid
  b=$(make_bundle b sleep 100)
  id=$(cid exec)
  timeout 60 "$NSBOX" --root "$TEST_ROOT" run -d --bundle "$b" "$id" </dev/null >"$TEST_TMP/run.out" 2>&1 ||
    fail "nsbox run -d $id: [$(cat "$TEST_TMP/run.out")]"
  for case_ in plain sticky; do
    sec_pidfile_dir "$case_" exec
    rc=0
    timeout 60 "$NSBOX" --root "$TEST_ROOT" exec -d --pid-file "$PF" "$id" sleep 77 </dev/null >"$TEST_TMP/out" 2>&1 || rc=$?
    sec_check_canary "$CANARY" "nsbox exec --pid-file $PF with a link to it planted as $(dirname "$PF")/.pidfile.tmp (mode $MODE)"
    [ "$rc" -eq 0 ] || fail "nsbox exec -d --pid-file $PF (a link planted as $(dirname "$PF")/.pidfile.tmp, mode $MODE) exited $rc: [$(cat "$TEST_TMP/out")]"
    pid=$(cat "$PF" 2>&1)
    [ -r "/proc/$pid/cmdline" ] && [ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "sleep 77 " ] ||
      fail "the pid file $PF of nsbox exec -d (mode $MODE) holds [$pid], not the pid of the exec'd sleep 77"
  done
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

# --- 4. the container's init between create and start ---------------------------------------

# Replays: until `start`, the container's pid 1 is still a clone of the runtime, holding the
# caller's environment and memory; a process exec'd into the created container (same uid,
# the default capabilities, no CAP_SYS_PTRACE) reads /proc/1/environ, opens /proc/1/mem for
# writing and ptraces pid 1. All of it must be refused; once started, pid 1's environment is
# the config's.
test_created_init_not_readable_or_traceable() {
  local root b id marker out
  sec_rootfs root
  root=$ROOT
  marker=nsbox-secret-$$-$RANDOM
  # (sleep itself, not through sh, which would add SHLVL and PWD to the environment.)
  b=$(make_bundle b sleep 100)
  edit_config "$b" '.root.path = $r | .root.readonly = false' --arg r "$root"
  id=$(cid init)
  # The caller's environment holds a secret the container must never see.
  NSBOX_SECRET_MARKER=$marker timeout 60 "$NSBOX" --root "$TEST_ROOT" create --bundle "$b" "$id" \
    </dev/null >"$TEST_TMP/create.out" 2>&1 || fail "nsbox create $id: [$(cat "$TEST_TMP/create.out")]"
  out=$(timeout 60 "$NSBOX" --root "$TEST_ROOT" exec "$id" /escape_tools proc1 "$marker" </dev/null 2>&1) ||
    fail "nsbox exec $id /escape_tools proc1 failed: [$out]"
  echo "before start: $(printf '%s\n' "$out" | tr '\n' ' ')"
  assert_contains "$out" "environ " "the probe's output [$out]"
  assert_not_contains "$out" "environ MARKER-SEEN" "the caller's environment (NSBOX_SECRET_MARKER) read from /proc/1/environ of the created container"
  assert_not_contains "$out" "environ READ" "/proc/1/environ of the created container (the runtime's clone) readable by an exec'd process"
  assert_not_contains "$out" "mem OPENED" "/proc/1/mem of the created container opened O_RDWR by an exec'd process"
  assert_not_contains "$out" "attach OK" "PTRACE_ATTACH to pid 1 of the created container"
  assert_not_contains "$out" "seize OK" "PTRACE_SEIZE of pid 1 of the created container"
  assert_contains "$out" "seize " "the probe's output [$out]"
  # Started: pid 1 is the user's program, with the config's environment only.
  nsbox start "$id" || fail "nsbox start $id failed"
  out=$(timeout 60 "$NSBOX" --root "$TEST_ROOT" exec "$id" cat /proc/1/environ </dev/null 2>&1 | tr '\0' '\n') ||
    fail "nsbox exec $id cat /proc/1/environ failed: [$out]"
  assert_not_contains "$out" "$marker" "the caller's environment in pid 1 of the started container"
  # process.env, and HOME (from the image's /etc/passwd) when it lacks one, as runc adds.
  assert_eq "$(printf '%s\n' "$out" | grep -v '^HOME=' | sort)" "$(jq -r '.process.env[]' "$b/config.json" | sort)" \
    "/proc/1/environ of the started container (HOME= aside) against process.env"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

# --- 5. signal dispositions the caller ignored ---------------------------------------------

# sec_ignoring CMD...: run CMD (nsbox) with SIGPIPE, SIGHUP, SIGTERM and SIGINT ignored, as a
# caller such as nohup, a daemon or a shell script with `trap ''` leaves them.
sec_ignoring() { bash -c 'trap "" PIPE HUP TERM INT; exec "$@"' sh "$@"; }

# sec_check_sigs WHAT STATUS_TEXT: nothing ignored, nothing blocked.
sec_check_sigs() {
  assert_eq "$(status_field "$2" SigIgn)" 0000000000000000 "SigIgn of $1 (nsbox run with SIGPIPE, SIGHUP, SIGTERM, SIGINT ignored)"
  assert_eq "$(status_field "$2" SigBlk)" 0000000000000000 "SigBlk of $1"
}

# Replays: ignored dispositions survive fork and execve, so a runtime that does not reset
# them hands them to the container: its init and exec'd processes cannot be stopped with
# SIGTERM or SIGINT, and die quietly on a closed pipe no more. Run from a caller that ignores
# SIGPIPE, SIGHUP, SIGTERM and SIGINT, the container's processes must ignore and block
# nothing.
test_ignored_signals_not_inherited_by_container() {
  local b id out pid
  # The control: the caller does ignore them.
  out=$(sec_ignoring cat /proc/self/status)
  assert_eq "$(status_field "$out" SigIgn)" 0000000000005003 "SigIgn of cat run by sec_ignoring (the caller of nsbox)"
  # run, in the foreground: the init is the program itself.
  b=$(make_bundle b cat /proc/self/status)
  out=$(sec_ignoring timeout 60 "$NSBOX" --root "$TEST_ROOT" run --bundle "$b" "$(cid fg)" </dev/null 2>&1) ||
    fail "nsbox run $(cid fg): [$out]"
  sec_check_sigs "the container's init (nsbox run)" "$out"
  assert_no_leftovers "$(cid fg)"
  # create + start: the init, seen from the host; then an exec'd process, and one exec -d'd.
  b=$(make_bundle b2 sleep 100)
  id=$(cid bg)
  sec_ignoring timeout 60 "$NSBOX" --root "$TEST_ROOT" create --bundle "$b" "$id" </dev/null >"$TEST_TMP/create.out" 2>&1 ||
    fail "nsbox create $id: [$(cat "$TEST_TMP/create.out")]"
  sec_ignoring timeout 60 "$NSBOX" --root "$TEST_ROOT" start "$id" </dev/null >"$TEST_TMP/start.out" 2>&1 ||
    fail "nsbox start $id: [$(cat "$TEST_TMP/start.out")]"
  pid=$(nsbox state "$id" | jq -r .pid)
  sec_check_sigs "the container's init (nsbox create + start)" "$(cat "/proc/$pid/status")"
  out=$(sec_ignoring timeout 60 "$NSBOX" --root "$TEST_ROOT" exec "$id" cat /proc/self/status </dev/null 2>&1) ||
    fail "nsbox exec $id: [$out]"
  sec_check_sigs "a process nsbox exec runs" "$out"
  sec_ignoring timeout 60 "$NSBOX" --root "$TEST_ROOT" exec -d --pid-file "$TEST_TMP/exec.pid" "$id" sleep 99 \
    </dev/null >"$TEST_TMP/exec.out" 2>&1 || fail "nsbox exec -d $id: [$(cat "$TEST_TMP/exec.out")]"
  sec_check_sigs "a process nsbox exec -d runs" "$(cat "/proc/$(cat "$TEST_TMP/exec.pid")/status")"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

# --- 6. exec --user values that wrap around --------------------------------------------------

# Replays: `exec --user -1` parsed with strtoul and cast to 32 bits is uid 4294967295, which
# setuid(2) takes as "leave unchanged": the command runs as root. Values that are not a
# 32-bit id other than -1 (-1 itself, 4294967295, 99999999999, a gid of -1) must be refused
# with an error naming --user, and nothing run.
test_exec_user_out_of_range_refused() {
  local b id u form rc out
  b=$(make_bundle b sleep 100)
  id=$(cid user)
  timeout 60 "$NSBOX" --root "$TEST_ROOT" run -d --bundle "$b" "$id" </dev/null >"$TEST_TMP/run.out" 2>&1 ||
    fail "nsbox run -d $id: [$(cat "$TEST_TMP/run.out")]"
  # The control: an ordinary uid:gid runs as asked.
  out=$(timeout 60 "$NSBOX" --root "$TEST_ROOT" exec --user 1000:1000 "$id" sh -c 'echo "RAN $(id -u):$(id -g)"' </dev/null 2>&1) ||
    fail "nsbox exec --user 1000:1000: [$out]"
  assert_eq "$out" "RAN 1000:1000" "nsbox exec --user 1000:1000"
  for u in -1 4294967295 99999999999 0:-1 1000:4294967295; do
    for form in "--user $u" "--user=$u"; do
      rc=0
      # shellcheck disable=SC2086  # the flag and its value, as two words or one
      out=$(timeout 60 "$NSBOX" --root "$TEST_ROOT" exec $form "$id" sh -c 'echo "RAN $(id -u):$(id -g)"' </dev/null 2>&1) || rc=$?
      echo "nsbox exec $form: exit $rc: $out"
      [ "$rc" -ne 0 ] || fail "nsbox exec $form exited 0 (output [$out]): an out-of-range --user must be refused"
      assert_not_contains "$out" RAN "nsbox exec $form ran the command"
      assert_contains "$out" "--user" "the error of nsbox exec $form"
    done
  done
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

# --- 7. readonlyPaths keep the mount's flags --------------------------------------------------

# sec_mount_opts MOUNTINFO_TEXT MOUNT_POINT: the per-mount options of the topmost mount on
# MOUNT_POINT, one per line.
sec_mount_opts() {
  printf '%s\n' "$1" | awk -v m="$2" '$5 == m { o = $6 } END { print o }' | tr ',' '\n'
}

# sec_check_opts WHAT MOUNTINFO_TEXT MOUNT_POINT OPTION...: the mount has every OPTION.
sec_check_opts() {
  local what=$1 mi=$2 mp=$3 o opts
  shift 3
  opts=$(sec_mount_opts "$mi" "$mp")
  [ -n "$opts" ] || fail "$what: nothing mounted on $mp in the container: [$mi]"
  for o in "$@"; do
    printf '%s\n' "$opts" | grep -qx -- "$o" ||
      fail "$what: the mount on $mp lacks $o: its options are [$(printf '%s' "$opts" | tr '\n' ',')]"
  done
}

# Replays: a readonlyPath is a bind of the path onto itself remounted read-only; a remount
# that passes only MS_RDONLY drops nosuid, nodev and noexec, so that /proc/sys, or a volume
# the config mounted noexec, becomes executable and setuid-capable again inside the
# container. /proc/sys must be ro,nosuid,nodev,noexec in the default config, and a
# readonlyPath on a bind mounted noexec,nosuid,nodev keeps those.
test_readonly_paths_keep_mount_flags() {
  local root b
  sec_rootfs root
  root=$ROOT
  mkdir -p "$TEST_TMP/vol"
  cp "$TOOLS" "$TEST_TMP/vol/prog"
  chmod 755 "$TEST_TMP/vol/prog"
  b=$(sec_bundle b "$root" 'cat /proc/self/mountinfo; /data/prog euid >/dev/null 2>&1 && echo DATA-EXECUTED; true')
  edit_config "$b" '.mounts += [{destination: "/data", type: "bind", source: $v, options: ["rbind", "noexec", "nosuid", "nodev"]}]
    | .linux.readonlyPaths += ["/data"]' --arg v "$TEST_TMP/vol"
  run_ok ro "$b"
  sec_check_opts "readonlyPath /proc/sys (default config)" "$OUT" /proc/sys ro nosuid nodev noexec
  sec_check_opts "readonlyPath /data on a bind mounted noexec,nosuid,nodev" "$OUT" /data ro nosuid nodev noexec
  assert_not_contains "$OUT" DATA-EXECUTED "a program run from /data (mounted noexec, then a readonlyPath)"
  assert_no_leftovers "$(cid ro)"
  assert_no_host_mounts
}

# --- 8. rootfsPropagation with the bundle on a shared mount ----------------------------------

# sec_shared_mounts: the host's mounts on $TEST_TMP/shared or below, one mount point a line.
sec_shared_mounts() { sec_mounted_on "$TEST_TMP/shared"; }

# sec_check_no_leak WHAT: nothing mounted at or below $TEST_TMP/shared but the test's own
# shared bind.
sec_check_no_leak() {
  local m
  m=$(sec_shared_mounts)
  assert_eq "$m" "$TEST_TMP/shared" "$1: mounts at or below $TEST_TMP/shared on the host (the test made one, the shared bind)"
}

# Replays: the bundle sits on a shared mount (a bind of a directory onto itself made
# shared, as systemd makes / shared on most hosts). A rootfs bound from there joins the
# host's peer group unless the container's mount tree is made a slave first, so that the
# container's mounts (proc, dev, sys...) and any rootfsPropagation other than private
# propagate back to the host. Every propagation must run, and nothing of the container may
# appear on the host, also after a create that fails half-way through its mounts.
test_rootfs_propagation_on_shared_bundle_leaks_nothing() {
  local shared b prop mi rootline
  shared=$TEST_TMP/shared
  mkdir -p "$shared"
  mount --bind "$shared" "$shared" || skip "cannot bind-mount $shared onto itself"
  at_exit "umount -l '$shared'"
  mount --make-shared "$shared" || fail "mount --make-shared $shared"
  sec_check_no_leak "before any container"
  b=$shared/bundle
  mkdir -p "$b"
  cp -a "$(shared_rootfs)" "$b/rootfs"
  "$NSBOX" spec --bundle "$b"
  for prop in slave private shared unbindable rslave rprivate; do
    edit_config "$b" '.root.path = "rootfs" | .root.readonly = false | .process.terminal = false
      | .process.args = ["sh", "-c", "echo hello-from-$(hostname); cat /proc/self/mountinfo"]
      | .linux.rootfsPropagation = $p' --arg p "$prop"
    sec_run "prop-$prop" "$b"
    [ "$RC" -eq 0 ] || fail "nsbox run with rootfsPropagation $prop and the bundle on a shared mount exited $RC: [$OUT]"
    assert_contains "$OUT" "hello-from-nsbox" "the container's output (rootfsPropagation $prop)"
    mi=$OUT
    rootline=$(printf '%s\n' "$mi" | awk '$5 == "/"' | tail -1)
    # The propagation asked for, as the container's mount table shows its root.
    case "$prop" in
      shared) assert_contains "$rootline" " shared:" "the container's / with rootfsPropagation $prop" ;;
      slave | rslave) assert_contains "$rootline" " master:" "the container's / with rootfsPropagation $prop" ;;
      unbindable) assert_contains "$rootline" " unbindable" "the container's / with rootfsPropagation $prop" ;;
      private | rprivate)
        assert_not_contains "$rootline" " shared:" "the container's / with rootfsPropagation $prop"
        assert_not_contains "$rootline" " master:" "the container's / with rootfsPropagation $prop"
        ;;
    esac
    sec_check_no_leak "after nsbox run with rootfsPropagation $prop"
    assert_no_leftovers "$(cid "prop-$prop")"
  done
  # A create that fails after some mounts were made: a file system that does not exist, last.
  for prop in shared slave; do
    edit_config "$b" '.linux.rootfsPropagation = $p
      | .mounts += [{destination: "/bogus", type: "bogusfs", source: "bogus"}]' --arg p "$prop"
    sec_run "bogus-$prop" "$b"
    [ "$RC" -ne 0 ] || fail "nsbox run with a mount of type bogusfs exited 0: [$OUT]"
    assert_contains "$OUT" "/bogus" "the error of a mount of type bogusfs"
    sec_check_no_leak "after a failed create with rootfsPropagation $prop"
    assert_no_leftovers "$(cid "bogus-$prop")"
    edit_config "$b" '.mounts |= map(select(.destination != "/bogus"))'
  done
}

# --- 9. cgroup.procs read from another pid namespace -----------------------------------------

# sec_cgroup_mounts: the mount points of every cgroup hierarchy (v1 and cgroup2), one a line.
sec_cgroup_mounts() { awk '$9 == "cgroup" || $9 == "cgroup2" { print $5 }' /proc/self/mountinfo; }

# sec_cgroup_dirs CGPATH: the directories of the absolute cgroup path CGPATH in every
# mounted cgroup hierarchy where it exists, one a line.
sec_cgroup_dirs() {
  local mp
  while read -r mp; do
    [ ! -d "$mp$1" ] || echo "$mp$1"
  done < <(sec_cgroup_mounts)
}

# sec_cgroup2_dir CGPATH: CGPATH in the cgroup2 hierarchy (empty when there is none).
sec_cgroup2_dir() {
  local mp
  mp=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
  [ -z "$mp" ] || echo "$mp$1"
}

# sec_cgroup_move PID CGPATH: move PID into CGPATH in every hierarchy where it exists.
sec_cgroup_move() {
  local d n=0
  for d in $(sec_cgroup_dirs "$2"); do
    echo "$1" >"$d/cgroup.procs" || fail "cannot move pid $1 into $d"
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || fail "no cgroup directory $2 in any hierarchy"
}

# sec_foreign_sleep: an unrelated host process (SLEEP_PID), killed at exit.
sec_foreign_sleep() {
  sleep 1000 >/dev/null 2>&1 &
  SLEEP_PID=$!
  kill_at_exit "$SLEEP_PID"
  disown "$SLEEP_PID"  # its end, wherever it comes from, is no news
}

# sec_in_new_pidns VIEW MARK CMD...: run CMD in a new pid namespace (the host's /proc stays,
# so that pids in nsbox's state still name processes; but cgroup.procs lists every process
# outside the namespace as 0), in a session of its own, under a wrapper shell in the same
# process group that writes "exit N" to MARK once CMD returns: a CMD that signals its own
# process group (kill(0, ...)) kills the wrapper. VIEW "all": every cgroup hierarchy is
# seen; "cgroup2-only": also a mount namespace of its own in which the v1 hierarchies are
# hidden (an engine that sees only cgroup2; a v1 hierarchy's cgroup.procs leaves out the
# processes it cannot name rather than showing 0). CMD's output goes to MARK.out.
sec_in_new_pidns() {
  local view=$1 mark=$2 hide=""
  shift 2
  rm -f "$mark"
  printf '%s\n' 'mark=$1; shift; "$@"; echo "exit $?" >"$mark"' >"$TEST_TMP/wrapper.sh"
  [ "$view" = all ] || hide=$(awk '$9 == "cgroup" { print $5 }' /proc/self/mountinfo | xargs)
  # The namespace's init (sh) runs the wrapper: an init ignores kills from its own namespace.
  # (In a subshell with no stderr: timeout, seeing its child killed, kills itself alike,
  # which bash reports.)
  RC=0
  # shellcheck disable=SC2086  # $hide: one word per mount point
  (
    timeout 60 setsid -w unshare ${hide:+-m} -p -f sh -c 'hide=$1; shift
      for mp in $hide; do mount -t tmpfs nsbox-test-hide "$mp" || exit 1; done
      bash "$@"; true' sh "$hide" "$TEST_TMP/wrapper.sh" "$mark" "$@" </dev/null >"$mark.out" 2>&1 || exit $?
  ) 2>/dev/null || RC=$?
  [ "$RC" -ne 124 ] || fail "$* in a new pid namespace hung (killed after 60 s): [$(cat "$mark.out")]"
}

# sec_cgroup_kill CGPATH: kill (by pid, as the host sees them) every process in the cgroup
# CGPATH, then remove its directories: what a container that nsbox lost track of leaves.
sec_cgroup_kill() {
  local d p i procs
  d=$(sec_cgroup2_dir "$1")
  for i in $(seq 100); do
    procs=$(cat "$d/cgroup.procs" 2>/dev/null) || break
    [ -n "$procs" ] || break
    for p in $procs; do kill -KILL "$p" 2>/dev/null; done
    sleep 0.05
  done
  for d in $(sec_cgroup_dirs "$1"); do rmdir "$d" 2>/dev/null; done
  true
}

# sec_pidns_attack NAME VIEW PIDNS ARG...: container $(cid NAME) (sleep, cgroupsPath
# /nsbox-ID; without a pid namespace of its own when PIDNS is "host") with a foreign host
# sleep moved into all its cgroups; then `nsbox ARG...` (an ARG "ID" is the container's id)
# run by sec_in_new_pidns VIEW. The wrapper must survive. Cleans up from the host afterwards.
sec_pidns_attack() {
  local name=$1 view=$2 pidns=$3 b id cg mark a args=()
  shift 3
  id=$(cid "$name")
  cg=/nsbox-$id
  b=$(make_bundle "$name" sleep 100)
  edit_config "$b" '.linux.cgroupsPath = $c' --arg c "$cg"
  [ "$pidns" != host ] || edit_config "$b" '.linux.namespaces |= map(select(.type != "pid"))'
  timeout 60 "$NSBOX" --root "$TEST_ROOT" run -d --bundle "$b" "$id" </dev/null >"$TEST_TMP/run.out" 2>&1 ||
    fail "nsbox run -d $id: [$(cat "$TEST_TMP/run.out")]"
  # Whatever nsbox leaves of it when run from the other namespace goes at exit.
  at_exit "sec_cgroup_kill '$cg'"
  sec_foreign_sleep
  sec_cgroup_move "$SLEEP_PID" "$cg"
  [ -n "$(sec_cgroup2_dir "$cg")" ] || skip "no cgroup2 hierarchy: cgroup.procs of v1 never shows 0"
  assert_contains "$(cat "$(sec_cgroup2_dir "$cg")/cgroup.procs")" "$SLEEP_PID" "the foreign sleep in the container's cgroup2 leaf"
  sec_pidns_possible "$cg"
  for a in "$@"; do
    if [ "$a" = ID ]; then args+=("$id"); else args+=("$a"); fi
  done
  mark=$TEST_TMP/$name.mark
  sec_in_new_pidns "$view" "$mark" "$NSBOX" --root "$TEST_ROOT" "${args[@]}"
  echo "nsbox ${args[*]} in a new pid namespace ($view): timeout's status $RC, wrapper [$(cat "$mark" 2>/dev/null)], output [$(cat "$mark.out")]"
  [ -e "$mark" ] ||
    fail "nsbox ${args[*]}, run in another pid namespace (cgroup.procs shows 0; cgroups seen: $view), killed its own process group: the wrapper shell in that group never wrote its mark (output [$(cat "$mark.out")])"
  # From the host, whatever nsbox did in the other namespace.
  kill -KILL "$SLEEP_PID" 2>/dev/null || true
  nsbox delete --force "$id" 2>/dev/null || true
  # The v1 cgroups hidden from nsbox there are the test's to remove (to nsbox, they were
  # gone already).
  [ "$view" = all ] || sec_cgroup_kill "$cg"
  assert_no_leftovers "$id"
}

# sec_pidns_possible CGPATH: skip unless unshare -p works and shows the processes of the
# cgroup2 directory of CGPATH as 0 (what the attack relies on).
sec_pidns_possible() {
  command -v unshare >/dev/null && command -v setsid >/dev/null || skip "unshare or setsid is not installed"
  local seen
  seen=$(unshare -p -f cat "$(sec_cgroup2_dir "$1")/cgroup.procs" 2>&1) || skip "unshare -p -f does not work here: $seen"
  printf '%s\n' "$seen" | grep -qx 0 || skip "cgroup.procs read from a new pid namespace shows [$seen], not 0"
}

# Replays: `kill --all` reads the pids of the container's cgroup from cgroup.procs, which
# shows 0 for every process outside the reader's pid namespace (nsbox run by an engine in a
# pid namespace of its own, with a foreign process moved into the cgroup); kill(0, SIG) is
# the caller's own process group. nsbox must never signal pid 0: the wrapper shell that ran
# it, in the same process group, must survive. Seen with only cgroup2 (as on a cgroup v2
# host, or an engine that sees only cgroup2) and with every hierarchy of this host.
test_kill_all_never_signals_own_process_group() {
  sec_pidns_attack kill2 cgroup2-only own kill --all ID KILL
  sec_pidns_attack killall all own kill --all ID KILL
}

# The same for `delete --force` of a container without a pid namespace of its own, whose
# processes nsbox kills one by one from cgroup.procs.
test_delete_force_never_signals_own_process_group() {
  sec_pidns_attack del2 cgroup2-only host delete --force ID
  sec_pidns_attack delall all host delete --force ID
}

# --- 10. a cgroupsPath whose cgroup already holds processes ---------------------------------

# sec_busy_cgroup CGPATH: the cgroup CGPATH made by the test in every hierarchy, holding a
# foreign host sleep (SLEEP_PID); both go at exit.
sec_busy_cgroup() {
  local mp
  at_exit "sec_cgroup_kill '$1'"
  while read -r mp; do
    mkdir "$mp$1" || fail "mkdir $mp$1"
    # A new v1 cpuset has no cpus or memory nodes until given its parent's (v2 has no
    # cpuset.cpus in its root and needs none).
    if [ -e "$mp$1/cpuset.cpus" ] && [ -e "$mp/cpuset.cpus" ]; then
      cat "$mp/cpuset.cpus" >"$mp$1/cpuset.cpus"
      cat "$mp/cpuset.mems" >"$mp$1/cpuset.mems"
    fi
  done < <(sec_cgroup_mounts)
  sec_foreign_sleep
  sec_cgroup_move "$SLEEP_PID" "$1"
}

# Replays: a config's cgroupsPath names a cgroup that already holds an unrelated process (a
# typo, a reused path, or a hostile config): a runtime that joins it anyway puts the
# container beside that process, applies the container's limits to it, and its `kill --all`
# and `delete --force` kill it. create must refuse as runc does ("container's cgroup is not
# empty"), leaving no state and the cgroup as it was, and a later `delete --force` must not
# touch the process either. With and without a pid namespace of its own (without one,
# delete --force kills every process of the cgroup).
test_create_refuses_cgroup_holding_processes() {
  local b id cg pidns rc n=0 d problems=""
  for pidns in own host; do
    n=$((n + 1))
    id=$(cid "busy$n")
    cg=/nsbxtest-$$-busy$n
    sec_busy_cgroup "$cg"
    b=$(make_bundle "b$n" sleep 100)
    edit_config "$b" '.linux.cgroupsPath = $c' --arg c "$cg"
    [ "$pidns" = own ] || edit_config "$b" '.linux.namespaces |= map(select(.type != "pid"))'
    rc=0
    timeout 60 "$NSBOX" --root "$TEST_ROOT" create --bundle "$b" "$id" </dev/null >"$TEST_TMP/create$n.out" 2>&1 || rc=$?
    echo "nsbox create with cgroupsPath $cg holding pid $SLEEP_PID (pid namespace: $pidns): exit $rc: $(cat "$TEST_TMP/create$n.out")"
    if [ "$rc" -eq 0 ]; then
      problems="$problems [nsbox create $id (pid namespace: $pidns) exited 0 with cgroupsPath $cg holding the foreign pid $SLEEP_PID]"
    else
      case "$(cat "$TEST_TMP/create$n.out")" in
        *"container's cgroup is not empty"*) ;;
        *) problems="$problems [the error of nsbox create $id does not say \"container's cgroup is not empty\": $(cat "$TEST_TMP/create$n.out")]" ;;
      esac
      [ ! -e "$TEST_ROOT/$id" ] || problems="$problems [state directory $TEST_ROOT/$id left by the refused create]"
    fi
    kill -0 "$SLEEP_PID" 2>/dev/null || problems="$problems [the foreign sleep $SLEEP_PID died during nsbox create $id]"
    # Then the engine cleans up as it would after a failed create.
    rc=0
    timeout 60 "$NSBOX" --root "$TEST_ROOT" delete --force "$id" </dev/null >"$TEST_TMP/delete$n.out" 2>&1 || rc=$?
    kill -0 "$SLEEP_PID" 2>/dev/null ||
      problems="$problems [nsbox delete --force $id (pid namespace: $pidns) killed the foreign process $SLEEP_PID of cgroup $cg (delete exit $rc: $(cat "$TEST_TMP/delete$n.out"))]"
    while read -r d; do
      [ -d "$d$cg" ] || problems="$problems [the test's cgroup $d$cg removed by nsbox]"
    done < <(sec_cgroup_mounts)
    if kill -0 "$SLEEP_PID" 2>/dev/null; then
      case " $(xargs <"$(sec_cgroup2_dir "$cg")/cgroup.procs" 2>/dev/null) " in
        *" $SLEEP_PID "*) ;;
        *) problems="$problems [the foreign sleep $SLEEP_PID moved out of its cgroup $cg]" ;;
      esac
    fi
    assert_no_leftovers "$id"
  done
  [ -z "$problems" ] || fail "a cgroupsPath whose cgroup holds a foreign process:$problems"
}

# --- 11. sysctls for a network namespace joined by path ---------------------------------------

SEC_SYSCTL=net.ipv4.ip_forward
SEC_SYSCTL_FILE=/proc/sys/net/ipv4/ip_forward

# Replays: linux.sysctl is written once the container is in its namespaces; a config that
# joins the host's own network namespace by path (here /proc/self/ns/net, the runtime's)
# makes a net.* sysctl a write to the host's. create must refuse with an error naming the
# sysctl and the host's network namespace, and the host's value stays as it was. (The
# config asks for the host's current value, so that not even the unfixed runtime changes
# the host.) In a network namespace the test made itself the sysctl is allowed and takes
# effect there only.
test_sysctl_refused_for_host_network_namespace() {
  local b host_before other ns id out
  [ -e "$SEC_SYSCTL_FILE" ] || skip "no $SEC_SYSCTL_FILE on this kernel"
  host_before=$(cat "$SEC_SYSCTL_FILE")
  b=$(make_bundle b sh -c "cat $SEC_SYSCTL_FILE")
  edit_config "$b" '.linux.namespaces |= map(if .type == "network" then .path = "/proc/self/ns/net" else . end)
    | .linux.sysctl = {($k): $v}' --arg k "$SEC_SYSCTL" --arg v "$host_before"
  id=$(cid hostnet)
  sec_run hostnet "$b"
  assert_eq "$(cat "$SEC_SYSCTL_FILE")" "$host_before" "the host's $SEC_SYSCTL after nsbox run"
  assert_no_leftovers "$id"
  [ "$RC" -ne 0 ] || fail "nsbox run with network namespace path /proc/self/ns/net (the host's) and sysctl $SEC_SYSCTL exited 0 (output [$OUT]): the sysctl is written into the host's network namespace"
  echo "refused: $OUT"
  assert_contains "$OUT" "$SEC_SYSCTL" "the error of a sysctl for the host's network namespace"
  printf '%s\n' "$OUT" | grep -qiE 'network namespace|netns' ||
    fail "the error of a sysctl for the host's network namespace does not name the network namespace: [$OUT]"
  # A network namespace of the test's own, joined by path: allowed, there only.
  ns=$TEST_TMP/netns
  touch "$ns"
  unshare --net="$ns" true || skip "cannot make a persistent network namespace with unshare --net=FILE"
  at_exit "umount -l '$ns'"
  other=$((1 - host_before))
  edit_config "$b" '.linux.namespaces |= map(if .type == "network" then .path = $n else . end)
    | .linux.sysctl = {($k): $v}' --arg n "$ns" --arg k "$SEC_SYSCTL" --arg v "$other"
  run_ok ownnet "$b"
  out=$OUT
  assert_eq "$out" "$other" "$SEC_SYSCTL inside the container joined to the test's network namespace"
  assert_eq "$(nsenter --net="$ns" cat "$SEC_SYSCTL_FILE")" "$other" "$SEC_SYSCTL in the test's network namespace after the run"
  assert_eq "$(cat "$SEC_SYSCTL_FILE")" "$host_before" "the host's $SEC_SYSCTL after the run in the test's network namespace"
  assert_no_leftovers "$(cid ownnet)"
}

# --- 12. a hook that never reads its stdin ---------------------------------------------------

# sec_hook_pids: the pids of the test's hook program (by its unique path), one a line.
sec_hook_pids() { pgrep -f "^$TEST_TMP/hook-sleep" || true; }

# Replays: the runtime writes the state to a hook's stdin before it starts the hook's
# timeout; a hook that never reads (sleep 1000), given a state larger than a pipe buffer
# (1 MiB of annotations), blocks the runtime in that write for good. create must fail with
# an error saying that the hook timed out (`timeout 60` only guards against the hang), and
# leave nothing: no hook process, no container, no state.
test_hook_not_reading_state_times_out() {
  local b stage id rc pids _
  cp "$(command -v sleep)" "$TEST_TMP/hook-sleep"
  at_exit 'for p in $(sec_hook_pids); do kill -KILL "$p"; done'
  for stage in prestart createRuntime; do
    b=$(make_bundle "b-$stage" true)
    # 1 MiB of annotations: 16 values of 64 KiB.
    edit_config "$b" '.annotations = ([range(16)] | map({key: "org.nsbox.test.big\(.)", value: ("x" * 65536)}) | from_entries)
      | .hooks = {($s): [{path: $h, args: [$h, "1000"], timeout: 2}]}' --arg s "$stage" --arg h "$TEST_TMP/hook-sleep"
    id=$(cid "hook-$stage")
    rc=0
    timeout 60 "$NSBOX" --root "$TEST_ROOT" create --bundle "$b" "$id" </dev/null >"$TEST_TMP/create.out" 2>&1 || rc=$?
    pids=$(sec_hook_pids | xargs)
    [ "$rc" -ne 124 ] ||
      fail "nsbox create with a $stage hook that never reads its stdin (1 MiB of state) hung: killed after 60 s (hook processes left: [$pids]; output [$(cat "$TEST_TMP/create.out")])"
    [ "$rc" -ne 0 ] || fail "nsbox create with a $stage hook (sleep 1000, timeout 2) exited 0: [$(cat "$TEST_TMP/create.out")]"
    echo "$stage: exit $rc: $(cat "$TEST_TMP/create.out")"
    assert_contains "$(cat "$TEST_TMP/create.out")" "timed out" "the error of nsbox create with a $stage hook that outlives its timeout"
    for _ in $(seq 100); do
      [ -n "$(sec_hook_pids)" ] || break
      sleep 0.05
    done
    assert_eq "$(sec_hook_pids | xargs)" "" "hook processes ($TEST_TMP/hook-sleep 1000) left after the failed create ($stage)"
    assert_no_leftovers "$id"
  done
  assert_no_host_mounts
}

# --- 13. a rootfs in which every path the runtime touches is a link to the host --------------

SEC_CANARY_FILES=()
SEC_CANARY_DIRS=()

# sec_h_target STYLE NAME: the text of a link to the host canary $TEST_TMP/canary/NAME:
# "abs" (the host path), "rel" (enough ../ to climb out of any rootfs, then the host path)
# or "magic" (through /proc/self/root, the root of whoever resolves it).
sec_h_target() {
  case "$1" in
    abs) echo "$TEST_TMP/canary/$2" ;;
    rel) echo "$(printf '../%.0s' $(seq 24))${TEST_TMP#/}/canary/$2" ;;
    magic) echo "/proc/self/root$TEST_TMP/canary/$2" ;;
    *) fail "unknown link style $1" ;;
  esac
}

# sec_h_link DIR PATH STYLE KIND NAME: replace DIR/PATH (DIR: a rootfs or a bundle's /dev
# directory) by a link (STYLE) to the host canary NAME, a file or a directory (KIND), made
# the first time it is named. The same path exists in the case's rootfs ($ROOT), a decoy:
# resolved inside the rootfs, as it must be, the link leads there, and the runtime goes on
# to its next steps (a dangling link would only make it stop early).
sec_h_link() {
  local dir=$1 path=$2 style=$3 kind=$4 name=$5 c
  c=$TEST_TMP/canary/$name
  if [ ! -e "$c" ]; then
    if [ "$kind" = dir ]; then
      sec_canary_dir "$c"
      SEC_CANARY_DIRS+=("$c")
    else
      sec_canary "$c"
      SEC_CANARY_FILES+=("$c")
    fi
  fi
  rm -rf "${dir:?}/$path"
  mkdir -p "$(dirname "$dir/$path")"
  ln -s "$(sec_h_target "$style" "$name")" "$dir/$path"
  if [ "$kind" = dir ]; then
    mkdir -p "$ROOT$c"
  else
    mkdir -p "$(dirname "$ROOT$c")"
    echo decoy >"$ROOT$c"
  fi
}

# sec_h_check WHAT: every canary as it was made, nothing mounted on it, nothing of the test's
# mounted on the host. (One stat, one find and one awk for all of them; the checks one by
# one only to name what changed.)
sec_h_check() {
  local c want got files=("${SEC_CANARY_FILES[@]}") dirs=("${SEC_CANARY_DIRS[@]}")
  for c in "${dirs[@]}"; do files+=("$c/keep"); done
  want=$(for c in "${files[@]}"; do echo "$c 600 0:0 regular file"; done
    for c in "${dirs[@]}"; do echo "$c 700 0:0 directory"; done
    for c in "${dirs[@]}"; do echo "entry $c/keep"; done)
  got=$(stat -c '%n %a %u:%g %F' "${files[@]}" "${dirs[@]}" 2>&1
    find "${dirs[@]}" -mindepth 1 -maxdepth 1 -printf 'entry %p\n' 2>&1
    awk 'FNR == 1 && $0 != "canary " FILENAME || FNR > 1 { print "content " FILENAME ": " $0 }' "${files[@]}" 2>&1)
  if [ "$got" != "$want" ]; then
    for c in "${SEC_CANARY_FILES[@]}"; do sec_check_canary "$c" "$1"; done
    for c in "${dirs[@]}"; do sec_check_canary_dir "$c" "$1"; done
    fail "$1: the host canaries changed: expected [$want], got [$got]"
  fi
  assert_no_host_mounts
}

# sec_h_case NAME PATHS [CONFIG_FILTER [jq args...]]: a rootfs copy at $TEST_TMP/NAME-rootfs
# (ROOT) and a bundle (B) whose program runs $SEC_H_PROBE (shell, may be empty), then, as
# an attacker would, writes, chmods and chowns through each of PATHS (inside the
# container), then prints how many bytes the masked /proc/kcore and /proc/timer_list show,
# and "ran". Links are planted by the caller before sec_h_go.
sec_h_case() {
  local name=$1 paths=$2
  shift 2
  ROOT=$TEST_TMP/$name-rootfs
  [ -n "${SEC_SHARED_ROOTFS:-}" ] || SEC_SHARED_ROOTFS=$(shared_rootfs)
  cp -a "$SEC_SHARED_ROOTFS" "$ROOT"
  B=$(sec_bundle "$name" "$ROOT" "${SEC_H_PROBE:-}"'
    for p in '"$paths"'; do
      (echo pwned > "$p") 2>/dev/null; (echo pwned > "$p/keep") 2>/dev/null
      chmod 777 "$p" "$p/keep" 2>/dev/null; chown 1:1 "$p" "$p/keep" 2>/dev/null
    done
    echo "masked-bytes=$(cat /proc/kcore /proc/timer_list 2>/dev/null | wc -c)"
    echo "ran in $(pwd)"')
  [ "$#" -eq 0 ] || edit_config "$B" "$@"
}

# sec_h_go NAME [nsbox run flags...]: run the case's bundle; either it runs (its masks
# intact) or nsbox fails with a one-line error; then the host must be untouched and nothing
# left.
sec_h_go() {
  local name=$1
  shift
  sec_run "$name" "$B" "$@"
  if [ "$RC" -eq 0 ]; then
    echo "$name: ran: $(printf '%s' "$OUT" | tr '\n' ' ')"
  else
    echo "$name: refused (exit $RC): $OUT"
    [ -n "$OUT" ] && [ "$(printf '%s\n' "$OUT" | wc -l)" -eq 1 ] ||
      fail "$name: nsbox failed (exit $RC) without a one-line error: [$OUT]"
  fi
  sec_h_check "hostile links, case $name"
  assert_no_leftovers "$(cid "$name")"
  [ "$RC" -ne 0 ] || assert_contains "$OUT" "masked-bytes=0" "hostile links, case $name: the default maskedPaths /proc/kcore and /proc/timer_list in the container that ran"
}

# sec_h_devdir NAME SPEC...: the bundle directory $TEST_TMP/NAME-dev (after sec_h_case:
# the case's bind of it as /dev names it so), holding for each SPEC "ENTRY:STYLE:KIND" a
# link to the canary NAME-ENTRY.
sec_h_devdir() {
  local name=$1 d=$TEST_TMP/$1-dev s entry style kind
  shift
  mkdir -p "$d"
  for s in "$@"; do
    IFS=: read -r entry style kind <<<"$s"
    sec_h_link "$d" "$entry" "$style" "$kind" "$name-$entry"
  done
}

# The jq filter that bind-mounts $dev as /dev instead of the tmpfs.
SEC_DEV_BIND='.mounts |= map(if .destination == "/dev" then {destination: "/dev", type: "bind", source: $dev, options: ["rbind"]} else . end)'

# Replays: an image (or a process exec'd into a created container that shares the rootfs)
# replaces the paths the runtime mounts on, creates, chmods or chowns with links to host
# files: absolute, relative with enough ../ to climb out of the rootfs, and magic links
# through /proc/self/root. A runtime that resolves any of them on the host's side mounts on,
# creates in, or changes host files. After each config (mount destinations, /dev from a
# bundle directory of links with its default devices and links, a terminal with
# --console-socket, maskedPaths, readonlyPaths, linux.devices, process.cwd) every canary
# must be as it was, with nothing mounted on it, and nothing left behind; each container
# either runs or fails with a one-line error.
test_hostile_links_never_reach_host() {
  local style
  escape_tools
  mkdir -p "$TEST_TMP/canary"
  chmod 0700 "$TEST_TMP/canary"
  mkdir -p "$TEST_TMP/vol"
  echo vol >"$TEST_TMP/volfile"
  # One config per kind of path and style of link: the first link refused stops a create.
  for style in abs rel magic; do
    # Mount destinations of the default spec: /proc, /sys, /dev (a tmpfs), /sys/fs/cgroup
    # (with no /sys mounted).
    sec_h_case "proc-$style" /proc
    sec_h_link "$ROOT" proc "$style" dir "proc-$style"
    sec_h_go "proc-$style"
    sec_h_case "sys-$style" /sys
    sec_h_link "$ROOT" sys "$style" dir "sys-$style"
    sec_h_go "sys-$style"
    sec_h_case "dev-$style" /dev
    sec_h_link "$ROOT" dev "$style" dir "dev-$style"
    sec_h_go "dev-$style"
    sec_h_case "cgroup-$style" /sys/fs/cgroup '.mounts |= map(select(.destination != "/sys"))'
    sec_h_link "$ROOT" sys/fs/cgroup "$style" dir "cgroup-$style"
    sec_h_go "cgroup-$style"
    # /dev bind-mounted from a bundle directory of links: the default devices and /dev
    # links, and the mounts on /dev/pts, /dev/shm, /dev/mqueue.
    sec_h_case "devbind-$style" "/dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/console /dev/ptmx /dev/pts /dev/shm /dev/mqueue /dev/fd /dev/stdin /dev/stdout /dev/stderr" \
      "$SEC_DEV_BIND" --arg dev "$TEST_TMP/devbind-$style-dev"
    sec_h_devdir "devbind-$style" null:"$style":file zero:"$style":file full:"$style":file \
      random:"$style":file urandom:"$style":file tty:"$style":file console:"$style":file \
      ptmx:"$style":file pts:"$style":dir shm:"$style":dir mqueue:"$style":dir fd:"$style":dir \
      stdin:"$style":file stdout:"$style":file stderr:"$style":file
    sec_h_go "devbind-$style"
    # The same with a real /dev/null, which the masks need: the create goes on past them.
    sec_h_case "devbind2-$style" "/dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/console /dev/ptmx /dev/pts /dev/shm /dev/mqueue /dev/fd /dev/stdin /dev/stdout /dev/stderr" \
      "$SEC_DEV_BIND" --arg dev "$TEST_TMP/devbind2-$style-dev"
    sec_h_devdir "devbind2-$style" zero:"$style":file full:"$style":file \
      random:"$style":file urandom:"$style":file tty:"$style":file console:"$style":file \
      ptmx:"$style":file pts:"$style":dir shm:"$style":dir mqueue:"$style":dir fd:"$style":dir \
      stdin:"$style":file stdout:"$style":file stderr:"$style":file
    mknod -m 666 "$TEST_TMP/devbind2-$style-dev/null" c 1 3
    sec_h_go "devbind2-$style"
    # Bind destinations: a directory and a file.
    sec_h_case "binds-$style" "/data /file" '.mounts += [
        {destination: "/data", type: "bind", source: $v, options: ["rbind"]},
        {destination: "/file", type: "bind", source: $f, options: ["bind"]}]' \
      --arg v "$TEST_TMP/vol" --arg f "$TEST_TMP/volfile"
    sec_h_link "$ROOT" data "$style" dir "data-$style"
    sec_h_link "$ROOT" file "$style" file "file-$style"
    sec_h_go "binds-$style"
    # maskedPaths and readonlyPaths on links to files and directories.
    # Either refused, or they mask and protect what the links lead to inside the rootfs.
    SEC_H_PROBE='echo "masked: file-bytes=$(cat /m-file 2>/dev/null | wc -c) dir-entries=$(ls -A /m-dir 2>/dev/null | wc -l)"'
    sec_h_case "masked-$style" "/m-file /m-dir" '.linux.maskedPaths += ["/m-file", "/m-dir"]'
    sec_h_link "$ROOT" m-file "$style" file "m-file-$style"
    sec_h_link "$ROOT" m-dir "$style" dir "m-dir-$style"
    sec_h_go "masked-$style"
    [ "$RC" -ne 0 ] || assert_contains "$OUT" "masked: file-bytes=0 dir-entries=0" "maskedPaths /m-file and /m-dir, links ($style) into the rootfs"
    SEC_H_PROBE='/escape_tools openw /r-file /r-dir/keep | sed "s/^/readonly: /"'
    sec_h_case "readonly-$style" "/r-file /r-dir" '.linux.readonlyPaths += ["/r-file", "/r-dir"]'
    sec_h_link "$ROOT" r-file "$style" file "r-file-$style"
    sec_h_link "$ROOT" r-dir "$style" dir "r-dir-$style"
    cp "$TOOLS" "$ROOT/escape_tools"
    echo decoy >"$ROOT$TEST_TMP/canary/r-dir-$style/keep"
    sec_h_go "readonly-$style"
    SEC_H_PROBE=
    if [ "$RC" -eq 0 ]; then
      assert_contains "$OUT" "readonly: /r-file EROFS" "readonlyPath /r-file, a link ($style) into the rootfs"
      assert_contains "$OUT" "readonly: /r-dir/keep EROFS" "readonlyPath /r-dir, a link ($style) into the rootfs"
    fi
    # linux.devices: below a directory that is a link, and on a link in a bound /dev.
    sec_h_case "devices-$style" "/devlink /dev/mynull" "$SEC_DEV_BIND"' | .linux.devices = [
        {path: "/devlink/null", type: "c", major: 1, minor: 3, fileMode: 438, uid: 0, gid: 0},
        {path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 438, uid: 0, gid: 0}]' \
      --arg dev "$TEST_TMP/devices-$style-dev"
    sec_h_devdir "devices-$style" mynull:"$style":file
    mknod -m 666 "$TEST_TMP/devices-$style-dev/null" c 1 3
    sec_h_link "$ROOT" devlink "$style" dir "devlink-$style"
    sec_h_go "devices-$style"
    # process.cwd through a link.
    sec_h_case "cwd-$style" . '.process.cwd = "/work"'
    sec_h_link "$ROOT" work "$style" dir "cwd-$style"
    sec_h_go "cwd-$style"
    # A terminal (--console-socket) on a /dev of links: /dev/console, /dev/pts, /dev/tty.
    sec_h_terminal "$style"
  done
}

# sec_h_terminal STYLE: the terminal case of test_hostile_links_never_reach_host.
sec_h_terminal() {
  local style=$1 helper=$TEST_TMP/recvtty rc=0 id name=tty-$1 console
  if [ ! -x "$helper" ]; then
    command -v cc >/dev/null || skip "cc is not installed (needed to build tests/integration/recvtty.c)"
    cc -O2 -o "$helper" "$SRC_DIR/tests/integration/recvtty.c" 2>"$TEST_TMP/cc.err" || fail "cc recvtty.c: $(cat "$TEST_TMP/cc.err")"
  fi
  sec_h_case "$name" "/dev/console /dev/pts /dev/tty" "$SEC_DEV_BIND"' | .process.terminal = true' \
    --arg dev "$TEST_TMP/$name-dev"
  sec_h_devdir "$name" console:"$style":file pts:"$style":dir tty:"$style":file
  # A real null device for the masks, and ptmx as it should be (through the devpts mounted
  # on the pts link).
  mknod -m 666 "$TEST_TMP/$name-dev/null" c 1 3
  ln -s pts/ptmx "$TEST_TMP/$name-dev/ptmx"
  "$helper" console "$TEST_TMP/$name.sock" e >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.meta" &
  console=$!
  kill_at_exit "$console"
  wait_for "the console socket" test -e "$TEST_TMP/$name.sock.ready"
  id=$(cid "$name")
  timeout 60 "$NSBOX" --root "$TEST_ROOT" run -d --console-socket "$TEST_TMP/$name.sock" --bundle "$B" "$id" \
    </dev/null >"$TEST_TMP/$name.run" 2>&1 || rc=$?
  [ "$rc" -ne 124 ] || fail "$name: nsbox run -d --console-socket hung: [$(cat "$TEST_TMP/$name.run")]"
  if [ "$rc" -eq 0 ]; then
    wait "$console" || true
    echo "$name: ran: $(tr -d '\r' <"$TEST_TMP/$name.out" | tr '\n' ' ')"
    wait_for "container $id to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
    nsbox delete "$id"
  else
    kill "$console" 2>/dev/null || true
    echo "$name: refused (exit $rc): $(cat "$TEST_TMP/$name.run")"
    [ -s "$TEST_TMP/$name.run" ] && [ "$(wc -l <"$TEST_TMP/$name.run")" -eq 1 ] ||
      fail "$name: nsbox failed (exit $rc) without a one-line error: [$(cat "$TEST_TMP/$name.run")]"
  fi
  sec_h_check "hostile links, case $name (terminal, --console-socket)"
  assert_no_leftovers "$id"
  [ "$rc" -ne 0 ] || assert_contains "$(tr -d '\r' <"$TEST_TMP/$name.out")" "masked-bytes=0" "hostile links, case $name: the default maskedPaths in the container that ran"
}
