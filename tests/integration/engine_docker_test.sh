# Docker (dockerd 20.10 with the containerd it starts, containerd-shim-runc-v2) running its
# containers with nsbox as the OCI runtime: run and its exit codes, --network none, the
# default bridge (wired by docker's prestart hook), run -d with exec/top/stats/stop/rm,
# run -it in a real terminal (tmux), update --memory.
#
# Each test starts its own dockerd in a network and mount namespace of its own (unshare):
# docker0, its address and its iptables rules exist only there; /run (containerd's shim
# sockets) and /etc/docker (docker's key.json) are private tmpfs/bind mounts there; data
# root, exec root, pidfile, socket and daemon.json are under $TEST_TMP; the containers'
# cgroups are under /nsbox-docker-$$ (--cgroup-parent). docker_stop checks that the daemon,
# its containerd and the shims end; docker_cleanup (at_exit) forces all of it on failure.
#
# The runtime registered as "nsbox" is a two-line wrapper around $NSBOX that logs each
# command line docker's shim calls it with (runtime-calls.log) and keeps the last bundle's
# config.json, so that a failure shows what nsbox was asked to do.

DOCKER_D=
DOCKERD_PID=
DOCKER_NETNS=
DOCKER_IMG=nsbox-busybox
TMUX_SOCK=

docker_possible() {
  local c
  for c in dockerd docker containerd containerd-shim-runc-v2 unshare ip tar; do
    command -v "$c" >/dev/null || skip "$c is not installed (Debian: apt-get install docker.io)"
  done
}

# dkr ARGS...: the docker client on this test's daemon (and a private client config).
dkr() { DOCKER_CONFIG=$DOCKER_D/client docker -H "unix://$DOCKER_D/docker.sock" "$@"; }

# The state root docker's shim passes to the runtime (--root) for the "moby" namespace.
runtime_root() { echo "$DOCKER_D/exec/runtime-runc/moby"; }

# runtime_calls: the last runtime command lines, bundle paths and ids shortened.
runtime_calls() {
  tail -n "${1:-8}" "$DOCKER_D/runtime-calls.log" 2>/dev/null |
    sed "s|$DOCKER_D/exec/containerd/daemon/io.containerd.runtime.v2.task/moby/[0-9a-f]*|<bundle>|g; s|[0-9a-f]\{64\}|<id>|g"
}

# docker_fail MSG: fail with MSG, the last runtime calls and resources of the last config.
docker_fail() {
  local res=
  [ -e "$DOCKER_D/last-config.json" ] && res=$(jq -c '.linux.resources' "$DOCKER_D/last-config.json")
  fail "$*
  last nsbox calls:
$(runtime_calls | sed 's/^/    nsbox /')
  linux.resources of the last bundle: $res"
}

# ns_pids: the processes in the daemon's network namespace (dockerd, containerd, shims).
ns_pids() {
  local p
  [ -n "$DOCKER_NETNS" ] || return 0
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$DOCKER_NETNS" ] && echo "${p#/proc/}"
  done
  return 0
}

# pid_gone PID: PID exited (or is a zombie).
pid_gone() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
  [ -z "$st" ] || [ "$st" = Z ]
}

# docker_start [DOCKERD FLAGS...]: start dockerd (debug log in $DOCKER_D/dockerd.log) with
# the runtime "nsbox" from daemon.json and wait for its API; skip with its log when it does
# not come up.
docker_start() {
  docker_possible
  DOCKER_D=$TEST_TMP/d
  mkdir -p "$DOCKER_D/etc-docker" "$DOCKER_D/client"
  local rt=$DOCKER_D/nsbox-runtime
  cat >"$rt" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>$(printf %q "$DOCKER_D/runtime-calls.log")
prev=
for a; do [ "\$prev" = --bundle ] && cp "\$a/config.json" $(printf %q "$DOCKER_D/last-config.json"); prev=\$a; done
exec $(printf %q "$NSBOX") "\$@"
EOF
  chmod 755 "$rt"
  jq -n --arg p "$rt" '{runtimes: {nsbox: {path: $p}}, "default-runtime": "nsbox"}' >"$DOCKER_D/daemon.json"
  cat >"$DOCKER_D/ns.sh" <<'EOF'
set -e
d=$1
shift
ip link set lo up
mount -t tmpfs -o mode=755 nsbox-docker-run /run
if [ -d /etc/docker ]; then mount --bind "$d/etc-docker" /etc/docker; fi
exec dockerd --debug --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" \
  --pidfile "$d/docker.pid" -H "unix://$d/docker.sock" "$@"
EOF
  unshare --net --mount --propagation slave sh "$DOCKER_D/ns.sh" "$DOCKER_D" \
    --cgroup-parent "/nsbox-docker-$$" "$@" >"$DOCKER_D/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  at_exit docker_cleanup
  local i
  for i in $(seq 150); do
    dkr version >/dev/null 2>&1 && break
    pid_gone "$DOCKERD_PID" && break
    sleep 0.2
  done
  if ! dkr version >/dev/null 2>&1; then
    skip "dockerd did not start (flags: $*); its log: $(tail -20 "$DOCKER_D/dockerd.log")"
  fi
  DOCKER_NETNS=$(readlink "/proc/$DOCKERD_PID/ns/net")
  [ "$DOCKER_NETNS" != "$(readlink /proc/self/ns/net)" ] || fail "dockerd is in the host's network namespace"
  local info
  info=$(dkr info --format '{{.DefaultRuntime}} {{json .Runtimes.nsbox}}')
  assert_contains "$info" "nsbox {\"path\":\"$rt\"" "docker info: default runtime and the runtime nsbox"
}

# docker_import: the busybox rootfs as image $DOCKER_IMG (no registry here).
docker_import() {
  local err
  err=$(tar -C "$(shared_rootfs)" -c . | dkr import - "$DOCKER_IMG" 2>&1 >/dev/null) ||
    fail "docker import failed: $err"
}

# docker_stop: remove the containers and the image, stop dockerd; it, its containerd and
# the shims must end and leave no containers (nsbox state) or cgroups behind.
docker_stop() {
  local ids left i
  mapfile -t ids < <(dkr ps -aq)
  [ "${#ids[@]}" = 0 ] || dkr rm -f "${ids[@]}" >/dev/null || docker_fail "docker rm -f ${ids[*]} failed"
  dkr rmi -f "$DOCKER_IMG" >/dev/null 2>&1 || true
  left=$("$NSBOX" --root "$(runtime_root)" list -q 2>/dev/null || true)
  [ -z "$left" ] || docker_fail "containers left in nsbox's state after docker rm: $left"
  kill -TERM "$DOCKERD_PID"
  for i in $(seq 100); do
    pid_gone "$DOCKERD_PID" && break
    sleep 0.2
  done
  pid_gone "$DOCKERD_PID" || fail "dockerd did not stop within 20 s of SIGTERM: $(tail -5 "$DOCKER_D/dockerd.log")"
  wait "$DOCKERD_PID" 2>/dev/null || true
  for i in $(seq 50); do
    [ -z "$(ns_pids)" ] && break
    sleep 0.2
  done
  left=$(ns_pids)
  [ -z "$left" ] || fail "processes left in dockerd's namespace after it stopped: $(for i in $left; do tr '\0' ' ' <"/proc/$i/cmdline"; echo; done)"
  left=$(find /sys/fs/cgroup -mindepth 3 -maxdepth 4 -type d -path "*/nsbox-docker-$$/*" 2>/dev/null || true)
  [ -z "$left" ] || fail "container cgroups left behind: $left"
}

# docker_cleanup (at_exit): the same by force, whatever the test's outcome.
docker_cleanup() {
  [ -n "$DOCKERD_PID" ] || return 0
  local id ids p i
  if ! pid_gone "$DOCKERD_PID"; then
    mapfile -t ids < <(timeout 20 docker -H "unix://$DOCKER_D/docker.sock" ps -aq 2>/dev/null)
    [ "${#ids[@]}" = 0 ] || timeout 30 docker -H "unix://$DOCKER_D/docker.sock" rm -f "${ids[@]}" >/dev/null 2>&1
    kill -TERM "$DOCKERD_PID" 2>/dev/null
    for i in $(seq 50); do
      pid_gone "$DOCKERD_PID" && break
      sleep 0.2
    done
  fi
  for id in $("$NSBOX" --root "$(runtime_root)" list -q 2>/dev/null); do
    "$NSBOX" --root "$(runtime_root)" delete --force "$id" >/dev/null 2>&1
  done
  for p in $(ns_pids); do kill -KILL "$p" 2>/dev/null; done
  kill -KILL "$DOCKERD_PID" 2>/dev/null
  wait "$DOCKERD_PID" 2>/dev/null
  find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -depth -type d -path "*/nsbox-docker-$$*" -exec rmdir {} + 2>/dev/null
  DOCKERD_PID=
}

# drun [DOCKER RUN ARGS...] -- CMD...: docker run --rm --runtime=nsbox ARGS IMG CMD; stdout
# in OUT, stderr in ERR, exit status in RC.
drun() {
  local args=()
  while [ "$1" != -- ]; do
    args+=("$1")
    shift
  done
  shift
  RC=0
  OUT=$(dkr run --rm --runtime=nsbox "${args[@]}" "$DOCKER_IMG" "$@" 2>"$TEST_TMP/drun.err") || RC=$?
  ERR=$(cat "$TEST_TMP/drun.err")
}

# drun_ok ...: drun, which must exit 0.
drun_ok() {
  drun "$@"
  [ "$RC" = 0 ] || docker_fail "docker run $* exited $RC: stderr [$ERR] stdout [$OUT]"
}

# cgroup_dir CONTROLLER PID: the v1 cgroup directory of PID for CONTROLLER.
cgroup_dir() {
  local rel
  rel=$(awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$2/cgroup")
  [ -n "$rel" ] || fail "no $1 cgroup for pid $2: $(cat "/proc/$2/cgroup")"
  echo "/sys/fs/cgroup/$1$rel"
}

# --- docker run -----------------------------------------------------------------------------

test_docker_run_exit_codes() {
  docker_start --bridge=none --iptables=false --ip-masq=false
  docker_import
  drun_ok --network none -- true
  # The runtime docker called was nsbox (through the logging wrapper): create, start, delete.
  local calls
  calls=$(runtime_calls 20)
  assert_contains "$calls" " create --bundle " "runtime calls of docker run"
  assert_contains "$calls" " start <id>" "runtime calls of docker run"
  drun_ok --network none -- sh -c 'echo "out-$((6*7))"; echo "err-$((6*8))" >&2'
  assert_eq "$OUT" out-42 "stdout of docker run"
  assert_eq "$ERR" err-48 "stderr of docker run"
  drun --network none -- sh -c 'exit 3'
  [ "$RC" = 3 ] || docker_fail "docker run sh -c 'exit 3' exited $RC: stderr [$ERR]"
  # runc's "executable file not found" is what docker maps to 127 (126: not executable).
  drun --network none -- /no/such/command
  [ "$RC" = 127 ] || docker_fail "docker run of a missing command exited $RC (docker gives 127 for runc's \"executable file not found\" or \"no such file or directory\"): stderr [$ERR]"
  drun --network none -- no-such-command-in-path
  [ "$RC" = 127 ] || docker_fail "docker run of a command not in \$PATH exited $RC: stderr [$ERR]"
  assert_contains "$ERR" "executable file not found" "docker's error for a command not in \$PATH"
  drun --network none -- /etc/passwd
  [ "$RC" = 126 ] || docker_fail "docker run of a file that is not executable exited $RC (docker gives 126 for \"permission denied\"): stderr [$ERR]"
  docker_stop
}

test_docker_network_none() {
  docker_start --bridge=none --iptables=false --ip-masq=false
  docker_import
  drun_ok --network none -- sh -c 'ip -o link | cut -d" " -f2; ip -o addr show lo | grep -q "inet 127.0.0.1/" && echo lo-up; readlink /proc/self/ns/net'
  local links
  links=$(printf '%s\n' "$OUT" | grep ':$' | xargs)
  assert_eq "$links" "lo:" "network devices in a --network none container; output [$OUT]"
  assert_contains "$OUT" lo-up "loopback of a --network none container"
  local netns
  netns=$(printf '%s\n' "$OUT" | tail -1)
  assert_ne "$netns" "$DOCKER_NETNS" "the container's network namespace (not dockerd's)"
  assert_ne "$netns" "$(readlink /proc/self/ns/net)" "the container's network namespace (not the host's)"
  docker_stop
}

# The default bridge: libnetwork wires the container from a prestart hook
# (libnetwork-setkey), which nsbox runs once the container's network namespace exists.
test_docker_bridge_network() {
  docker_start --bip 172.29.71.1/24
  docker_import
  local subnet gw
  subnet=$(dkr network inspect bridge --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}')
  gw=$(dkr network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
  assert_eq "$subnet $gw" "172.29.71.0/24 172.29.71.1" "docker's bridge network"
  # docker0 exists in dockerd's namespace (the test's), with the gateway address.
  local br
  br=$(nsenter -t "$DOCKERD_PID" -n ip -o -4 addr show docker0 2>&1) || fail "no docker0 in dockerd's namespace: $br"
  assert_contains "$br" "inet 172.29.71.1/24" "docker0 in dockerd's namespace"
  drun_ok -- sh -c 'ip -o -4 addr show eth0; ip route; ping -c 1 -W 3 172.29.71.1 && echo ping-ok'
  local addr
  addr=$(printf '%s\n' "$OUT" | awk '$2 == "eth0" && $3 == "inet" { print $4; exit }')
  case "$addr" in
    172.29.71.*/24) ;;
    *) docker_fail "eth0 of a container on the default bridge: address [$addr] not in $subnet; output [$OUT] stderr [$ERR]" ;;
  esac
  [ "$addr" != "$gw/24" ] || fail "the container has the gateway's address"
  assert_contains "$OUT" "default via 172.29.71.1 dev eth0" "the container's default route"
  assert_contains "$OUT" ping-ok "ping of the bridge's gateway from the container; output [$OUT]"
  docker_stop
}

# --- a detached container -------------------------------------------------------------------

test_docker_detached_exec_top_stats_stop_rm() {
  docker_start --bridge=none --iptables=false --ip-masq=false
  docker_import
  local id rc=0 out
  # The init answers SIGTERM with 42: docker stop's signal must reach it through nsbox kill.
  id=$(dkr run -d --runtime=nsbox --network none "$DOCKER_IMG" \
    sh -c 'trap "exit 42" TERM; echo started; sleep 1000 & wait' 2>"$TEST_TMP/run.err") ||
    docker_fail "docker run -d failed: $(cat "$TEST_TMP/run.err")"
  local pid
  pid=$(dkr inspect -f '{{.State.Pid}}' "$id")
  [ "$pid" -gt 0 ] || docker_fail "docker inspect: State.Pid of the running container is [$pid]"
  # nsbox's own state of the container (the root docker's shim passes it).
  local state
  state=$("$NSBOX" --root "$(runtime_root)" state "$id" 2>&1) || docker_fail "nsbox state $id: $state"
  assert_eq "$(printf '%s' "$state" | jq -r '.status + " " + (.pid|tostring)')" "running $pid" "nsbox state of the docker container"
  wait_for "the container's output in docker logs" sh -c "DOCKER_CONFIG=$DOCKER_D/client docker -H unix://$DOCKER_D/docker.sock logs $id | grep -qx started"

  # exec: output, exit status, the process is in the container (pid namespace).
  out=$(dkr exec "$id" sh -c 'echo "exec-$((2+3))"; cat /proc/1/cmdline | tr "\0" " "' 2>"$TEST_TMP/exec.err") ||
    docker_fail "docker exec failed: $(cat "$TEST_TMP/exec.err")"
  printf '%s\n' "$out" | grep -qx exec-5 || docker_fail "output of docker exec: [$out]"
  assert_contains "$out" "sh -c trap" "pid 1 seen by docker exec (the container's init)"
  dkr exec "$id" sh -c 'exit 4' 2>"$TEST_TMP/exec.err" || rc=$?
  [ "$rc" = 4 ] || docker_fail "docker exec sh -c 'exit 4' exited $rc: $(cat "$TEST_TMP/exec.err")"
  # dockerd 20.10 answers 126 to a failed exec whatever the cause (so it does with runc).
  rc=0
  out=$(dkr exec "$id" no-such-command 2>&1) || rc=$?
  [ "$rc" = 126 ] || docker_fail "docker exec of a missing command exited $rc: $out"
  assert_contains "$out" "executable file not found" "docker's error for exec of a missing command"

  # top (the runtime's `ps --format json`): the container's processes by host pid.
  out=$(dkr top "$id" -o pid,args 2>"$TEST_TMP/top.err") || docker_fail "docker top failed: $(cat "$TEST_TMP/top.err")"
  printf '%s\n' "$out" | grep -q "^ *$pid  *sh -c trap" || docker_fail "docker top: no line for the init (pid $pid) in [$out]"
  assert_contains "$out" "sleep 1000" "docker top"

  # stats: read from the container's cgroups.
  out=$(dkr stats --no-stream --format '{{.MemUsage}}|{{.PIDs}}' "$id" 2>"$TEST_TMP/stats.err") ||
    docker_fail "docker stats failed: $(cat "$TEST_TMP/stats.err")"
  assert_eq "${out#*|}" 2 "docker stats: pids of the container (sh and sleep); output [$out]"
  case "$out" in
    0B\ /*|*--*) docker_fail "docker stats: no memory usage [$out]" ;;
  esac

  # stop: SIGTERM to the init, which exits 42.
  local t0 t1
  t0=$(date +%s)
  dkr stop -t 20 "$id" >/dev/null 2>"$TEST_TMP/stop.err" || docker_fail "docker stop failed: $(cat "$TEST_TMP/stop.err")"
  t1=$(date +%s)
  assert_eq "$(dkr inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")" "exited 42" "the container after docker stop"
  [ $((t1 - t0)) -lt 15 ] || fail "docker stop took $((t1 - t0)) s: SIGTERM did not reach the init"
  pid_gone "$pid" || fail "the container's init ($pid) still runs after docker stop"

  dkr rm "$id" >/dev/null 2>"$TEST_TMP/rm.err" || docker_fail "docker rm failed: $(cat "$TEST_TMP/rm.err")"
  if "$NSBOX" --root "$(runtime_root)" state "$id" >/dev/null 2>&1; then
    fail "nsbox still has state for the container after docker rm"
  fi
  [ -z "$(dkr ps -aq)" ] || fail "containers left after docker rm: $(dkr ps -a)"
  docker_stop
}

# --- update ---------------------------------------------------------------------------------

test_docker_update_memory() {
  docker_start --bridge=none --iptables=false --ip-masq=false
  docker_import
  local id pid dir before after rc out
  id=$(dkr run -d --runtime=nsbox --network none "$DOCKER_IMG" sleep 1000 2>"$TEST_TMP/run.err") ||
    docker_fail "docker run -d failed: $(cat "$TEST_TMP/run.err")"
  pid=$(dkr inspect -f '{{.State.Pid}}' "$id")
  dir=$(cgroup_dir memory "$pid")
  assert_contains "$dir" "/nsbox-docker-$$/$id" "the container's memory cgroup (docker's --cgroup-parent)"
  before=$(cat "$dir/memory.limit_in_bytes")
  assert_ne "$before" 67108864 "memory limit before docker update"
  # dockerd 20.10 itself refuses --memory alone on a container without a limit ("Memory
  # limit should be smaller than already set memoryswap limit"), runc or not.
  dkr update --memory 64m --memory-swap 128m "$id" >/dev/null 2>"$TEST_TMP/update.err" ||
    docker_fail "docker update --memory 64m --memory-swap 128m failed: $(cat "$TEST_TMP/update.err")"
  after=$(cat "$dir/memory.limit_in_bytes")
  assert_eq "$after" 67108864 "memory.limit_in_bytes of the container after docker update --memory 64m ($dir)"
  if [ -e "$dir/memory.memsw.limit_in_bytes" ]; then
    assert_eq "$(cat "$dir/memory.memsw.limit_in_bytes")" 134217728 "memory.memsw.limit_in_bytes after docker update --memory-swap 128m"
  fi
  assert_eq "$(dkr inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}' "$id")" "67108864 134217728" "docker inspect after update"
  # The limit holds: 20 MB fit, a process that grows to 200 MB (over memory+swap) is OOM-killed.
  rc=0
  out=$(dkr exec "$id" sh -c 'x=$(head -c 20000000 /dev/zero | tr "\\0" a); echo "${#x}"' 2>&1) || rc=$?
  assert_eq "$rc $out" "0 20000000" "a 20 MB string in the container under the 64 MiB limit"
  rc=0
  out=$(dkr exec "$id" sh -c 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo "${#x}"' 2>&1) || rc=$?
  [ "$rc" = 137 ] || fail "a 200 MB string in the container under a 64 MiB limit (memsw 128 MiB): exit $rc (want 137, OOM kill), output [$out]"
  if grep -q '^oom_kill ' "$dir/memory.oom_control"; then
    [ "$(awk '$1 == "oom_kill" {print $2}' "$dir/memory.oom_control")" -ge 1 ] ||
      fail "no OOM kill counted in $dir/memory.oom_control: $(cat "$dir/memory.oom_control")"
  fi
  # What docker did not change stays as it was (docker sends 0 for those fields).
  local shares
  shares=$(cat "$(cgroup_dir cpu "$pid")/cpu.shares")
  assert_eq "$shares" 1024 "cpu.shares after docker update --memory (docker sent shares 0: unset)"
  docker_stop
}

# --- run -it in a terminal ------------------------------------------------------------------

T() { tmux -S "$TMUX_SOCK" "$@"; }
pane_text() { T capture-pane -p -J -t main -S -10000; }

# wait_pane TEXT: wait up to 20 s for TEXT in the pane (fail at once if docker exited).
wait_pane() {
  local _ text
  for _ in $(seq 200); do
    text=$(pane_text)
    case "$text" in *"$1"*) return 0 ;; esac
    case "$text" in *pane-exited-*) docker_fail "docker run -it exited before [$1] was shown: stderr [$(cat "$TEST_TMP/pane.err")] pane [$text]" ;; esac
    sleep 0.1
  done
  docker_fail "timed out waiting for [$1] in the terminal: pane [$(pane_text)]"
}

type_line() {
  T send-keys -t main -l "$1"
  T send-keys -t main Enter
}

test_docker_run_interactive_tty() {
  command -v tmux >/dev/null || skip "tmux is not installed (apt-get install tmux)"
  docker_start --bridge=none --iptables=false --ip-masq=false
  docker_import
  TMUX_SOCK=$TEST_TMP/tmux.sock
  at_exit 'tmux -S "$TMUX_SOCK" kill-server >/dev/null 2>&1'
  local pane=$TEST_TMP/pane.sh
  {
    printf 'DOCKER_CONFIG=%q docker -H %q run --rm -it --runtime=nsbox --network none %q sh 2>%q\n' \
      "$DOCKER_D/client" "unix://$DOCKER_D/docker.sock" "$DOCKER_IMG" "$TEST_TMP/pane.err"
    echo 'echo "pane-exited-$?"'
    echo 'exec sleep 300'
  } >"$pane"
  printf 'set -g status off\n' >"$TEST_TMP/tmux.conf"
  T -f "$TEST_TMP/tmux.conf" new-session -d -s main -x 100 -y 30 "sh $(printf %q "$pane")" ||
    fail "tmux new-session failed"
  wait_pane "# "
  type_line 'tty; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; echo "m-$((40+2))"'
  wait_pane "m-42"
  local text
  text=$(pane_text)
  printf '%s\n' "$text" | grep -qx '/dev/pts/[0-9]*' || docker_fail "tty in docker run -it: no /dev/pts/N line in [$text]"
  printf '%s\n' "$text" | grep -qx '30 100' || docker_fail "stty size in docker run -it (the terminal's 30 100) in [$text]"
  printf '%s\n' "$text" | grep -qx 'all-ttys' || docker_fail "stdin, stdout and stderr of docker run -it are the terminal: [$text]"
  type_line 'exit 5'
  wait_pane "pane-exited-"
  assert_contains "$(pane_text)" "pane-exited-5" "exit status of docker run -it; stderr [$(cat "$TEST_TMP/pane.err")]"
  docker_stop
}
