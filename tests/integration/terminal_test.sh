# Terminals (process.terminal) as runc gives them: the pty master sent to a --console-socket,
# the foreground relay of `run` and `exec -t` driven by a real terminal (tmux), window sizes
# and resizes, /dev/console; and the systemd conventions: NOTIFY_SOCKET and LISTEN_FDS.

TMUX_SOCK=

# tty_helper: build tests/integration/recvtty.c into $TEST_TMP/recvtty (static when the C
# library allows: it also runs inside the busybox container). Sets HELPER and HELPER_STATIC.
tty_helper() {
  HELPER=$TEST_TMP/recvtty
  [ -x "$HELPER" ] && return 0
  command -v cc >/dev/null || skip "cc is not installed (needed to build tests/integration/recvtty.c)"
  local src=$SRC_DIR/tests/integration/recvtty.c
  HELPER_STATIC=1
  if ! cc -O2 -static -o "$HELPER" "$src" 2>"$TEST_TMP/cc.err"; then
    HELPER_STATIC=0
    cc -O2 -o "$HELPER" "$src" 2>"$TEST_TMP/cc.err" || fail "cc recvtty.c failed: $(cat "$TEST_TMP/cc.err")"
  fi
}

# mk_bundle NAME CMD...: make_bundle for container $(cid NAME); the bundle's directory name
# marks stray nsbox processes of the container for assert_no_leftovers.
mk_bundle() {
  local name=$1
  shift
  make_bundle "nsbox-leftover-marker-$(cid "$name")" "$@"
}

# tty_bundle NAME SCRIPT: a bundle for container $(cid NAME) running `sh -c SCRIPT` with
# process.terminal true.
tty_bundle() {
  local b
  b=$(mk_bundle "$1" sh)
  edit_config "$b" '.process.args = ["sh", "-c", $s] | .process.terminal = true' --arg s "$2"
  echo "$b"
}

# crlf TEXT: TEXT without carriage returns (a pty turns \n into \r\n unless ONLCR is off).
crlf() { printf '%s' "$1" | tr -d '\r'; }

# console_listen NAME STEP...: start `recvtty console` on $TEST_TMP/NAME.sock in the
# background (pid in CONSOLE_PID, output in NAME.out, facts about the fd in NAME.meta) and
# wait until it listens.
console_listen() {
  local name=$1
  shift
  local sock=$TEST_TMP/$name.sock
  "$HELPER" console "$sock" "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.meta" &
  CONSOLE_PID=$!
  kill_at_exit "$CONSOLE_PID"
  wait_for "the console socket $sock" test -e "$sock.ready"
}

# console_wait NAME: wait for the recvtty of NAME; fail with its output when it failed.
console_wait() {
  local name=$1 rc=0
  wait "$CONSOLE_PID" || rc=$?
  [ "$rc" -eq 0 ] || fail "recvtty ($name) exited $rc: [$(cat "$TEST_TMP/$name.meta")] output [$(crlf "$(cat "$TEST_TMP/$name.out")")]"
  CONSOLE_OUT=$(crlf "$(cat "$TEST_TMP/$name.out")")
  CONSOLE_META=$(cat "$TEST_TMP/$name.meta")
}

# assert_line TEXT LINE [MSG]: TEXT has a line exactly LINE.
assert_line() {
  printf '%s\n' "$1" | grep -qxF -- "$2" || fail "${3:-missing line}: [$2] is not a line of [$1]"
}

# line_before TEXT MARKER: the line just before the line MARKER in TEXT.
line_before() { printf '%s\n' "$1" | grep -xF -B1 -- "$2" | head -1; }

# exec_supported: skip when this nsbox has no `exec` yet.
exec_supported() {
  local e
  e=$(nsbox exec --help 2>&1 || true)
  case "$e" in
    *"not implemented"*) skip "nsbox exec is not implemented by this version ($e)" ;;
  esac
}

# --- tmux: a real terminal for the foreground relay -----------------------------------------

T() { tmux -S "$TMUX_SOCK" "$@"; }
q() { printf '%q' "$1"; }

# tmux_start NAME CMD...: start a private tmux server whose only pane (100x30, no status
# line) runs CMD with the pane as its terminal. NAME.rc gets CMD's exit status, NAME.before
# and NAME.after the pane's terminal modes (stty -g) before and after CMD, NAME.err its
# stderr. The pane stays open afterwards so that it can be read. Sets TTY_NAME for the
# helpers below.
tmux_start() {
  command -v tmux >/dev/null || skip "tmux is not installed (apt-get install tmux)"
  local name=$1
  shift
  TTY_NAME=$name
  TMUX_SOCK=$TEST_TMP/tmux.sock
  at_exit 'tmux -S "$TMUX_SOCK" kill-server >/dev/null 2>&1'
  local pane=$TEST_TMP/$name.pane.sh
  {
    echo "stty -g > $(q "$TEST_TMP/$name.before")"
    printf '%q ' "$@"
    echo "2> $(q "$TEST_TMP/$name.err")"
    echo "rc=\$?"
    echo "stty -g > $(q "$TEST_TMP/$name.after")"
    echo "echo \$rc > $(q "$TEST_TMP/$name.rc.tmp") && mv $(q "$TEST_TMP/$name.rc.tmp") $(q "$TEST_TMP/$name.rc")"
    echo "echo pane-command-exited-\$rc"
    echo "exec sleep 300"
  } >"$pane"
  printf 'set -g status off\nset -g history-limit 10000\n' >"$TEST_TMP/tmux.conf"
  T -f "$TEST_TMP/tmux.conf" new-session -d -s main -x 100 -y 30 "sh $(q "$pane")" ||
    fail "tmux new-session failed"
}

pane_text() { T capture-pane -p -J -t main -S -10000; }
pane_size() { T display-message -p -t main '#{pane_height} #{pane_width}'; }

# wait_pane TEXT [WHAT]: wait up to 15 s for TEXT to be shown in the pane.
wait_pane() {
  local _
  for _ in $(seq 150); do
    case "$(pane_text)" in *"$1"*) return 0 ;; esac
    if [ -e "$TEST_TMP/$TTY_NAME.rc" ]; then
      sleep 0.2
      case "$(pane_text)" in *"$1"*) return 0 ;; esac
      fail "${2:-waiting for [$1]}: the command in the pane exited $(cat "$TEST_TMP/$TTY_NAME.rc") first; stderr [$(cat "$TEST_TMP/$TTY_NAME.err" 2>/dev/null)] pane [$(pane_text)]"
    fi
    sleep 0.1
  done
  fail "${2:-timed out} waiting for [$1] in the terminal: stderr [$(cat "$TEST_TMP/$TTY_NAME.err" 2>/dev/null)] pane [$(pane_text)]"
}

# type_line TEXT: type TEXT and Enter into the pane.
type_line() {
  T send-keys -t main -l "$1"
  T send-keys -t main Enter
}

# wait_rc: wait for the pane's command to exit; its status in RC.
wait_rc() {
  local _
  for _ in $(seq 150); do
    if [ -e "$TEST_TMP/$TTY_NAME.rc" ]; then
      RC=$(cat "$TEST_TMP/$TTY_NAME.rc")
      return 0
    fi
    sleep 0.1
  done
  fail "the command in the terminal did not exit: stderr [$(cat "$TEST_TMP/$TTY_NAME.err" 2>/dev/null)] pane [$(pane_text)]"
}

# check_interactive_shell EXIT_CODE: the shell in the pane has the pane as its terminal, a
# pts of the container's devpts, the pane's size, follows a resize of the pane; `exit N`
# ends the command in the pane with N and the pane's terminal modes are restored.
check_interactive_shell() {
  local code=$1 want got k
  wait_pane "# " "the container shell's prompt"
  type_line 'tty; stty size; echo "m1-$((40+2))"'
  wait_pane "m1-42"
  local text
  text=$(pane_text)
  assert_eq "$(line_before "$text" "m1-42")" "$(pane_size)" "stty size in the container (the caller's terminal size)"
  assert_line "$text" /dev/pts/0 "tty in the container (its own devpts)"
  assert_not_contains "$text" "job control turned off" "the shell's controlling terminal"
  # The caller's terminal is raw: ^C is a character for the container's pty, where it
  # interrupts the foreground job (not nsbox).
  type_line 'sleep 30'
  sleep 0.3
  T send-keys -t main C-c
  type_line 'echo "int-$((3+4))"'
  wait_pane "int-7" "the shell after ^C interrupted sleep"
  # Resize the terminal: SIGWINCH reaches nsbox, which resizes the container's pty.
  T resize-window -t main -x 120 -y 40
  want="40 120"
  for k in 1 2 3 4 5 6 7 8 9 10; do
    [ "$(pane_size)" = "$want" ] && break
    sleep 0.1
  done
  assert_eq "$(pane_size)" "$want" "tmux pane size after resize-window"
  for k in 1 2 3 4 5 6 7 8 9 10; do
    type_line "stty size; echo \"m2-\$((100+$k))\""
    wait_pane "m2-$((100 + k))"
    got=$(line_before "$(pane_text)" "m2-$((100 + k))")
    [ "$got" = "$want" ] && break
    sleep 0.3
  done
  assert_eq "$got" "$want" "stty size in the container after the terminal was resized"
  type_line "exit $code"
  wait_rc
  assert_eq "$RC" "$code" "exit status of the command in the terminal; stderr [$(cat "$TEST_TMP/$TTY_NAME.err")]"
  assert_eq "$(cat "$TEST_TMP/$TTY_NAME.after")" "$(cat "$TEST_TMP/$TTY_NAME.before")" "terminal modes restored after the command"
}

# --- console socket -------------------------------------------------------------------------

test_console_socket_create_start() {
  local b id
  tty_helper
  b=$(tty_bundle cs 'tty; stty size; for f in 0 1 2; do readlink /proc/self/fd/$f; done
[ -c /dev/console ] && echo console-is-a-char-device
echo "ctty=$(cut -d" " -f6,7 /proc/$$/stat)"
echo "console=$(stat -c %t:%T /dev/console)"
echo "pts=$(stat -c %t:%T "$(tty)")"
echo "ready-$((0+1))"
read x
stty size
echo "size2-$((1+1))"')
  edit_config "$b" '.process.consoleSize = {"height": 33, "width": 111}'
  id=$(cid cs)
  console_listen cs 'u:ready-1' 's:50x150' 'w:go' 'u:size2-2' e
  nsbox create --console-socket "$TEST_TMP/cs.sock" --bundle "$b" "$id" >"$TEST_TMP/create.out" 2>"$TEST_TMP/create.err" ||
    fail "nsbox create --console-socket failed: $(cat "$TEST_TMP/create.err")"
  assert_eq "$(status_of "$id")" created
  nsbox start "$id"
  console_wait cs
  assert_contains "$CONSOLE_META" "fds=1" "descriptors sent to the console socket"
  assert_contains "$CONSOLE_META" "isatty=1" "the descriptor sent is a terminal"
  assert_contains "$CONSOLE_META" "ptn=0" "the pty master's number (the container's own devpts)"
  local out=$CONSOLE_OUT
  assert_eq "$(printf '%s\n' "$out" | head -1)" /dev/pts/0 "tty in the container; output [$out]"
  assert_eq "$(printf '%s\n' "$out" | sed -n 2p)" "33 111" "stty size from process.consoleSize; output [$out]"
  assert_eq "$(printf '%s\n' "$out" | sed -n 3,5p | xargs)" "/dev/pts/0 /dev/pts/0 /dev/pts/0" \
    "stdin, stdout and stderr of the container process; output [$out]"
  assert_line "$out" console-is-a-char-device "/dev/console in the container"
  local pts console
  pts=$(printf '%s\n' "$out" | sed -n 's/^pts=//p')
  console=$(printf '%s\n' "$out" | sed -n 's/^console=//p')
  assert_eq "$console" "$pts" "device of /dev/console (the container's pty)"
  # Session leader (pid 1 in its pid namespace) with /dev/pts/0 (136:0) as controlling tty.
  assert_line "$out" "ctty=1 $((136 << 8))" "session and controlling terminal (/proc/1/stat fields 6, 7)"
  assert_eq "$(line_before "$out" size2-2)" "50 150" "stty size after TIOCSWINSZ on the master"
  [ ! -s "$TEST_TMP/create.out" ] || fail "container output reached create's stdout: $(cat "$TEST_TMP/create.out")"
  wait_for "container to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
  nsbox delete "$id"
  assert_no_leftovers "$id"
  assert_no_host_mounts
}

test_console_socket_run_detached() {
  local b id
  tty_helper
  b=$(tty_bundle rd 'echo "tty=$(tty)"; read x; echo "got-$x"; exec sleep 100')
  id=$(cid rd)
  console_listen rd 'u:tty=' 'w:hello' 'u:got-hello'
  nsbox run -d --console-socket "$TEST_TMP/rd.sock" --bundle "$b" "$id" >"$TEST_TMP/run.out" 2>"$TEST_TMP/run.err" ||
    fail "nsbox run -d --console-socket failed: $(cat "$TEST_TMP/run.err")"
  console_wait rd
  assert_line "$CONSOLE_OUT" "tty=/dev/pts/0" "tty of a detached run"
  assert_eq "$(status_of "$id")" running
  nsbox kill "$id" KILL
  wait_for "container to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
  nsbox delete "$id"
  assert_no_leftovers "$id"
}

# keeper_gone PID START: the console keeper PID (started at START, /proc/PID/stat field 22)
# has ended: no such process, another one by now, or a zombie its new parent has not reaped.
keeper_gone() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  [ "$(awk '{print $22}' <<<"$stat")" != "$2" ] || [ "$(awk '{print $3}' <<<"$stat")" = Z ]
}

test_detached_terminal_is_kept_by_a_console_keeper() {
  local b id keeper start out
  # No --console-socket and no foreground run to take the terminal: a keeper holds it (LXC's
  # console), logs it, and `nsbox console` attaches, as often as wanted.
  b=$(tty_bundle keeper 'echo started-$((6*7)); while read l; do echo "got:$l"; done')
  id=$(cid keeper)
  nsbox run -d --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/keeper.err" || fail "run -d with a terminal and no console socket: $(cat "$TEST_TMP/keeper.err")"
  keeper=$(jq -r '.consoleKeeper // 0' "$TEST_ROOT/$id/state.json")
  [ "$keeper" -gt 0 ] || fail "no console keeper in the state"
  start=$(jq -r .consoleKeeperStart "$TEST_ROOT/$id/state.json")
  wait_for "the console log" grep -q started-42 "$TEST_ROOT/$id/console.log"
  assert_contains "$(nsbox console --log "$id")" "started-42" "console --log"
  out=$(printf 'hello\n' | timeout 30 "$NSBOX" --root "$TEST_ROOT" console "$id") || fail "console (1st attach) exited $?"
  assert_contains "$(crlf "$out")" "got:hello" "the console's answer to the first attach"
  out=$(printf 'again\n' | timeout 30 "$NSBOX" --root "$TEST_ROOT" console "$id") || fail "console (2nd attach) exited $?"
  assert_contains "$(crlf "$out")" "got:again" "the console's answer to the second attach"
  assert_contains "$(nsbox console --log "$id")" "got:again" "console --log after the attaches"
  nsbox kill "$id" KILL
  wait_for "container to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
  nsbox delete "$id"
  keeper_gone "$keeper" "$start" || fail "console keeper $keeper outlived delete"
  expect_fail "does not exist" nsbox console "$id"
  assert_no_leftovers "$id"
  assert_no_host_mounts
}

test_console_keeper_never_stalls_the_container_and_bounds_its_log() {
  local b id keeper start
  # Nobody attached: 3 MiB of console output still flows (a console socket receiver that
  # died stalled the writer), and the log keeps at most two files of 1 MiB.
  b=$(tty_bundle flood 'i=0; while [ $i -lt 3000 ]; do printf "%1023d\n" $i; i=$((i+1)); done; echo flood-done; sleep 1000')
  id=$(cid flood)
  nsbox run -d --bundle "$b" "$id" </dev/null >/dev/null
  keeper=$(jq -r .consoleKeeper "$TEST_ROOT/$id/state.json")
  start=$(jq -r .consoleKeeperStart "$TEST_ROOT/$id/state.json")
  local i
  for i in $(seq 600); do
    grep -q flood-done "$TEST_ROOT/$id/console.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q flood-done "$TEST_ROOT/$id/console.log" || fail "the container's console output stalled (no flood-done after 60 s)"
  [ -f "$TEST_ROOT/$id/console.log.1" ] || fail "the log was not rotated"
  for f in console.log console.log.1; do
    [ "$(stat -c %s "$TEST_ROOT/$id/$f")" -le 1048576 ] || fail "$f is over 1 MiB: $(stat -c %s "$TEST_ROOT/$id/$f")"
  done
  nsbox delete --force "$id"
  keeper_gone "$keeper" "$start" || fail "console keeper $keeper outlived delete --force"
  assert_no_leftovers "$id"
}

test_exec_detached_terminal_without_console_socket_is_refused() {
  local b id
  # exec keeps runc's rule: a detached exec with a terminal needs a console socket.
  b=$(mk_bundle execmisuse sleep 1000)
  id=$(cid execmisuse)
  nsbox run -d --bundle "$b" "$id" </dev/null
  expect_fail "console socket" nsbox exec -d -t "$id" true
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

test_console_socket_without_terminal_or_detach_is_refused() {
  local b id
  tty_helper
  # runc: "cannot use console socket if runc will not detach or allocate tty".
  console_listen unused
  b=$(tty_bundle fgsock 'tty')
  id=$(cid fgsock)
  expect_fail "console socket" timeout 30 "$NSBOX" --root "$TEST_ROOT" run --console-socket "$TEST_TMP/unused.sock" --bundle "$b" "$id" </dev/null
  assert_no_leftovers "$id"
  b=$(mk_bundle notty true)
  id=$(cid notty)
  expect_fail "console socket" nsbox create --console-socket "$TEST_TMP/unused.sock" --bundle "$b" "$id"
  assert_no_leftovers "$id"
  expect_fail "console socket" nsbox run -d --console-socket "$TEST_TMP/unused.sock" --bundle "$b" "$id"
  assert_no_leftovers "$id"
  assert_no_host_mounts
}

test_console_socket_unreachable_fails_cleanly() {
  local b id
  b=$(tty_bundle deadsock 'tty')
  id=$(cid deadsock)
  expect_fail "" nsbox create --console-socket "$TEST_TMP/nobody.sock" --bundle "$b" "$id"
  assert_no_leftovers "$id"
  : >"$TEST_TMP/not-a-socket"
  expect_fail "" nsbox create --console-socket "$TEST_TMP/not-a-socket" --bundle "$b" "$id"
  assert_no_leftovers "$id"
  assert_no_host_mounts
}

# --- foreground relay -----------------------------------------------------------------------

test_run_foreground_terminal_in_tmux() {
  local b id
  b=$(tty_bundle fg sh)
  edit_config "$b" '.process.args = ["sh"] | .process.consoleSize = {"height": 11, "width": 22}'
  id=$(cid fg)
  tmux_start fg "$NSBOX" --root "$TEST_ROOT" run --bundle "$b" "$id"
  check_interactive_shell 5
  assert_no_leftovers "$id"
  assert_no_host_mounts
}

test_run_foreground_terminal_in_script() {
  command -v script >/dev/null || skip "script (util-linux) is not installed"
  local b id out rc=0 cmd
  b=$(tty_bundle sc 'echo "tty=$(tty)"; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; exit 3')
  id=$(cid sc)
  cmd=$(printf '%q ' "$NSBOX" --root "$TEST_ROOT" run --bundle "$b" "$id")
  # script's stdin stays open (no input): at end of input script would type VEOF into the
  # terminal, which the container's pty would echo.
  exec 5< <(exec sleep 60)
  kill_at_exit $!
  out=$(timeout 30 script -qfec "$cmd" /dev/null <&5 2>"$TEST_TMP/script.err") || rc=$?
  exec 5<&-
  out=$(crlf "$out")
  assert_eq "$rc" 3 "exit status of nsbox run under script; stderr [$(cat "$TEST_TMP/script.err")] output [$out]"
  assert_line "$out" "tty=/dev/pts/0" "tty of a foreground run"
  assert_line "$out" all-ttys "stdin, stdout and stderr are the terminal"
  assert_no_leftovers "$id"
}

# --- exec -----------------------------------------------------------------------------------

# exec_target NAME: a running container without a terminal for exec; prints its id.
exec_target() {
  local b id
  b=$(mk_bundle "$1" sleep 100)
  id=$(cid "$1")
  nsbox create --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/$1.create.err" ||
    fail "nsbox create failed: $(cat "$TEST_TMP/$1.create.err")"
  nsbox start "$id"
  echo "$id"
}

stop_and_delete() {
  nsbox kill "$1" KILL
  wait_for "container to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $1 | jq -r .status)\" = stopped ]"
  nsbox delete "$1"
  assert_no_leftovers "$1"
}

test_exec_tty_foreground_in_tmux() {
  exec_supported
  local id
  id=$(exec_target ex)
  tmux_start ex "$NSBOX" --root "$TEST_ROOT" exec -t "$id" sh
  check_interactive_shell 6
  assert_eq "$(status_of "$id")" running "the container after its exec'd shell exited"
  stop_and_delete "$id"
}

test_exec_tty_console_socket_detached() {
  exec_supported
  tty_helper
  local id
  id=$(exec_target exd)
  console_listen exd 'w:tty; stty size; echo "e1-$((20+1))"' 'u:e1-21' 's:20x70' \
    'w:stty size; echo "e2-$((20+2))"; exit' 'u:e2-22' e
  nsbox exec -t -d --console-socket "$TEST_TMP/exd.sock" "$id" sh >"$TEST_TMP/exec.out" 2>"$TEST_TMP/exec.err" ||
    fail "nsbox exec -t -d --console-socket failed: $(cat "$TEST_TMP/exec.err")"
  console_wait exd
  assert_contains "$CONSOLE_META" "fds=1" "descriptors sent to the console socket"
  assert_line "$CONSOLE_OUT" /dev/pts/0 "tty of the exec'd process"
  assert_eq "$(line_before "$CONSOLE_OUT" e2-22)" "20 70" "stty size after TIOCSWINSZ on the master"
  assert_eq "$(status_of "$id")" running
  stop_and_delete "$id"
}

test_exec_process_console_size() {
  exec_supported
  tty_helper
  local id
  id=$(exec_target exp)
  jq -n '{terminal: true, consoleSize: {height: 21, width: 77}, user: {uid: 0, gid: 0},
          args: ["sh", "-c", "tty; stty size; echo \"p-$((5*5))\""], env: ["PATH=/bin"], cwd: "/"}' \
    >"$TEST_TMP/process.json"
  console_listen exp 'u:p-25' e
  nsbox exec -d --console-socket "$TEST_TMP/exp.sock" --process "$TEST_TMP/process.json" "$id" \
    >"$TEST_TMP/exec.out" 2>"$TEST_TMP/exec.err" ||
    fail "nsbox exec -d --console-socket --process failed: $(cat "$TEST_TMP/exec.err")"
  console_wait exp
  assert_eq "$(line_before "$CONSOLE_OUT" p-25)" "21 77" "stty size from the process.json consoleSize; output [$CONSOLE_OUT]"
  assert_line "$CONSOLE_OUT" /dev/pts/0 "tty of the exec'd process"
  stop_and_delete "$id"
}

test_exec_tty_detached_without_console_socket_is_refused() {
  exec_supported
  local id
  id=$(exec_target exm)
  expect_fail "console socket" nsbox exec -t -d "$id" true
  assert_eq "$(status_of "$id")" running
  stop_and_delete "$id"
}

test_exec_console_socket_without_tty_or_detach_is_refused() {
  exec_supported
  tty_helper
  local id
  id=$(exec_target exs)
  console_listen unused
  expect_fail "console socket" nsbox exec --console-socket "$TEST_TMP/unused.sock" -d "$id" true
  expect_fail "console socket" timeout 30 "$NSBOX" --root "$TEST_ROOT" exec -t --console-socket "$TEST_TMP/unused.sock" "$id" true </dev/null
  assert_eq "$(status_of "$id")" running
  stop_and_delete "$id"
}

# --- NOTIFY_SOCKET and LISTEN_FDS -----------------------------------------------------------

# notify_bundle NAME: a bundle for container $(cid NAME) on a private copy of the rootfs
# (nsbox may make the notify socket's mount point in it) holding the static helper as
# /bin/sd-notify-send; its process reports $NOTIFY_SOCKET, sends READY=1 after 2 s, then
# sleeps 30 s (nsbox, as runc, may wait for READY=1 or the container's end). Needs tty_helper and notify_possible first.
notify_bundle() {
  local root=$TEST_TMP/$1-rootfs b
  cp -a "$(shared_rootfs)" "$root"
  cp "$HELPER" "$root/bin/sd-notify-send"
  b=$(mk_bundle "$1" sh -c 'echo "notify=$NOTIFY_SOCKET"; [ -S "$NOTIFY_SOCKET" ] && echo is-a-socket; sleep 2; sd-notify-send READY=1 && echo sent; exec sleep 30')
  edit_config "$b" '.root.path = $r' --arg r "$root"
  echo "$b"
}

notify_possible() {
  tty_helper
  [ "$HELPER_STATIC" = 1 ] || skip "no way to send READY=1 from the container: busybox has no socat or systemd-notify and cc -static failed ($(cat "$TEST_TMP/cc.err"))"
}

notify_listen() {
  "$HELPER" notify-recv "$TEST_TMP/host.sock" >"$TEST_TMP/notify.out" 2>"$TEST_TMP/notify.err" &
  kill_at_exit $!
  wait_for "the host notify socket" test -e "$TEST_TMP/host.sock.ready"
}

# check_notified ID: READY=1 reached the host socket (and MAINPID, when sent, is the init)
# within 1 s: as runc, the nsbox command (run -d, start) waits for READY=1 before it returns.
check_notified() {
  local id=$1 _
  for _ in $(seq 10); do
    grep -qx "READY=1" "$TEST_TMP/notify.out" && break
    sleep 0.1
  done
  grep -qx "READY=1" "$TEST_TMP/notify.out" ||
    fail "READY=1 did not reach the host's NOTIFY_SOCKET within 1 s of the nsbox command's return: received [$(cat "$TEST_TMP/notify.out")], container output [$(cat "$TEST_TMP/ctr.out")]"
  assert_contains "$(cat "$TEST_TMP/ctr.out")" "is-a-socket" "NOTIFY_SOCKET in the container"
  local mainpid
  mainpid=$(sed -n 's/^MAINPID=//p' "$TEST_TMP/notify.out" | head -1)
  [ -z "$mainpid" ] || assert_eq "$mainpid" "$(nsbox state "$id" | jq -r .pid)" "MAINPID sent to the host"
}

test_notify_socket_run_detached() {
  local b id
  notify_possible
  b=$(notify_bundle notify)
  notify_listen
  id=$(cid notify)
  NOTIFY_SOCKET=$TEST_TMP/host.sock nsbox run -d --bundle "$b" "$id" </dev/null >"$TEST_TMP/ctr.out" 2>&1 ||
    fail "nsbox run -d with NOTIFY_SOCKET failed: $(cat "$TEST_TMP/ctr.out")"
  check_notified "$id"
  stop_and_delete "$id"
  assert_no_host_mounts
}

test_notify_socket_create_start() {
  local b id
  notify_possible
  b=$(notify_bundle notifycs)
  notify_listen
  id=$(cid notifycs)
  NOTIFY_SOCKET=$TEST_TMP/host.sock nsbox create --bundle "$b" "$id" </dev/null >"$TEST_TMP/ctr.out" 2>&1 ||
    fail "nsbox create with NOTIFY_SOCKET failed: $(cat "$TEST_TMP/ctr.out")"
  NOTIFY_SOCKET=$TEST_TMP/host.sock nsbox start "$id" 2>"$TEST_TMP/start.err" ||
    fail "nsbox start with NOTIFY_SOCKET failed: $(cat "$TEST_TMP/start.err")"
  check_notified "$id"
  stop_and_delete "$id"
  assert_no_host_mounts
}

test_listen_fds_passed_to_container() {
  local b id out rc=0
  echo listen-content >"$TEST_TMP/listen"
  b=$(mk_bundle lfd sh -c 'echo "listen_fds=$LISTEN_FDS listen_pid=$LISTEN_PID pid=$$"; cat <&3; [ -e /proc/$$/fd/4 ] && echo fd4-is-open; true')
  id=$(cid lfd)
  # As systemd starts it: LISTEN_PID is nsbox's own pid (the shell execs nsbox).
  out=$(LISTEN_FDS=1 timeout 60 bash -c 'export LISTEN_PID=$$; exec "$@"' sh "$NSBOX" --root "$TEST_ROOT" run --bundle "$b" "$id" \
    3<"$TEST_TMP/listen" 4</dev/null 2>"$TEST_TMP/lfd.err") || rc=$?
  assert_eq "$rc" 0 "nsbox run with LISTEN_FDS=1; stderr [$(cat "$TEST_TMP/lfd.err")] output [$out]"
  assert_line "$out" "listen_fds=1 listen_pid=1 pid=1" "LISTEN_FDS and LISTEN_PID in the container"
  assert_line "$out" listen-content "content read from fd 3 in the container"
  assert_not_contains "$out" fd4-is-open "the caller's fd 4 in the container (only LISTEN_FDS=1 passed)"
  assert_no_leftovers "$id"
}

test_listen_fds_before_preserved_fds() {
  local b id out rc=0
  echo listen-content >"$TEST_TMP/listen"
  echo preserved-content >"$TEST_TMP/preserved"
  b=$(mk_bundle lfdp sh -c 'echo "listen_fds=$LISTEN_FDS"; cat <&3; cat <&4; [ -e /proc/$$/fd/5 ] && echo fd5-is-open; true')
  id=$(cid lfdp)
  # As runc: the LISTEN_FDS descriptors come first (3), then --preserve-fds N more (the
  # caller's 4 as 4).
  out=$(LISTEN_FDS=1 timeout 60 bash -c 'export LISTEN_PID=$$; exec "$@"' sh "$NSBOX" --root "$TEST_ROOT" run --preserve-fds 1 --bundle "$b" "$id" \
    3<"$TEST_TMP/listen" 4<"$TEST_TMP/preserved" 5</dev/null 2>"$TEST_TMP/lfd.err") || rc=$?
  assert_eq "$rc" 0 "nsbox run with LISTEN_FDS=1 --preserve-fds 1; stderr [$(cat "$TEST_TMP/lfd.err")] output [$out]"
  assert_eq "$out" "$(printf '%s\n' listen_fds=1 listen-content preserved-content)" "fds 3 and 4 in the container"
  assert_no_leftovers "$id"
}
