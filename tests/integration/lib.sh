# Shared helpers for the integration tests. Each test_* function runs in its own bash
# process (run_one.sh) with a private state root and temp dir, and is cleaned up by a trap
# whether it passes or fails. Tests drive the real binary ($NSBOX) on real bundles as root.

: "${NSBOX:?NSBOX must point at the nsbox binary}"
: "${NSBOX_TEST_WORK:=/tmp/nsbox-itest}"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

skip() {
  echo "SKIP: $*"
  exit 77
}

# The busybox root filesystem every bundle uses, built once and shared (read-only root).
shared_rootfs() {
  local rootfs=$NSBOX_TEST_WORK/rootfs
  mkdir -p "$NSBOX_TEST_WORK"
  (
    flock 9
    "$SRC_DIR/scripts/mkrootfs.sh" "$rootfs" >&2
  ) 9>"$NSBOX_TEST_WORK/.rootfs.lock"
  echo "$rootfs"
}

# escape_tools: build tests/integration/escape_tools.c (the attacker's programs of the escape
# and security tests) into $TEST_TMP/escape_tools, static: it runs inside the busybox
# containers. Sets TOOLS; skips the test where no static C toolchain is there.
escape_tools() {
  TOOLS=$TEST_TMP/escape_tools
  [ -x "$TOOLS" ] && return 0
  command -v cc >/dev/null || skip "cc is not installed (needed to build tests/integration/escape_tools.c)"
  cc -O2 -static -Wall -Wextra -o "$TOOLS" "$SRC_DIR/tests/integration/escape_tools.c" 2>"$TEST_TMP/cc.err" ||
    skip "cannot build escape_tools.c statically (libc.a missing?): $(cat "$TEST_TMP/cc.err")"
}

# tools_rootfs DIR: a private, writable copy of the busybox rootfs at DIR holding the tools
# as /escape_tools. Sets ROOT to DIR.
tools_rootfs() {
  escape_tools
  ROOT=$1
  cp -a "$(shared_rootfs)" "$ROOT"
  cp "$TOOLS" "$ROOT/escape_tools"
  chmod 755 "$ROOT/escape_tools"
}

# nsbox with this test's private state root, and the cgroup driver the tests run with:
# cgroupfs, or systemd where NSBOX_TEST_CGROUP_DRIVER=systemd says so (the systemd guest of
# tests/vm/systemd runs the same tests with both).
nsbox() {
  if [ "${NSBOX_TEST_CGROUP_DRIVER:-cgroupfs}" = systemd ]; then
    "$NSBOX" --root "$TEST_ROOT" --systemd-cgroup "$@"
  else
    "$NSBOX" --root "$TEST_ROOT" "$@"
  fi
}

# cgroupfs_only: skip a test of what only the cgroupfs driver does (cgroupsPath as a path).
cgroupfs_only() {
  [ "${NSBOX_TEST_CGROUP_DRIVER:-cgroupfs}" != systemd ] ||
    skip "cgroupsPath is a directory for the cgroupfs driver only (systemd_test.sh covers the systemd driver's names)"
}

# make_bundle NAME CMD...: a bundle from `nsbox spec`, without a terminal, running CMD.
# Prints the bundle directory.
make_bundle() {
  local name=$1
  shift
  local b=$TEST_TMP/$name
  mkdir -p "$b"
  "$NSBOX" spec --bundle "$b" || fail "nsbox spec failed"
  local args
  local a
  args=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -s -c .)
  jq --arg root "$(shared_rootfs)" --argjson args "$args" \
    '.root.path = $root | .process.terminal = false | .process.args = $args' \
    "$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
  echo "$b"
}

# edit_config BUNDLE JQ_FILTER [jq args...]: rewrite BUNDLE/config.json through jq.
edit_config() {
  local b=$1 filter=$2
  shift 2
  jq "$@" "$filter" "$b/config.json" >"$b/config.json.new" || fail "jq filter failed: $filter"
  mv "$b/config.json.new" "$b/config.json"
}

# run_ok NAME BUNDLE [nsbox run flags...]: run the bundle as container $(cid NAME), leave its
# stdout in $OUT; fail with the exit status and stderr when nsbox run does not exit 0.
run_ok() {
  local name=$1 b=$2 rc=0
  shift 2
  OUT=$(nsbox run "$@" --bundle "$b" "$(cid "$name")" 2>"$TEST_TMP/$name.err") || rc=$?
  [ "$rc" -eq 0 ] || fail "nsbox run $name exited $rc: stderr [$(cat "$TEST_TMP/$name.err")] stdout [$OUT]"
}

# status_field TEXT FIELD: the value of "FIELD:<tab>value" in /proc/PID/status text.
status_field() {
  printf '%s\n' "$1" | awk -v f="$2:" '$1 == f { sub(/^[^:]*:[ \t]*/, ""); print; exit }'
}

# capmask CAP_NUMBER...: the 16-digit hex mask /proc/PID/status prints for them.
capmask() {
  local m=0 c
  for c in "$@"; do m=$((m | (1 << c))); done
  printf '%016x' "$m"
}

# A container id unique to this test run.
cid() { echo "t$$-$1"; }

assert_eq() {
  [ "$1" = "$2" ] || fail "${3:-values differ}: expected [$2], got [$1]"
}

assert_ne() {
  [ "$1" != "$2" ] || fail "${3:-values equal}: both are [$1]"
}

assert_contains() {
  case "$1" in
    *"$2"*) ;;
    *) fail "${3:-missing text}: [$2] not in [$1]" ;;
  esac
}

assert_not_contains() {
  case "$1" in
    *"$2"*) fail "${3:-unexpected text}: [$2] found in [$1]" ;;
    *) ;;
  esac
}

# expect_fail TEXT CMD...: CMD must exit non-zero and print TEXT on stderr.
# Leaves the stderr in $ERR.
expect_fail() {
  local want=$1
  shift
  local rc=0
  ERR=$("$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" -ne 0 ] || fail "expected failure of: $* (it exited 0)"
  assert_contains "$ERR" "$want" "error text of: $*"
}

# wait_for DESC CMD...: poll CMD for up to 5 s.
wait_for() {
  local desc=$1
  shift
  local i
  for i in $(seq 100); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  fail "timed out waiting for $desc"
}

# status ID: the status field of `nsbox state`.
status_of() { nsbox state "$1" | jq -r .status; }

# Nothing left of container ID: state directory, cgroups, processes named in its state.
assert_no_leftovers() {
  local id=$1
  [ ! -e "$TEST_ROOT/$id" ] || fail "state directory $TEST_ROOT/$id left behind"
  local cg
  # find may trip over cgroups that other tests remove while it walks: never fatal. (The
  # systemd driver's default unit is nsbox-ID.scope.)
  cg=$(find /sys/fs/cgroup -maxdepth 7 -type d \( -name "nsbox-$id" -o -name "nsbox-$id.scope" \) 2>/dev/null | head -3 || true)
  [ -z "$cg" ] || fail "cgroups left behind: $cg"
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    cg=$(systemctl list-units --all --plain --no-legend "nsbox-$id.scope" 2>/dev/null || true)
    [ -z "$cg" ] || fail "systemd unit left behind: $cg"
  fi
  if pgrep -f "nsbox-leftover-marker-$id" >/dev/null; then fail "processes left behind"; fi
}

# Mounts of the host that mention the test's temp dir (a leak from a container).
assert_no_host_mounts() {
  if grep -q "$TEST_TMP" /proc/self/mountinfo; then
    fail "mounts left on the host: $(grep "$TEST_TMP" /proc/self/mountinfo | awk '{print $5}')"
  fi
}

# test_user: an ordinary user made for this test, with subordinate ids, a home and a
# runtime dir under $TEST_TMP; its processes and the user go at exit. Sets RL_USER, RL_UID,
# RL_GID, RL_SUB, RL_SUBG (first subordinate uid/gid), RL_HOME, RL_XDG.
test_user() {
  command -v useradd >/dev/null || skip "useradd is not installed"
  setpriv --help 2>&1 | grep -q -- --reuid || skip "setpriv lacks --reuid (busybox's, or none)"
  RL_USER=nsbx$$
  # useradd takes the next free subordinate range; concurrent tests serialise on a lock.
  (
    flock 9
    useradd -M -s /bin/sh -K SUB_UID_COUNT=65536 -K SUB_GID_COUNT=65536 "$RL_USER"
  ) 9>/tmp/.nsbox-test-useradd.lock || fail "useradd $RL_USER failed"
  at_exit test_user_teardown
  RL_UID=$(id -u "$RL_USER")
  RL_GID=$(id -g "$RL_USER")
  RL_SUB=$(awk -F: -v u="$RL_USER" '$1 == u { print $2 }' /etc/subuid)
  RL_SUBG=$(awk -F: -v u="$RL_USER" '$1 == u { print $2 }' /etc/subgid)
  [ -n "$RL_SUB" ] && [ -n "$RL_SUBG" ] || fail "useradd gave $RL_USER no subordinate ids"
  chmod 711 "$TEST_TMP"
  RL_HOME=$TEST_TMP/home
  RL_XDG=$TEST_TMP/xdg
  mkdir -p "$RL_HOME" "$RL_XDG"
  chown "$RL_USER:" "$RL_HOME" "$RL_XDG"
  chmod 700 "$RL_XDG"
  # The build may sit below a directory the user cannot enter (a clone in a mktemp -d):
  # the user runs a copy in the test's directory then.
  if ! as_user test -x "$NSBOX"; then
    cp "$NSBOX" "$TEST_TMP/nsbox"
    chmod 755 "$TEST_TMP/nsbox"
    NSBOX=$TEST_TMP/nsbox
  fi
}

test_user_teardown() {
  # Until none is left: a rootless podman may start its pause process on the way out.
  local i
  for i in $(seq 50); do
    pkill -KILL -U "$RL_UID" 2>/dev/null || break
    sleep 0.05
  done
  # -f: a process killed a moment ago may still be on its way out. The lock: another
  # test's useradd holds /etc/passwd's own lock for a moment.
  (
    flock 9
    userdel -f "$RL_USER" 2>/dev/null
  ) 9>/tmp/.nsbox-test-useradd.lock
}

# as_user CMD...: run CMD as the test user (in $RL_CWD, else its home), with its runtime dir.
as_user() {
  (cd "${RL_CWD:-$RL_HOME}" && setpriv --reuid="$RL_UID" --regid="$RL_GID" --init-groups \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$RL_HOME" XDG_RUNTIME_DIR="$RL_XDG" "$@")
}

# Background helpers and other things a test makes outside its containers go with it,
# whatever its outcome, before the containers do: at_exit CMD (eval'd, last registered
# first, while the helpers still run), then kill_at_exit PID... (killed).
CLEANUP_PIDS=()
CLEANUP_CMDS=()
kill_at_exit() { CLEANUP_PIDS+=("$@"); }
at_exit() { CLEANUP_CMDS+=("$*"); }

_cleanup() {
  local rc=$? id p c
  set +eu  # every hook runs, whatever one of them trips over
  for ((c = ${#CLEANUP_CMDS[@]} - 1; c >= 0; c--)); do eval "${CLEANUP_CMDS[c]}"; done
  for p in "${CLEANUP_PIDS[@]}"; do
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if [ -d "$TEST_ROOT" ]; then
    for id in $("$NSBOX" --root "$TEST_ROOT" list -q 2>/dev/null); do
      "$NSBOX" --root "$TEST_ROOT" delete --force "$id" >/dev/null 2>&1 || true
    done
  fi
  # Whatever nsbox's delete --force above left behind fails the test, whatever the test
  # itself checked: a cgroup of one of its containers, a mount below its directory. Then it
  # goes, so that the next test starts clean.
  local left
  left=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "nsbox-t$$-*" 2>/dev/null | sort -r)
  left+=$(grep "$TEST_TMP" /proc/self/mountinfo 2>/dev/null | awk '{print " mount:" $5}')
  if [ -n "$left" ]; then
    echo "FAIL: left behind after delete --force of every container: ${left//$'\n'/ }" >&2
    [ "$rc" -ne 0 ] || rc=1
  fi
  find /sys/fs/cgroup -maxdepth 6 -type d -name "nsbox-t$$-*" 2>/dev/null | sort -r | xargs -r rmdir 2>/dev/null || true
  grep "$TEST_TMP" /proc/self/mountinfo 2>/dev/null | awk '{print $5}' | sort -r |
    xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$TEST_TMP"
  exit "$rc"
}
