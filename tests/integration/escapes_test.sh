# Container escapes that hit runc and crun, replayed against nsbox: overwriting the runtime
# binary through /proc/PID/exe (CVE-2019-5736), a cwd through a descriptor the runtime
# leaked (CVE-2024-21626), a mount target swapped for a symlink (CVE-2021-30465), mounts
# inside /proc and a /proc that is a symlink (CVE-2019-19921), defeating maskedPaths and
# readonlyPaths, capabilities, and setuid binaries under noNewPrivileges. Every attack is
# checked to get as far as it would have to get to succeed, so that each test can fail.
# The attacker's programs are tests/integration/escape_tools.c (never writes what it opens).
# shellcheck disable=SC2016  # container scripts and jq filters are literal
# shellcheck disable=SC2015  # "A && B || fail": fail exits


# --- helpers (not tests) -----------------------------------------------------------------

# esc_rootfs: tools_rootfs (lib.sh) at $TEST_TMP/rootfs. Sets ROOT.
esc_rootfs() { tools_rootfs "$TEST_TMP/rootfs"; }

# esc_script NAME SCRIPT: a bundle running `sh -c SCRIPT` (SCRIPT may span lines).
esc_script() {
  local b
  b=$(make_bundle "$1" sh)
  edit_config "$b" '.process.args = ["sh", "-c", $s]' --arg s "$2"
  echo "$b"
}

# esc_run NAME BUNDLE: nsbox run the bundle as $(cid NAME), stdout and stderr together in
# OUT, exit status in RC (never fails by itself).
esc_run() {
  RC=0
  OUT=$(timeout 30 "$NSBOX" --root "$TEST_ROOT" run --bundle "$2" "$(cid "$1")" </dev/null 2>&1) || RC=$?
}

# esc_start NAME BUNDLE: nsbox run -d the bundle as $(cid NAME); sets ID and PID (the init's
# host pid).
esc_start() {
  local rc=0
  ID=$(cid "$1")
  timeout 30 "$NSBOX" --root "$TEST_ROOT" run -d --bundle "$2" "$ID" \
    </dev/null >"$TEST_TMP/$ID.out" 2>"$TEST_TMP/$ID.err" || rc=$?
  [ "$rc" -eq 0 ] || fail "nsbox run -d $ID exited $rc: [$(cat "$TEST_TMP/$ID.err")]"
  PID=$(nsbox state "$ID" | jq -r .pid)
  [ -n "$PID" ] && [ "$PID" != null ] || fail "no pid in the state of $ID"
}

# esc_wait_file FILE SECONDS: wait for FILE to exist.
esc_wait_file() {
  local i
  for i in $(seq $(($2 * 20))); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  return 1
}

# --- CVE-2019-5736: the runtime binary through /proc/PID/exe ---------------------------------

# esc_private_nsbox: run this test on a private copy of the binary: nothing else (another
# test running in parallel) executes it, which would make it busy (ETXTBSY) and hide an
# unprotected binary; and the real build output is never at risk. Sets ESC_ORIG (the
# original binary), ESC_ORIG_SUM and ESC_SUM (sha256 of the original and of the copy),
# ESC_DEVINO (dev:inode of the copy) and points NSBOX at the copy.
esc_private_nsbox() {
  ESC_ORIG=$NSBOX
  ESC_ORIG_SUM=$(sha256sum <"$NSBOX")
  cp "$NSBOX" "$TEST_TMP/nsbox"
  chmod 755 "$TEST_TMP/nsbox"
  NSBOX=$TEST_TMP/nsbox
  ESC_SUM=$(sha256sum <"$NSBOX")
  ESC_DEVINO=$(stat -c %d:%i "$NSBOX")
}

# esc_exe_rootfs: esc_rootfs plus /bin/evil, a script whose interpreter is /proc/self/exe:
# run by a process that still is the runtime (no execve of its own yet), the kernel runs
# the runtime's binary in the container. A dynamically linked nsbox also needs its ELF
# interpreter and libraries in the rootfs (real images have them; busybox's has not).
esc_exe_rootfs() {
  local lib
  esc_rootfs
  printf '#!/proc/self/exe\n' >"$ROOT/bin/evil"
  chmod 755 "$ROOT/bin/evil"
  for lib in $(ldd "$NSBOX" 2>/dev/null | grep -o '/[^ ]*' || true); do
    mkdir -p "$ROOT$(dirname "$lib")"
    cp -L "$lib" "$ROOT$lib"
  done
}

# esc_attacker NAME ROOT: start container $(cid NAME) on ROOT (writable) whose init is the
# attacker: it watches for a process running the nsbox binary, then tries to reopen that
# binary for writing once the process is gone (ROOT/result, ROOT/result.caught).
esc_attacker() {
  local b
  b=$(make_bundle "$1" /escape_tools exe-attack "$ESC_DEVINO" /result)
  edit_config "$b" '.root.path = $r | .root.readonly = false' --arg r "$2"
  esc_start "$1" "$b"
}

# esc_host_users_of_binary: host processes whose executable is the nsbox copy.
esc_host_users_of_binary() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(stat -L -c %d:%i "$p/exe" 2>/dev/null)" = "$ESC_DEVINO" ] && echo "${p#/proc/}:$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
  done
  true
}

# esc_judge_exe ROOT HOW: the attacker caught the binary (ROOT/result.caught); judge
# ROOT/result ("OUTCOME MOUNT"): "EROFS ro" passes, so does "ETXTBSY ro" (the binary is on
# a read-only mount, only busy for now); "OPENED" (the attack works) and "ETXTBSY rw"
# (writable once the last run of it ends) fail. Also the binary must be unchanged.
esc_judge_exe() {
  local root=$1 how=$2 res caught
  caught=$(cat "$root/result.caught")
  esc_wait_file "$root/result" 30 ||
    fail "the attacker ($caught) reported nothing within 30 s"
  res=$(cat "$root/result")
  echo "CVE-2019-5736 via $how: attacker $caught, open for writing: $res"
  assert_eq "$(sha256sum <"$NSBOX")" "$ESC_SUM" "sha256 of the nsbox binary used by the test"
  assert_eq "$(sha256sum <"$ESC_ORIG")" "$ESC_ORIG_SUM" "sha256 of $ESC_ORIG"
  case "$res" in
    "EROFS ro") ;;
    "ETXTBSY ro") ;;
    "ETXTBSY "*) fail "CVE-2019-5736 via $how: the nsbox binary stayed busy for 10 s but is on a writable mount: it can be opened for writing as soon as nothing runs it ($caught; host processes running it: [$(esc_host_users_of_binary)])" ;;
    "OPENED "*) fail "CVE-2019-5736 via $how: the container reopened the host's nsbox binary for writing through /proc/PID/exe ($caught, mount $res); nsbox must run from a read-only (or sealed) copy of itself" ;;
    *) fail "CVE-2019-5736 via $how: unexpected attacker result [$res] ($caught)" ;;
  esac
}

test_runtime_binary_not_writable_from_container_via_exec() {
  local root i evil_out=""
  esc_private_nsbox
  esc_exe_rootfs
  root=$ROOT
  esc_attacker attacker "$root"
  # Each nsbox exec enters the container as a clone of nsbox, then runs /bin/evil, which is
  # the nsbox binary again. The attacker has to see one of them.
  for i in $(seq 100); do
    [ -e "$root/result.caught" ] && break
    timeout 20 "$NSBOX" --root "$TEST_ROOT" exec "$ID" /bin/evil </dev/null >"$TEST_TMP/evil.out" 2>&1 || true
    evil_out=$(cat "$TEST_TMP/evil.out")
  done
  # (The exec may be caught just before it ends.)
  esc_wait_file "$root/result.caught" 2 ||
    fail "attacker never caught the runtime binary in 100 runs of nsbox exec $ID /bin/evil (last output: [$evil_out])"
  echo "nsbox exec $ID /bin/evil printed: [$evil_out]"
  esc_judge_exe "$root" "nsbox exec"
  nsbox delete --force "$ID"
  assert_no_leftovers "$ID"
}

test_runtime_binary_not_writable_from_container_via_create_start() {
  local root i b id attacker pidns
  esc_private_nsbox
  esc_exe_rootfs
  root=$ROOT
  esc_attacker attacker "$root"
  attacker=$ID
  pidns=/proc/$PID/ns/pid
  # A second container in the attacker's pid namespace, whose process is /bin/evil: its init
  # waits as a clone of nsbox between create and start, then runs the binary once more.
  for i in $(seq 10); do
    b=$(make_bundle "victim$i" /bin/evil)
    edit_config "$b" '.root.path = $r | .linux.namespaces |= map(if .type == "pid" then .path = $p else . end)' \
      --arg r "$root" --arg p "$pidns"
    id=$(cid "victim$i")
    nsbox create --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/create.err" ||
      fail "nsbox create $id exited non-zero: [$(cat "$TEST_TMP/create.err")]"
    esc_wait_file "$root/result.caught" 2 || true
    # (nsbox, run as /bin/evil, fails on its arguments: the exit status does not matter.)
    nsbox start "$id" 2>"$TEST_TMP/start.err" || true
    if [ -e "$root/result.caught" ]; then
      echo "nsbox start $id: [$(cat "$TEST_TMP/start.err")]"
      wait_for "container $id to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
      esc_judge_exe "$root" "nsbox create + start"
      nsbox delete --force "$id"
      nsbox delete --force "$attacker"
      assert_no_leftovers "$id"
      assert_no_leftovers "$attacker"
      return 0
    fi
    nsbox delete --force "$id"
  done
  fail "attacker never caught the runtime binary in 10 nsbox create + start of /bin/evil"
}

# The guard's re-exec leaves nothing of its own: no process still running the binary, no
# child left for pid 1 to reap (a child holds the read-only view until the re-exec is
# done, so that its release, which waits for the kernel, is not on the runtime's path).
esc_nsbox_zombies() { ps -eo ppid=,stat=,comm= | awk '$1 == 1 && $2 ~ /^Z/ && $3 == "nsbox"' | wc -l; }
test_exe_guard_leaves_no_process_of_its_own() {
  local b id before
  esc_private_nsbox
  before=$(esc_nsbox_zombies)
  b=$(make_bundle b sleep 100)
  id=$(cid guard)
  nsbox create --bundle "$b" "$id"
  nsbox start "$id"
  nsbox exec "$id" true
  nsbox delete --force "$id"
  nsbox run --bundle "$(make_bundle b2 true)" "$(cid guardrun)"
  expect_fail 'container "nope" does not exist' nsbox exec nope true
  assert_eq "$(esc_host_users_of_binary)" "" "processes still running the nsbox binary"
  assert_eq "$(esc_nsbox_zombies)" "$before" "nsbox processes left for pid 1 to reap"
  assert_no_leftovers "$id"
}

# --- CVE-2024-21626: cwd through a leaked descriptor ------------------------------------------

# esc_marker: a file with a unique name at the host's /run, seen only by a process whose
# cwd is outside the container. Sets MARKER (path) and MARKER_NAME.
esc_marker() {
  MARKER_NAME=nsbox-escape-marker-$$
  MARKER=/run/$MARKER_NAME
  touch "$MARKER"
  at_exit "rm -f '$MARKER'"
}

# What a process learns about its cwd: pwd, the kernel's link, whether "." is the directory
# pwd names, and the listings of /run and / as far up as ".." goes.
ESC_CWD_PROBE='echo "pwd=$(pwd)"
echo "cwd=$(readlink /proc/self/cwd)"
[ "$(stat -c %d:%i .)" = "$(stat -c %d:%i "$(pwd)" 2>/dev/null)" ] && echo CWD-REACHABLE
ls -a ../../../../../../../../../../../../run ../../../../../../../../../../../../ 2>&1'

# esc_check_cwd WHAT RC OUTPUT FD_PATH: a cwd through FD_PATH (/proc/self/fd/N) either
# refused with an error naming it, or granted inside the container.
esc_check_cwd() {
  local what=$1 rc=$2 out=$3 cwd=$4
  assert_not_contains "$out" "$MARKER_NAME" "CVE-2024-21626: host /run seen through .. with $what"
  # (An error names the bundle's config.json, which is under $TEST_TMP: that is not a leak.)
  assert_not_contains "$(printf '%s' "$out" | sed "s|$TEST_TMP/[^ ]*/config.json: ||g")" "$TEST_TMP" \
    "CVE-2024-21626: host path in the output of $what"
  assert_not_contains "$out" "/sys/fs/cgroup" "CVE-2024-21626: cgroup directory as cwd with $what"
  if [ "$rc" -eq 0 ]; then
    assert_contains "$out" CWD-REACHABLE "$what: the cwd is not the directory getcwd names (output [$out])"
  else
    assert_contains "$out" "$cwd" "$what failed (exit status $rc) without naming the cwd"
  fi
}

test_cwd_through_leaked_fd_never_outside_container() {
  local n b cwd i=0 refused=0 granted=0 summary=""
  esc_marker
  # The probe does see the marker from a cwd on the host.
  assert_contains "$(cd "$TEST_TMP" && sh -c "$ESC_CWD_PROBE")" "$MARKER_NAME" "probe run on the host"
  for n in $(seq 3 20); do
    for cwd in "/proc/self/fd/$n" "/proc/self/fd/$n/../../.."; do
      i=$((i + 1))
      b=$(esc_script "b$i" "$ESC_CWD_PROBE")
      edit_config "$b" '.process.cwd = $c' --arg c "$cwd"
      esc_run "fd$i" "$b"
      esc_check_cwd "nsbox run with process.cwd $cwd" "$RC" "$OUT" "/proc/self/fd/$n"
      if [ "$RC" -eq 0 ]; then
        granted=$((granted + 1))
        summary="$summary $cwd:ok($(printf '%s\n' "$OUT" | sed -n 's/^pwd=//p'))"
      else
        refused=$((refused + 1))
        summary="$summary $cwd:refused"
        echo "error for process.cwd $cwd: $OUT"
      fi
      assert_no_leftovers "$(cid "fd$i")"
    done
  done
  echo "process.cwd through descriptors: $refused refused, $granted inside the container:$summary"
  # None of those may be a directory when nsbox changes to the cwd: hand it one of the host
  # (--preserve-fds), as a leak would, so that the check of the cwd itself is exercised.
  for cwd in /proc/self/fd/3 /proc/self/fd/3/..; do
    i=$((i + 1))
    b=$(esc_script "b$i" "$ESC_CWD_PROBE")
    edit_config "$b" '.process.cwd = $c' --arg c "$cwd"
    exec 3<"$TEST_TMP"
    RC=0
    OUT=$(timeout 30 "$NSBOX" --root "$TEST_ROOT" run --preserve-fds 1 --bundle "$b" "$(cid "fd$i")" </dev/null 2>&1) || RC=$?
    exec 3<&-
    esc_check_cwd "nsbox run --preserve-fds 1 (fd 3: $TEST_TMP) with process.cwd $cwd" "$RC" "$OUT" /proc/self/fd/3
    echo "process.cwd $cwd with fd 3 a host directory: exit status $RC: $OUT"
    assert_no_leftovers "$(cid "fd$i")"
  done
  assert_no_host_mounts
}

test_exec_cwd_through_leaked_fd_never_outside_container() {
  local n b cwd rc out refused=0 granted=0
  esc_marker
  b=$(make_bundle b sh -c 'while :; do sleep 1; done')
  esc_start run "$b"
  for n in $(seq 3 20); do
    for cwd in "/proc/self/fd/$n" "/proc/self/fd/$n/../../.."; do
      rc=0
      out=$(timeout 30 "$NSBOX" --root "$TEST_ROOT" exec --cwd "$cwd" "$ID" sh -c "$ESC_CWD_PROBE" </dev/null 2>&1) || rc=$?
      esc_check_cwd "nsbox exec --cwd $cwd" "$rc" "$out" "/proc/self/fd/$n"
      if [ "$rc" -eq 0 ]; then granted=$((granted + 1)); else
        refused=$((refused + 1))
        echo "error for nsbox exec --cwd $cwd: $out"
      fi
    done
  done
  echo "nsbox exec --cwd through descriptors: $refused refused, $granted inside the container"
  nsbox delete --force "$ID"
  assert_no_leftovers "$ID"
  assert_no_host_mounts
}

# --- CVE-2021-30465: mount target swapped for a symlink ---------------------------------------

# esc_vol_mounts MOUNTINFO_TEXT: the mount points (inside the container) of the bind of
# $TEST_TMP/vol, found by the mount's root in its file system.
esc_vol_mounts() {
  printf '%s\n' "$1" | awk -v v="$TEST_TMP/vol" '$4 == v { printf "%s ", $5 }'
}

# esc_host_root_mounts: how many mounts the host has on /.
esc_host_root_mounts() { awk '$5 == "/"' /proc/self/mountinfo | wc -l; }

# esc_check_host_untouched WHAT: the victim directory, the host's / and $TEST_TMP as before.
esc_check_host_untouched() {
  assert_eq "$(ls -A "$TEST_TMP/victim")" keep "contents of the host directory $TEST_TMP/victim after $1"
  assert_eq "$(esc_host_root_mounts)" "$ESC_ROOT_MOUNTS" "mounts on the host's / after $1"
  assert_no_host_mounts
}

test_mount_target_swapped_for_symlink_stays_in_rootfs() {
  local root b i phase hits total=0 tally="" mp swapper
  esc_rootfs
  root=$ROOT
  mkdir -p "$TEST_TMP/vol" "$TEST_TMP/victim" "$root/data/target"
  touch "$TEST_TMP/vol/VOL-MARKER"
  echo keep >"$TEST_TMP/victim/keep"
  ESC_ROOT_MOUNTS=$(esc_host_root_mounts)
  # Where the links lead when resolved inside the rootfs, so that such a mount can succeed.
  mkdir -p "$root$TEST_TMP/victim" "$root$root/etc"
  b=$(esc_script b 'cat /proc/self/mountinfo; [ -e /etc/VOL-MARKER ] && echo VOL-ON-ETC; true')
  edit_config "$b" '.root.path = $r | .mounts += [{destination: "/data/target", type: "bind", source: $v, options: ["rbind"]}]' \
    --arg r "$root" --arg v "$TEST_TMP/vol"
  # Three links: to /, to the victim on the host, and to the rootfs's own /etc by its host
  # path (resolved on the host, the mount would land on the container's /etc).
  for phase in / "../../../../../../../../../..$TEST_TMP/victim" "$root/etc"; do
    ln -sfn "$phase" "$root/data/link"
    "$TOOLS" swap "$root/data/target" "$root/data/link" 2>"$TEST_TMP/swap.err" &
    swapper=$!
    kill_at_exit "$swapper"
    hits=0
    for i in $(seq 10); do
      esc_run "race$i" "$b"
      esc_check_host_untouched "a run with /data/target swapped for a link to $phase"
      assert_not_contains "$OUT" VOL-ON-ETC "CVE-2021-30465: the bind for /data/target landed on /etc through the link to $phase"
      # The bind on the directory (under either name: it keeps moving) is a run that missed
      # the link; a refusal or a bind elsewhere (where the link leads, inside) met it.
      mp=$(esc_vol_mounts "$OUT")
      case "$RC:$mp" in
        "0:/data/target " | "0:/data/link ") ;;
        *) hits=$((hits + 1)) ;;
      esac
      [ "$RC" -eq 0 ] || [ -n "$OUT" ] || fail "nsbox run failed without a message during the race"
      [ "$RC" -eq 0 ] || echo "run during the race with $phase exited $RC: $(printf '%s\n' "$OUT" | tail -1)"
      [ "$RC" -ne 0 ] || echo "run during the race with $phase: bind on [$mp]"
      assert_no_leftovers "$(cid "race$i")"
    done
    kill -KILL "$swapper" 2>/dev/null || true
    wait "$swapper" 2>/dev/null || true
    ! [ -s "$TEST_TMP/swap.err" ] || fail "the swap loop failed: $(cat "$TEST_TMP/swap.err")"
    tally="$tally [$phase: $hits of 10 runs met the link]"
    total=$((total + hits))
    # Put the directory back under its name for the next phase.
    [ ! -L "$root/data/target" ] || "$TOOLS" swap "$root/data/target" "$root/data/link" 1
  done
  echo "rename race:$tally"
  # The race was real: some runs met the link (refused, or mounted where it leads inside).
  [ "$total" -gt 0 ] || fail "the swap loop never made a run meet the link:$tally"
  assert_eq "$(ls -A "$TEST_TMP/vol")" VOL-MARKER "contents of the volume"
}

test_mount_target_symlink_to_rootfs_host_path_stays_in_rootfs() {
  local root b mp
  esc_rootfs
  root=$ROOT
  mkdir -p "$TEST_TMP/vol" "$TEST_TMP/victim" "$root/data"
  touch "$TEST_TMP/vol/VOL-MARKER"
  echo keep >"$TEST_TMP/victim/keep"
  ESC_ROOT_MOUNTS=$(esc_host_root_mounts)
  # Resolved on the host, these land on the victim and on the container's own /etc.
  ln -s "/../../../../..$TEST_TMP/victim" "$root/data/to-victim"
  ln -s "$root/etc" "$root/data/to-etc"
  mkdir -p "$root$TEST_TMP/victim" "$root$root/etc"
  b=$(esc_script b 'cat /proc/self/mountinfo; [ -e /etc/VOL-MARKER ] && echo VOL-ON-ETC; true')
  edit_config "$b" '.root.path = $r | .mounts += [
      {destination: "/data/to-victim", type: "bind", source: $v, options: ["rbind"]},
      {destination: "/data/to-etc", type: "bind", source: $v, options: ["rbind"]}]' \
    --arg r "$root" --arg v "$TEST_TMP/vol"
  esc_run static "$b"
  esc_check_host_untouched "binds on links to the host"
  assert_not_contains "$OUT" VOL-ON-ETC "the bind on /data/to-etc (a link to $root/etc) landed on /etc"
  assert_eq "$RC" 0 "nsbox run with binds on links whose targets exist inside the rootfs (output: $OUT)"
  mp=$(esc_vol_mounts "$OUT")
  assert_eq "$mp" "$TEST_TMP/victim $root/etc " "mount points of the binds, resolved inside the rootfs"
  assert_no_leftovers "$(cid static)"
}

# --- /proc ----------------------------------------------------------------------------------

test_bind_mounts_inside_proc_refused() {
  local dest b src id n=0 accepted=""
  echo fake >"$TEST_TMP/file"
  mkdir -p "$TEST_TMP/dir"
  # Over an LSM label file, the sysctls, and (when the kernel has it) the SysRq trigger.
  for dest in /proc/self/attr/exec /proc/sys/kernel /proc/sysrq-trigger /proc/1/attr/current /proc/kmsg; do
    [ -e "$dest" ] || { echo "skipping $dest: not on this kernel"; continue; }
    n=$((n + 1))
    if [ -d "$dest" ]; then src=$TEST_TMP/dir; else src=$TEST_TMP/file; fi
    b=$(make_bundle "b$n" cat /proc/self/mountinfo)
    edit_config "$b" '.mounts += [{destination: $d, type: "bind", source: $s, options: ["bind"]}]' \
      --arg d "$dest" --arg s "$src"
    id=$(cid "p$n")
    RC=0
    OUT=$(timeout 30 "$NSBOX" --root "$TEST_ROOT" run --bundle "$b" "$id" </dev/null 2>&1) || RC=$?
    assert_no_leftovers "$id"
    assert_no_host_mounts
    if [ "$RC" -eq 0 ]; then
      # The mount points of the source inside the container: the bind did happen.
      accepted="$accepted $dest (mounted on: $(printf '%s\n' "$OUT" | awk -v s="$src" '$4 == s { printf "%s ", $5 }'))"
      continue
    fi
    echo "bind onto $dest: exit status $RC: $OUT"
    assert_contains "$OUT" "$dest" "error for a bind onto $dest"
  done
  # lxcfs's files are allowed.
  printf '12345.67 0.00\n' >"$TEST_TMP/uptime"
  b=$(make_bundle up cat /proc/uptime)
  edit_config "$b" '.mounts += [{destination: "/proc/uptime", type: "bind", source: $s, options: ["bind", "ro"]}]' \
    --arg s "$TEST_TMP/uptime"
  run_ok up "$b"
  assert_eq "$OUT" "12345.67 0.00" "/proc/uptime bound from the host (lxcfs style)"
  assert_no_leftovers "$(cid up)"
  assert_no_host_mounts
  [ -z "$accepted" ] ||
    fail "nsbox run accepted bind mounts onto$accepted (runc refuses mounts inside /proc but for lxcfs's files)"
}

test_proc_symlink_in_rootfs_not_followed_outside() {
  local root b
  esc_rootfs
  root=$ROOT
  # CVE-2019-19921: /proc is a link, here to a plain directory of the rootfs; absolute, to
  # a path that exists on the host too.
  rmdir "$root/proc"
  mkdir -p "$root/tmp/fakeproc"
  echo fake >"$root/tmp/fakeproc/version"
  ln -s /tmp/fakeproc "$root/proc"
  [ ! -e /tmp/fakeproc ] || fail "/tmp/fakeproc exists on the host: cannot tell where a mount lands"
  b=$(esc_script b '
    echo "fstype=$(stat -f -c %T /proc/)"
    echo "pid1=$(cut -d" " -f1 /proc/1/stat)"
    cat /proc/version
    echo "kcore=$(cat /proc/kcore /proc/timer_list 2>/dev/null | wc -c)"
    h=$(cat /proc/sys/kernel/hostname); (echo "$h" > /proc/sys/kernel/hostname) 2>&1 && echo SYSCTL-WRITABLE
    true')
  edit_config "$b" '.root.path = $r' --arg r "$root"
  esc_run fake "$b"
  [ ! -e /tmp/fakeproc ] || fail "/tmp/fakeproc made on the host"
  assert_no_host_mounts
  assert_no_leftovers "$(cid fake)"
  assert_eq "$(ls -A "$root/tmp/fakeproc")" version "the fake proc directory in the rootfs after the run"
  if [ "$RC" -ne 0 ]; then
    assert_contains "$OUT" /proc "nsbox run refused a rootfs whose /proc is a link, but did not say why"
    echo "refused: $OUT"
    return 0
  fi
  echo "run with /proc a link to /tmp/fakeproc: $(printf '%s\n' "$OUT" | tr '\n' ' ')"
  assert_contains "$OUT" "fstype=proc" "/proc of the container (output: $OUT)"
  assert_contains "$OUT" "pid1=1" "/proc belongs to the container's pid namespace"
  assert_not_contains "$OUT" fake "the container reads the rootfs's fake /proc"
  assert_contains "$OUT" "kcore=0" "maskedPaths through the /proc link"
  assert_contains "$OUT" "Read-only file system" "readonlyPaths through the /proc link (/proc/sys)"
  assert_not_contains "$OUT" SYSCTL-WRITABLE "readonlyPaths through the /proc link (/proc/sys)"
}

# The files maskedPaths and readonlyPaths of the default spec protect and that exist here.
esc_masked_files() {
  local f
  for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats /proc/timer_stats; do
    [ -e "$f" ] && echo "$f"
  done
  true
}
esc_masked_dirs() {
  local d
  for d in /proc/acpi /proc/scsi /proc/asound /sys/firmware; do
    [ -e "$d" ] && echo "$d"
  done
  true
}

test_masked_and_readonly_proc_survive_attacks() {
  local root b files dirs probe out unmasked f d
  esc_rootfs
  root=$ROOT
  files=$(esc_masked_files | xargs)
  dirs=$(esc_masked_dirs | xargs)
  # Read what the masks hide, open for writing (never write) what readonlyPaths protect,
  # then try to undo the masks and the read-only mounts, and look again.
  probe='look() {
    for f in '"$files"'; do echo "$1 $f bytes=$(cat $f 2>/dev/null | wc -c)"; done
    for d in '"$dirs"'; do echo "$1 $d entries=$(ls -A $d 2>/dev/null | wc -l)"; done
    w="/proc/sys/kernel/hostname /proc/sysrq-trigger"
    for d in /proc/irq /proc/bus /proc/fs; do w="$w $(find $d -type f -perm -200 2>/dev/null | head -1)"; done
    /escape_tools openw $w | sed "s|^|$1 open |"
    h=$(cat /proc/sys/kernel/hostname); (echo "$h" > /proc/sys/kernel/hostname) 2>&1 | sed "s|^|$1 echo |"
  }
  look before
  for p in '"$files $dirs"' /proc/sys /proc/sysrq-trigger /proc/irq /proc/bus /proc/fs; do
    umount $p 2>/dev/null && echo "UNDONE umount $p"
    umount -l $p 2>/dev/null && echo "UNDONE umount -l $p"
    mount -o remount,rw $p 2>/dev/null && echo "UNDONE remount,rw $p"
    mount -o remount,bind,rw $p 2>/dev/null && echo "UNDONE remount,bind,rw $p"
  done
  mkdir -p /dev/shm/p && mount -t proc proc /dev/shm/p 2>/dev/null && echo "UNDONE new procfs"
  mount -t sysfs sysfs /dev/shm/p 2>/dev/null && echo "UNDONE new sysfs"
  look after'
  b=$(esc_script b "$probe")
  edit_config "$b" '.root.path = $r' --arg r "$root"
  run_ok def "$b"
  out=$OUT
  assert_not_contains "$out" UNDONE "a mask or read-only mount undone from inside the container"
  for f in $files; do
    assert_contains "$out" "before $f bytes=0" "masked file $f"
    assert_contains "$out" "after $f bytes=0" "masked file $f after the attempts to unmask it"
  done
  for d in $dirs; do
    assert_contains "$out" "before $d entries=0" "masked directory $d"
    assert_contains "$out" "after $d entries=0" "masked directory $d after the attempts to unmask it"
  done
  # Every file opened for writing under a read-only path: EROFS (ENOENT when the kernel
  # lacks it).
  local bad
  bad=$(printf '%s\n' "$out" | awk '$2 == "open" && $4 != "EROFS" && $4 != "ENOENT"')
  [ -z "$bad" ] || fail "files under readonlyPaths opened for writing (or not refused as read-only): [$bad]"
  [ "$(printf '%s\n' "$out" | awk '$2 == "open" && $4 == "EROFS"' | wc -l)" -ge 2 ] ||
    fail "no file found read-only under readonlyPaths: [$out]"
  assert_contains "$out" "before echo sh: can't create /proc/sys/kernel/hostname: Read-only file system" "echo > /proc/sys/kernel/hostname"
  assert_contains "$out" "after echo sh: can't create /proc/sys/kernel/hostname: Read-only file system" "echo > /proc/sys/kernel/hostname after remount attempts"
  # Control: without the masks and read-only paths the same probe sees and opens them.
  b=$(esc_script b2 "$probe")
  edit_config "$b" '.root.path = $r | .linux.maskedPaths = [] | .linux.readonlyPaths = []' --arg r "$root"
  run_ok open "$b"
  unmasked=$OUT
  assert_contains "$unmasked" "before open /proc/sys/kernel/hostname OPENED" "control: /proc/sys without readonlyPaths"
  [ ! -e /proc/timer_list ] || assert_not_contains "$unmasked" "before /proc/timer_list bytes=0" "control: /proc/timer_list unmasked"
  if [ -d /sys/firmware ] && [ -n "$(ls -A /sys/firmware)" ]; then
    assert_not_contains "$unmasked" "before /sys/firmware entries=0" "control: /sys/firmware unmasked"
  fi
  assert_no_host_mounts
}

# --- capabilities and privileges ------------------------------------------------------------

# esc_capnum NAME: the number of capability NAME.
esc_capnum() {
  local caps=(CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL
    CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST
    CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE CAP_SYS_RAWIO
    CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE
    CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE
    CAP_AUDIT_CONTROL CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM
    CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF CAP_CHECKPOINT_RESTORE)
  local i
  for i in "${!caps[@]}"; do
    [ "${caps[$i]}" = "$1" ] && { echo "$i"; return 0; }
  done
  fail "unknown capability $1"
}

# esc_setmask BUNDLE SET: the mask of process.capabilities.SET in BUNDLE's config.
esc_setmask() {
  local n nums=()
  for n in $(jq -r --arg s "$2" '.process.capabilities[$s] // [] | .[]' "$1/config.json"); do
    nums+=("$(esc_capnum "$n")")
  done
  capmask "${nums[@]}"
}

# esc_check_caps_from_config BUNDLE STATUS_TEXT: the five sets of the container process as
# the kernel makes them from the config: ambient needs permitted and inheritable; root keeps
# the configured effective and permitted sets, another user gets the ambient set in both.
esc_check_caps_from_config() {
  local b=$1 st=$2 bnd eff prm inh amb uid
  bnd=$(esc_setmask "$b" bounding)
  eff=$(esc_setmask "$b" effective)
  prm=$(esc_setmask "$b" permitted)
  inh=$(esc_setmask "$b" inheritable)
  amb=$(printf '%016x' $((0x$(esc_setmask "$b" ambient) & 0x$prm & 0x$inh)))
  uid=$(jq -r '.process.user.uid // 0' "$b/config.json")
  if [ "$uid" != 0 ]; then
    eff=$amb
    prm=$amb
  fi
  assert_eq "$(status_field "$st" CapBnd)" "$bnd" "CapBnd against the config's bounding set"
  assert_eq "$(status_field "$st" CapEff)" "$eff" "CapEff against the config (uid $uid)"
  assert_eq "$(status_field "$st" CapPrm)" "$prm" "CapPrm against the config (uid $uid)"
  assert_eq "$(status_field "$st" CapInh)" "$inh" "CapInh against the config's inheritable set"
  assert_eq "$(status_field "$st" CapAmb)" "$amb" "CapAmb against the config (ambient & permitted & inheritable)"
}

test_capabilities_match_config_exactly() {
  local b z=0000000000000000
  # The default spec: with a capability-free operation refused (chown needs CAP_CHOWN).
  local script='grep ^Cap /proc/self/status; touch /dev/shm/f; chown 5 /dev/shm/f 2>&1 && echo CHOWN-OK; mknod /dev/shm/n c 1 3 2>&1 && echo MKNOD-OK; true'
  b=$(esc_script def "$script")
  run_ok def "$b"
  esc_check_caps_from_config "$b" "$OUT"
  assert_ne "$(status_field "$OUT" CapBnd)" "$z" "the default spec's bounding set"
  assert_not_contains "$OUT" CHOWN-OK "chown without CAP_CHOWN (default spec)"
  assert_not_contains "$OUT" MKNOD-OK "mknod without CAP_MKNOD (default spec)"
  # Every set empty: nothing at all, bounding included, for root.
  b=$(esc_script none "$script")
  edit_config "$b" '.process.capabilities = {bounding: [], effective: [], permitted: [], inheritable: [], ambient: []}'
  run_ok none "$b"
  esc_check_caps_from_config "$b" "$OUT"
  assert_eq "$(status_field "$OUT" CapBnd)" "$z" "CapBnd with no capabilities"
  assert_not_contains "$OUT" CHOWN-OK "chown with no capabilities"
  # Ambient for a non-root user (CAP_NET_RAW only in the ambient list: dropped, no inheritable).
  b=$(esc_script amb "$script")
  edit_config "$b" '.process.user = {uid: 1000, gid: 1000}
    | .process.capabilities = {bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_NET_RAW"],
        effective: ["CAP_CHOWN", "CAP_KILL"], permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
        inheritable: ["CAP_CHOWN", "CAP_KILL"], ambient: ["CAP_CHOWN", "CAP_NET_RAW"]}'
  run_ok amb "$b"
  esc_check_caps_from_config "$b" "$OUT"
  assert_eq "$(status_field "$OUT" CapAmb)" "$(capmask 0)" "CapAmb: CAP_CHOWN only"
  assert_contains "$OUT" CHOWN-OK "chown with ambient CAP_CHOWN as uid 1000"
}

test_setuid_binary_under_no_new_privileges() {
  local root b
  esc_rootfs
  root=$ROOT
  chown 0:0 "$root/escape_tools"
  chmod 4755 "$root/escape_tools"
  b=$(make_bundle b /escape_tools euid)
  edit_config "$b" '.root.path = $r | .process.user = {uid: 1000, gid: 1000} | .process.noNewPrivileges = false' --arg r "$root"
  run_ok suid "$b"
  # Without no_new_privs the setuid bit works here: the probe can see it being ignored.
  assert_contains "$OUT" "euid=0" "euid of a setuid-root program run by uid 1000 with noNewPrivileges false (setuid must work in this setup; output [$OUT])"
  assert_eq "$(status_field "$OUT" CapEff)" "$(esc_setmask "$b" bounding)" "CapEff of the setuid-root program: the bounding set"
  b=$(make_bundle b2 /escape_tools euid)
  edit_config "$b" '.root.path = $r | .process.user = {uid: 1000, gid: 1000} | .process.noNewPrivileges = true' --arg r "$root"
  run_ok nnp "$b"
  assert_contains "$OUT" "euid=1000" "euid of a setuid-root program under noNewPrivileges (output [$OUT])"
  assert_eq "$(status_field "$OUT" CapEff)" 0000000000000000 "CapEff of the setuid-root program under noNewPrivileges"
  assert_eq "$(status_field "$OUT" NoNewPrivs)" 1 "NoNewPrivs of the setuid-root program"
  # And for a process nsbox exec adds to a container with noNewPrivileges.
  b=$(make_bundle b3 sh -c 'while :; do sleep 1; done')
  edit_config "$b" '.root.path = $r | .process.noNewPrivileges = true' --arg r "$root"
  esc_start ex "$b"
  OUT=$(timeout 30 "$NSBOX" --root "$TEST_ROOT" exec --user 1000:1000 "$ID" /escape_tools euid </dev/null 2>&1) ||
    fail "nsbox exec --user 1000:1000 $ID /escape_tools euid: [$OUT]"
  assert_contains "$OUT" "euid=1000" "euid of a setuid-root program in nsbox exec under noNewPrivileges (output [$OUT])"
  assert_eq "$(status_field "$OUT" NoNewPrivs)" 1 "NoNewPrivs in nsbox exec"
  nsbox delete --force "$ID"
  assert_no_leftovers "$ID"
}
